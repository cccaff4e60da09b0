/**
 * The SAML import form's file picker: the chosen metadata file is read in the browser and put into the
 * textarea named by `data-fills`, which the form sends. Without JavaScript, pasting the XML does the same.
 */
(function () {
  'use strict';
  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('input[type=file][data-fills]'), function (input) {
      input.addEventListener('change', function () {
        var file = input.files && input.files[0];
        var target = document.getElementById(input.getAttribute('data-fills'));
        if (!file || !target) return;
        file.text().then(function (text) {
          target.value = text;
        });
      });
    });
  });
})();
