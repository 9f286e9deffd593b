// Quiz attempts: answers are saved as the learner goes and kept on the phone while the
// connection is down; the time left is shown. Without this script the Save and Submit
// buttons do the same work, and the server's clock decides what counts either way.
(function () {
  "use strict";

  function autosave(form) {
    var status = form.querySelector("[data-autosave-status]");
    var token = form.querySelector("input[name=csrf_token]").value;
    var memory = "yonten-quiz:" + form.getAttribute("data-autosave");
    var timer = null, busy = false, dirty = false;

    function say(name) { if (status) status.textContent = form.getAttribute("data-msg-" + name) || ""; }
    function answers() {
      var data = {};
      new FormData(form).forEach(function (value, key) {
        if (/^q\d/.test(key)) (data[key] = data[key] || []).push(value);
      });
      return data;
    }
    function remember() { try { localStorage.setItem(memory, JSON.stringify(answers())); } catch (e) { /* private mode */ } }
    function forget() { try { localStorage.removeItem(memory); } catch (e) { /* private mode */ } }
    function restore() {
      var saved = null;
      try { saved = JSON.parse(localStorage.getItem(memory) || "null"); } catch (e) { saved = null; }
      if (!saved) return false;
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || !/^q\d/.test(el.name)) return;
        var values = saved[el.name] || [];
        if (el.type === "radio" || el.type === "checkbox") el.checked = values.indexOf(el.value) >= 0;
        else el.value = values.length ? values[0] : "";
      });
      return true;
    }
    function schedule(ms) { clearTimeout(timer); timer = setTimeout(send, ms); }
    function send() {
      if (busy) { dirty = true; return; }
      busy = true; dirty = false; say("saving");
      fetch(form.getAttribute("action"), {method: "POST", body: new FormData(form), credentials: "same-origin",
                          headers: {"Accept": "application/json", "X-CSRFToken": token}})
        .then(function (r) { return r.json().then(function (d) { d.status = r.status; return d; }); })
        .then(function (d) {
          busy = false;
          if (d.status === 200) {
            if (!dirty) { forget(); say("saved"); }
          } else if (status) {
            status.textContent = d.error || "";  // refused (time is up): retrying will not help
          }
          if (dirty) schedule(0);
        })
        .catch(function () { busy = false; say("offline"); schedule(5000); });
    }

    form.addEventListener("change", function () { remember(); schedule(600); });
    form.addEventListener("input", function (e) {
      if (e.target.tagName === "TEXTAREA" || e.target.type === "text") { remember(); schedule(2500); }
    });
    form.addEventListener("submit", function (event) {
      // "Save answers" saves in place, so a long quiz keeps the learner's place on the page;
      // handing in (or a browser without submitter) posts the form as before.
      if (event.submitter && event.submitter.id !== "submit-attempt") {
        event.preventDefault();
        remember();
        schedule(0);
        return;
      }
      forget();
    });
    window.addEventListener("online", function () { schedule(0); });
    if (restore()) schedule(0);
  }

  function countdown(el) {
    var out = el.querySelector("[data-remaining]");
    var skew = Date.now() - Date.parse(el.getAttribute("data-now"));
    var deadline = Date.parse(el.getAttribute("data-deadline"));
    var submitted = false;
    function tick() {
      var left = Math.max(0, Math.round((deadline - (Date.now() - skew)) / 1000));
      var m = Math.floor(left / 60), s = left % 60;
      out.textContent = el.getAttribute("data-msg-left").replace("%(time)s", m + ":" + (s < 10 ? "0" : "") + s);
      if (left > 0) return setTimeout(tick, 1000);
      out.textContent = el.getAttribute("data-msg-timeup");
      var button = document.getElementById("submit-attempt");
      if (button && !submitted) {
        submitted = true;  // hidden in its closed "Submit…" box, it is still the form's submitter
        if (button.form.requestSubmit) button.form.requestSubmit(button); else button.click();
      }
    }
    tick();
  }

  // "Submit…" opens a last check: how many questions still have no answer.
  function unanswered(form) {
    var box = form.querySelector("details.hand-in"), out = form.querySelector("[data-unanswered]");
    if (!box || !out) return;
    box.addEventListener("toggle", function () {
      if (!box.open) return;
      var questions = form.querySelectorAll("fieldset[data-scored]"), empty = 0;
      Array.prototype.forEach.call(questions, function (q) {
        var answered = Array.prototype.some.call(q.querySelectorAll("input, textarea, select"), function (el) {
          if (el.type === "radio" || el.type === "checkbox") return el.checked;
          return el.type !== "hidden" && el.value.trim() !== "";
        });
        if (!answered) empty += 1;
      });
      out.textContent = empty ? out.getAttribute("data-msg-some").replace("%(n)s", empty)
        .replace("%(total)s", questions.length) : out.getAttribute("data-msg-none");
      out.className = empty ? "warning" : "hint";
    });
  }

  var form = document.querySelector("form[data-autosave]");
  if (form) unanswered(form);
  if (form && window.fetch && window.FormData) autosave(form);
  var clock = document.querySelector("[data-quiz-timer]");
  if (clock) countdown(clock);
})();
