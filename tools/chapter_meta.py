"""Give every chapter the same anatomy, and every figure its caption, number and alt text.

``python -m tools.chapter_meta`` rewrites the chapter notebooks in place (atomically, only when
something changes); ``python -m tools.chapter_meta --check`` changes nothing and exits 1 when a
notebook would change (``tests/test_chapter_anatomy.py`` runs it). Run it after editing a chapter:
it is idempotent, and it keys everything it adds by cell id, never by position, so chapters whose
cells are reordered or restructured keep their captions.

What it does, per chapter:

* **Figures**: the table in ``tools/figure_captions.py`` (cell id -> name, caption, alt text, wide)
  goes into each figure cell's metadata as myst-nb reads it
  (``mystnb: {figure: {caption, name}, image: {alt}}``), so the page shows "Figure 3.2" with a
  caption and the ``<img>`` gets real alt text; a wide figure gets the ``full-width`` tag (the
  theme then gives it the margin too). A cell id in the table that the chapter lacks is an error
  (the cell was deleted or its id changed: update the table).
* **Headings**: hand-typed numbers go ("## 1.1 The loop" -> "## The loop"): ``_toc.yml``'s
  ``numbered: true`` numbers every chapter's sections the same way ("3.2"), and figures and
  exercises follow ("Figure 3.2", "Exercise 3.1").
* **Objectives, prerequisites, time**: the bold-paragraph form ("**Learning objectives.** ...",
  "**Prerequisites.** ...", "**Estimated time:** ...") becomes the admonitions chapters 1 and 2
  use, so every chapter opens the same way.
* **Exercise titles**: difficulty stars last ("Derive it (★★☆)"), as in chapters 1, 2 and 5.
* **References**: a last cell "## References" with the chapter's own bibliography
  (``:filter: docname in docnames``), so a citation resolves on its own page.
* **Glossary**: the first use of each glossary term in the chapter's prose links to the glossary
  (``{term}``); text in code, math, roles, links, headings and directive lines is left alone.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
REFERENCES_ID = "references"
REFERENCES_SOURCE = "## References\n\n```{bibliography}\n:filter: docname in docnames\n```\n"
FULL_WIDTH = "full-width"

# "## 1.1 Title", "# 3. Title", "### 6.2. Title": a number with at least one dot, then a space.
HAND_NUMBER_RE = re.compile(r"^(#{1,4}) +\d+\.(?:\d+\.?)* +(?=\S)")
# "{exercise} (★★☆) Title" -> "{exercise} Title (★★☆)"
STARS_FIRST_RE = re.compile(r"^((?::::|```)\{exercise\}) +(\([★☆]{3}\)) +(.+?) *$")

# Glossary terms linked on first use: (term as the glossary names it, pattern of its use in prose).
# Words that are also plain English verbs ("replace", "augment") are linked only in their
# workflow sense, which the prose marks in italics or quotes; the rest match as words.
GLOSSARY_LINKS: tuple[tuple[str, str], ...] = (
    ("Model collapse", r"model collapse"),
    ("MAD", r"MAD(?= study| loop|\))"),
    ("Self-consuming loop", r"self-consuming loops?"),
    ("Sampling bias", r"sampling bias"),
    ("Workflow", r"workflows?"),
    ("Fully synthetic", r"fully synthetic"),
    ("Synthetic augmentation", r"synthetic augmentation"),
    ("Fresh data", r"fresh data"),
    ("Accumulate", r"accumulat(?:e|es|ing|ion)"),
    ("Kept real fraction", r"kept real fraction"),
    ("Precision", r"precision"),
    ("Recall", r"recall"),
    ("FID", r"FID"),
    ("Fréchet distance", r"Fr[ée]chet distance"),
    ("Perplexity", r"perplexity"),
    ("Wright-Fisher model", r"Wright-Fisher"),
    ("Martingale", r"martingales?"),
    ("W2 distance", r"W2 distance|Wasserstein-2 distance"),
    ("Child seed", r"child seeds?"),
    ("Common random numbers", r"common random numbers"),
)
CASE_SENSITIVE = {"MAD", "FID"}
# Spans of a Markdown line that are not prose: code, math, roles with their content, links,
# substitutions, HTML tags.
NOT_PROSE_RE = re.compile(
    r"`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\{[\w:-]+\}`[^`]*`|!?\[[^\]]*\]\([^)]*\)|\{\{[^}]*\}\}|<[^>]+>|\*\*[^*]*\*\*:?"
    # quoted titles and quotations ("Model Collapse: An Experiment") are the author's words, not ours
    r'|"[^"\n]*"|“[^”\n]*”')


@dataclass(frozen=True)
class Figure:
    """One figure cell: its numfig name (``fig-...``), caption, alt text, and whether it is wide."""

    name: str
    caption: str
    alt: str
    wide: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"fig-[a-z0-9-]+", self.name):
            raise ValueError(f"figure name must look like fig-chapter-what, got {self.name!r}")
        if len(self.caption) < 20 or len(self.alt) < 30:
            raise ValueError(f"{self.name}: caption (>= 20 chars) and alt text (>= 30 chars) must say something")
        if re.search(r"\.(png|svg|jpe?g)\b|_images/", self.alt):
            raise ValueError(f"{self.name}: alt text must describe the figure, not name a file")


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)


# -- headings, objectives, exercise titles ------------------------------------------------------

def normalise_headings(text: str) -> str:
    """Drop hand-typed section numbers from Markdown headings (outside fenced blocks)."""
    out, fence = [], None
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if fence is None and stripped.startswith("```"):
            fence = "```"
        elif fence is not None and stripped.startswith(fence) and not stripped.startswith("```{"):
            fence = None
        elif fence is None:
            line = HAND_NUMBER_RE.sub(r"\1 ", line)
        out.append(line)
    return "".join(out)


def stars_last(text: str) -> str:
    """Exercise titles with the difficulty stars last."""
    return "\n".join(STARS_FIRST_RE.sub(r"\1 \3 \2", line) for line in text.split("\n"))


def _paragraph_after(text: str, label_re: str) -> tuple[int, int, str] | None:
    """(start, end, body) of the paragraph (up to a blank line) that starts with ``label_re``."""
    match = re.search(rf"(?m)^{label_re}[ \t]*", text)
    if not match:
        return None
    end = text.find("\n\n", match.end())
    end = len(text) if end < 0 else end
    return match.start(), end, text[match.end():end].strip("\n")


def objectives_as_admonitions(text: str) -> str:
    """The bold-paragraph objectives, prerequisites and time of chapters 3-5 as chapter 1's admonitions."""
    objectives = _paragraph_after(text, r"\*\*Learning objectives\.\*\*")
    if objectives is None:
        return text
    prerequisites = _paragraph_after(text, r"\*\*Prerequisites\.\*\*")
    time = _paragraph_after(text, r"\*\*Estimated time:\*\*")
    blocks = [objectives] + [b for b in (prerequisites, time) if b is not None]
    if any(b[0] < objectives[0] for b in blocks):
        return text  # an unexpected order: leave it to a person
    new = f":::{{admonition}} Learning objectives\n:class: tip\n{objectives[2]}\n"
    if time is not None:
        new += f"\n**Time:** {time[2]}\n"
    new += ":::\n"
    if prerequisites is not None:
        new += f"\n:::{{admonition}} Prerequisites\n:class: note\n{prerequisites[2]}\n:::"
    start, end = objectives[0], max(b[1] for b in blocks)
    return text[:start] + new.rstrip("\n") + text[end:]


