// A browser labels its file inputs in its own language ("Choose File", "No file
// chosen"), whatever the page's. This puts the page's words beside each file input
// and keeps the real input in place, transparent, on top of them: a tap, a click, a
// dropped file and the keyboard all still reach the browser's own control, and
// without this script the plain input is shown.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var choose = script.getAttribute("data-choose");
  var none = script.getAttribute("data-none");

  function enhance(input) {
    var wrap = document.createElement("span");
    var button = document.createElement("span");
    var name = document.createElement("span");
    wrap.className = "file-pick";
    button.className = "file-pick-button";
    name.className = "file-pick-name";
    // The input itself tells assistive technology its name and state.
    button.setAttribute("aria-hidden", "true");
    name.setAttribute("aria-hidden", "true");
    button.textContent = choose;
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(button);
    wrap.appendChild(name);
    wrap.appendChild(input);

    function show() {
      var files = input.files ? Array.prototype.map.call(input.files, function (f) {
        return f.name;
      }) : [];
      name.textContent = files.length ? files.join(", ") : none;
      wrap.classList.toggle("chosen", files.length > 0);
    }
    input.addEventListener("change", show);
    show();
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[type=file]"), enhance);
})();
