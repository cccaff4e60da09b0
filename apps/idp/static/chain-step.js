/** The native chain step's script: go to the application now, and back to the chain after the timeout. */
(function () {
  'use strict';
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) location.reload();
  });
  document.addEventListener('DOMContentLoaded', function () {
    var chain = document.getElementById('chain');
    setTimeout(function () {
      location.replace(chain.dataset.resume);
    }, Number(chain.dataset.timeout));
    if (document.forms.length) document.forms[0].submit();
    else location.assign(document.getElementById('go').href);
  });
})();
