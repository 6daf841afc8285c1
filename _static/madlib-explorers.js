/* Model Collapse, Hands-On: load the site's plotly.js (the basic bundle, _static/vendor/) once, when
   the first kernel-free explorer of a page comes near the screen, so pages are light to open.
   Jupyter Book adds every script in _static/ to every page; this one is a few hundred bytes.
   An explorer (madlib.plots.interactive) calls window.madlibWhenPlotly(element, draw). */
(function () {
  var script = document.currentScript;
  var url = script ? new URL("vendor/plotly-basic.min.js", script.src).href : "_static/vendor/plotly-basic.min.js";
  var waiting = [];
  var state = "idle";
  function load() {
    if (state !== "idle") return;
    state = "loading";
    var tag = document.createElement("script");
    tag.src = url;
    tag.onload = function () {
      state = "ready";
      waiting.splice(0).forEach(function (callback) { callback(); });
    };
    document.head.appendChild(tag);
  }
  window.madlibWhenPlotly = function (element, callback) {
    if (window.Plotly) { callback(); return; }
    waiting.push(callback);
    if (!("IntersectionObserver" in window)) { load(); return; }
    var watcher = new IntersectionObserver(function (entries) {
      if (entries.some(function (entry) { return entry.isIntersecting; })) { watcher.disconnect(); load(); }
    }, {rootMargin: "600px 0px"});
    watcher.observe(element);
  };
})();
