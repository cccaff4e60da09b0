/**
 * Times in the reader's own time zone: the server writes each instant in UTC (it knows neither the
 * browser's zone nor its language) inside <time data-local datetime="ISO">, and this rewrites the text
 * with Intl.DateTimeFormat in the browser's zone and language, naming the zone. The UTC text moves to
 * the title. Without JavaScript, or with a datetime it cannot read, the UTC text stays.
 * See apps/idp/src/http/local-time.tsx.
 */
(function () {
  'use strict';
  function localise() {
    var format;
    try {
      format = new Intl.DateTimeFormat(undefined, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        hour: 'numeric',
        minute: '2-digit',
        timeZoneName: 'short',
      });
    } catch {
      return; // no Intl: the UTC text stays
    }
    var times = document.querySelectorAll('time[data-local][datetime]');
    for (var i = 0; i < times.length; i++) {
      var date = new Date(times[i].getAttribute('datetime'));
      if (isNaN(date.getTime())) continue;
      times[i].title = times[i].textContent;
      times[i].textContent = format.format(date);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', localise);
  else localise();
})();
