// A Copy button beside a link, key or secret shown once (<button data-copy="ID" hidden>): it
// puts the text of #ID on the clipboard and says "Copied" for a few seconds. Without the
// Clipboard API (an http:// address other than localhost) the button stays hidden and the
// text itself is selected whole by one click (user-select: all), ready for Ctrl+C. Buttons
// that HTMX swaps in later (a webhook's revealed secret) are set up as they arrive.
(function () {
  "use strict";
  function setUp(root) {
    if (!(navigator.clipboard && navigator.clipboard.writeText)) return;
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || button.hasAttribute("data-copy-ready")) return;
      var label = button.textContent, timer = null;
      button.setAttribute("data-copy-ready", "");
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
          button.classList.add("copied");
        }, function () {
          // refused (no permission): select the text for the merchant to copy
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          button.textContent = "Press Ctrl+C";
        });
        clearTimeout(timer);
        timer = setTimeout(function () { button.textContent = label; button.classList.remove("copied"); }, 4000);
      });
    });
  }
  document.addEventListener("htmx:load", function (event) { setUp(event.detail.elt); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { setUp(document); });
  else setUp(document);
})();
