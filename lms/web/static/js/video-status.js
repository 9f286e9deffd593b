// A video being prepared: ask the server how far it has got every two seconds and
// move the progress bar; when the work is over, reload to show the result. Without
// this script the page shows the same when reloaded.
(function () {
  "use strict";
  var box = document.querySelector("[data-video-status][data-active]");
  if (!box || !window.fetch) return;
  var bar = box.querySelector("progress");
  var percent = box.querySelector("[data-status-percent]");
  var label = box.querySelector("[data-status-label]");
  var wait = 2000;

  function poll() {
    fetch(box.getAttribute("data-url"), {credentials: "same-origin",
                                         headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s) {
          if (!s.active) { window.location.reload(); return; }
          if (bar) bar.value = s.percent;
          if (percent) percent.textContent = s.percent + "%";
          if (label) label.textContent = s.label;
          wait = 2000;
        }
        setTimeout(poll, wait);
      })
      .catch(function () {  // offline: ask again, less often
        wait = Math.min(wait * 2, 30000);
        setTimeout(poll, wait);
      });
  }
  setTimeout(poll, wait);
})();