# -- glossary links ------------------------------------------------------------------------------

def _prose_spans(line: str) -> list[tuple[int, int]]:
    """Character ranges of ``line`` that are prose (not code, math, a role, a link or bold)."""
    spans, last = [], 0
    for match in NOT_PROSE_RE.finditer(line):
        spans.append((last, match.start()))
        last = match.end()
    spans.append((last, len(line)))
    return [(a, b) for a, b in spans if b > a]


def link_glossary_terms(cells: list[dict]) -> None:
    """Link the first prose use of each glossary term in these Markdown cells (once per chapter)."""
    linked = {m.group(1) for c in cells if c.get("cell_type") == "markdown"
              for m in re.finditer(r"\{term\}`[^`<]*<([^>`]+)>`", _source(c))}
    linked |= {m.group(1) for c in cells if c.get("cell_type") == "markdown"
               for m in re.finditer(r"\{term\}`([^`<]+)`", _source(c))}
    for term, pattern in GLOSSARY_LINKS:
        if term in linked:
            continue
        flags = 0 if term in CASE_SENSITIVE else re.IGNORECASE
        word = re.compile(rf"(?<![\w-]){pattern}(?![\w-])", flags)
        done = False
        for cell in cells:
            if done or cell.get("cell_type") != "markdown":
                continue
            lines = _source(cell).split("\n")
            fence = None
            for i, line in enumerate(lines):
                stripped = line.lstrip()
                if stripped.startswith(("```", ":::")):
                    if fence is None and stripped.startswith("```") and not stripped.startswith("```{"):
                        fence = "```"
                    elif fence == "```" and stripped.startswith("```"):
                        fence = None
                    if stripped.startswith("```{") and not stripped.startswith(("```{exercise", "```{solution",
                                                                                   "```{admonition")):
                        fence = "```"
                    continue
                if (fence or stripped.startswith(("#", ":", "(", "|", "$$", "\\")) or not stripped
                        or re.match(r"^\s*\\(begin|end)", line)):
                    continue
                for start, end in _prose_spans(line):
                    match = word.search(line, start, end)
                    # Title Case ("Model Collapse Demystified") is a title someone else wrote: not ours to link.
                    while match and len(match.group().split()) > 1 and all(w[0].isupper() for w in match.group().split()):
                        match = word.search(line, match.end(), end)
                    if match:
                        lines[i] = (line[:match.start()] + "{term}`" + match.group() + " <" + term + ">`"
                                    + line[match.end():])
                        done = True
                        break
                if done:
                    break
            if done:
                _set_source(cell, "\n".join(lines))


