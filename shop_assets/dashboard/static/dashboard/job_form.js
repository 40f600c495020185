// New-job form: show only the options of the outputs that are ticked. Without this
// script every option stays visible, and the server ignores options of unticked outputs.
(function () {
  function update(form) {
    var ticked = Array.prototype.map.call(
      form.querySelectorAll('input[name="outputs"]:checked'), function (box) { return box.value; });
    form.querySelectorAll("[data-output]").forEach(function (el) {
      var wanted = el.getAttribute("data-output").split(" ");
      el.hidden = !wanted.some(function (kind) { return ticked.indexOf(kind) !== -1; });
    });
  }
  function init() {
    document.querySelectorAll("form[data-job-form]").forEach(function (form) {
      form.addEventListener("change", function (event) {
        if (event.target.name === "outputs") update(form);
      });
      update(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
