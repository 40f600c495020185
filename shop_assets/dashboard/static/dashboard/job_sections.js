// Job page: on a phone the asset sections (Scenes, Posters, Clips...) fold, all but the first,
// so the page is a few screens of headings with their counts; a tap opens one. A desktop
// keeps every section open, as does a browser without script (the page arrives so). Runs
// as the page is read, before it is drawn, and again when polling brings the finished gallery.
(function () {
  "use strict";
  var phone = window.matchMedia("(max-width: 760px)");

  // each section is folded once, as it arrives: one the merchant opened stays open
  function fold() {
    document.querySelectorAll("details[data-assets-section]").forEach(function (section, i) {
      if (section.hasAttribute("data-arrived")) return;
      section.setAttribute("data-arrived", "");
      if (phone.matches && i > 0) section.open = false;
    });
  }

  fold();
  document.addEventListener("htmx:afterSwap", fold);

  // a running job's tries, opened by the merchant, stay open as the status is polled anew
  var triesOpen = false;
  document.addEventListener("htmx:beforeSwap", function () {
    var tries = document.getElementById("job-attempts");
    triesOpen = !!(tries && tries.open);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var tries = document.getElementById("job-attempts");
    if (tries && triesOpen) tries.open = true;
  });
  // turned or widened to a desktop's width: every section shows again
  phone.addEventListener("change", function () {
    if (phone.matches) return;
    document.querySelectorAll("details[data-assets-section]").forEach(function (section) { section.open = true; });
  });
})();
