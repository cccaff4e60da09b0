/**
 * The logout page's script. It runs in the head, before the iframes exist, and listens for their
 * load events in the capture phase (load does not bubble, and a fast frame can load before the page
 * has finished parsing). A frame that an auto-posting form fills counts only once its form was sent:
 * its first, empty about:blank load is not the application's answer.
 */
(function () {
  'use strict';
  function frames() {
    return Array.prototype.slice.call(document.querySelectorAll('iframe[data-delivery]'));
  }
  function goOn() {
    if (document.readyState === 'loading' || document.querySelector('iframe[data-delivery]:not([data-settled])'))
      return;
    location.replace(document.getElementById('next').href);
  }
  function report(frame, outcome) {
    if (frame.dataset.settled) return;
    var body = new URLSearchParams({ outcome: outcome, token: frame.dataset.token });
    fetch('/logout/frontchannel/' + encodeURIComponent(frame.dataset.delivery), {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      keepalive: true,
    })
      .then(function (response) {
        return response.json();
      })
      .then(
        function (answer) {
          return answer.settled;
        },
        function () {
          return true;
        },
      )
      .then(function (settled) {
        if (!settled || frame.dataset.settled) return;
        frame.dataset.settled = '1';
        goOn();
      });
  }
  document.addEventListener(
    'load',
    function (event) {
      var frame = event.target;
      if (!(frame instanceof HTMLIFrameElement) || !frame.dataset.delivery) return;
      if (!frame.hasAttribute('src') && !frame.dataset.posted) return;
      report(frame, 'loaded');
    },
    true,
  );
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('.frames form'), function (form) {
      var frame = document.querySelector('iframe[name="' + form.target + '"]');
      if (frame) frame.dataset.posted = '1';
      form.submit();
    });
    var timeout = Number(document.querySelector('.frames').dataset.timeout);
    setTimeout(function () {
      frames().forEach(function (frame) {
        report(frame, 'timeout');
      });
    }, timeout);
    goOn();
  });
})();
