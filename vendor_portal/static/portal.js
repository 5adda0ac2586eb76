// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Stock list: mark edited quantities, and warn before leaving with unsaved edits.
  document.querySelectorAll("form[data-edit-table]").forEach(function (form) {
    var dirty = false;
    form.querySelectorAll("input.qty").forEach(function (input) {
      var shown = input.defaultValue;
      input.addEventListener("input", function () {
        input.classList.toggle("changed", input.value !== shown);
        dirty = Array.prototype.some.call(form.querySelectorAll("input.qty"), function (i) {
          return i.value !== i.defaultValue;
        });
      });
    });
    form.addEventListener("submit", function () { dirty = false; });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
  });

  // Ask before destructive actions (revoke, cancel, reject); without JS the server still checks everything.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });

  // Upload preview: a changed column choice refreshes the preview at once.
  document.querySelectorAll("form[data-autopreview]").forEach(function (form) {
    var button = form.querySelector("[data-preview]");
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { if (button) { button.click(); } });
    });
  });

  // Packing slip: the print button (no inline handler: the Content-Security-Policy forbids them).
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // SLA countdowns tick once a minute.
  function render(el) {
    var due = Date.parse(el.getAttribute("data-due"));
    if (isNaN(due)) { return; }
    var minutes = Math.round((due - Date.now()) / 60000);
    var abs = Math.abs(minutes), h = Math.floor(abs / 60), m = abs % 60;
    var text = (h ? h + " h " : "") + m + " min";
    el.textContent = minutes < 0 ? "overdue by " + text : "in " + text;
    el.classList.toggle("overdue", minutes < 0);
    el.classList.toggle("soon", minutes >= 0 && minutes < 120);
  }
  var countdowns = document.querySelectorAll("[data-due]");
  if (countdowns.length) {
    countdowns.forEach(render);
    window.setInterval(function () { countdowns.forEach(render); }, 60000);
  }
})();
