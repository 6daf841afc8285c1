"""Kernel-free explorers: a precomputed grid of curves as a Plotly figure with a slider.

A chapter's ipywidgets explorer needs a live kernel; on the static site it is a dead image.
This module turns the same explorer, computed at build time over a grid of its parameter(s),
into a Plotly figure whose slider (and optional dropdown) only toggles which precomputed
traces are visible, so it works in the rendered page without a kernel.

* ``slider_figure(frames, param_name=..., ...)`` builds the figure: one slider step per key of
  ``frames``; a key may be a pair ``(slider value, dropdown value)`` with ``dropdown_name`` set.
* ``to_html(fig)`` is the page's HTML without plotly.js: the book serves its own copy (the basic
  bundle, ``_static/vendor/``), which ``_static/madlib-explorers.js`` loads when an explorer comes
  near the screen.
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


_CONFIG = {"responsive": True, "displaylogo": False, "displayModeBar": "hover",
           "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def _number(value: float) -> str:
    """A number for the text summary: 3 significant digits, plain or scientific as fits."""
    if not np.isfinite(value):
        return str(value)
    return f"{value:.3g}"


def _controls(fig: go.Figure) -> dict[str, Any]:
    """The explorer's controls, read from the figure's own slider (and dropdown): labels, the
    traces each (dropdown, slider) position shows, and the active step."""
    if not fig.layout.sliders:
        raise ValueError("fig has no slider: build it with slider_figure()")
    slider = fig.layout.sliders[0]
    prefix = (slider.currentvalue.prefix or "").rstrip(" =") or "step"
    labels = [step.label for step in slider.steps]
    menus = fig.layout.updatemenus
    if menus:
        buttons = menus[0].buttons
        menu_name = buttons[0].label.split(" = ")[0]
        menu_labels = [b.label.split(" = ", 1)[-1] for b in buttons]
        visibles = [[step["args"][0]["visible"] for step in b.args[1]["sliders"][0]["steps"]] for b in buttons]
    else:
        menu_name, menu_labels = None, [None]
        visibles = [[step.args[0]["visible"] for step in slider.steps]]
    groups = [[[k for k, shown in enumerate(v) if shown] for v in row] for row in visibles]
    return {"param": prefix, "labels": labels, "active": int(slider.active or 0), "menu": menu_name,
            "menu_labels": menu_labels, "groups": groups}


def summary(fig: go.Figure, group: Sequence[int], where: str) -> str:
    """A sentence saying what one explorer position shows: each curve's last value (and first)."""
    x_title = fig.layout.xaxis.title.text or "x"
    parts = []
    for k in group:
        trace = fig.data[k]
        try:
            x = np.asarray(trace.x, dtype=float).ravel()
            y = np.asarray(trace.y, dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        ok = np.isfinite(x) & np.isfinite(y)
        if not ok.any() or not trace.name:
            continue
        x, y = x[ok], y[ok]
        if x.size == 1:
            parts.append(f"{trace.name}: {_number(y[0])} at {x_title} {_number(x[0])}")
        else:
            parts.append(f"{trace.name}: from {_number(y[0])} at {x_title} {_number(x[0])} "
                         f"to {_number(y[-1])} at {_number(x[-1])}")
    return f"Shown: {where}. " + ("; ".join(parts) + "." if parts else "No curve has data here.")


def fallback_png(fig: go.Figure, group: Sequence[int]) -> bytes:
    """A static PNG of one explorer position (matplotlib, no browser): the page's <noscript> picture."""
    import io

    import matplotlib

    from matplotlib.figure import Figure as MplFigure

    dashes = {"solid": "-", "dash": "--", "dashdot": "-.", "dot": ":", "longdash": (0, (8, 3)),
              "longdashdot": (0, (8, 3, 1, 3))}
    figure = MplFigure(figsize=(7.5, 4.0), dpi=100)
    ax = figure.subplots()
    for k in group:
        trace = fig.data[k]
        try:
            x = np.asarray(trace.x, dtype=float).ravel()
            y = np.asarray(trace.y, dtype=float).ravel()
        except (TypeError, ValueError):
            continue
        line = getattr(trace, "line", None)
        colour = (line.color if line is not None and line.color else None) or "#000000"
        style = dashes.get(line.dash if line is not None and line.dash else "solid", "-")
        mode = getattr(trace, "mode", "lines") or "lines"
        ax.plot(x, y, linestyle=style if "lines" in mode else "none", marker="o" if "markers" in mode else None,
                color=colour, label=trace.name, linewidth=1.8, markersize=3)
    if fig.layout.xaxis.type == "log":
        ax.set_xscale("log")
    if fig.layout.yaxis.type == "log":
        ax.set_yscale("log")
    ax.set_xlabel(fig.layout.xaxis.title.text or "")
    ax.set_ylabel(fig.layout.yaxis.title.text or "")
    if fig.layout.title.text:
        ax.set_title(fig.layout.title.text, fontsize=11)
    if any(fig.data[k].name for k in group):
        ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.25)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    # A 64-colour palette: a line chart needs no more, and the page carries a third of the bytes.
    from PIL import Image

    palette = io.BytesIO()
    Image.open(io.BytesIO(buffer.getvalue())).convert("RGB").quantize(64).save(palette, format="png", optimize=True)
    return palette.getvalue()


