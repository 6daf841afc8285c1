"""madlib.plots.interactive: precomputed frames become slider steps that toggle the right traces."""
from __future__ import annotations

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from madlib.plots import interactive
from madlib.plots.style import CYCLE

X = np.arange(10.0)


def _frames(values=(0.5, 1.0, 2.0)):
    # Two curves per frame, as an explorer shows simulation beside theory.
    return {v: [(X, v * X, "simulated"), (X, np.full(10, v), "theory")] for v in values}


def test_frames_become_slider_steps_in_order_with_labels() -> None:
    fig = interactive.slider_figure(_frames(), param_name="sigma", title="t", xaxis="generation", yaxis="std")
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == ["0.5", "1", "2"]
    assert slider.currentvalue.prefix == "sigma = "
    assert len(fig.data) == 6 and all(s.method == "restyle" for s in slider.steps)


def test_each_step_shows_exactly_its_own_traces() -> None:
    frames = _frames()
    fig = interactive.slider_figure(frames, param_name="sigma")
    for i, (value, step) in enumerate(zip(frames, fig.layout.sliders[0].steps)):
        shown = step.args[0]["visible"]
        assert shown == [k // 2 == i for k in range(6)]
        # The visible traces carry this frame's data (float32 on the page).
        ys = [np.asarray(fig.data[k].y) for k in range(6) if shown[k]]
        np.testing.assert_allclose(ys[0], value * X)
        np.testing.assert_allclose(ys[1], np.full(10, value))


def test_initial_visibility_follows_active() -> None:
    fig = interactive.slider_figure(_frames(), param_name="sigma", active=2)
    assert [bool(t.visible) for t in fig.data] == [False, False, False, False, True, True]
    assert fig.layout.sliders[0].active == 2


def test_a_label_keeps_its_house_colour_in_every_frame() -> None:
    fig = interactive.slider_figure(_frames(), param_name="sigma")
    assert interactive.HOUSE_COLOURS == tuple(CYCLE)  # same order as the matplotlib figures
    assert {t.line.color for t in fig.data if t.name == "simulated"} == {CYCLE[0]}
    assert {t.line.color for t in fig.data if t.name == "theory"} == {CYCLE[1]}


def test_fixed_axes_cover_every_frame_and_log_axis_uses_log_units() -> None:
    fig = interactive.slider_figure(_frames(), param_name="sigma")
    low, high = fig.layout.yaxis.range
    assert low < 0 <= 18 < high  # 0 * x at the bottom, 2 * 9 at the top
    frames = {v: [(X + 1, v * (X + 1), "a")] for v in (1.0, 100.0)}
    log = interactive.slider_figure(frames, param_name="c", log_y=True)
    assert log.layout.yaxis.type == "log"
    low, high = log.layout.yaxis.range
    assert low < 0 < 3 < high  # log10(1) = 0 ... log10(1000) = 3


def test_dropdown_grid_brings_a_slider_per_menu_value() -> None:
    frames = {(n, w): [(X, n * X + (w == "accumulate"), w)] for n in (10, 100) for w in ("replace", "accumulate")}
    fig = interactive.slider_figure(frames, param_name="n", dropdown_name="workflow")
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["workflow = replace", "workflow = accumulate"]
    # Traces are ordered menu-major: replace n=10, replace n=100, accumulate n=10, accumulate n=100.
    accumulate = menu.buttons[1]
    assert accumulate.args[0]["visible"] == [False, False, True, False]
    slider = accumulate.args[1]["sliders"][0]
    assert [s["args"][0]["visible"] for s in slider["steps"]] == [[False, False, True, False],
                                                                 [False, False, False, True]]
    np.testing.assert_allclose(fig.data[3].y, 100 * X + 1)


@pytest.mark.parametrize("kwargs, name", [
    (dict(frames={}), "frames"),
    (dict(frames=[1, 2]), "frames"),
    (dict(param_name=""), "param_name"),
    (dict(active=3), "active"),
    (dict(active=-1), "active"),
    (dict(height=10), "height"),
    (dict(frames={1.0: []}), r"frames\[1.0\]"),
    (dict(frames={1.0: [(X, X[:3], "a")]}), r"frames\[1.0\]\[0\].*equal length"),
    (dict(frames={1.0: [(X, X)]}), r"frames\[1.0\]\[0\]"),
    (dict(frames={1.0: [(X, X, 7)]}), "label"),
    (dict(frames={1.0: [(X, -X - 1, "a")]}, log_y=True), "log_y"),
    (dict(frames={(1, "a"): [(X, X, "a")], (2, "b"): [(X, X, "b")]}, dropdown_name="w"), "full grid"),
    (dict(frames={1: [(X, X, "a")]}, dropdown_name="w"), "pairs"),
    (dict(dropdown_name=""), "dropdown_name"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name) -> None:
    arguments = {"frames": _frames(), "param_name": "sigma", **kwargs}
    with pytest.raises(ValueError, match=name):
        interactive.slider_figure(**arguments)


def test_plotly_traces_are_accepted_and_coloured_by_name() -> None:
    frames = {k: [go.Scatter(x=X, y=X * k, name="s"), go.Scatter(x=X, y=X, name="t", line=dict(color="red"))]
              for k in (1, 2)}
    fig = interactive.slider_figure(frames, param_name="k")
    assert fig.data[0].line.color == CYCLE[0] and fig.data[1].line.color == "red"


def test_to_html_has_no_plotly_js_and_a_safe_inline_spec() -> None:
    frames = {1: [(X, X, "</script><script>alert(1)</script>")]}
    fig = interactive.slider_figure(frames, param_name="k", title="<b>bold</b>")
    html = interactive.to_html(fig, fallback=False)
    assert "plotly-graph-div" in html and "newPlot" in html
    assert "cdn" not in html.lower() and "<script src" not in html and len(html) < 20_000
    assert "<b>" not in html.split("<script")[0]  # the title is text in the label, escaped
    assert html.count("</script>") == 1  # the label cannot close the script element
    spec = re.search(r"var spec = (\{.*?\});\n", html).group(1)
    data = json.loads(spec)
    assert data["data"][0]["name"] == "</script><script>alert(1)</script>"
    assert interactive.to_html(fig, fallback=False) == html  # a rebuild gives the same page
    assert interactive.to_html(fig) == interactive.to_html(fig)  # the fallback picture too
    assert 'id="mine"' in interactive.to_html(fig, div_id="mine")
    with pytest.raises(ValueError, match="div_id"):
        interactive.to_html(fig, div_id="a b")
    with pytest.raises(ValueError, match="fig"):
        interactive.to_html({"data": []})


def test_mimebundle_offers_html_and_plotly_json() -> None:
    fig = interactive.slider_figure(_frames(), param_name="sigma")
    bundle = interactive.mimebundle(fig)
    assert set(bundle) == {"text/html", "application/vnd.plotly.v1+json", "image/png"}
    assert len(bundle["application/vnd.plotly.v1+json"]["data"]) == 6
    json.dumps(bundle)  # storable in a notebook


def test_the_page_explorer_has_native_labelled_controls_a_summary_and_a_fallback_picture() -> None:
    import base64

    frames = {(v, m): [(X, v * X + (m == "b"), "simulated"), (X, np.full(10, v), "theory")]
              for v in (0.5, 1.0, 2.0) for m in ("a", "b")}
    fig = interactive.slider_figure(frames, param_name="sigma", dropdown_name="workflow", active=1,
                                    title="Title", xaxis="generation", yaxis="std")
    html = interactive.to_html(fig)
    div = re.search(r'id="(madlib-explorer-[0-9a-f]+)"', html).group(1)
    # keyboard-operable, labelled controls at the figure's active step
    assert f'<input type="range" id="{div}-range" min="0" max="2" step="1" value="1"' in html
    assert f'<label for="{div}-range">sigma = ' in html and f'<label for="{div}-menu">workflow</label>' in html
    assert "<option>a</option><option>b</option>" in html
    # the text summary of the shown position, kept in sync by the script (aria-live)
    assert 'aria-live="polite">Shown: workflow = a, sigma = 1. simulated: from 0 at generation 0 to 9 at 9; ' \
           'theory: from 1 at generation 0 to 1 at 9.</p>' in html
    controls = json.loads(re.search(r"var controls = (\{.*?\});\n", html).group(1))
    assert len(controls["summaries"]) == 2 and len(controls["summaries"][1]) == 3
    assert controls["summaries"][1][2].startswith("Shown: workflow = b, sigma = 2. simulated: from 1 ")
    # each position shows exactly its own two traces
    shown = controls["groups"][1][2]
    assert [fig.data[k].name for k in shown] == ["simulated", "theory"]
    np.testing.assert_allclose(np.asarray(fig.data[shown[0]].y), 2 * X + 1)
    # Plotly's own slider and menu stay in the figure for JupyterLab, not on the page
    spec = json.loads(re.search(r"var spec = (\{.*?\});\n", html).group(1))
    assert not spec["layout"].get("sliders") and not spec["layout"].get("updatemenus") and fig.layout.sliders
    # the <noscript> picture is a PNG of the first position, with an alt text saying what it shows
    png = re.search(r'<noscript><img class="madlib-explorer-fallback" src="data:image/png;base64,([^"]+)" alt="([^"]+)"',
                    html)
    assert base64.b64decode(png.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.group(2).startswith("Static picture of the explorer at sigma = 1. Shown: workflow = a, sigma = 1.")