# -- figures and references ----------------------------------------------------------------------

def apply_figures(cells: list[dict], figures: dict[str, Figure], where: str) -> None:
    """Write each figure's caption, name and alt text into its cell's metadata (by cell id)."""
    by_id = {c.get("id"): c for c in cells}
    missing = sorted(set(figures) - set(by_id))
    if missing:
        raise KeyError(f"{where}: tools/figure_captions.py names cells this chapter lacks: {missing}")
    for cell_id, figure in figures.items():
        cell = by_id[cell_id]
        if cell.get("cell_type") != "code":
            raise ValueError(f"{where}: cell {cell_id} is not a code cell")
        metadata = cell.setdefault("metadata", {})
        mystnb = metadata.setdefault("mystnb", {})
        mystnb["figure"] = {"caption": figure.caption, "name": figure.name}
        mystnb["image"] = {"alt": figure.alt}
        tags = [t for t in metadata.get("tags", []) if t != FULL_WIDTH]
        if figure.wide:
            tags.append(FULL_WIDTH)
        if tags:
            metadata["tags"] = tags
        else:
            metadata.pop("tags", None)


def ensure_references(cells: list[dict]) -> None:
    """A last Markdown cell with the chapter's own reference list (replacing a bare bibliography cell)."""
    for cell in list(cells):
        text = _source(cell).strip()
        if cell.get("cell_type") == "markdown" and text.startswith("```{bibliography}") and cell.get("id") != REFERENCES_ID:
            cells.remove(cell)
    existing = [c for c in cells if c.get("id") == REFERENCES_ID]
    for cell in existing:
        cells.remove(cell)
    cell = existing[0] if existing else {"cell_type": "markdown", "id": REFERENCES_ID, "metadata": {}}
    _set_source(cell, REFERENCES_SOURCE)
    cells.append(cell)


# -- one notebook --------------------------------------------------------------------------------

def transform(notebook: dict, figures: dict[str, Figure], where: str) -> dict:
    """The notebook with the course's anatomy applied (a new dict; the input is not changed)."""
    nb = json.loads(json.dumps(notebook))
    cells = nb["cells"]
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            text = _source(cell)
            new = stars_last(objectives_as_admonitions(normalise_headings(text)))
            if new != text:
                _set_source(cell, new)
    apply_figures(cells, figures, where)
    ensure_references(cells)
    link_glossary_terms(cells)
    return nb


def dumps(notebook: dict) -> str:
    """The notebook as the repository stores it (nbformat's layout: indent 1, UTF-8, final newline)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def chapter_paths(paths: Iterable[Path] | None = None) -> list[Path]:
    return sorted(paths) if paths else sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def run(paths: list[Path], check: bool) -> list[Path]:
    """Apply (or, with ``check``, only compare) every chapter; returns the notebooks that (would) change."""
    from tools.figure_captions import FIGURES

    changed = []
    for path in paths:
        text = path.read_text()
        new = dumps(transform(json.loads(text), FIGURES.get(path.stem, {}), path.name))
        if new != text:
            changed.append(path)
            if not check:
                from madlib.core.cache import atomic_write_text

                atomic_write_text(path, new)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.chapter_meta", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="chapters (default: chapters/NN_*.ipynb)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a chapter would change")
    args = parser.parse_args(argv)
    changed = run(chapter_paths(args.notebooks), args.check)
    for path in changed:
        print(f"{path}: {'would change' if args.check else 'updated'}"
              + (" (run: python -m tools.chapter_meta)" if args.check else ""))
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
