/* Cutout previews on a light or a dark checkerboard: a white product's edges vanish on the
   light one. The choice is kept in this browser and applies to every cutout preview. */
(function () {
  "use strict";
  var KEY = "shopassets.backdrop";
  var root = document.documentElement;

  function stored() {
    try { return window.localStorage.getItem(KEY) === "dark"; } catch (e) { return false; }
  }

  function apply(dark) {
    root.classList.toggle("dark-backdrop", dark);
    document.querySelectorAll("[data-backdrop-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    });
  }

  apply(stored());
  document.addEventListener("DOMContentLoaded", function () { apply(stored()); });
  // at once after a card is swapped in (settling comes a moment later: its button would
  // show the server's "not pressed" meanwhile)
  document.addEventListener("htmx:afterSwap", function () { apply(stored()); });
  document.addEventListener("htmx:afterSettle", function () { apply(stored()); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-backdrop-toggle]");
    if (!button) return;
    var dark = !root.classList.contains("dark-backdrop");
    try { window.localStorage.setItem(KEY, dark ? "dark" : "light"); } catch (e) { /* kept for this page only */ }
    apply(dark);
  });
})();
