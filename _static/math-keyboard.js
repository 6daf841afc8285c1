// Display formulas that are wider than the text column scroll sideways: a reader on a keyboard must be able
// to reach them (axe: scrollable-region-focusable). MathJax's right-click menu used to make every formula a
// tab stop; the site loads MathJax without that menu (_ext/course_assets.py), so display formulas get
// tabindex="0" here once MathJax has typeset the page.
(function () {
  function reachable() {
    document.querySelectorAll('mjx-container[display="true"]:not([tabindex])').forEach(function (el) {
      el.setAttribute("tabindex", "0");
    });
  }
  function start() {
    var mathjax = window.MathJax;
    if (mathjax && mathjax.startup && mathjax.startup.promise) mathjax.startup.promise.then(reachable);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
