"""The chapters cross-reference their own sections by label, never by a hand-typed number.

Sphinx numbers the chapters' sections from ``_toc.yml`` (4.1, 4.1.1, ...). A number typed into the prose
goes stale when a section is added or moved, and a chapter-relative one ("section 3" in chapter 4 for
what the site shows as 4.3) is wrong on the page from the start. A chapter therefore writes
``{numref}`Section %s <sec-label>``` ("section %s" mid-sentence; two numrefs for two sections), with a
``(sec-label)=`` line directly above the heading, and Sphinx fills in the number.

**Rule 1: no hand-typed section number.** In a chapter's Markdown cells, and in the string values of any
cell's metadata (captions, alt text), the word "section" or "sections" (any case) or the sign "§",
followed by whitespace and a number ("3", "4.1.2"), is an error. Except where the number is a *paper's*
own section, which the course cannot label:

* it directly follows a citation role, optionally after "(", "," or "'s":
  "{cite}`key` (section 3.4)", "{cite:t}`key`, Section 2", "{cite:t}`key`'s section 5";
* it is followed by "of" and the work: "Section 4 of the paper" (or of their / the paper, study,
  preprint, article, report, essay), "section 3 of {cite}`key`";
* it lies inside a double-quoted passage ("..." or “...”) of the same paragraph: a quotation.

Inline code, fenced code blocks and math ($...$) are not prose and are not read. "chapter 3",
"Figure 3.2", "Exercise 3.1", "Table 2" and equation numbers are not section numbers and are allowed.

**Rule 2: every reference resolves.** Every label used by a ``{ref}`` or ``{numref}`` role in a chapter
is defined in the book's sources (the pages that ``_toc.yml`` lists): a ``(label)=`` target, a
directive's ``:label:`` or ``:name:`` option, or a figure's name in a code cell's metadata
(``mystnb.figure.name``). A ``{numref}`` must carry ``%s`` (or ``{number}``) so that Sphinx puts the
number in, and one that reads as a section ("Section %s", "section %s", or a bare "%s" after the word
"section(s)") must point at a ``(label)=`` directly above a heading of a numbered chapter.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))

SECTION_NUMBER = re.compile(r"(?i)(?:\bsections?|§)\s*\d+(?:\.\d+)*\b")
CITE_BEFORE = re.compile(r"\{cite(?::\w+)?\}`[^`]*`(?:'s)?[\s(,]*$")
WORK_AFTER = re.compile(
    r"(?i)^(?:\s*(?:,|and|or|to|-|–)\s*\d+(?:\.\d+)*)*\s+of\s+(?:\{cite|(?:the|their|its)\s+"
    r"(?:paper|study|preprint|article|report|essay|supplementary))")
ROLE = re.compile(r"\{(ref|numref)\}`([^`]*)`")
TARGET = re.compile(r"(?m)^\(([^()\s]+)\)=\s*$")
OPTION = re.compile(r"(?m)^\s*:(?:label|name):\s*(\S+)\s*$")
HEADING_TARGET = re.compile(r"(?m)^\(([^()\s]+)\)=\s*\n#{1,6} ")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")


def _prose(text: str) -> str:
    """Markdown without fenced code blocks, inline code and math (each replaced by spaces, so offsets
    and paragraphs stay); a directive's body and title (```{name} title) stay: they are prose."""
    out, stack = [], []  # stack of (fence, is_code)
    for line in text.split("\n"):
        match = FENCE.match(line)
        in_code = bool(stack) and stack[-1][1]
        if match:
            fence, info = match.group(1), match.group(2).strip()
            closes = (stack and not info and fence[0] == stack[-1][0][0] and len(fence) >= len(stack[-1][0]))
            if closes:
                stack.pop()
                out.append(" " * len(line))
                continue
            if not in_code:
                stack.append((fence, not info.startswith("{")))
                out.append(line.replace(fence, " " * len(fence), 1) if info.startswith("{") else " " * len(line))
                continue
        out.append(" " * len(line) if in_code else line)
    text = "\n".join(out)
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    # left to right, so that a role ({cite}`key`) is read whole and its backticks never open a code span
    text = re.sub(r"\{[^{}\s]+\}`[^`]*`|(`+)(?!`).+?(?<!`)\1(?!`)",
                  lambda m: m.group(0) if m.group(1) is None else blank(m), text, flags=re.S)
    text = re.sub(r"\$\$.+?\$\$", blank, text, flags=re.S)
    return re.sub(r"(?<!\\)\$[^$\n]+?(?<!\\)\$", blank, text)


def _inside_quotes(before: str) -> bool:
    paragraph = re.split(r"\n\s*\n", before)[-1]
    return paragraph.count('"') % 2 == 1 or paragraph.count("“") > paragraph.count("”")


