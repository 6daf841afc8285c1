"""The two Sphinx extensions of the kit on a tiny MyST project: lecture marks beside headings, and the
{quiz} directive whose answer a reader sees only after choosing (clicked in headless Chromium)."""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools import sitecheck

REPO = Path(__file__).resolve().parents[1]

PAGE = textwrap.dedent("""\
    # 1. A chapter

    (sec-toy-first)=
    ## 1.1 The first section

    Text.

    :::{quiz} Which is $1 + 1$?
    :label: quiz-toy
    - 1
    - [x] 2
    - 3

    Because $1 + 1 = 2$.
    :::

    ## 1.2 A section named by its title

    More.
    """)
TABLE = textwrap.dedent("""\
    chapters:
      - doc: chapters/toy
        short: toy
        sections:
          - {label: sec-toy-first, mark: core, minutes: 7}
          - {title: "A section named by its title", mark: bonus, minutes: 4}
    plans: []
    """)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("toy")
    (root / "chapters").mkdir()
    (root / "chapters" / "toy.md").write_text(PAGE)
    (root / "index.md").write_text("# Toy\n\n```{toctree}\nchapters/toy\n```\n")
    (root / "paths.yml").write_text(TABLE)
    shutil.copytree(REPO / "_static", root / "_static", ignore=shutil.ignore_patterns("generated", "mathjax", "plotly"))
    (root / "conf.py").write_text(textwrap.dedent(f"""\
        import sys
        sys.path[:0] = [{str(REPO / '_ext')!r}, {str(REPO)!r}]
        extensions = ["myst_parser", "lecture_marks", "quiz"]
        myst_enable_extensions = ["colon_fence", "dollarmath"]
        lecture_paths_file = "paths.yml"
        html_static_path = ["_static"]
        html_css_files = ["teaching.css"]
        html_js_files = ["quiz.js"]
        """))
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(root), str(root / "_build")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root / "_build"


def test_marks_sit_beside_the_headings_not_in_the_contents(site):
    html = (site / "chapters" / "toy.html").read_text()
    assert re.search(r"The first section.{0,200}lecture-mark lecture-core\">core · 7 min<", html, re.S)
    assert re.search(r"A section named by its title.{0,200}lecture-bonus\">bonus · 4 min<", html, re.S)
    assert "the core sections take 7 minutes" in html and "bonus sections 4 minutes" in html
    index = (site / "index.html").read_text()
    assert "core · 7 min" not in index  # the table of contents keeps the plain headings


def test_the_quiz_keeps_its_answer_out_of_the_text(site):
    html = (site / "chapters" / "toy.html").read_text()
    key = re.search(r'<script type="application/json" class="quiz-key">"([^"]+)"</script>', html).group(1)
    assert json.loads(base64.b64decode(key)) == {"correct": [1]}
    assert len(re.findall(r'<li class="quiz-choice"', html)) == 3 and "[x]" not in html
    assert re.search(r'quiz-explanation.{0,300}Because', html, re.S)


def test_the_answer_shows_only_after_the_reader_chooses(site):
    pytest.importorskip("websocket", reason="websocket-client is not installed")
    if sitecheck.find_chromium() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    with sitecheck.serve_directory(site) as base, sitecheck.Browser(sitecheck.find_chromium()) as browser:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime"):
            browser.send(f"{domain}.enable", session=session)
        assert browser._navigate(base + "chapters/toy.html", session, 0.5) is None
        shown = "getComputedStyle(document.querySelector('#quiz-toy .quiz-explanation')).display"
        assert browser.evaluate(shown, session) == "none"
        assert browser.evaluate("document.querySelectorAll('#quiz-toy .quiz-correct').length", session) == 0
        browser.evaluate("document.querySelectorAll('#quiz-toy li.quiz-choice')[0].click(); 1", session)
        assert browser.evaluate(shown, session) != "none"
        marked = browser.evaluate("Array.from(document.querySelectorAll('#quiz-toy li')).map(li => li.className)",
                                  session)
        assert "quiz-wrong" in marked[0] and "quiz-correct" in marked[1]
        assert "Not quite" in browser.evaluate("document.querySelector('#quiz-toy .quiz-feedback').textContent", session)
