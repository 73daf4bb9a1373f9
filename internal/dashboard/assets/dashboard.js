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

// The branding preview: the application's colour becomes the preview's
// --brand (a custom property set from this file, as the CSP allows), and
// the settings form's fields update it as they are typed.
function brandPreview(box, color) {
  if (/^#[0-9a-fA-F]{6}$/.test(color)) box.style.setProperty("--brand", color);
  else box.style.removeProperty("--brand");
}
document.querySelectorAll(".preview[data-color]").forEach(function (box) {
  brandPreview(box, box.getAttribute("data-color"));
});
document.addEventListener("input", function (e) {
  var t = e.target, el;
  if (t.hasAttribute("data-preview-text") && (el = document.getElementById(t.getAttribute("data-preview-text")))) {
    el.textContent = t.value.trim() || el.getAttribute("data-fallback");
  } else if (t.hasAttribute("data-preview-color") && (el = document.getElementById(t.getAttribute("data-preview-color")))) {
    brandPreview(el, t.value.trim());
  } else if (t.hasAttribute("data-preview-logo") && (el = document.getElementById(t.getAttribute("data-preview-logo")))) {
    var u = t.value.trim();
    if (/^https:\/\//.test(u)) { el.src = u; el.hidden = false; } else { el.hidden = true; el.removeAttribute("src"); }
  }
});
