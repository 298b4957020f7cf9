/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  function refreshCount(box) {
    var url = box.getAttribute("data-count-url") + "?lang=" + encodeURIComponent(document.documentElement.lang || "en");
    var label = box.querySelector("[data-count-label]");
    var bar = box.querySelector("[data-count-bar]");
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (label && label.textContent !== data.label) { label.textContent = data.label; }
        if (bar) { bar.max = data.goal; bar.value = data.count; }
      })
      .catch(function () { /* offline or server busy: keep the number shown */ });
  }

  function startCounts() {
    var boxes = document.querySelectorAll("[data-count-url]");
    if (!boxes.length || !window.fetch) { return; }
    window.setInterval(function () {
      if (document.hidden) { return; }
      boxes.forEach(refreshCount);
    }, 10000);
  }

  function startCopyButtons() {
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var status = button.closest(".field").querySelector("[data-copy-status]");
      if (!input) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var done = function () { if (status) { status.textContent = button.getAttribute("data-copied") || "✓"; } };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
        } else {
          input.select();
          document.execCommand("copy");
          done();
        }
      });
    });
  }

  function focusErrors() {
    var summary = document.querySelector(".error-summary, .notice--error");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    startCounts();
    startCopyButtons();
  });
  // After "load": the browser's own jump to the #fragment would otherwise take focus back.
  window.addEventListener("load", focusErrors);
})();
