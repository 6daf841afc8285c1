"""The real book: build it as `make book` does (smoke scale, warnings are errors), check that nothing private
is published, then check every page in headless Chromium.

The build runs on every machine; only the browser check skips, saying why, when Chromium (or
websocket-client) is missing (``.ci/run`` installs Chromium). The build goes into a temporary
folder with its own experiment cache, so it never reads an old result or races another run.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import book_guard, sitecheck

REPO = Path(__file__).resolve().parents[1]
# A smoke chapter runs in well under a minute; a cell that needs 2 minutes is a bug, not slowness.
CELL_TIMEOUT_S = 120


@dataclass(frozen=True)
class Build:
    """One build of the book: where it went and what jupyter-book said."""

    returncode: int
    log: str
    out: Path

    @property
    def site(self) -> Path:
        return self.out / "_build" / "html"


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Build the book once per run at smoke scale with tools.build_book (two chapters at a time), the book's
    own config and a 2-minute cell timeout."""
    # `make test` keeps the build in _build/test-book (MADLIB_TEST_BOOK) for `make test-pdf`, which
    # .ci/run runs after it; elsewhere it goes to a temporary folder.
    keep = os.environ.get("MADLIB_TEST_BOOK")
    if keep:
        import shutil

        out = Path(keep).resolve()
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    else:
        out = tmp_path_factory.mktemp("book")
    # The config lives beside _config.yml because its relative paths (_ext/, ./) resolve from there.
    config = REPO / f".test_config_{os.getpid()}.yml"
    text = (REPO / "_config.yml").read_text()
    assert "timeout: 3600" in text, "_config.yml's execute.timeout changed: update this test"
    config.write_text(text.replace("timeout: 3600", f"timeout: {CELL_TIMEOUT_S}"))
    env = {**os.environ, "MADLIB_SCALE": "smoke", "MADLIB_CACHE": str(out / "cache"), "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tools.build_book", str(REPO), "--path-output", str(out), "--config", str(config),
             "--jobs", "2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=2400)
    finally:
        config.unlink(missing_ok=True)
    return Build(done.returncode, done.stdout + done.stderr, out)


def test_the_book_builds_at_smoke_with_no_warning(book: Build) -> None:
    # ipykernel 7 warns on its own stderr that its TCP transport is unencrypted: not the book's.
    warnings = [line for line in book.log.splitlines() if "WARNING:" in line and "IPKernelApp" not in line]
    assert book.returncode == 0 and not warnings, \
        "book build failed:\n" + "\n".join(warnings or book.log.splitlines()[-40:])
    assert "CellTimeoutError" not in book.log and "Timeout waiting" not in book.log
    pages = sitecheck.list_pages(book.site)
    assert {"intro.html", "chapters/01_gaussian.html", "chapters/06_remedies.html"} <= set(pages)


def test_translations_are_current_against_the_english(book: Build, tmp_path: Path) -> None:
    """Issue 31's staleness test on the real book: the English the smoke build rendered (prose, headings,
    figure captions and alt texts; never a cell's output) against locales/: a stale catalogue, a string
    that breaks MyST syntax or an untranslated string fails, naming the page and the fix
    (python -m tools.i18n update, then translate: locales/README.md)."""
    from tools import i18n

    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    pot = i18n.extract(REPO, tmp_path / "pot", build_dir=book.out / "_build")
    problems = i18n.staleness(pot, REPO / "locales") + i18n.integrity(REPO / "locales", i18n.TRANSLATIONS)
    assert not problems, "\n".join(problems)
    untranslated = [f"{r.language}/{r.docname}: {r.untranslated} untranslated, {r.fuzzy} fuzzy"
                    for r in i18n.coverage(REPO / "locales", i18n.TRANSLATIONS) if r.untranslated or r.fuzzy]
    assert not untranslated, "\n".join(untranslated)


def test_nothing_private_is_published(book: Build) -> None:
    # No error log, traceback or absolute path of this machine (the checkout, home, the environment, the
    # experiment cache, the build folder) in any published file; tools.build_book checks the same.
    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    problems = book_guard.check_site(book.site, REPO, private=[str(book.out)])
    assert not problems, "\n".join(p.line() for p in problems)
    assert not list(book.site.rglob("*.err.log")) and not (book.site / "reports").exists()


def test_every_page_of_the_book_passes_the_browser_check(book: Build) -> None:
    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    pytest.importorskip("websocket", reason="websocket-client is not installed (see requirements.txt)")
    if sitecheck.find_chromium() is None:
        pytest.skip("Chromium is not installed, so the built pages were not opened in a browser "
                    "(Debian: apt-get install chromium; .ci/run does this)")
    pages = sitecheck.list_pages(book.site)
    reports = sitecheck.check_site(book.site, screenshots=book.out / "screenshots")
    failed = [r for r in reports if not r.ok]
    assert not failed, sitecheck.format_report(failed)
    assert len(reports) == len(pages)


def test_no_exam_question_or_answer_key_reaches_the_site(book: Build) -> None:
    """The exam bank and the instructor builds (issue 30) are instructors' material: never on the site."""
    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    from tools.teach import exam

    questions = [q for bank in exam.load_all() for q in bank.questions]
    text = "\n".join(p.read_text(errors="ignore") for p in book.site.rglob("*") if p.suffix in (".html", ".txt", ".js"))
    # Ids are the bank's own tokens; a question's wording may echo the page it tests (a heading), so the
    # answer keys' and exports' own marks are checked instead of the wording.
    leaked = [q.id for q in questions if q.id in text]
    assert not leaked, f"exam questions on the public site: {leaked[:5]}"
    assert "Exam bank:" not in text and "Quiz title:" not in text
    assert not list(book.site.rglob("*-answers.md")) and not list(book.site.rglob("*qti*"))


def test_the_launch_buttons_of_every_chapter_open_a_plain_notebook_of_the_repository(book: Build) -> None:
    import re

    from madlib._version import RELEASE_TAG

    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    for page in sorted((book.site / "chapters").glob("*.html")):
        html = page.read_text()
        urls = re.findall(r'href="(https://(?:colab\.research\.google\.com|mybinder\.org)[^"]+)"', html)
        assert len(urls) == 2, f"{page.name}: expected a Colab and a Binder link, got {urls}"
        for url in urls:
            target = f"notebooks/{page.stem}.ipynb"
            assert target in url and RELEASE_TAG in url and "/main" not in url, url
            assert (REPO / target).is_file(), f"{url} opens {target}, which the repository lacks"


def test_the_plain_notebooks_convert_from_this_build(book: Build, tmp_path: Path) -> None:
    """sphinx-tojupyter and the finishing steps on this build: every chapter converts, with no MyST
    left and every image resolved (make() refuses otherwise), figures and numbers filled in."""
    import json

    from tools import plain_notebooks

    if book.returncode != 0:
        pytest.skip("the book did not build (see the build test)")
    pytest.importorskip("sphinx_tojupyter", reason="sphinx-tojupyter is not installed (see requirements.txt)")
    written = plain_notebooks.make(book.out / "_build", tmp_path, scale="smoke")
    assert [p.name for p in written] == [p.name for p in sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))]
    first = json.loads(written[0].read_text())
    text = "".join("".join(c["source"]) for c in first["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"Our \d+ runs end with", text), "the glued numbers are filled in"
    assert "**Figure 1.1.**" in text and "## 1.2 " in text
