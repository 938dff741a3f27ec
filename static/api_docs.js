// The API docs page (templates/api_docs/show.html): Swagger UI over the OpenAPI document
// whose URL the page renders. A file, not quart-schema's inline script: the CSP allows no
// inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || !window.SwaggerUIBundle) return;
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
  });
})();
