import { form, h, page } from '../http/html';

export function loginPage(options: { csrf: string; returnTo: string; username?: string; error?: string; signedInAs?: string }): string {
  const notice = options.signedInAs
    ? `<p class="muted">You are signed in as <strong>${h(options.signedInAs)}</strong>. Sign in below to add another account, or <a href="/">continue</a>.</p>`
    : '';
  return page('Sign in', `${notice}
${options.error ? `<p class="error" role="alert">${h(options.error)}</p>` : ''}
${form('/login', options.csrf, `<input type="hidden" name="return_to" value="${h(options.returnTo)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${h(options.username ?? '')}"${options.username ? '' : ' autofocus'}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024"${options.username ? ' autofocus' : ''}>
<button type="submit">Sign in</button>`)}`);
}
