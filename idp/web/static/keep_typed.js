// What was typed into a form survives a page that would lose it, in this tab's
// sessionStorage, put back once:
// - Switching the language reloads the page: the language link is a plain link (the
//   language is not a form field of any journey). What was typed goes to the page it leads to.
// - A post that could not be taken (its form expired, too many attempts, the service was
//   unavailable) answers with an error page whose "Try again" leads back to the form: what
//   was posted goes back into that form, over what the fresh page shows. It is kept from the
//   person's own submit, never read from the post, so no other site can fill a form this way.
// Secrets are never kept: passwords, PINs typed as masked text, emailed codes; they are
// typed again. Nor are hidden fields: the page brings its own CSRF token.
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

  function path(href) {
    return here(new URL(href, location.href));
  }

  function typed(fields) {
    var found = [];
    Array.prototype.forEach.call(fields, function (field) {
      if (!kept(field)) return;
      if (field.type === "checkbox" || field.type === "radio") {
        found.push([field.name, field.value, field.checked]);
      } else if (field.value) {
        found.push([field.name, field.value]);
      }
    });
    return found;
  }

  function keep(entry) {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(entry));
    } catch (error) { /* storage refused (private mode, quota): the form starts empty */ }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".langs a");
    if (!link) return;
    var fields = typed(document.querySelectorAll("form input, form textarea, form select"));
    var back = new URL(link.href).searchParams.get("next");
    if (fields.length && back) keep({page: path(back), fields: fields});
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.method !== "post") return;
    var fields = typed(form.elements);
    if (fields.length) keep({posted: path(form.action), fields: fields});
  });

  var saved;
  try {
    saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    sessionStorage.removeItem(KEY);
  } catch (error) { return; }
  if (!saved) return;
  if (saved.posted) {  // this page answers that post: an error page, or the post went through
    var again = document.querySelector("[data-again] a");
    if (again && saved.posted === here(location)) {
      keep({page: path(again.href), form: saved.posted, fields: saved.fields});
    }
    return;
  }
  if (saved.page !== here(location)) return;
  saved.fields.forEach(function (entry) {
    document.getElementsByName(entry[0]).forEach(function (field) {
      if (!kept(field) || !field.form) return;
      var posted = saved.form && path(field.form.action) === saved.form;
      if (saved.form && !posted) return;  // only the form that was posted
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.value === entry[1]) field.checked = entry[2];
      } else if (posted || !field.value) {
        field.value = entry[1];
      }
    });
  });
})();
