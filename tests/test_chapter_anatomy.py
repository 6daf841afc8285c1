"""Every chapter is built the same way: objectives, prerequisites, time, numbered sections (no
hand-typed numbers), exercises, a reference list at the end, glossary links; every figure has a
name, a caption and real alt text (tools/figure_captions.py, written by tools/chapter_meta.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tools import chapter_meta
from tools.figure_captions import FIGURES

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))
# Chapters that teach (objectives, exercises); the questions page is a FAQ over them.
TEACHING = [p for p in CHAPTERS if p.stem != "09_questions"]
# A code cell that draws a matplotlib figure (checked against the executed build when it was written).
DRAWS = re.compile(r"\bplot_\w+\(|plt\.subplots\(|plt\.show\(\)|explorer_figure\(|plt\.figure\(")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _markdown(path: Path) -> str:
    return "\n\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")


def test_the_chapters_are_as_the_tool_leaves_them() -> None:
    assert chapter_meta.run(CHAPTERS, check=True) == [], "run: python -m tools.chapter_meta"


def test_the_toc_numbers_the_course_and_sphinx_numbers_figures_per_chapter() -> None:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    course = toc["parts"][0]
    assert course["numbered"] is True
    assert {c["file"] for c in course["chapters"]} == {f"chapters/{p.stem}" for p in CHAPTERS}
    config = yaml.safe_load((REPO / "_config.yml").read_text())["sphinx"]["config"]
    assert config["numfig"] is True and config["numfig_secnum_depth"] == 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_headings_carry_no_hand_typed_numbers(path: Path) -> None:
    headings = [line for line in _markdown(path).splitlines() if re.match(r"#{1,4} ", line)]
    assert headings and headings[0].startswith("# ")
    numbered = [h for h in headings if chapter_meta.HAND_NUMBER_RE.match(h)]
    assert not numbered, numbered
    assert sum(h.startswith("## ") for h in headings) >= 4  # sections


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.stem)
def test_a_chapter_opens_with_objectives_prerequisites_and_time(path: Path) -> None:
    opening = "".join(_cells(path)[1]["source"])
    assert ":::{admonition} Learning objectives" in opening
    objectives = opening.split(":::{admonition} Learning objectives", 1)[1].split("\n:::", 1)[0]
    assert re.search(r"\*\*Time:\*\* (about )?\d+ minutes", objectives), "the time estimate belongs in the objectives"
    assert ":::{admonition} Prerequisites" in opening or "**Prerequisites:**" in objectives


@pytest.mark.parametrize("path", TEACHING, ids=lambda p: p.stem)
def test_a_chapter_has_exercises_with_one_title_style(path: Path) -> None:
    titles = re.findall(r"(?m)^(?::::|```)\{exercise\} *(.*)$", _markdown(path))
    assert len(titles) >= 3
    for title in titles:
        assert re.fullmatch(r".+ \([★☆]{3}\)", title), f"exercise title {title!r}: stars last"
    assert "## Exercises" in _markdown(path)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_ends_with_its_own_references(path: Path) -> None:
    last = _cells(path)[-1]
    assert last["cell_type"] == "markdown" and last["id"] == chapter_meta.REFERENCES_ID
    assert "".join(last["source"]) == chapter_meta.REFERENCES_SOURCE
    bibliographies = _markdown(path).count("```{bibliography}")
    assert bibliographies == 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_glossary_terms_are_linked_on_first_use(path: Path) -> None:
    glossary = (REPO / "glossary.md").read_text()
    terms = re.findall(r"\{term\}`(?:[^`<]*<)?([^>`]+)>?`", _markdown(path))
    assert len(terms) >= 3
    for term in terms:
        assert re.search(rf"(?m)^{re.escape(term)}$", glossary), f"{term!r} is not a glossary entry"
    assert len(terms) == len(set(terms)), "a term is linked once per chapter, on first use"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_a_name_a_caption_and_real_alt_text(path: Path) -> None:
    table = FIGURES.get(path.stem, {})
    drawing = [c for c in _cells(path) if c["cell_type"] == "code" and DRAWS.search("".join(c["source"]))]
    missing = [c["id"] for c in drawing if c["id"] not in table]
    assert not missing, f"figure cells without an entry in tools/figure_captions.py: {missing}"
    for cell in drawing:
        figure = cell["metadata"]["mystnb"]["figure"]
        entry = table[cell["id"]]
        assert figure == {"caption": entry.caption, "name": entry.name}
        assert cell["metadata"]["mystnb"]["image"]["alt"] == entry.alt
        assert ("full-width" in cell["metadata"].get("tags", [])) == entry.wide


def test_figure_names_are_unique_and_the_table_rejects_empty_words() -> None:
    names = [f.name for table in FIGURES.values() for f in table.values()]
    assert len(names) == len(set(names))
    with pytest.raises(ValueError, match="alt text must describe"):
        chapter_meta.Figure("fig-x", "A caption long enough.", "see ../_images/abc123.png for the picture")
    with pytest.raises(ValueError, match="caption"):
        chapter_meta.Figure("fig-x", "Short.", "x" * 40)


def test_the_tool_is_idempotent_and_keys_figures_by_cell_id() -> None:
    nb = {"cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# 3. Title\n\n## 3.1 First part\n\nThe "
                                                                         "model collapse story.\n"]},
        {"cell_type": "code", "id": "f2", "metadata": {}, "source": ["fig = plot_b()"], "outputs": [],
         "execution_count": None},
        {"cell_type": "code", "id": "f1", "metadata": {}, "source": ["fig = plot_a()"], "outputs": [],
         "execution_count": None},
        {"cell_type": "markdown", "id": "e", "metadata": {}, "source": [":::{exercise} (★★☆) Derive it\n:::\n"]},
    ]}
    figures = {"f1": chapter_meta.Figure("fig-a", "Figure A, with a caption.", "A line chart that rises to the right."),
               "f2": chapter_meta.Figure("fig-b", "Figure B, with a caption.", "Two panels of bars side by side.",
                                         wide=True)}
    once = chapter_meta.transform(nb, figures, "test")
    assert chapter_meta.transform(once, figures, "test") == once
    text = "".join(once["cells"][0]["source"])
    assert text.startswith("# Title\n\n## First part") and "{term}`model collapse <Model collapse>`" in text
    by_id = {c["id"]: c for c in once["cells"]}
    assert by_id["f1"]["metadata"]["mystnb"]["figure"]["name"] == "fig-a"
    assert by_id["f2"]["metadata"]["tags"] == ["full-width"]
    assert "".join(by_id["e"]["source"]).startswith(":::{exercise} Derive it (★★☆)")
    assert once["cells"][-1]["id"] == "references"
    with pytest.raises(KeyError, match="lacks"):
        chapter_meta.transform(nb, {"gone": figures["f1"]}, "test")
