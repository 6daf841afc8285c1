"""The browser check (tools/sitecheck.py) on a tiny generated site: good pages pass, broken ones fail."""
from __future__ import annotations

import base64
import importlib.util
import json
import struct
import zlib
from pathlib import Path

import pytest

from tools import sitecheck

CHROMIUM = sitecheck.find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium; .ci/run does this)")
pytest.importorskip("websocket", reason="websocket-client is not installed (see requirements.txt)")


def _png(width: int = 4, height: int = 3) -> bytes:
    """A valid solid-colour PNG, written by hand so the test needs no imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x00\x72\xb2" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _page(body: str, title: str = "page", head: str = "") -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body>{body}</body></html>")


def _explorer(frames: dict) -> str:
    """A page with one kernel-free explorer, loading plotly.js from the site as the book does."""
    from madlib.plots import interactive

    figure = interactive.slider_figure(frames, param_name="n", title="explorer", xaxis="x", yaxis="y")
    return _page("<p>An explorer.</p>" + interactive.to_html(figure),
                 head="<script defer src='_static/vendor/plotly-basic.min.js'></script>")


def _ext_module(name: str):
    """One of the book's Sphinx extensions (``_ext/<name>.py``), loaded from its file."""
    path = Path(__file__).resolve().parents[1] / "_ext" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _course_assets():
    return _ext_module("course_assets")


# MathJax as the book's pages load it (_ext/course_assets.py): the loader, which loads the components.
MATHJAX_HEAD = ("<script>window.MathJax = {loader: {load: %s}}</script>"
                "<script defer src='_static/mathjax/%s'></script>"
                % (json.dumps(list(_course_assets().MATHJAX_LOAD)), _course_assets().MATHJAX_LOADER))
