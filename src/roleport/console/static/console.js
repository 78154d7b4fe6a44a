// Roleport console: the only script of the pages (no inline script: see the CSP).
// Shows the details of the focused or pointed-at bar of the expiry chart.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var detail = document.getElementById("chart-detail");
  if (!detail) { return; }
  var bars = document.querySelectorAll("#expiry-chart .bar");
  function show(event) {
    detail.textContent = event.currentTarget.getAttribute("data-detail");
  }
  for (var i = 0; i < bars.length; i++) {
    bars[i].addEventListener("focus", show);
    bars[i].addEventListener("mouseenter", show);
  }
  document.documentElement.classList.add("js");
});
