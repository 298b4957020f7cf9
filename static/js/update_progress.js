/* An update's progress in the workspace, refreshed every two seconds while it goes out.
   Progressive enhancement: without this file the page has a "Refresh" link. */
(function () {
  "use strict";

  var INTERVAL_MS = 2000;

  function render(box, data) {
    box.querySelectorAll("[data-progress]").forEach(function (cell) {
      var value = data[cell.getAttribute("data-progress")];
      if (typeof value === "number" && cell.textContent !== String(value)) {
        cell.textContent = String(value);
      }
    });
    var label = box.querySelector("[data-progress-label]");
    if (label && data.label && label.textContent !== data.label) { label.textContent = data.label; }
  }

  /* Everything is handed over: the status says so, and there is nothing left to stop. */
  function done(box) {
    var refresh = box.querySelector("[data-progress-refresh]");
    if (refresh) { refresh.hidden = true; }
    var stop = box.querySelector("[data-progress-stop]");
    if (stop) { stop.hidden = true; }
    document.querySelectorAll("[data-progress-status]").forEach(function (status) {
      var text = status.getAttribute("data-progress-done");
      if (text) { status.textContent = text; }
    });
  }

  function watch(box) {
    var url = box.getAttribute("data-progress-url");
    var timer = null;
    function poll() {
      if (document.hidden) { return; }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          render(box, data);
          if (data.finished) {
            window.clearInterval(timer);
            done(box);
          }
        })
        .catch(function () { /* offline or server busy: try again at the next tick */ });
    }
    timer = window.setInterval(poll, INTERVAL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch) { return; }
    document.querySelectorAll("[data-progress-url]").forEach(watch);
  });
})();
