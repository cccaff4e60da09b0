/**
 * The iframe's script (a static file: the CSP admits no inline script). A message from an opaque
 * origin ("null": a sandboxed frame, a data: or file: page) is answered "error" without asking the
 * server: it identifies no relying party. postMessage cannot target "null", so that one constant
 * answer goes to "*"; it tells nothing about the session.
 */
window.addEventListener('message', function (event) {
  'use strict';
  if (typeof event.data !== 'string' || !event.source) return;
  if (event.origin === 'null') return event.source.postMessage('error', '*');
  var reply = function (result) {
    event.source.postMessage(result, event.origin);
  };
  var parts = event.data.split(' ');
  if (parts.length !== 2) return reply('error');
  fetch('/oauth2/check_session/state', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_id: parts[0], session_state: parts[1], origin: event.origin }),
  })
    .then(function (r) {
      return r.json();
    })
    .then(
      function (b) {
        reply(b.result);
      },
      function () {
        reply('error');
      },
    );
});
