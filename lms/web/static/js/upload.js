// Resumable uploads. A form marked data-resumable still works without this
// script (the file is posted whole); with it, the file goes up in chunks that
// survive a dropped connection or a reload, with progress and speed shown.
(function () {
  "use strict";
  if (!window.fetch || !window.Blob || !Blob.prototype.slice) return;

  function csrf(form) {
    var input = form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function human(bytes) {
    if (bytes >= 1048576) return (bytes / 1048576).toFixed(1) + " MB";
    return Math.round(bytes / 1024) + " KB";
  }

  function sha256(blob) {
    if (!(window.crypto && crypto.subtle && blob.arrayBuffer)) return Promise.resolve(null);
    return blob.arrayBuffer().then(function (buf) {
      return crypto.subtle.digest("SHA-256", buf);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    }).catch(function () { return null; });
  }

  function setup(form) {
    var input = form.querySelector("input[type=file]");
    var hidden = form.querySelector("input[name=upload_id]");
    var bar = form.querySelector("progress[data-upload-progress]");
    var status = form.querySelector("[data-upload-status]");
    var base = form.getAttribute("data-upload-url");
    var purpose = form.getAttribute("data-purpose");
    var busy = false;
    if (!input || !hidden || !base) return;

    function say(text, refused) {
      if (!status) return;
      status.textContent = text;
      status.className = refused ? "error" : "muted";  // a refusal reads as one, in red
    }
    function msg(name) { return form.getAttribute("data-msg-" + name) || ""; }

    function api(method, url, body, headers) {
      var h = {"X-CSRFToken": csrf(form), "Accept": "application/json"};
      for (var k in headers || {}) h[k] = headers[k];
      return fetch(url, {method: method, body: body, headers: h, credentials: "same-origin"})
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (data) {
            data._status = r.status;
            return data;
          });
        });
    }

    // Network trouble is retried for as long as the page is open; refusals are not.
    function patiently(call) {
      var wait = 1000;
      function attempt() {
        return call().catch(function () {
          say(msg("retrying"));
          return sleep(wait).then(function () { wait = Math.min(wait * 2, 30000); return attempt(); });
        });
      }
      return attempt();
    }

    function upload(file) {
      var memory = "yonten-upload:" + purpose + ":" + file.name + ":" + file.size + ":" + file.lastModified;
      var saved = window.localStorage ? localStorage.getItem(memory) : null;
      var begin = saved
        ? patiently(function () { return api("GET", base + saved); }).then(function (s) {
            return s._status === 200 && s.state === "receiving" ? s : null;
          })
        : Promise.resolve(null);
      return begin.then(function (existing) {
        if (existing) return existing;
        return patiently(function () {
          return api("POST", base, JSON.stringify({purpose: purpose, filename: file.name, size: file.size}),
                     {"Content-Type": "application/json"});
        });
      }).then(function (s) {
        if (s._status >= 400) throw new Error(s.error || msg("failed"));
        if (window.localStorage) localStorage.setItem(memory, s.id);
        var started = Date.now(), startOffset = s.offset, chunk = s.chunk_size;
        function next(offset) {
          if (bar) { bar.hidden = false; bar.max = file.size; bar.value = offset; }
          var seconds = (Date.now() - started) / 1000;
          var speed = seconds > 0.5 ? (offset - startOffset) / seconds : 0;
          say(Math.floor(100 * offset / file.size) + "%" + (speed ? " · " + human(speed) + "/s" : ""));
          if (offset >= file.size) {
            return patiently(function () { return api("POST", base + s.id + "/complete"); });
          }
          var piece = file.slice(offset, Math.min(offset + chunk, file.size));
          return sha256(piece).then(function (digest) {
            return patiently(function () {
              var headers = {"Content-Type": "application/octet-stream"};
              if (digest) headers["X-Chunk-SHA256"] = digest;
              return api("PUT", base + s.id + "?offset=" + offset, piece, headers);
            });
          }).then(function (r) {
            if (r._status === 200 || r._status === 409) return next(r.offset);
            throw new Error(r.error || msg("failed"));
          });
        }
        return next(s.offset).then(function (done) {
          if (done._status >= 400) throw new Error(done.error || msg("failed"));
          if (window.localStorage) localStorage.removeItem(memory);
          return s.id;
        });
      });
    }

    form.addEventListener("submit", function (event) {
      if (hidden.value || !input.files || !input.files.length) return;
      event.preventDefault();
      if (busy) return;
      busy = true;
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      upload(input.files[0]).then(function (id) {
        hidden.value = id;
        input.disabled = true;  // the bytes are on the server; do not post them again
        say(msg("done"));
        form.submit();
      }).catch(function (err) {
        busy = false;
        if (button) button.disabled = false;
        if (bar) { bar.hidden = true; bar.value = 0; }
        input.value = "";  // the refused file is not waiting to be sent: choose another
        input.dispatchEvent(new Event("change"));  // the page's own file label forgets it too
        say(err.message || msg("failed"), true);
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-resumable]"), setup);
})();
