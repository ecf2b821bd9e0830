// partitur web UI: small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-copy],[data-reveal],[data-toggle]");
    if (!el) return;
    if (el.hasAttribute("data-copy")) {
      var text = el.getAttribute("data-copy");
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          var old = el.lastChild.textContent;
          el.lastChild.textContent = " Copied";
          setTimeout(function () { el.lastChild.textContent = old; }, 1200);
        });
      }
    } else if (el.hasAttribute("data-reveal")) {
      var secret = el.parentElement.querySelector("[data-secret]");
      var code = secret.querySelector("code");
      var shown = el.getAttribute("aria-pressed") === "true";
      code.textContent = shown ? "••••••••••••" + secret.getAttribute("data-secret").slice(-4)
                               : secret.getAttribute("data-secret");
      el.setAttribute("aria-pressed", shown ? "false" : "true");
      el.textContent = shown ? "Show" : "Hide";
    } else if (el.hasAttribute("data-toggle")) {
      document.getElementById(el.getAttribute("data-toggle")).classList.toggle("open");
    }
  });
})();
