"""Kernel-free explorers: a precomputed grid of curves as a Plotly figure with a slider.

A chapter's ipywidgets explorer needs a live kernel; on the static site it is a dead image.
This module turns the same explorer, computed at build time over a grid of its parameter(s),
into a Plotly figure whose slider (and optional dropdown) only toggles which precomputed
traces are visible, so it works in the rendered page without a kernel.

* ``slider_figure(frames, param_name=..., ...)`` builds the figure: one slider step per key of
  ``frames``; a key may be a pair ``(slider value, dropdown value)`` with ``dropdown_name`` set.
* ``to_html(fig)`` is the page's HTML without plotly.js: the book serves its own copy
  (``_ext/course_assets.py`` adds ``_static/plotly/plotly.min.js`` to pages with a figure).
* ``show(fig)`` displays it from a notebook cell (text/html for the book, Plotly's own MIME
  type for JupyterLab and VS Code, which draw it with their own plotly.js).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Union

import numpy as np
import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType

from .style import CYCLE

# The matplotlib house cycle itself, so a series keeps its colour between the static figure and the explorer.
HOUSE_COLOURS = tuple(CYCLE)
DASHES = ("solid", "dash", "dashdot", "dot", "longdash", "longdashdot")

# One curve: a ready Plotly trace, or (x, y, label) drawn as a line in the house style.
Series = Union[BaseTraceType, tuple]


def _label(value: Any) -> str:
    """A slider/dropdown label: numbers in short form (0.1, 1e-05, 1000), anything else as str."""
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return f"{value:g}"
    return str(value)


def _trace(series: Any, where: str, colours: dict[str, str]) -> go.Scatter | BaseTraceType:
    """A Plotly trace from one series; colour and dash follow its label's first appearance."""
    if isinstance(series, BaseTraceType):
        trace = series
        name = trace.name if getattr(trace, "name", None) is not None else ""
    elif isinstance(series, tuple) and len(series) == 3:
        x, y, name = series
        x = np.asarray(x, dtype=float).ravel()
        y = np.asarray(y, dtype=float).ravel()
        if x.size == 0 or x.size != y.size:
            raise ValueError(f"{where}: x and y must be non-empty and of equal length, got {x.size} and {y.size}")
        if not isinstance(name, str):
            raise ValueError(f"{where}: the label (third item) must be a str, got {type(name).__name__}")
        # float32 halves the page weight; 7 significant digits are far beyond what a reader sees.
        trace = go.Scatter(x=x.astype(np.float32), y=y.astype(np.float32), mode="lines", name=name)
    else:
        raise ValueError(f"{where} must be a plotly trace or an (x, y, label) tuple, got {type(series).__name__}")
    if name not in colours:
        colours[name] = HOUSE_COLOURS[len(colours) % len(HOUSE_COLOURS)]
    index = list(colours).index(name)
    trace.update(legendgroup=name or None)
    if isinstance(trace, go.Scatter) and trace.line.color is None and (trace.marker.color is None):
        trace.update(line=dict(color=colours[name], width=2, dash=DASHES[index % len(DASHES)]),
                     marker=dict(color=colours[name]))
    return trace


def _finite(values: Any) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):  # categorical axis values: no fixed numeric range
        return np.empty(0)
    return array[np.isfinite(array)]


def _range(arrays: list[np.ndarray], log: bool) -> list[float] | None:
    """An axis range covering every frame (log10 units on a log axis), padded by 4 %."""
    values = np.concatenate(arrays) if arrays else np.empty(0)
    if log:
        values = np.log10(values[values > 0])
    if values.size == 0:
        return None
    low, high = float(values.min()), float(values.max())
    pad = 0.04 * (high - low) if high > low else (0.5 if log else max(abs(low) * 0.05, 0.5))
    return [low - pad, high + pad]


