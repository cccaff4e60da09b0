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
 * iframe's load (or the timeout) is reported to /logout/frontchannel/:id; when all are in, the
 * browser goes on to `next`. Without JavaScript the frames still load and a link goes on.
 */
export function logoutPage(frames: FrontchannelFrame[], next: string, timeoutMs: number): string {
  const iframes = frames.map((frame, index) => frame.fields
    ? `<iframe name="fc${index}" data-delivery="${h(frame.deliveryId)}" data-token="${h(frame.reportToken)}" title="sign-out ${index + 1}"></iframe>
<form method="post" action="${h(frame.url)}" target="fc${index}">${Object.entries(frame.fields).map(([name, value]) => `<input type="hidden" name="${h(name)}" value="${h(value)}">`).join('')}</form>`
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
    if (frame.dataset.reported) return;
    frame.dataset.reported = '1';
    var body = new URLSearchParams({ outcome: outcome, token: frame.dataset.token });
    fetch('/logout/frontchannel/' + encodeURIComponent(frame.dataset.delivery), { method: 'POST', body: body, credentials: 'same-origin', keepalive: true })
      .catch(function () {}).then(function () { if (--pending === 0) location.replace(document.getElementById('next').href); });
  }
  frames.forEach(function (frame) { frame.addEventListener('load', function () { report(frame, 'loaded'); }); });
  Array.prototype.forEach.call(document.querySelectorAll('.frames form'), function (form) { form.submit(); });
  setTimeout(function () { frames.forEach(function (frame) { report(frame, 'timeout'); }); }, ${Number(timeoutMs)});
  if (!frames.length) location.replace(document.getElementById('next').href);
})();
</script>`);
}

export function signedOutPage(remaining: string[]): string {
  const still = remaining.length
    ? `<p class="muted">Still signed in on this browser: ${remaining.map(h).join(', ')}. <a href="/accounts">Choose an account</a>.</p>`
    : '';
  return page('You are signed out', `<p>You have signed out of Signoff.</p>${still}<p><a href="/login">Sign in again</a></p>`);
}
