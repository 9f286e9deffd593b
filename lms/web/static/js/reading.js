// Reading time: while a text lesson is open and visible, tell the server every
// 20 seconds. The server decides how much of that counts (it caps each gap), so
// this script only makes the count finer; without it, the "finished" button works.
(function () {
  "use strict";
  var form = document.querySelector("form[data-reading]");
  if (!form || !window.fetch) return;
  var status = form.querySelector("[data-reading-status]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null;

  function beat() {
    if (document.visibilityState !== "visible") return;
    fetch(form.action, {
      method: "POST", credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": token}
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data) return;
      if (data.complete) {
        clearInterval(timer);
        window.location.reload();
      } else if (status) {
        status.textContent = status.textContent.replace(/\d+/, String(Math.ceil(data.remaining / 60)));
      }
    }).catch(function () { /* offline: the next beat tries again */ });
  }
  timer = setInterval(beat, 20000);
})();
