// A form is sent once: a double click (or an impatient second one) would send it again,
// and the second answer replaces the first: a second emailed code that voids the first,
// a second sign-in attempt counted against the account. Forms whose submit another script
// takes over (passkeys) are left to it; a page come back to with the Back button sends again.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) return;
    var form = event.target;
    if (form.hasAttribute("data-sent")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "");
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
    });
  });
})();
