"""The browser check (tools/sitecheck.py) on a tiny generated site: good pages pass, broken ones fail."""
from __future__ import annotations

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


def _page(body: str, title: str = "page") -> str:
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>{body}</body></html>"


PAGES = {
    "good.html": _page("<h1>Good</h1><p>A ValueError is raised for bad arguments.</p>"
                       "<img src='_images/fig.png' alt='a figure'>"
                       "<div class='cell_output'><pre>sigma = 0.47</pre></div>"
                       # A CDN script: unreachable in the checker's browser, a note and not a failure.
                       "<script src='https://cdn.jsdelivr.net/npm/nothing@1/x.js'></script>"),
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
    assert good.images == 1
    assert any("offline" in note for note in good.notes)  # the CDN script was blocked, not fatal
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
])
def test_broken_pages_fail(reports, page: str, expected: str) -> None:
    report = reports[page]
    assert not report.ok
    assert any(expected in problem for problem in report.problems), report.problems


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

    path = Path(__file__).resolve().parents[1] / "_ext" / "course_site.py"
    spec = importlib.util.spec_from_file_location("course_site", path)
    course_site = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(course_site)
    assets = course_site._UniqueAssets()
    assets.extend([_JavaScript(None, body="const A = 1"), _JavaScript("x.js"), _JavaScript("", body="const A = 1"),
                   _JavaScript(None, body="const B = 2")])
    assets.append(_JavaScript("x.js"))
    assert [(a.filename, a.attributes.get("body")) for a in assets] == [
        (None, "const A = 1"), ("x.js", None), (None, "const B = 2")]
