// Job page: while the job runs its status is polled (htmx, every second) and each answer
// carries the assets made so far (#job-assets, out of band). Instead of replacing the
// gallery, the answer is merged into it by ids: a new card is added where it belongs, a card
// already shown is left as it is (its picture is not fetched again and the page does not
// move), a section the merchant folded or opened stays so. A card is replaced only when its
// data-sig changed. The polling ends with the job: a finished status carries no hx-get.
(function () {
  "use strict";

  function keyed(el) { return el.hasAttribute("data-keyed"); }

  // a keyed container's own attributes follow the server's, except whether it is open
  function syncAttributes(old, fresh) {
    Array.prototype.forEach.call(fresh.attributes, function (a) {
      if (a.name === "open" || a.name === "hx-swap-oob") return;
      if (old.getAttribute(a.name) !== a.value) old.setAttribute(a.name, a.value);
    });
    Array.prototype.slice.call(old.attributes).forEach(function (a) {
      if (a.name === "open" || a.name === "data-arrived") return;
      if (!fresh.hasAttribute(a.name)) old.removeAttribute(a.name);
    });
  }

  function changed(old, fresh) {
    var sig = fresh.getAttribute("data-sig");
    if (sig !== null) return old.getAttribute("data-sig") !== sig;
    return old.outerHTML !== fresh.outerHTML;
  }

  function merge(old, fresh) {
    syncAttributes(old, fresh);
    var mine = {};
    Array.prototype.forEach.call(old.children, function (child) { if (child.id) mine[child.id] = child; });
    var kept = [];
    var after = null;
    Array.prototype.slice.call(fresh.children).forEach(function (child) {
      var node = child.id ? mine[child.id] : null;
      if (node && keyed(node) && keyed(child)) {
        merge(node, child);
      } else if (node && changed(node, child)) {
        node.replaceWith(child);
        node = child;
      } else if (!node) {
        node = child;
      }
      var place = after ? after.nextElementSibling : old.firstElementChild;
      if (node !== place) old.insertBefore(node, place);
      kept.push(node);
      after = node;
    });
    Array.prototype.slice.call(old.children).forEach(function (child) {
      if (kept.indexOf(child) < 0) child.remove();
    });
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "job-assets") return;
    var fragment = event.detail.fragment;
    var fresh = fragment.id === "job-assets" ? fragment : fragment.querySelector && fragment.querySelector("#job-assets");
    if (!fresh) {  // the element's content came alone: merge it as the element's
      fresh = target.cloneNode(false);
      fresh.appendChild(fragment);
    }
    event.detail.shouldSwap = false;
    merge(target, fresh);
  });

  // A poll refused because the session ended (a plain 403, shop_assets/accounts/signed_out.py)
  // says so in the status card, with a way to sign in and come back; the polling goes on, and
  // its first answer after the merchant signs in again (here or in another tab) replaces it.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var status = event.detail.elt;
    if (!xhr || xhr.status !== 403 || !status || status.id !== "job-status-inner") return;
    if ((xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") !== 0) return;
    if (status.querySelector("[data-signed-out]")) return;
    var said = document.createElement("p");
    said.className = "error";
    said.setAttribute("role", "alert");
    said.setAttribute("data-signed-out", "");
    var link = document.createElement("a");
    link.href = status.getAttribute("data-sign-in");
    link.textContent = "Sign in";
    said.append(xhr.responseText.trim() + " ", link);
    status.querySelector(".card").appendChild(said);
  });
})();
