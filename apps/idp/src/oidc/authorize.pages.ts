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

/** The form_post response mode: the browser POSTs the response to the client (OAuth 2.0 Form Post Response Mode). */
export function formPostPage(url: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${h(name)}" value="${h(value)}">`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="${h(url)}">
${inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
`;
}
