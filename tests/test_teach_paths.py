"""Lecture paths (teaching/paths.yml): every section marked, every 50-minute path fits, teaching.md in step."""
from __future__ import annotations

import re

import pytest
import yaml

from tools.teach import nbsource as S, paths

TABLE = paths.load()
ENTRIES = TABLE["chapters"]


def test_every_chapter_of_the_book_has_an_entry():
    toc = yaml.safe_load((S.REPO / "_toc.yml").read_text())
    docs = {c["file"] for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")}
    assert docs == {e["doc"] for e in ENTRIES}, "add (or remove) the chapter's sections in teaching/paths.yml"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["doc"] for e in ENTRIES])
def test_every_entry_names_one_heading_and_every_heading_has_an_entry(entry):
    sections = paths.chapter_sections(entry)
    unmatched = [s.key for s in sections if s.heading is None]
    assert not unmatched, f"{entry['doc']}: no single heading matches {unmatched} (renamed? update teaching/paths.yml)"
    matched = {(h.text, h.label) for h in (s.heading for s in sections)}
    headings = [h for h in paths.headings(entry["doc"]) if h.level >= 2]
    missing = [h.text for h in headings if (h.text, h.label) not in matched]
    assert not missing, f"{entry['doc']}: headings without a mark and minutes in teaching/paths.yml: {missing}"
    assert len(matched) == len(sections), "two entries name the same heading"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["doc"] for e in ENTRIES])
def test_the_50_minute_path_fits_and_is_a_real_lecture(entry):
    sections = paths.chapter_sections(entry, resolve=False)
    core = paths.core_minutes(sections)
    assert 30 <= core <= paths.PATH_MINUTES, f"{entry['doc']}: core sections take {core} min"
    assert sections[-1].mark == "core" or entry["doc"].endswith("questions"), "the summary belongs to the path"


def test_plans_add_up_to_what_their_titles_promise():
    by_doc = {c["doc"]: paths.chapter_sections(c) for c in ENTRIES}
    for plan in TABLE["plans"]:
        total = 0
        for session in plan["sessions"]:
            minutes = sum(paths._item_minutes(item, by_doc)[1] for item in session["items"])
            promised = re.search(r"\((\d+) minutes\)", session["title"])
            if promised:
                assert minutes == int(promised.group(1)), (plan["name"], session["title"], minutes)
            if re.search(r"\blecture \d", session["title"].lower()):  # "Lecture 2", "Week 1, lecture 2"
                assert minutes <= paths.PATH_MINUTES, (plan["name"], session["title"], minutes)
            total += minutes
        promised = re.search(r"\((\d+) minutes\)", plan["name"])
        if promised:
            assert total == int(promised.group(1)), (plan["name"], total)


def test_a_bad_entry_is_refused_by_name():
    with pytest.raises(ValueError, match="mark"):
        paths.chapter_sections({"doc": "x", "sections": [{"title": "A", "mark": "optional", "minutes": 5}]}, resolve=False)
    with pytest.raises(ValueError, match="minutes"):
        paths.chapter_sections({"doc": "x", "sections": [{"title": "A", "mark": "core", "minutes": 0}]}, resolve=False)
    with pytest.raises(ValueError, match="label"):
        paths.chapter_sections({"doc": "x", "sections": [{"mark": "core", "minutes": 5}]}, resolve=False)


def test_teaching_md_is_generated_from_the_table():
    assert paths.update(check=True), "teaching.md is out of date: run `make teaching-md`"


def test_headings_are_read_as_the_book_reads_them():
    found = paths.headings("chapters/05_lm")
    assert "Summary" in [h.text for h in found]  # after four-backtick exercise fences
    assert all(not h.text.startswith("def ") for h in found)
    assert paths.normalise("1.5 `ddof=0` versus *x*") == "ddof=0 versus x"
