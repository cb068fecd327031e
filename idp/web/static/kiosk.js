// The kiosk's PIN page: an on-screen keypad fills the PIN field and signs in at the
// fourth digit; after a minute without a tap the page goes back to the list of
// residents, so a PIN page is not left open for the next person. Without this script
// the field takes the device's own keyboard.
(function () {
  "use strict";
  var IDLE_MS = 60000;
  var back = document.getElementById("back-form");
  var form = document.getElementById("pin-form");
  if (form) {
    var field = form.querySelector("input[name=pin]");
    var keypad = form.querySelector("[data-keypad]");
    keypad.hidden = false;
    form.querySelector("[data-without-keypad]").hidden = true;
    field.setAttribute("inputmode", "none"); // the keypad replaces the device's keyboard
    keypad.addEventListener("click", function (event) {
      var key = event.target.closest("button");
      if (!key || key.type === "submit") return;
      if (key.hasAttribute("data-erase")) {
        field.value = field.value.slice(0, -1);
      } else if (field.value.length < 4) {
        field.value += key.getAttribute("data-digit");
        if (field.value.length === 4) form.requestSubmit();
      }
    });
  }
  if (back) {
    var timer = null;
    var restart = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { back.submit(); }, IDLE_MS);
    };
    document.addEventListener("pointerdown", restart);
    document.addEventListener("keydown", restart);
    restart();
  }
})();
