// sakk dashboard: small additions to pages that work without them.
// No inline script anywhere (the Content-Security-Policy forbids it): each
// behaviour hangs off a data- attribute.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("click", function (e) {
  var b = e.target.closest("[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(function () {
    var was = b.textContent;
    b.textContent = b.getAttribute("data-copied") || was;
    setTimeout(function () { b.textContent = was; }, 1500);
  });
});

// A form that moves money or deletes something asks first.
document.addEventListener("submit", function (e) {
  var f = e.target.closest("form[data-confirm]");
  if (f && !window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
});

// The application switcher goes to the chosen application at once.
document.addEventListener("change", function (e) {
  var s = e.target.closest("select[data-go-app]");
  if (!s) return;
  var live = new URLSearchParams(location.search).get("env") === "live";
  location.href = "/dashboard/apps/" + encodeURIComponent(s.value) + "/overview" + (live ? "?env=live" : "");
});