def slider_figure(frames: Mapping[Hashable, Sequence[Series]], *, param_name: str, title: str = "",
                  xaxis: str = "", yaxis: str = "", log_y: bool = False, log_x: bool = False,
                  dropdown_name: str | None = None, active: int = 0, fixed_axes: bool = True,
                  height: int = 460) -> go.Figure:
    """A Plotly figure whose slider shows one precomputed frame at a time, without a kernel.

    ``frames`` maps each slider value (in slider order) to the curves of that frame, each a Plotly
    trace or an ``(x, y, label)`` tuple. With ``dropdown_name``, keys are ``(slider value,
    dropdown value)`` pairs forming a full grid; the dropdown picks the second parameter and
    brings its own slider. ``active`` is the slider step shown first. ``fixed_axes`` keeps one
    axis range for every frame, so moving the slider shows change instead of rescaled axes.
    """
    if not isinstance(frames, Mapping) or len(frames) == 0:
        raise ValueError("frames must be a non-empty mapping {parameter value: list of series}")
    if not isinstance(param_name, str) or not param_name.strip():
        raise ValueError(f"param_name must be a non-empty str, got {param_name!r}")
    if dropdown_name is not None and (not isinstance(dropdown_name, str) or not dropdown_name.strip()):
        raise ValueError(f"dropdown_name must be None or a non-empty str, got {dropdown_name!r}")
    if not isinstance(height, (int, np.integer)) or not 150 <= height <= 2000:
        raise ValueError(f"height must be an int pixel height in [150, 2000], got {height!r}")

    keys = list(frames)
    if dropdown_name is None:
        slider_values, menu_values = keys, [None]
        grid = {(None, key): key for key in keys}
    else:
        if not all(isinstance(k, tuple) and len(k) == 2 for k in keys):
            raise ValueError("frames keys must be (slider value, dropdown value) pairs when dropdown_name is set")
        slider_values = list(dict.fromkeys(k[0] for k in keys))
        menu_values = list(dict.fromkeys(k[1] for k in keys))
        if len(keys) != len(slider_values) * len(menu_values):
            raise ValueError(f"frames keys must form a full grid: {len(slider_values)} {param_name} values x "
                             f"{len(menu_values)} {dropdown_name} values, got {len(keys)} keys")
        grid = {(m, s): (s, m) for m in menu_values for s in slider_values}
    if not isinstance(active, (int, np.integer)) or not 0 <= active < len(slider_values):
        raise ValueError(f"active must be a slider index in [0, {len(slider_values) - 1}], got {active!r}")

    colours: dict[str, str] = {}
    traces: list[BaseTraceType] = []
    groups: dict[tuple, list[int]] = {}
    for m in menu_values:
        for s in slider_values:
            key = grid[(m, s)]
            series = frames[key]
            if isinstance(series, (str, bytes)) or not isinstance(series, Sequence) or len(series) == 0:
                raise ValueError(f"frames[{key!r}] must be a non-empty list of series")
            start = len(traces)
            for i, item in enumerate(series):
                traces.append(_trace(item, f"frames[{key!r}][{i}]", colours))
            groups[(m, s)] = list(range(start, len(traces)))

    def visible(m: Any, s: Any) -> list[bool]:
        shown = set(groups[(m, s)])
        return [k in shown for k in range(len(traces))]

    first_menu, first_slider = menu_values[0], slider_values[active]
    for k, trace in enumerate(traces):
        trace.visible = k in set(groups[(first_menu, first_slider)])

    def slider(m: Any) -> dict:
        prefix = f"{param_name} = "
        return dict(
            active=active, currentvalue=dict(prefix=prefix, font=dict(size=14)), pad=dict(t=45, b=10),
            len=1.0, x=0.0, steps=[dict(method="restyle", label=_label(s), args=[{"visible": visible(m, s)}])
                                   for s in slider_values])

    layout: dict[str, Any] = dict(
        template=go.layout.Template(), title=dict(text=title, x=0.0, xanchor="left", font=dict(size=16)),
        height=int(height), margin=dict(l=70, r=20, t=60 if title else 30, b=40),
        paper_bgcolor="white", plot_bgcolor="white", font=dict(family="sans-serif", size=13, color="#222"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1.0, xanchor="right"),
        hovermode="closest", sliders=[slider(first_menu)])
    axis_style = dict(showgrid=True, gridcolor="rgba(0,0,0,0.10)", zeroline=False, showline=True,
                      linecolor="#444", ticks="outside")
    # Log axes label decades as powers of ten (10^-4), not SI prefixes (100µ), as in the papers.
    layout["xaxis"] = dict(title=dict(text=xaxis), type="log" if log_x else "linear", **axis_style,
                           **(dict(exponentformat="power") if log_x else {}))
    layout["yaxis"] = dict(title=dict(text=yaxis), type="log" if log_y else "linear", **axis_style,
                           **(dict(exponentformat="power") if log_y else {}))
    if fixed_axes:
        for axis, attr, log in (("xaxis", "x", log_x), ("yaxis", "y", log_y)):
            arrays = [_finite(getattr(t, attr, None)) for t in traces if getattr(t, attr, None) is not None]
            if log and arrays and not any((a > 0).any() for a in arrays):
                raise ValueError(f"log_{attr}=True needs some positive {attr} values")
            span = _range(arrays, log)
            if span is not None:
                layout[axis]["range"] = span
    if dropdown_name is not None:
        layout["updatemenus"] = [dict(
            type="dropdown", direction="down", x=0.0, xanchor="left", y=1.0, yanchor="bottom",
            pad=dict(b=8), active=0, showactive=True,
            buttons=[dict(method="update", label=f"{dropdown_name} = {_label(m)}",
                          args=[{"visible": visible(m, slider_values[active])}, {"sliders": [slider(m)]}])
                     for m in menu_values])]
        layout["margin"]["t"] = 90
        layout["title"]["y"] = 0.98
    return go.Figure(data=traces, layout=layout)


