"""The whole book as one PDF (``make pdf``), built from the smoke build that ``make test`` kept.

Building the PDF (XeLaTeX, about 165 pages) takes a few minutes, so it is not part of ``make test``:
``make test-pdf`` runs this file after it (``.ci/run`` does), on the book ``make test`` built into
``_build/test-book``. Skipped, saying why, without that build or without TeX Live.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tools import build_pdf

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "_build" / "test-book" / "_build"


@pytest.fixture(autouse=True)
def smoke_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The build's execution cache is keyed by the scale it ran at: make test's book is the smoke one."""
    monkeypatch.setenv("MADLIB_SCALE", "smoke")


def test_the_pdf_has_every_chapter_its_figures_and_numbers(tmp_path: Path) -> None:
    if not (BUILD / "jupyter_execute" / "chapters").is_dir():
        pytest.skip(f"no smoke build in {BUILD} (make test builds it; then make test-pdf)")
    missing = build_pdf.missing_tools() + ([] if shutil.which("pdftotext") else ["pdftotext"])
    if missing:
        pytest.skip(f"TeX Live or poppler-utils is not installed ({', '.join(missing)} missing): no PDF here "
                    "(Debian packages: see tools/build_pdf.py; .ci/run installs them)")
    pdf = build_pdf.build(BUILD, tmp_path / "book.pdf")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for chapter in sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb")):
        title = next(line[2:].strip() for c in json.loads(chapter.read_text())["cells"] if c["cell_type"] == "markdown"
                     for line in "".join(c["source"]).splitlines() if line.startswith("# "))
        assert " ".join(title.split()[:4]) in text, f"the PDF lacks {chapter.stem} ({title!r})"
    assert len([w for w in text.split("Figure ")[1:] if w[:1].isdigit()]) >= 40, "numbered figures"
    assert "{glue" not in text and "Our 5 runs end with" in text, "glued numbers filled in (smoke: 5 runs)"


@pytest.mark.parametrize("language, script", [("ru", "\u0400-\u04ff"), ("zh_CN", "\u4e00-\u9fff")])
def test_the_translated_pdfs_show_the_translation(tmp_path: Path, language: str, script: str) -> None:
    """Issue 31: the Russian and Chinese PDFs from the same smoke build, with the catalogues' chapter titles,
    their own script (Cyrillic, CJK) and the glued numbers filled in."""
    import re

    from tools import i18n

    if not (BUILD / "jupyter_execute" / "chapters").is_dir():
        pytest.skip(f"no smoke build in {BUILD} (make test builds it; then make test-pdf)")
    missing = build_pdf.missing_tools(language) + ([] if shutil.which("pdftotext") else ["pdftotext"])
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs them)")
    pdf = build_pdf.build(BUILD, tmp_path / build_pdf.pdf_name(language), language)
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.split())
    for chapter in sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb")):
        title = next(line[2:].strip() for c in json.loads(chapter.read_text())["cells"] if c["cell_type"] == "markdown"
                     for line in "".join(c["source"]).splitlines() if line.startswith("# "))
        po = i18n.read_po(REPO / "locales" / language / "LC_MESSAGES" / "chapters" / f"{chapter.stem}.po")
        translated = next(m.string for m in i18n.messages(po) if m.id == title)
        words = " ".join(translated.split()[:3]) if language == "ru" else translated[:6]
        assert words in text, f"the {language} PDF lacks {chapter.stem}'s title ({translated!r})"
    assert len(re.findall(f"[{script}]", text)) > 20_000, f"the {language} PDF is not in its script"
    assert "{glue" not in text
