// After a logout, go on to the relying service once every front-channel logout frame has
// loaded, or after 3 seconds: a slow or unreachable service must not hold the person here.
(function () {
  var next = document.getElementById("continue");
  if (!next) return;
  var frames = document.querySelectorAll("iframe[data-logout]");
  var left = frames.length;
  var gone = false;
  function go() {
    if (!gone) {
      gone = true;
      window.location.replace(next.href);
    }
  }
  frames.forEach(function (frame) {
    frame.addEventListener("load", function () {
      left -= 1;
      if (left <= 0) go();
    });
  });
  if (left === 0) go();
  setTimeout(go, 3000);
})();
