// Starts Swagger UI from a file of this server rather than an inline script, so that the
// page's Content-Security-Policy can allow scripts from 'self' only. The page hands over the
// document's URL and any extra settings as data attributes.
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = { url: container.dataset.specUrl, dom_id: "#swagger-ui-container" };
  Object.assign(config, JSON.parse(container.dataset.config || "{}"));
  window.ui = SwaggerUIBundle(config);
});