def _spec(fig: go.Figure) -> str:
    """The figure as JSON that is safe inside a <script> element (no "<" outside escapes)."""
    text = fig.to_json()
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


_CONFIG = {"responsive": True, "displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}

_TEMPLATE = """<div class="madlib-explorer">
<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>
<script type="text/javascript">
(function () {{
  var spec = {spec};
  var config = {config};
  function draw() {{
    var el = document.getElementById("{div_id}");
    if (!el || el.getAttribute("data-drawn")) return;
    if (!window.Plotly) {{
      el.style.height = "auto";
      el.textContent = "Interactive figure: it is drawn by the book's own copy of plotly.js. " +
        "Open this page on the course site, or use the live explorer below.";
      return;
    }}
    el.setAttribute("data-drawn", "1");
    window.Plotly.newPlot(el, spec.data, spec.layout, config);
  }}
  // The site loads plotly.js deferred: deferred scripts have all run by DOMContentLoaded.
  if (window.Plotly || document.readyState !== "loading") draw();
  else document.addEventListener("DOMContentLoaded", draw);
}})();
</script>
</div>"""


def to_html(fig: go.Figure, *, div_id: str | None = None) -> str:
    """HTML for one figure WITHOUT plotly.js: the page must load it (the book does, from _static).

    ``div_id`` defaults to a hash of the figure, so a rebuild gives the same page.
    """
    if not isinstance(fig, go.Figure):
        raise ValueError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
    spec = _spec(fig)
    if div_id is None:
        div_id = "madlib-explorer-" + hashlib.sha1(spec.encode()).hexdigest()[:12]
    elif not div_id or not all(c.isalnum() or c in "-_" for c in div_id):
        raise ValueError(f"div_id must be non-empty letters, digits, '-' or '_', got {div_id!r}")
    height = fig.layout.height or 460
    return _TEMPLATE.format(div_id=div_id, height=int(height), spec=spec, config=json.dumps(_CONFIG))


def mimebundle(fig: go.Figure) -> dict[str, Any]:
    """The output bundle: text/html (chosen by the book) and Plotly's MIME type (JupyterLab, VS Code)."""
    html = to_html(fig)
    return {"text/html": html,
            "application/vnd.plotly.v1+json": {**json.loads(fig.to_json()), "config": _CONFIG}}


def show(fig: go.Figure) -> None:
    """Display ``fig`` as a kernel-free explorer in a notebook output (never embeds plotly.js)."""
    from IPython.display import display

    display(mimebundle(fig), raw=True)


__all__ = ["HOUSE_COLOURS", "mimebundle", "show", "slider_figure", "to_html"]
