// Job page: a lightbox for assets (fit to the window, or at full size) and a side-by-side
// comparison of scene variants; on a phone the comparison is a strip swiped one scene at a
// time (CSS scroll snapping), with ‹ › and the arrow keys and its place shown ("2 / 4").
// Plain script; the gallery arrives by HTMX once the job finishes, so every handler is
// delegated from the document.
(function () {
  "use strict";
  var dialog, stage, caption, position, sizeButton, download, index = -1, items = [];
  var current = 0, gliding = null;  // the strip's scene, and where ‹ › are taking it

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function build() {
    if (dialog) return;
    dialog = el("dialog", { class: "lightbox", "aria-label": "Asset preview" });
    var bar = el("div", { class: "lightbox-bar" });
    caption = el("div", { class: "lightbox-caption", "aria-live": "polite" });
    var tools = el("div", { class: "lightbox-tools" });
    var prev = el("button", { type: "button", class: "btn secondary", "data-lb": "prev", "aria-label": "Previous" }, "‹");
    position = el("span", { class: "lightbox-position", "aria-live": "polite" });
    var next = el("button", { type: "button", class: "btn secondary", "data-lb": "next", "aria-label": "Next" }, "›");
    sizeButton = el("button", { type: "button", class: "btn secondary", "data-lb": "size", "aria-pressed": "false" }, "Full size");
    download = el("a", { class: "btn secondary", "data-lb": "download" }, "Download");
    var close = el("button", { type: "button", class: "btn", "data-lb": "close", "aria-label": "Close" }, "Close");
    [prev, position, next, sizeButton, download, close].forEach(function (b) { tools.appendChild(b); });
    bar.appendChild(caption);
    bar.appendChild(tools);
    stage = el("div", { class: "lightbox-stage" });
    dialog.appendChild(bar);
    dialog.appendChild(stage);
    document.body.appendChild(dialog);
    dialog.addEventListener("click", function (event) {
      var action = event.target.getAttribute && event.target.getAttribute("data-lb");
      if (action === "close" || event.target === dialog) dialog.close();
      else if (action === "prev") step(-1);
      else if (action === "next") step(1);
      else if (action === "size" || (event.target.tagName === "IMG" && index >= 0)) toggleSize();
    });
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
      if (index < 0 && !swiping()) return;
      step(event.key === "ArrowLeft" ? -1 : 1);
      event.preventDefault();
    });
    // The strip's place follows a swipe as well as the buttons; while ‹ › or an arrow key
    // glides it to a scene, the place already names that scene, and a second press goes
    // on from there.
    stage.addEventListener("scroll", function () {
      if (!swiping()) return;
      if (gliding !== null) {
        if (Math.abs(stage.scrollLeft - gliding) < 1) gliding = null;
        return;
      }
      current = stripIndex();
      place(current);
    }, { passive: true });
    ["touchstart", "wheel", "pointerdown"].forEach(function (type) {
      stage.addEventListener(type, function () { gliding = null; }, { passive: true });
    });
    dialog.addEventListener("close", function () { stage.textContent = ""; index = -1; });
  }

  function place(i, count) {
    var total = count || stage.children.length;
    position.textContent = total > 1 ? i + 1 + " / " + total : "";
  }

  // A comparison whose scenes are wider than the stage together: the phone's strip.
  function swiping() {
    return dialog.classList.contains("comparing") && stage.scrollWidth > stage.clientWidth + 1;
  }

  function stripIndex() {
    var figures = stage.children, best = 0;
    for (var i = 1; i < figures.length; i++) {
      if (Math.abs(figures[i].offsetLeft - stage.scrollLeft - figures[0].offsetLeft) <
          Math.abs(figures[best].offsetLeft - stage.scrollLeft - figures[0].offsetLeft)) best = i;
    }
    return best;
  }

  function step(delta) {
    if (index >= 0) { show(index + delta); return; }
    if (!swiping()) return;
    var figures = stage.children, n = figures.length;
    current = (current + delta + n) % n;
    gliding = Math.min(figures[current].offsetLeft - figures[0].offsetLeft, stage.scrollWidth - stage.clientWidth);
    stage.scrollTo({ left: gliding, behavior: "smooth" });
    place(current);
  }

  function setFull(full) {
    stage.classList.toggle("full", full);
    sizeButton.setAttribute("aria-pressed", full ? "true" : "false");
    sizeButton.textContent = full ? "Fit to window" : "Full size";
  }

  function toggleSize() { setFull(!stage.classList.contains("full")); }

  function open() {
    if (!dialog.open) dialog.showModal();
  }

  function show(i) {
    if (!items.length) return;
    index = (i + items.length) % items.length;
    var link = items[index];
    stage.textContent = "";
    stage.className = "lightbox-stage";
    var img = el("img", { src: link.getAttribute("href"), alt: link.getAttribute("data-title") || "" });
    stage.appendChild(img);
    setFull(false);
    caption.textContent = (link.getAttribute("data-title") || "") + "  " + (link.getAttribute("data-size") || "");
    place(index, items.length);
    download.setAttribute("href", link.getAttribute("data-download"));
    dialog.classList.remove("comparing");
    open();
  }

  function compare(links) {
    build();
    index = -1;
    stage.textContent = "";
    stage.className = "lightbox-stage compare";
    stage.style.setProperty("--columns", String(Math.min(links.length, 4)));
    links.forEach(function (link) {
      var figure = el("figure");
      figure.appendChild(el("img", { src: link.getAttribute("href"), alt: link.getAttribute("data-title") || "" }));
      figure.appendChild(el("figcaption", {}, link.getAttribute("data-title") || ""));
      stage.appendChild(figure);
    });
    caption.textContent = "Comparing " + links.length + " scenes";
    download.removeAttribute("href");
    dialog.classList.add("comparing");
    open();
    stage.scrollLeft = 0;
    current = 0;
    gliding = null;
    place(0, links.length);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-lightbox]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      event.preventDefault();
      build();
      items = Array.prototype.slice.call(document.querySelectorAll("a[data-lightbox]"));
      show(items.indexOf(link));
      return;
    }
    var button = event.target.closest && event.target.closest("[data-compare-button]");
    if (button) {
      var ticked = document.querySelectorAll("input[data-compare]:checked");
      var boxes = ticked.length >= 2 ? ticked : document.querySelectorAll("input[data-compare]");
      compare(Array.prototype.map.call(boxes, function (box) {
        return box.closest("figure").querySelector("a[data-lightbox]");
      }));
    }
  });

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("input[data-compare]")) return;
    var count = document.querySelectorAll("input[data-compare]:checked").length;
    var all = document.querySelectorAll("input[data-compare]").length;
    // the button's words for each width (side by side, or swiped) name how many it compares
    document.querySelectorAll("[data-compare-which]").forEach(function (which) {
      which.textContent = count >= 2 ? String(count) : all >= 2 ? "all " + all : "the";
    });
  });
})();