_TEMPLATE = """<div class="madlib-explorer" role="group" aria-labelledby="{div_id}-label">
<p class="madlib-explorer-label" id="{div_id}-label">{label}</p>
<div class="madlib-explorer-controls">
{menu_html}<label for="{div_id}-range">{param} = <output id="{div_id}-value" for="{div_id}-range">{value}</output></label>
<input type="range" id="{div_id}-range" min="0" max="{last}" step="1" value="{active}" aria-valuetext="{param} = {value}">
</div>
<div id="{div_id}" class="plotly-graph-div" style="height:{height}px; width:100%;"></div>
<p class="madlib-explorer-summary" id="{div_id}-summary" aria-live="polite">{summary}</p>
<noscript><img class="madlib-explorer-fallback" src="data:image/png;base64,{png}" alt="{alt}"></noscript>
<script type="text/javascript">
(function () {{
  var spec = {spec};
  var config = {config};
  var controls = {controls};
  function byId(suffix) {{ return document.getElementById("{div_id}" + suffix); }}
  function position() {{
    var menu = byId("-menu");
    return [menu ? menu.selectedIndex : 0, parseInt(byId("-range").value, 10)];
  }}
  function update() {{
    var el = byId(""), at = position(), m = at[0], s = at[1];
    var shown = {{}};
    controls.groups[m][s].forEach(function (k) {{ shown[k] = true; }});
    var visible = spec.data.map(function (t, k) {{ return !!shown[k]; }});
    var label = controls.labels[s];
    byId("-value").textContent = label;
    byId("-range").setAttribute("aria-valuetext", controls.param + " = " + label);
    byId("-summary").textContent = controls.summaries[m][s];
    if (el.getAttribute("data-drawn")) window.Plotly.restyle(el, {{visible: visible}});
  }}
  function draw() {{
    var el = byId("");
    if (!el || el.getAttribute("data-drawn")) return;
    if (!window.Plotly) {{
      // No plotly.js here (Colab, GitHub's preview): show the static picture instead.
      var fallback = el.parentNode.querySelector("noscript");
      el.style.height = "auto";
      if (fallback) el.innerHTML = fallback.textContent;
      var controlsBox = el.parentNode.querySelector(".madlib-explorer-controls");
      if (controlsBox) controlsBox.style.display = "none";
      return;
    }}
    el.setAttribute("data-drawn", "1");
    window.Plotly.newPlot(el, spec.data, spec.layout, config);
    byId("-range").addEventListener("input", update);
    var menu = byId("-menu");
    if (menu) menu.addEventListener("change", update);
  }}
  // On the site, plotly.js loads when the explorer comes near the screen (_static/madlib-explorers.js);
  // a page that loads plotly.js itself draws at once; elsewhere the static picture shows.
  function start() {{
    if (window.Plotly) draw();
    else if (window.madlibWhenPlotly) window.madlibWhenPlotly(byId(""), draw);
    else draw();
  }}
  if (document.readyState !== "loading") start();
  else document.addEventListener("DOMContentLoaded", start);
}})();
</script>
</div>"""

