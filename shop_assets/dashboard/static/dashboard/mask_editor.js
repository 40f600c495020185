// Cutout editor on the product page: draw a box and keep/remove strokes on the photo's
// preview, see the server's refined cutout after each change, undo, save.
// Coordinates sent to the server are the preview's pixels (data-width x data-height).
(function () {
  "use strict";

  var COLOURS = { keep: "rgba(22, 163, 74, 0.75)", remove: "rgba(220, 38, 38, 0.75)" };

  function setup(root) {
    if (root.dataset.ready) return;
    root.dataset.ready = "1";
    var W = Number(root.dataset.width);
    var H = Number(root.dataset.height);
    var canvas = root.querySelector("canvas[data-draw]");
    var ctx = canvas.getContext("2d");
    var result = root.querySelector("img[data-result]");
    var status = root.querySelector("[data-result-status]");
    var save = root.querySelector("[data-save]");
    var brush = root.querySelector("[data-brush]");
    var token = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    var tool = "box";
    var actions = [];
    var current = null;
    var timer = null;
    var ticket = 0;
    var resultUrl = null;

    function point(ev) {
      var r = canvas.getBoundingClientRect();
      var x = ((ev.clientX - r.left) * W) / r.width;
      var y = ((ev.clientY - r.top) * H) / r.height;
      return [Math.max(0, Math.min(W, x)), Math.max(0, Math.min(H, y))];
    }

    function rect(a, b) {
      return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])];
    }

    function lastBox() {
      for (var i = actions.length - 1; i >= 0; i--) {
        if (actions[i].type === "box") return actions[i].rect;
      }
      return null;
    }

    function drawStroke(c, s, colour) {
      c.strokeStyle = colour;
      c.lineWidth = s.size;
      c.lineCap = "round";
      c.lineJoin = "round";
      c.beginPath();
      c.moveTo(s.points[0][0], s.points[0][1]);
      for (var i = 1; i < s.points.length; i++) c.lineTo(s.points[i][0], s.points[i][1]);
      if (s.points.length === 1) c.lineTo(s.points[0][0] + 0.01, s.points[0][1]);
      c.stroke();
    }

    function redraw() {
      ctx.clearRect(0, 0, W, H);
      var all = current ? actions.concat([current]) : actions;
      all.forEach(function (a) {
        if (a.type !== "box") drawStroke(ctx, a, COLOURS[a.type]);
      });
      var box = current && current.type === "box" ? current.rect : lastBox();
      if (box) {
        ctx.save();
        ctx.strokeStyle = "#2563eb";
        ctx.lineWidth = Math.max(2, W / 320);
        ctx.setLineDash([10, 6]);
        ctx.strokeRect(box[0], box[1], box[2], box[3]);
        ctx.restore();
      }
    }

    // white strokes on a transparent canvas: the server reads the painted pixels
    function strokeMask(type) {
      var off = document.createElement("canvas");
      off.width = W;
      off.height = H;
      var c = off.getContext("2d");
      var any = false;
      actions.forEach(function (a) {
        if (a.type === type) {
          drawStroke(c, a, "#fff");
          any = true;
        }
      });
      return any ? off : null;
    }

    function asBlob(c) {
      return new Promise(function (resolve) {
        c.toBlob(resolve, "image/png");
      });
    }

    async function formData() {
      var data = new FormData();
      var box = lastBox();
      if (box) data.append("box", JSON.stringify(box.map(Math.round)));
      for (var type of ["keep", "remove"]) {
        var mask = strokeMask(type);
        if (mask) data.append(type, await asBlob(mask), type + ".png");
      }
      return data;
    }

    function ready() {
      return lastBox() !== null || actions.some(function (a) { return a.type === "keep"; });
    }

    async function post(url) {
      return fetch(url, {
        method: "POST",
        body: await formData(),
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      });
    }

    async function problem(response, fallback) {
      // a signed-out request's refusal is a plain sentence ("You are signed out. ...")
      if ((response.headers.get("Content-Type") || "").startsWith("text/plain")) {
        return (await response.text()) || fallback;
      }
      try {
        return (await response.json()).detail || fallback;
      } catch (e) {
        return fallback;
      }
    }

    async function refine() {
      if (!ready()) {
        status.textContent = "Draw a box around the product, or paint a keep stroke on it.";
        save.disabled = true;
        result.hidden = true;
        return;
      }
      var mine = ++ticket;
      status.textContent = "Updating the cutout…";
      root.dataset.busy = "1";
      var response = await post(root.dataset.refineUrl);
      if (mine !== ticket) return; // a newer change is on its way
      delete root.dataset.busy;
      if (!response.ok) {
        root.dataset.refreshes = String(Number(root.dataset.refreshes || 0) + 1);
        status.textContent = await problem(response, "The cutout could not be made from these strokes.");
        save.disabled = true;
        return;
      }
      var confidence = Number(response.headers.get("X-Matte-Confidence"));
      var problems = JSON.parse(response.headers.get("X-Matte-Problems") || "[]");
      if (resultUrl) URL.revokeObjectURL(resultUrl);
      resultUrl = URL.createObjectURL(await response.blob());
      result.src = resultUrl;
      result.hidden = false;
      root.dataset.confidence = confidence.toFixed(3);
      root.dataset.refreshes = String(Number(root.dataset.refreshes || 0) + 1);
      status.textContent = problems.length ? "It may still be wrong: " + problems.join(" ") : "Looks right.";
      save.disabled = false;
    }

    function changed() {
      redraw();
      clearTimeout(timer);
      timer = setTimeout(refine, 250);
    }

    canvas.addEventListener("pointerdown", function (ev) {
      ev.preventDefault();
      canvas.focus(); // so Ctrl+Z reaches the editor
      canvas.setPointerCapture(ev.pointerId);
      var p = point(ev);
      current = tool === "box" ? { type: "box", start: p, rect: [p[0], p[1], 0, 0] } : { type: tool, size: Number(brush.value), points: [p] };
      redraw();
    });
    canvas.addEventListener("pointermove", function (ev) {
      if (!current) return;
      var p = point(ev);
      if (current.type === "box") current.rect = rect(current.start, p);
      else current.points.push(p);
      redraw();
    });
    function finish() {
      if (!current) return;
      var done = current;
      current = null;
      if (done.type === "box" && (done.rect[2] < 4 || done.rect[3] < 4)) {
        redraw();
        return;
      }
      delete done.start;
      actions.push(done);
      changed();
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);

    root.querySelectorAll("[data-tool]").forEach(function (button) {
      button.addEventListener("click", function () {
        tool = button.dataset.tool;
        root.querySelectorAll("[data-tool]").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
      });
    });
    root.querySelector("[data-undo]").addEventListener("click", function () {
      actions.pop();
      changed();
    });
    root.querySelector("[data-clear]").addEventListener("click", function () {
      actions = [];
      changed();
    });
    root.addEventListener("keydown", function (ev) {
      if ((ev.ctrlKey || ev.metaKey) && ev.key === "z") {
        ev.preventDefault();
        actions.pop();
        changed();
      }
    });

    save.addEventListener("click", async function () {
      save.disabled = true;
      status.textContent = "Saving the cutout at full size…";
      var response = await post(root.dataset.saveUrl);
      if (!response.ok) {
        status.textContent = await problem(response, "The cutout could not be saved.");
        save.disabled = false;
        return;
      }
      var saved = await response.json();
      window.location.href = saved.url;
      window.location.reload();
    });
  }

  function init(scope) {
    (scope || document).querySelectorAll("[data-mask-editor]").forEach(setup);
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
  document.addEventListener("htmx:load", function (ev) {
    init(ev.detail.elt);
  });
})();
