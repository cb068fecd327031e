// The kiosk's PIN page: an on-screen keypad fills the PIN field, and a screen reader hears
// how many digits are typed (never which). Signing in waits for the sign-in key, so a
// mistyped last digit can still be erased instead of costing one of the PIN's few tries.
// Left untouched, the page asks "Still there?" and goes back to the list of residents only
// when nobody answers: the next person at the shared screen must not find a half-typed
// PIN, yet a slow reader, or someone exploring by touch with a screen reader (which sends
// the page no events), gets time to ask for more (WCAG 2.2.1). Without this script the
// field takes the device's own keyboard.
(function () {
  "use strict";
  var back = document.getElementById("back-form");
  var form = document.getElementById("pin-form");
  if (form) {
    var field = form.querySelector("input[name=pin]");
    var keypad = form.querySelector("[data-keypad]");
    var progress = document.getElementById("pin-progress");
    var announce = function () {
      progress.textContent = progress.getAttribute("data-progress-" + field.value.length);
    };
    keypad.hidden = false;
    field.setAttribute("inputmode", "none"); // the keypad replaces the device's keyboard
    keypad.addEventListener("click", function (event) {
      var key = event.target.closest("button");
      if (!key) return;
      if (key.hasAttribute("data-erase")) {
        field.value = field.value.slice(0, -1);
      } else if (field.value.length < 4) {
        field.value += key.getAttribute("data-digit");
      }
      announce();
    });
    field.addEventListener("input", announce);
  }
  var prompt = document.getElementById("still-there");
  if (back && prompt) {
    var timer = null;
    var seconds = function (name) { return 1000 * Number(prompt.getAttribute(name)); };
    var ask = function () {
      prompt.showModal();
      prompt.querySelector("[data-more-time]").focus();
      timer = setTimeout(function () { back.submit(); }, seconds("data-wait"));
    };
    var restart = function () {
      clearTimeout(timer);
      timer = setTimeout(ask, seconds("data-after"));
    };
    prompt.querySelector("[data-more-time]").addEventListener("click", function () { prompt.close(); });
    prompt.addEventListener("close", restart); // the button, or Escape on a keyboard
    // click and input too: a screen reader's double tap sends a click but no pointerdown.
    ["pointerdown", "keydown", "click", "input"].forEach(function (type) {
      document.addEventListener(type, function () { if (!prompt.open) restart(); });
    });
    restart();
  }
})();