def hand_typed_section_numbers(text: str) -> list[str]:
    """The hand-typed section numbers that Rule 1 forbids in ``text`` (Markdown), with some context."""
    prose, found = _prose(text), []
    for match in SECTION_NUMBER.finditer(prose):
        before, after = prose[:match.start()], prose[match.end():]
        if CITE_BEFORE.search(before) or WORK_AFTER.match(after) or _inside_quotes(before):
            continue
        found.append(" ".join(prose[max(0, match.start() - 40):match.end() + 20].split()))
    return found


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _markdown(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    return ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown"]


def _book_pages() -> tuple[list[Path], list[Path]]:
    """All pages of _toc.yml, and those of its numbered parts."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())

    def find(name: str) -> Path:
        for suffix in (".md", ".ipynb", ""):
            if (REPO / f"{name}{suffix}").is_file():
                return REPO / f"{name}{suffix}"
        raise AssertionError(f"_toc.yml names {name}, which is not in the repository")

    def walk(entries) -> list[Path]:
        pages = []
        for entry in entries or []:
            if "file" in entry:
                pages.append(find(entry["file"]))
            pages += walk(entry.get("sections"))
        return pages

    pages, numbered = [find(toc["root"])], []
    for part in toc.get("parts", []):
        found = walk(part.get("chapters"))
        pages += found
        if part.get("numbered"):
            numbered += found
    return pages, numbered


def _targets() -> tuple[set[str], set[str]]:
    """Every label defined in the book's sources, and the labels of numbered chapters' headings."""
    pages, numbered = _book_pages()
    labels, headings = set(), set()
    for page in pages:
        for text in _markdown(page):
            labels |= set(TARGET.findall(text)) | set(OPTION.findall(text))
            if page in numbered:
                headings |= set(HEADING_TARGET.findall(text))
        if page.suffix == ".ipynb":
            for cell in _cells(page):
                name = cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name")
                if name:
                    labels.add(name)
    return labels, headings


LABELS, HEADING_LABELS = _targets()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_types_no_section_number(path: Path) -> None:
    found = []
    for index, cell in enumerate(_cells(path)):
        texts = _strings(cell.get("metadata", {}))
        if cell["cell_type"] == "markdown":
            texts.append("".join(cell["source"]))
        found += [f"cell {index}: ...{hit}..." for text in texts for hit in hand_typed_section_numbers(text)]
    assert not found, ("hand-typed section numbers (write {numref}`section %s <sec-label>` with a (sec-label)= "
                       "line above the heading):\n" + "\n".join(found))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_ref_and_numref_of_a_chapter_resolves(path: Path) -> None:
    problems = []
    for text in _markdown(path):
        for match in ROLE.finditer(text):
            role, content = match.groups()
            explicit = re.fullmatch(r"(?s)(.*?)\s*<([^<>]+)>", content)
            title, label = (explicit.group(1), explicit.group(2)) if explicit else ("", content)
            if label not in LABELS:
                problems.append(f"{match.group(0)}: no (label)=, :label: or figure name {label!r} in the book")
                continue
            if role != "numref":
                continue
            if explicit and "%s" not in title and "{number}" not in title:
                problems.append(f"{match.group(0)}: a numref's text needs %s (or {{number}}) for the number")
            before = text[:match.start()]
            reads_as_section = (re.match(r"(?i)sections?\b", title) or
                                (title.startswith("%s") and re.search(r"(?i)\bsections?\s+(?:\S+\s+)?$", before)))
            if reads_as_section and label not in HEADING_LABELS:
                problems.append(f"{match.group(0)}: {label!r} is not the label of a numbered chapter's heading")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("text", [
    "as section 3 shows", "Section 4.1.2 measures it", "Sections 4.1.1 and 4.3 run", "(sections 4 and 6)",
    "see §2.1", "the box in\nsection 2.4.", "{numref}`section %s <sec-a>` and section 3.2",
    "a quote \"that ends\" before section 3",
])
def test_rule_1_finds(text: str) -> None:
    assert hand_typed_section_numbers(text), text


@pytest.mark.parametrize("text", [
    "as {numref}`section %s <sec-gmm-fresh>` shows", "Sections {numref}`%s <a>` and {numref}`%s <b>` run",
    "chapter 3, Figure 3.2, Exercise 3.1, Table 2 and eq. (3.4)",
    "\"confined within the support of the real data\" {cite}`alemohammad2024mad`\n(section 3.4), for",
    "{cite:t}`x`, Section 2 says", "{cite:t}`x`'s section 5", "Section 4 of the paper", "section 3 of {cite}`k`",
    "they write: \"as section 3 shows, ...\"", "run `section 3` in code", "$\\text{section 3}$",
    "```python\n# section 3 of the loop\n```", "the crossSection 3",
])
def test_rule_1_allows(text: str) -> None:
    assert not hand_typed_section_numbers(text), text
