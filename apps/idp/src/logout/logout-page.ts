import { webOrigin } from '@signoff/core';
import type { FrontchannelFrame, FrontchannelStep } from '@signoff/logout';
import type { Response } from 'express';
import { h, page } from '../http/html';
import { allowFramesOf } from '../http/security-headers';

/**
 * The logout page: one hidden iframe per front-channel delivery, all loading in parallel. Each
 * iframe's loads (or the timeout) are reported to /logout/frontchannel/:id until the server says the
 * delivery is settled (a SAML SP's is settled by its LogoutResponse, not by a page load); when all
 * are, the browser goes on to `next`. Without JavaScript the frames still load and a link goes on.
 * The script is LOGOUT_PAGE_SCRIPT (no inline script under our CSP); it reads the timeout from
 * `data-timeout`.
 */
export function logoutPage(frames: FrontchannelFrame[], next: string, timeoutMs: number): string {
  const iframes = frames.map((frame, index) => frame.fields
    ? `<iframe name="fc${index}" data-delivery="${h(frame.deliveryId)}" data-token="${h(frame.reportToken)}" title="sign-out ${index + 1}"></iframe>
${autoPostForm(frame.url, frame.fields, `fc${index}`)}`
    : `<iframe src="${h(frame.url)}" data-delivery="${h(frame.deliveryId)}" data-token="${h(frame.reportToken)}" title="sign-out ${index + 1}"></iframe>`).join('\n');
  return page('Signing you out', `<p>Signing you out of ${frames.length} application${frames.length === 1 ? '' : 's'}…</p>
<div class="frames" data-timeout="${Number(timeoutMs)}" hidden>
${iframes}
</div>
<p class="muted"><a id="next" href="${h(next)}">Continue</a></p>`, 'logout-page.js');
}

/**
 * Sends the logout page with a Content-Security-Policy whose frame-src is exactly the origins of its
 * iframes (the applications being signed out) and our own (their answers come back to us inside the
 * frames): the page cannot be made to frame anything else.
 */
export function sendLogoutPage(res: Response, frames: FrontchannelFrame[], next: string, timeoutMs: number): void {
  allowFramesOf(res, frames.map((frame) => webOrigin(frame.url)).filter((origin): origin is string => origin !== null));
  res.type('html').send(logoutPage(frames, next, timeoutMs));
}

/**
 * The logout page's script. It runs in the head, before the iframes exist, and listens for their
 * load events in the capture phase (load does not bubble, and a fast frame can load before the page
 * has finished parsing). A frame that an auto-posting form fills counts only once its form was sent:
 * its first, empty about:blank load is not the application's answer.
 */
export const LOGOUT_PAGE_SCRIPT = `(function () {
  'use strict';
  function frames() { return Array.prototype.slice.call(document.querySelectorAll('iframe[data-delivery]')); }
  function goOn() {
    if (document.readyState === 'loading' || document.querySelector('iframe[data-delivery]:not([data-settled])')) return;
    location.replace(document.getElementById('next').href);
  }
  function report(frame, outcome) {
    if (frame.dataset.settled) return;
    var body = new URLSearchParams({ outcome: outcome, token: frame.dataset.token });
    fetch('/logout/frontchannel/' + encodeURIComponent(frame.dataset.delivery), { method: 'POST', body: body, credentials: 'same-origin', keepalive: true })
      .then(function (response) { return response.json(); })
      .then(function (answer) { return answer.settled; }, function () { return true; })
      .then(function (settled) {
        if (!settled || frame.dataset.settled) return;
        frame.dataset.settled = '1';
        goOn();
      });
  }
  document.addEventListener('load', function (event) {
    var frame = event.target;
    if (!(frame instanceof HTMLIFrameElement) || !frame.dataset.delivery) return;
    if (!frame.hasAttribute('src') && !frame.dataset.posted) return;
    report(frame, 'loaded');
  }, true);
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('.frames form'), function (form) {
      var frame = document.querySelector('iframe[name="' + form.target + '"]');
      if (frame) frame.dataset.posted = '1';
      form.submit();
    });
    var timeout = Number(document.querySelector('.frames').dataset.timeout);
    setTimeout(function () { frames().forEach(function (frame) { report(frame, 'timeout'); }); }, timeout);
    goOn();
  });
})();
`;

/**
 * One step of the native chain: the main tab goes to the application (GET, or an auto-posting form),
 * which answers back to Signoff, and the chain goes on. While an application does not answer, this
 * page stays and its timer goes back to the chain, which records the application as failed and goes
 * on; coming back to it (Back) reloads it, and the server offers the same. Script: CHAIN_STEP_SCRIPT.
 */
export function chainStepPage(appName: string, step: FrontchannelStep, resumeUrl: string, timeoutMs: number): string {
  const go = step.fields
    ? autoPostForm(step.url, step.fields)
    : `<p><a id="go" href="${h(step.url)}">Continue to ${h(appName)}</a></p>`;
  return page('Signing you out', `<p>Signing you out of <strong>${h(appName)}</strong>…</p>
${go}
<div id="chain" data-resume="${h(resumeUrl)}" data-timeout="${Number(timeoutMs) + 250}" hidden></div>`, 'chain-step.js');
}

/** The native chain step's script: go to the application now, and back to the chain after the timeout. */
export const CHAIN_STEP_SCRIPT = `(function () {
  'use strict';
  window.addEventListener('pageshow', function (event) { if (event.persisted) location.reload(); });
  document.addEventListener('DOMContentLoaded', function () {
    var chain = document.getElementById('chain');
    setTimeout(function () { location.replace(chain.dataset.resume); }, Number(chain.dataset.timeout));
    if (document.forms.length) document.forms[0].submit(); else location.assign(document.getElementById('go').href);
  });
})();
`;


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