_MENU = ('<label for="{div_id}-menu">{name}</label>\n<select id="{div_id}-menu">{options}</select>\n')


def _escape(text: Any) -> str:
    import html

    return html.escape(str(text), quote=True)


def to_html(fig: go.Figure, *, div_id: str | None = None, fallback: bool = True) -> str:
    """HTML for one figure WITHOUT plotly.js: the page must load it (the book does, from _static).

    The slider and the dropdown are native ``<input type="range">`` and ``<select>`` elements
    (keyboard-operable, labelled), which show the precomputed traces of their position; a text
    summary of the shown curves updates with them (``aria-live``), and a ``<noscript>`` picture
    of the first position (drawn with matplotlib; ``fallback=False`` leaves it out) stands in
    where JavaScript or plotly.js is missing. ``div_id`` defaults to a hash of the figure, so a
    rebuild gives the same page.
    """
    if not isinstance(fig, go.Figure):
        raise ValueError(f"fig must be a plotly.graph_objects.Figure, got {type(fig).__name__}")
    controls = _controls(fig)
    page = go.Figure(fig)
    page.layout.sliders = []
    page.layout.updatemenus = []
    # The controls sit above the plot: the title moves into the group's label, out of the modebar's way.
    title = page.layout.title.text or ""
    page.layout.title.text = None
    page.update_layout(margin=dict(t=50), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"))
    spec = _spec(page)
    if div_id is None:
        div_id = "madlib-explorer-" + hashlib.sha1(spec.encode()).hexdigest()[:12]
    elif not div_id or not all(c.isalnum() or c in "-_" for c in div_id):
        raise ValueError(f"div_id must be non-empty letters, digits, '-' or '_', got {div_id!r}")
    menu_labels, labels = controls["menu_labels"], controls["labels"]
    summaries = [[summary(fig, group, ", ".join(
        ([f"{controls['menu']} = {menu_labels[m]}"] if controls["menu"] else []) + [f"{controls['param']} = {labels[s]}"]))
        for s, group in enumerate(row)] for m, row in enumerate(controls["groups"])]
    controls["summaries"] = summaries
    active = controls["active"]
    menu_html = ""
    if controls["menu"]:
        options = "".join(f"<option>{_escape(label)}</option>" for label in menu_labels)
        menu_html = _MENU.format(div_id=div_id, name=_escape(controls["menu"]), options=options)
    png = ""
    if fallback:
        import base64

        png = base64.b64encode(fallback_png(fig, controls["groups"][0][active])).decode()
    label = title or f"Explorer: move the {controls['param']} slider"
    alt = f"Static picture of the explorer at {controls['param']} = {labels[active]}. {summaries[0][active]}"
    height = int(fig.layout.height or 460)
    controls_json = json.dumps(controls).replace("<", "\\u003c")
    return _TEMPLATE.format(div_id=div_id, height=height, spec=spec, config=json.dumps(_CONFIG),
                            controls=controls_json, label=_escape(label), param=_escape(controls["param"]),
                            value=_escape(labels[active]), last=len(labels) - 1, active=active,
                            menu_html=menu_html, summary=_escape(summaries[0][active]), png=png, alt=_escape(alt))


def mimebundle(fig: go.Figure) -> dict[str, Any]:
    """The output bundle: text/html (chosen by the book's pages), Plotly's MIME type (JupyterLab, VS
    Code, which draw Plotly's own slider with their own plotly.js) and a PNG of the first position
    (the PDF, and any front end that shows neither)."""
    import base64

    html = to_html(fig)
    controls = _controls(fig)
    png = base64.b64encode(fallback_png(fig, controls["groups"][0][controls["active"]])).decode()
    return {"text/html": html,
            "application/vnd.plotly.v1+json": {**json.loads(fig.to_json()), "config": _CONFIG},
            "image/png": png}


def show(fig: go.Figure) -> None:
    """Display ``fig`` as a kernel-free explorer in a notebook output (never embeds plotly.js)."""
    from IPython.display import display

    display(mimebundle(fig), raw=True)


__all__ = ["HOUSE_COLOURS", "fallback_png", "mimebundle", "show", "slider_figure", "summary", "to_html"]
