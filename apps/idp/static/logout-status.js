/**
 * Follows a logout as it settles: the element #logout-status names the status URL (data-status);
 * every second and a half the script asks it (JSON, this browser only) and updates each
 * application's state and the summary sentence, which is a live region (role=status). On the summary
 * page (data-reload) the page reloads once everything is final, so the server renders the last word
 * with its "try again" buttons. Without JavaScript the summary page reloads itself (meta refresh).
 */
(function () {
  'use strict';
  var EVERY_MS = 1500;
  function update(section, status) {
    Array.prototype.forEach.call(status.applications, function (app) {
      var item = section.querySelector('li[data-provider="' + app.providerId + '"]');
      if (!item) return;
      item.className = 'state-' + app.state;
      item.querySelector('.state').textContent = app.stateWords;
    });
    var summary = document.getElementById('logout-summary');
    if (summary.textContent !== status.summary) summary.textContent = status.summary;
  }
  function poll(section) {
    fetch(section.getAttribute('data-status'), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('status ' + response.status);
        return response.json();
      })
      .then(function (status) {
        update(section, status);
        if (!status.settled) return setTimeout(poll, EVERY_MS, section);
        if (section.hasAttribute('data-reload')) location.reload();
      })
      .catch(function () {
        setTimeout(poll, EVERY_MS * 2, section);
      });
  }
  document.addEventListener('DOMContentLoaded', function () {
    var section = document.getElementById('logout-status');
    if (section && !section.hasAttribute('data-settled')) setTimeout(poll, EVERY_MS, section);
  });
})();
