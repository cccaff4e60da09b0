/**
 * The console's live parts: an element with `data-live-refresh="<ms>"` and an id is fetched again
 * (the same page, from the server) every few seconds and its content replaced, until the server
 * renders it without `data-live-refresh` (the logout it shows has settled). The element itself stays,
 * so an aria-live region on it announces the change. Without JavaScript, reloading the page does the same.
 * The refetch says so (X-Live-Refresh): it is the page watching, not the administrator, and does not
 * keep their session from idling out.
 */
(function () {
  'use strict';
  function schedule() {
    var region = document.querySelector('[data-live-refresh][id]');
    if (!region) return;
    var every = Math.max(1000, Number(region.getAttribute('data-live-refresh')) || 2000);
    setTimeout(function () {
      fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html', 'x-live-refresh': '1' } })
        .then(function (response) {
          if (!response.ok) throw new Error('status ' + response.status);
          return response.text();
        })
        .then(function (html) {
          var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById(region.id);
          if (!fresh) return;
          region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
          if (!fresh.hasAttribute('data-live-refresh')) region.removeAttribute('data-live-refresh');
        })
        .catch(function () {
          /* the next round tries again */
        })
        .then(schedule);
    }, every);
  }
  document.addEventListener('DOMContentLoaded', schedule);
})();
