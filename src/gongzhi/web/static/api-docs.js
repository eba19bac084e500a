/* Swagger UI for /api/docs, from the npm-installed swagger-ui-dist (no CDN). Kept in a file
   rather than an inline <script>: the Content-Security-Policy allows scripts from this origin
   only. */
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: box.dataset.openapi,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
      // Requests from "Try it out" carry the page's bearer token only if one is entered.
      persistAuthorization: false,
      validatorUrl: null,
    });
  });
})();
