import type { LiveSession } from '@signoff/sessions';
import { form, h, page } from '../http/html';

const display = (session: LiveSession) => session.user.name ? `${session.user.name} (${session.user.username})` : session.user.username;

export function homePage(current: LiveSession, others: number, csrf: string): string {
  return page('Signoff', `<p>You are signed in as <strong>${h(display(current))}</strong>.</p>
<p class="muted">Signed in ${h(current.authTime.toISOString())}.</p>
<p><a href="/accounts">${others ? `Switch account (${others} more on this browser)` : 'Add another account'}</a></p>
${form('/logout', csrf, '<button type="submit">Sign out</button>')}`);
}

export function accountsPage(sessions: LiveSession[], csrf: string): string {
  const items = sessions.map((session, index) => `<li><span>${h(display(session))}</span>${index === 0
    ? '<span class="muted">current</span>'
    : form('/accounts/switch', csrf, `<input type="hidden" name="session" value="${h(session.id)}"><button type="submit" class="link">Switch</button>`)}</li>`);
  return page('Choose an account', `<ul class="accounts">
${items.join('\n')}
</ul>
<p><a href="/login">Sign in to another account</a></p>`);
}
