/**
 * The /api/docs page: Swagger UI (swagger-ui-bundle.js, loaded before this file) over the admin
 * API's OpenAPI document. Requests made with "Try it out" go to the document's server (/api/v1)
 * with the token given in "Authorize" (the bearer scheme).
 */
(function () {
  'use strict';
  window.SwaggerUIBundle({
    url: '/api/docs/openapi.json',
    dom_id: '#api-docs',
    // Without this, Swagger UI shows a badge image fetched from validator.swagger.io: another site,
    // which the CSP refuses (img-src 'self' data:) and which would learn where our document is.
    validatorUrl: null,
  });
})();
