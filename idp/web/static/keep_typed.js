// Switching the language reloads the page, which would empty a half-filled form: the
// language link is a plain link (the language is not a form field of any journey). What
// was typed goes with it in this tab's sessionStorage and is put back on the page the link
// leads to, once. Secrets are never kept: passwords, PINs typed as masked text, emailed
// codes; they are typed again. Nor are hidden fields: the page brings its own CSRF token.
(function () {
  "use strict";
  var KEY = "tunnus.typed";
  var SKIPPED = ["password", "hidden", "submit", "button", "reset", "file", "image"];

  function kept(field) {
    return field.name && SKIPPED.indexOf(field.type) < 0 && !field.disabled &&
      !field.classList.contains("masked") && field.autocomplete !== "one-time-code";
  }

  function here(url) {
    return url.pathname + url.search;
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".langs a");
    if (!link) return;
    var fields = [];
    document.querySelectorAll("form input, form textarea, form select").forEach(function (field) {
      if (!kept(field)) return;
      if (field.type === "checkbox" || field.type === "radio") {
        fields.push([field.name, field.value, field.checked]);
      } else if (field.value) {
        fields.push([field.name, field.value]);
      }
    });
    if (!fields.length) return;
    var back = new URL(link.href).searchParams.get("next");
    if (!back) return;
    try {
      sessionStorage.setItem(KEY, JSON.stringify({page: here(new URL(back, location.href)), fields: fields}));
    } catch (error) { /* storage refused (private mode, quota): the form starts empty */ }
  });

  var saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
  } catch (error) { return; }
  if (!saved || saved.page !== here(location)) return;
  saved.fields.forEach(function (entry) {
    document.getElementsByName(entry[0]).forEach(function (field) {
      if (!kept(field) || !field.form) return;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.value === entry[1]) field.checked = entry[2];
      } else if (!field.value) {
        field.value = entry[1];
      }
    });
  });
})();