X = list(range(20))
PAGES = {
    "good.html": _page("<h1>Good</h1><p>A ValueError is raised for bad arguments.</p>"
                       "<img src='_images/fig.png' alt='a figure'>"
                       # data: URLs need no host: allowed.
                       f"<img src='data:image/png;base64,{base64.b64encode(_png()).decode()}' alt='inline'>"
                       "<div class='cell_output'><pre>sigma = 0.47</pre></div>"
                       # TeX in code is code, not a formula that failed.
                       "<pre><code>label = r'$$\\frac{1}{n}\\sigma$$'</code></pre>"),
    "math.html": _page("<p>Typeset offline: \\(\\sigma_T^2 = \\frac{n-1}{n}\\sigma_{T-1}^2\\)</p>"
                       "<div class='math'>\\[\\mathbb{E}[\\hat\\sigma^2] = \\sigma^2\\]</div>",
                       head=MATHJAX_HEAD),
    "raw_tex.html": _page("<p>The variance: $$\\frac{n-1}{n}\\sigma^2$$</p>"),
    "math_error.html": _page("<p>\\(x^2^3\\)</p>",
                             head=MATHJAX_HEAD),
    "math_undefined.html": _page("<p>\\(\\notamacro{x}\\)</p>",
                             head=MATHJAX_HEAD),
    "remote_script.html": _page("<p>text</p><script src='https://cdn.jsdelivr.net/npm/nothing@1/x.js'></script>"),
    "remote_font.html": _page("<p>text</p>",
                              head="<link rel='stylesheet' href='https://fonts.example.org/css?family=Lato'>"),
    "explorer.html": _explorer({n: [(X, [n * x for x in X], "curve")] for n in (1, 2, 3)}),
    "lazy_explorer.html": _page("<p style='height:3000px'>A long page.</p>" + __import__("madlib.plots.interactive",
                                fromlist=["x"]).to_html(__import__("madlib.plots.interactive", fromlist=["x"])
                                .slider_figure({n: [(X, [n * x for x in X], "curve")] for n in (1, 2)}, param_name="n")),
                                head="<script src='_static/madlib-explorers.js'></script>"),
    # Figures: a captioned, numbered notebook figure with real alt text passes; a path for alt
    # text, a missing caption, or a figure squeezed to a third of its width fails.
    "captioned.html": _page("<div class='cell_output'><figure><img src='_images/fig.png' width='4' "
                            "alt='A blue square: the test figure'><figcaption><p>Figure 1.1 A square.</p>"
                            "</figcaption></figure></div>"),
    "path_alt.html": _page("<div class='cell_output'><figure><img src='_images/fig.png' alt='_images/fig.png'>"
                           "<figcaption><p>Figure 1.2 A square.</p></figcaption></figure></div>"),
    "uncaptioned.html": _page("<div class='cell_output'><img src='_images/fig.png' alt='A blue square'></div>"),
    "squeezed.html": _page("<div class='cell_output'><figure><img src='_images/fig.png' width='1200' "
                           "style='max-width:300px' alt='A blue square, drawn wide'><figcaption><p>Figure 1.3 "
                           "Wide.</p></figcaption></figure></div>"),
    # axe-core: an image without any alt attribute is a critical violation.
    "no_alt.html": _page("<p>text</p><img src='_images/fig.png'>"),
    "heavy.html": _page("<p>text</p><script src='_static/heavy.js'></script>"),
    "dead_slider.html": _explorer({n: [(X, X, "curve")] for n in (1, 2, 3)}),
    "undrawn.html": _page(_explorer({n: [(X, X, "c")] for n in (1, 2)}).split("<body>")[1].split("</body>")[0]),
    "chapters/broken_image.html": _page("<p>text</p><img src='../_images/missing.png' alt='gone'>"),
    "js_error.html": _page("<p>text</p><script>notDefinedAnywhere();</script>"),
    "console_error.html": _page("<p>text</p><script>console.error('widget failed');</script>"),
    "traceback.html": _page("<div class='cell_output'><pre>Traceback (most recent call last):\n"
                            "  File \"x.py\", line 1\nZeroDivisionError: division by zero</pre></div>"),
    "error_output.html": _page("<div class='cell_output'><pre>ValueError: n must be at least 2</pre></div>"),
    "open_solution.html": _page("<div class='solution admonition'><p class='admonition-title'>Solution</p>"
                                "<section><p>The answer is 42.</p></section></div>"),
    "hidden_solution.html": _page("<div class='solution admonition dropdown'><p class='admonition-title'>Solution"
                                  "</p><section style='display:none'><p>The answer is 42.</p></section></div>"),
    # Not pages a reader opens: the checker skips them.
    "genindex.html": _page("<script>notDefinedAnywhere();</script>"),
    "_static/skipped.html": _page("<script>notDefinedAnywhere();</script>"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("site")
    for name, html in PAGES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(html)
    (root / "_images").mkdir()
    (root / "_images" / "fig.png").write_bytes(_png())
    # The site's own MathJax and plotly.js, copied as the book build does.
    assets = _course_assets()
    assets.vendor_assets(root / "_static")
    (root / "_static" / "heavy.js").write_text("// padding\n" + "x=1;\n" * 700_000)
    (root / "_static" / "madlib-explorers.js").write_bytes(
        (Path(__file__).resolve().parents[1] / "_static" / "madlib-explorers.js").read_bytes())
    return root


def test_list_pages_skips_indexes_and_static(site: Path) -> None:
    pages = sitecheck.list_pages(site)
    assert "genindex.html" not in pages and "_static/skipped.html" not in pages
    assert set(pages) == {name for name in PAGES if name not in ("genindex.html", "_static/skipped.html")}


def test_error_line_pattern() -> None:
    assert sitecheck.ERROR_LINE_RE.search("out\nValueError: bad n")
    assert sitecheck.ERROR_LINE_RE.search("torch.cuda.OutOfMemoryError: CUDA out of memory")
    assert not sitecheck.ERROR_LINE_RE.search("every bad argument raises a ValueError naming it")


def test_missing_site_is_an_error(tmp_path: Path) -> None:
    assert sitecheck.main([str(tmp_path / "nowhere")]) == 2


@pytest.fixture(scope="module")
def reports(site: Path, tmp_path_factory) -> dict[str, sitecheck.PageReport]:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    shots = tmp_path_factory.mktemp("shots")
    return {r.page: r for r in sitecheck.check_site(site, screenshots=shots, timeout=60)}


@needs_chromium
def test_good_page_passes_and_is_screenshot(reports) -> None:
    good = reports["good.html"]
    assert good.ok, good.problems
    assert good.images == 2 and not [n for n in good.notes if not n.startswith("axe")]
    shot = Path(good.screenshot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 1000


@needs_chromium
@pytest.mark.parametrize("page, expected", [
    ("chapters/broken_image.html", "missing image"),
    ("js_error.html", "JavaScript exception"),
    ("console_error.html", "console.error"),
    ("traceback.html", "traceback"),
    ("error_output.html", "error in a cell output"),
    ("open_solution.html", "solution(s) shown open"),
    ("raw_tex.html", "raw TeX in the page text ($$, \\frac, \\sigma)"),
    ("math_error.html", "MathJax could not typeset a formula: Double exponent"),
    ("math_undefined.html", "MathJax could not typeset a formula: undefined macro \\notamacro"),
    ("remote_script.html", "request to another host: https://cdn.jsdelivr.net/npm/nothing@1/x.js"),
    ("remote_font.html", "request to another host: https://fonts.example.org/css?family=Lato"),
    ("dead_slider.html", "figure 1: slider step 0 -> 1 of 3 did not change the figure's data"),
    ("path_alt.html", "has no real alt text"),
    ("uncaptioned.html", "has no numbered caption"),
    ("squeezed.html", "is shown at 25% of its drawn size"),
    ("no_alt.html", "axe (light mode) critical: image-alt"),
    ("no_alt.html", "axe (dark mode) critical: image-alt"),
    ("heavy.html", "over the 3 MB limit"),
    ("undrawn.html", "1 Plotly figure(s) not drawn"),
])
def test_broken_pages_fail(reports, page: str, expected: str) -> None:
    report = reports[page]
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


@needs_chromium
def test_math_typeset_by_the_local_mathjax_passes(reports) -> None:
    report = reports["math.html"]
    assert report.ok, report.problems


@needs_chromium
def test_explorer_slider_moved_from_the_keyboard_changes_the_figure_and_its_summary(reports) -> None:
    report = reports["explorer.html"]
    assert report.ok, report.problems
    assert report.figures == 1 and report.sliders_moved == 1


@needs_chromium
def test_an_explorer_far_down_loads_plotly_when_reached_and_the_opening_weight_leaves_it_out(reports) -> None:
    report = reports["lazy_explorer.html"]
    assert report.ok, report.problems
    assert report.figures == 1 and report.sliders_moved == 1
    assert report.bytes < 100_000  # plotly.js (1.2 MB) is not part of opening the page


@needs_chromium
def test_a_captioned_figure_with_alt_text_passes(reports) -> None:
    report = reports["captioned.html"]
    assert report.ok, report.problems


def test_raw_tex_pattern() -> None:
    for raw in ("$$x$$", "\\frac{1}{2}", "a \\sigma b", "\\mathbb{E}", "\\(x\\)", "\\[x\\]"):
        assert sitecheck.RAW_TEX_RE.search(raw), raw
    for prose in ("costs $5 and $6", "a \\ b", "path\\x"):
        assert not sitecheck.RAW_TEX_RE.search(prose), prose


def test_course_assets_copy_mathjax_subset_and_plotly_once(tmp_path: Path) -> None:
    assets = _course_assets()
    files = assets.vendor_assets(tmp_path)
    names = {f.relative_to(tmp_path).as_posix() for f in files}
    assert {"mathjax/startup.js", "mathjax/core.js", "mathjax/input/tex.js", "mathjax/output/chtml.js",
            "mathjax/a11y/assistive-mml.js", "vendor/plotly-basic.min.js",
            "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff"} <= names
    # every component a page loads is copied, and the menu (426 KB a page) is not
    assert {f"mathjax/{c}.js" for c in assets.MATHJAX_LOAD} <= names and "mathjax/ui/menu.js" not in names
    loaded = sum((tmp_path / "mathjax" / f"{c}.js").stat().st_size
                 for c in ("startup", "core", *assets.MATHJAX_LOAD, "output/chtml/fonts/tex"))
    assert loaded < 800_000, loaded  # what a page with formulas loads, fonts aside (tex-chtml.js: 1.16 MB)
    total = sum(f.stat().st_size for f in files)
    assert total < 3_500_000, total  # MathJax (~1.4 MB with its on-demand TeX extensions), plotly.js basic (~1.2 MB), Font Awesome (~0.4 MB)
    assert (tmp_path / "vendor" / "plotly-basic.min.js").stat().st_size < 1_300_000  # not the full 4.8 MB
    # the same plotly.js as the plotly wheel, whose figures it draws
    wheel = Path(importlib.util.find_spec("plotly").submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    assert assets.plotly_js_version(assets.plotly_js_file()) == assets.plotly_js_version(wheel)
    assert not assets.copy_atomic(assets.mathjax_es5_dir() / "startup.js",
                                  tmp_path / "mathjax" / "startup.js")  # identical: not rewritten
    assert not list(tmp_path.rglob("*.tmp"))


@needs_chromium
def test_hidden_solution_passes(reports) -> None:
    report = reports["hidden_solution.html"]
    assert report.ok, report.problems
    assert report.solutions == 1 and report.open_solutions == 0


@needs_chromium
def test_cli_exit_status(site: Path, tmp_path: Path, capsys) -> None:
    good_only = tmp_path / "good"
    (good_only / "_images").mkdir(parents=True)
    (good_only / "index.html").write_text(PAGES["good.html"])
    (good_only / "_images" / "fig.png").write_bytes(_png())
    assert sitecheck.main([str(good_only), "--screenshots", str(tmp_path / "shots")]) == 0
    assert "1 pages checked, 0 failed" in capsys.readouterr().out
    (good_only / "bad.html").write_text(PAGES["js_error.html"])
    assert sitecheck.main([str(good_only)]) == 1


def test_course_site_extension_drops_duplicate_inline_scripts() -> None:
    """_ext/course_site.py: the second copy of an inline script (filename "" vs None) is dropped."""
    import importlib.util

    from sphinx.builders.html._assets import _JavaScript

    course_site = _ext_module("course_site")
    assets = course_site._UniqueAssets()
    assets.extend([_JavaScript(None, body="const A = 1"), _JavaScript("x.js"), _JavaScript("", body="const A = 1"),
                   _JavaScript(None, body="const B = 2")])
    assets.append(_JavaScript("x.js"))
    assert [(a.filename, a.attributes.get("body")) for a in assets] == [
        (None, "const A = 1"), ("x.js", None), (None, "const B = 2")]


def _install_cell_module():
    return _ext_module("install_cell")


def _run_install_cell(code: str, madlib_importable: bool) -> list[tuple[str, str]]:
    """Run the cell as IPython would, with a stand-in for %pip; returns the magics it ran."""
    import sys

    from IPython.core.inputtransformer2 import TransformerManager

    calls: list[tuple[str, str]] = []

    class FakeShell:
        def run_line_magic(self, name: str, line: str) -> None:
            calls.append((name, line))

    python = TransformerManager().transform_cell(code)
    saved = sys.modules.get("madlib")
    if not madlib_importable:
        sys.modules["madlib"] = None  # makes `import madlib` raise ImportError, as on Colab
    try:
        exec(compile(python, "install-cell", "exec"), {"get_ipython": FakeShell})
    finally:
        if saved is not None:
            sys.modules["madlib"] = saved
        else:
            sys.modules.pop("madlib", None)
    return calls


def test_install_cell_installs_the_release_tag_only_when_the_course_library_is_missing(tmp_path: Path) -> None:
    import shlex

    from packaging.requirements import Requirement

    from madlib._version import DISTRIBUTION, RELEASE_TAG

    install_cell = _install_cell_module()
    cell = install_cell.cell()
    assert cell["cell_type"] == "code" and cell["metadata"]["tags"] == ["remove-cell"]
    code = "".join(cell["source"])
    assert _run_install_cell(code, madlib_importable=True) == []
    ((magic, line),) = _run_install_cell(code, madlib_importable=False)
    assert magic == "pip"
    words = shlex.split(line)
    assert words[0] == "install" and "--quiet" not in words  # a learner sees that it is working
    requirement = Requirement(words[-1])
    assert requirement.name == DISTRIBUTION == "model-collapse-hands-on"
    # a release tag, never a branch
    assert requirement.url == f"git+https://github.com/model-collapse-hands-on/model-collapse-hands-on@{RELEASE_TAG}"
    assert RELEASE_TAG.startswith("v") and "@main" not in code
    # Another repository setting gives another URL; a bad one, or a branch for a tag, is refused by name.
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://example.org/fork/\n  branch: dev\n")
    assert f"git+https://example.org/fork@{RELEASE_TAG}" in "".join(install_cell.cell(config)["source"])
    assert "@" + "a" * 40 in "".join(install_cell.cell(config, tag="a" * 40)["source"])
    with pytest.raises(ValueError, match="release tag"):
        install_cell.cell(config, tag="main")
    config.write_text("repository:\n  url: git@github.com:x/y\n")
    with pytest.raises(ValueError, match="repository.url"):
        install_cell.cell(config)


def test_pypi_madlib_does_not_count_as_the_course_library() -> None:
    import sys
    import types

    install_cell = _install_cell_module()
    code = "".join(install_cell.cell()["source"])
    saved = sys.modules.get("madlib")
    sys.modules["madlib"] = types.ModuleType("madlib")  # another project's madlib: no run_experiment
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        calls: list = []

        class FakeShell:
            def run_line_magic(self, name: str, line: str) -> None:
                calls.append(name)

        exec(compile(TransformerManager().transform_cell(code), "install-cell", "exec"), {"get_ipython": FakeShell})
    finally:
        sys.modules["madlib"] = saved
    assert calls == ["pip"]


def test_every_chapter_starts_with_the_pinned_install_cell() -> None:
    """Each chapter's first cell is the install cell at the release tag (``--check``), never a moving branch."""
    install_cell = _install_cell_module()
    chapters = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))
    assert chapters and install_cell.main(["--check", *map(str, chapters)]) == 0
    for chapter in chapters:
        assert "@main" not in chapter.read_text()


def test_install_cell_check_finds_notebooks_without_it(tmp_path: Path) -> None:
    install_cell = _install_cell_module()
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    other = {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}
    good.write_text(json.dumps({"cells": [install_cell.cell(), other]}))
    bad.write_text(json.dumps({"cells": [other, install_cell.cell()]}))
    stale = tmp_path / "stale.ipynb"
    old = {**install_cell.cell(), "source": [install_cell.MARKER + "\n", "%pip install madlib\n"]}
    stale.write_text(json.dumps({"cells": [old, other]}))
    assert install_cell.main(["--check", str(stale)]) == 1
    assert install_cell.write(stale) and install_cell.main(["--check", str(stale)]) == 0
    assert len(json.loads(stale.read_text())["cells"]) == 2
    assert install_cell.main(["--check", str(good)]) == 0
    assert install_cell.main(["--check", str(good), str(bad)]) == 1


def test_course_assets_make_notebook_figures_lazy() -> None:
    assets = _course_assets()
    context = {"body": '<p>x</p><img src="a.png" alt="A"><img loading="eager" src="b.png" alt="B">'}
    assets._lazy_images(None, "ch1", "page.html", context, None)
    assert context["body"] == ('<p>x</p><img loading="lazy" decoding="async" src="a.png" alt="A">'
                               '<img loading="eager" src="b.png" alt="B">')


def test_course_site_fixes_the_theme_s_search_label_and_docutils_citation_roles() -> None:
    course_site = _ext_module("course_site")
    page = ('<button class="btn search-button-field search-button__button pst-js-only" title="Search" '
            'aria-label="Search" data-bs-toggle="tooltip"><span>Search</span><kbd>Ctrl</kbd>+<kbd>K</kbd></button>'
            '<button class="theme-switch-button" aria-label="Color mode">x</button>'
            '<div role="list" class="citation-list"><div class="citation" role="doc-biblioentry">A</div></div>')
    fixed = course_site.accessible_html(page)
    assert 'title="Search" data-bs-toggle' in fixed and 'aria-label="Color mode"' in fixed
    assert 'role="listitem"' in fixed and "doc-biblioentry" not in fixed
    assert course_site.accessible_html(fixed) == fixed
    # the translated editions' buttons too (issue 31: every ru and zh_CN page failed this rule)
    for word in ("Поиск", "搜索"):
        translated = course_site.accessible_html(page.replace("Search", word))
        assert f'aria-label="{word}"' not in translated and f'title="{word}"' in translated


def test_figures_get_a_palette_that_keeps_the_picture_and_saves_bytes() -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    x = np.linspace(0, 10, 200)
    for k in range(4):
        ax.plot(x, np.sin(x + k), label=f"curve {k}")
    ax.fill_between(x, -0.5, 0.5, alpha=0.2)
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    original = buffer.getvalue()
    smaller = _course_assets().palette_png(original)
    assert smaller is not None and len(smaller) < 0.7 * len(original)
    a = np.asarray(Image.open(io.BytesIO(original)).convert("RGB"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(smaller)).convert("RGB"), dtype=float)
    assert a.shape == b.shape and np.abs(a - b).mean() < 2.0  # out of 255: the same picture
    transparent = io.BytesIO()
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(transparent, format="png")
    assert _course_assets().palette_png(transparent.getvalue()) is None
