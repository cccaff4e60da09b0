import type { LiveSession } from '@signoff/sessions';
import { form, h, page } from '../http/html';

export function chooserPage(sessions: LiveSession[], interaction: string, clientName: string, csrf: string): string {
  const items = sessions.map((session) => `<li><span>${h(session.user.name ?? session.user.username)} <span class="muted">${h(session.user.username)}</span></span>${
    form('/oauth2/authorize/select', csrf, `<input type="hidden" name="interaction" value="${h(interaction)}"><input type="hidden" name="session" value="${h(session.id)}"><button type="submit" class="link">Continue</button>`)}</li>`);
  return page('Choose an account', `<p>to continue to <strong>${h(clientName)}</strong></p>
<ul class="accounts">
${items.join('\n')}
</ul>
<p><a href="/login?return_to=${encodeURIComponent(`/oauth2/authorize/resume?interaction=${interaction}`)}">Use another account</a></p>`);
}
