import type { FrontchannelStep } from '@signoff/logout';
import { h, page } from '../http/html';

export interface FrontchannelFrame {
  deliveryId: string;
  reportToken: string;
  /** An iframe's src, or an auto-posting form's action. */
  url: string;
  fields?: Record<string, string>;
}

/**
 * The logout page: one hidden iframe per front-channel delivery, all loading in parallel. Each
 * iframe's loads (or the timeout) are reported to /logout/frontchannel/:id until the server says the
 * delivery is settled (a SAML SP's is settled by its LogoutResponse, not by a page load); when all
 * are, the browser goes on to `next`. Without JavaScript the frames still load and a link goes on.
 */
export function logoutPage(frames: FrontchannelFrame[], next: string, timeoutMs: number): string {
  const iframes = frames.map((frame, index) => frame.fields
    ? `<iframe name="fc${index}" data-delivery="${h(frame.deliveryId)}" data-token="${h(frame.reportToken)}" title="sign-out ${index + 1}"></iframe>
${autoPostForm(frame.url, frame.fields, `fc${index}`)}`
    : `<iframe src="${h(frame.url)}" data-delivery="${h(frame.deliveryId)}" data-token="${h(frame.reportToken)}" title="sign-out ${index + 1}"></iframe>`).join('\n');
  return page('Signing you out', `<p>Signing you out of ${frames.length} application${frames.length === 1 ? '' : 's'}…</p>
<div class="frames" hidden>
${iframes}
</div>
<p class="muted"><a id="next" href="${h(next)}">Continue</a></p>
<script>
(function () {
  var frames = Array.prototype.slice.call(document.querySelectorAll('iframe[data-delivery]'));
  var pending = frames.length;
  function report(frame, outcome) {
    if (frame.dataset.settled) return;
    var body = new URLSearchParams({ outcome: outcome, token: frame.dataset.token });
    fetch('/logout/frontchannel/' + encodeURIComponent(frame.dataset.delivery), { method: 'POST', body: body, credentials: 'same-origin', keepalive: true })
      .then(function (response) { return response.json(); })
      .then(function (answer) { return answer.settled; }, function () { return true; })
      .then(function (settled) {
        if (!settled || frame.dataset.settled) return;
        frame.dataset.settled = '1';
        if (--pending === 0) location.replace(document.getElementById('next').href);
      });
  }
  frames.forEach(function (frame) { frame.addEventListener('load', function () { report(frame, 'loaded'); }); });
  Array.prototype.forEach.call(document.querySelectorAll('.frames form'), function (form) { form.submit(); });
  setTimeout(function () { frames.forEach(function (frame) { report(frame, 'timeout'); }); }, ${Number(timeoutMs)});
  if (!frames.length) location.replace(document.getElementById('next').href);
})();
</script>`);
}

/**
 * One step of the native chain: the main tab goes to the application (GET, or an auto-posting form),
 * which answers back to Signoff, and the chain goes on. While an application does not answer, this
 * page stays and its timer goes back to the chain, which records the application as failed and goes
 * on; coming back to it (Back) reloads it, and the server offers the same.
 */
export function chainStepPage(appName: string, step: FrontchannelStep, resumeUrl: string, timeoutMs: number): string {
  const go = step.fields
    ? autoPostForm(step.url, step.fields)
    : `<p><a id="go" href="${h(step.url)}">Continue to ${h(appName)}</a></p>`;
  return page('Signing you out', `<p>Signing you out of <strong>${h(appName)}</strong>…</p>
${go}
<script>
window.addEventListener('pageshow', function (event) { if (event.persisted) location.reload(); });
setTimeout(function () { location.replace(${JSON.stringify(resumeUrl).replace(/</g, '\\u003c')}); }, ${Number(timeoutMs) + 250});
if (document.forms.length) document.forms[0].submit(); else location.assign(document.getElementById('go').href);
</script>`);
}

/** The application has not answered its step of the native chain (yet). */
export function chainWaitingPage(appName: string, skipUrl: string, retryUrl: string, remainingMs: number): string {
  return `${page('Still signing you out', `<p><strong>${h(appName)}</strong> has not confirmed that you are signed out.</p>
<p><a href="${h(skipUrl)}">Continue signing out without it</a></p>
<p class="muted">Signoff records that this application did not confirm.</p>`)}`.replace('</head>', `<meta http-equiv="refresh" content="${Math.max(1, Math.ceil(remainingMs / 1000))};url=${h(retryUrl)}">\n</head>`);
}

function autoPostForm(url: string, fields: Record<string, string>, target?: string): string {
  return `<form method="post" action="${h(url)}"${target ? ` target="${h(target)}"` : ''}>${Object.entries(fields).map(([name, value]) => `<input type="hidden" name="${h(name)}" value="${h(value)}">`).join('')}<noscript><button type="submit">Continue</button></noscript></form>`;
}

export function signedOutPage(remaining: string[]): string {
  const still = remaining.length
    ? `<p class="muted">Still signed in on this browser: ${remaining.map(h).join(', ')}. <a href="/accounts">Choose an account</a>.</p>`
    : '';
  return page('You are signed out', `<p>You have signed out of Signoff.</p>${still}<p><a href="/login">Sign in again</a></p>`);
}
