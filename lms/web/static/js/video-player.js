// The video player: HLS natively where the browser plays it, otherwise through the
// vendored hls.js (loaded only then), else the MP4 the page already offers; a quality
// menu; resume where the learner left off; and reports of the seconds really played,
// which the server turns into verified watch time (every 10 s while playing, and on
// pause, end and leaving the page).
(function () {
  "use strict";
  var HLS_TYPE = "application/vnd.apple.mpegurl";
  var REPORT_EVERY_MS = 10000;
  var MAX_RANGES = 200;

  function setup(box) {
    // A page with several players loads this script once per player: set each up once.
    if (box.hasAttribute("data-engine")) return;
    box.setAttribute("data-engine", "mp4");
    var video = box.querySelector("video");
    var master = new URL(box.getAttribute("data-master"), window.location.href).href;
    var select = box.querySelector("select[data-quality]");
    var resumeAt = parseFloat(box.getAttribute("data-resume") || "0") || 0;
    var hls = null;
    var kept = [];  // ranges played before the source changed (the element forgets them)

    function engine(name) { box.setAttribute("data-engine", name); }

    function resume() {
      if (resumeAt > 1 && isFinite(video.duration) && resumeAt < video.duration - 3) {
        video.currentTime = resumeAt;
      }
      resumeAt = 0;
    }
    video.addEventListener("loadedmetadata", resume);

    function switchSource(url) {
      var at = video.currentTime, playing = !video.paused;
      keep();
      video.src = url;
      resumeAt = at;
      if (playing) video.play().catch(function () {});
    }

    function showQuality(onChange) {
      if (!select) return;
      select.parentNode.hidden = false;
      select.addEventListener("change", function () { onChange(select.value); });
    }

    function useHlsJs() {
      var script = document.createElement("script");
      script.src = box.getAttribute("data-hls-script");
      script.onload = function () {
        if (!window.Hls || !window.Hls.isSupported()) return;  // the MP4 plays on
        var at = video.currentTime, playing = !video.paused;
        keep();
        // Segments are fetched only once the learner presses play: a page opened on a
        // weak network costs the playlist, not the video.
        hls = new window.Hls({enableWorker: false, capLevelToPlayerSize: true,
                              autoStartLoad: false});
        var loading = false;
        function startLoading() {
          if (loading || !hls) return;
          loading = true;
          hls.startLoad(at > 0 ? at : (resumeAt > 1 ? resumeAt : -1));
        }
        video.addEventListener("play", startLoading);
        hls.on(window.Hls.Events.MANIFEST_PARSED, function () {
          if (at > 0) resumeAt = at;
          if (playing) { startLoading(); video.play().catch(function () {}); }
        });
        hls.on(window.Hls.Events.ERROR, function (_event, data) {
          if (!data.fatal) return;
          hls.destroy();
          hls = null;
          engine("mp4");
          video.removeAttribute("src");
          video.load();  // back to the MP4 <source>
        });
        hls.loadSource(master);
        hls.attachMedia(video);
        engine("hls.js");
        showQuality(function (value) {
          if (!hls) return;
          if (value === "auto") { hls.currentLevel = -1; return; }
          var option = select.options[select.selectedIndex];
          var width = +option.getAttribute("data-width"), height = +option.getAttribute("data-height");
          for (var i = 0; i < hls.levels.length; i++) {
            if (hls.levels[i].width === width && hls.levels[i].height === height) hls.currentLevel = i;
          }
        });
      };
      document.head.appendChild(script);
    }

    if (video.canPlayType(HLS_TYPE)) {
      engine("native");
      switchSource(master);
      showQuality(function (value) {
        switchSource(value === "auto" ? master : new URL(value + ".m3u8", master).href);
      });
    } else if (window.MediaSource) {
      engine("mp4");
      useHlsJs();
    } else {
      engine("mp4");
    }

    // --- watch reports ------------------------------------------------------------------
    var reportUrl = box.getAttribute("data-report");
    if (!reportUrl) return;
    var token = box.getAttribute("data-csrf");
    // Heartbeats while playing go to the spool with the page's watch pass; what the learner
    // does (play, pause, end, leave) is reported the signed-in way and answered at once.
    var beatUrl = box.getAttribute("data-heartbeat");
    var pass = box.getAttribute("data-pass");
    var status = document.querySelector("[data-watch-status]");
    var started = false;

    function played() {
      var ranges = kept.slice();
      for (var i = 0; i < video.played.length; i++) {
        ranges.push([video.played.start(i), video.played.end(i)]);
      }
      return ranges.slice(-MAX_RANGES);
    }

    function keep() { kept = played(); }

    function body(beat) {
      var form = new URLSearchParams();
      if (beat) form.set("pass", pass); else form.set("csrf_token", token);
      form.set("segments", JSON.stringify(played().map(function (r) {
        return [Math.round(r[0] * 100) / 100, Math.round(r[1] * 100) / 100];
      })));
      form.set("position", String(video.currentTime || 0));
      return form;
    }

    var shown = -1;

    function show(data) {
      if (data && typeof data.pass === "string") pass = data.pass;
      if (!data || !status || typeof data.percent !== "number") return;
      // A heartbeat answers with the share verified up to the last fold: never step back
      // from a newer figure a direct report gave.
      if (!data.complete && (data.percent < shown || status.classList.contains("done"))) return;
      shown = data.percent;
      status.textContent = data.complete ? status.getAttribute("data-done")
        : status.getAttribute("data-template").replace("%d", String(data.percent));
      if (data.complete) status.classList.add("done");
    }

    function heartbeat() {
      if (!started) return;
      if (!beatUrl || !pass) { report(false); return; }
      fetch(beatUrl, {method: "POST", body: body(true), credentials: "omit"})
        .then(function (r) {
          // An expired pass (or a server error): report the signed-in way, which answers
          // with a fresh pass if the learner is still signed in.
          if (r.status === 403 || r.status >= 500) { pass = null; report(false); }
          if (r.status === 404) { beatUrl = null; report(false); }
          return r.status === 202 ? r.json() : null;
        })
        .then(show)
        .catch(function () { /* offline: the next report carries these seconds too */ });
    }

    function report(leaving) {
      if (!started) return;
      if (leaving && navigator.sendBeacon) {
        navigator.sendBeacon(reportUrl, body());
        return;
      }
      fetch(reportUrl, {method: "POST", body: body(), credentials: "same-origin",
                        keepalive: !!leaving, headers: {"Accept": "application/json"}})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(show)
        .catch(function () { /* offline: the next report carries these seconds too */ });
    }

    video.addEventListener("play", function () {
      if (!started) { started = true; report(false); }  // starts the server's clock
    });
    video.addEventListener("pause", function () { report(false); });
    video.addEventListener("ended", function () { report(false); });
    setInterval(function () { if (!video.paused && !video.ended) heartbeat(); }, REPORT_EVERY_MS);
    window.addEventListener("pagehide", function () { report(true); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") report(true);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("figure[data-player]"), setup);
})();
