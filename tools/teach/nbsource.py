"""Read the chapter notebooks as the book does: cells, MyST fences and directives, solution regions.

The chapters mark their teaching structure with sphinx-exercise directives, so one scanner serves
every tool of the kit:

* ``{exercise}`` blocks (``:label:``, ``:class:``: ``break-it``, ``analysis``, ``project``, ``explore``);
* ``{solution}`` blocks, and ``{solution-start}`` ... ``{solution-end}`` regions that may span cells (the
  code cells inside a region carry the tag ``solution`` in their metadata: tagged once, in the source);
* ``{quiz}`` blocks (``_ext/quiz.py``): a self-check question whose answer the site reveals only after
  the reader has chosen.

Fences are MyST's: three or more backticks or colons, closed by a line of at least as many of the same
character; a plain code fence (```` ```python ````) hides everything inside it.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

REPO = Path(__file__).resolve().parents[2]
CHAPTERS = REPO / "chapters"
SOLUTION_TAG = "solution"

_OPEN_RE = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,}|:{3,})\s*(?:\{(?P<name>[\w:-]+)\})?\s*(?P<arg>.*?)\s*$")
_OPTION_RE = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*?)\s*$")


@dataclass
class Directive:
    """One MyST directive in a Markdown cell: lines ``start`` .. ``end`` (both fence lines, inclusive)."""

    name: str
    arg: str
    start: int
    end: int
    options: dict[str, str]
    body: list[str]  # the lines between the fences, options excluded
    depth: int

    @property
    def label(self) -> str | None:
        return self.options.get("label") or (self.arg.split()[0] if self.name.startswith("solution") and self.arg
                                             else None)

    @property
    def classes(self) -> list[str]:
        return self.options.get("class", "").split()


class FenceError(ValueError):
    """A Markdown cell whose fences do not balance."""


def scan(text: str | list[str]) -> list[Directive]:
    """Every directive of one Markdown cell, nested ones included, in order of their opening line."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    stack: list[dict[str, Any]] = []
    found: list[Directive] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stack:
            top = stack[-1]
            if stripped and set(stripped) == {top["char"]} and len(stripped) >= top["length"]:
                stack.pop()
                if top["name"]:
                    found.append(_directive(lines, top, i, len(stack)))
                continue
            if top["name"] is None:  # inside a plain code fence: nothing nests
                continue
        match = _OPEN_RE.match(line)
        if not match:
            continue
        fence, name = match.group("fence"), match.group("name")
        if fence[0] == ":" and name is None:
            continue  # a stray ':::' outside any colon fence: MyST treats it as text
        stack.append({"char": fence[0], "length": len(fence), "name": name, "arg": match.group("arg"), "start": i})
    if stack:
        raise FenceError(f"unclosed fence opened at line {stack[-1]['start'] + 1}: {lines[stack[-1]['start']]!r}")
    return sorted(found, key=lambda d: d.start)


def _directive(lines: list[str], top: dict[str, Any], end: int, depth: int) -> Directive:
    options: dict[str, str] = {}
    body = lines[top["start"] + 1:end]
    while body and (m := _OPTION_RE.match(body[0])):
        options[m.group("key")] = m.group("value")
        body = body[1:]
    return Directive(top["name"], top["arg"], top["start"], end, options, body, depth)


# -- notebooks ----------------------------------------------------------------------------------

def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def set_source(cell: dict, text: str) -> None:
    cell["source"] = text.splitlines(keepends=True)
    if cell["source"] and cell["source"][-1].endswith("\n"):
        cell["source"][-1] = cell["source"][-1][:-1]


def tags(cell: dict) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def load(path: str | os.PathLike) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dumps(nb: dict) -> str:
    """The repository's notebook format (json, one-space indent, UTF-8, a final newline)."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    """Write through a process-unique temporary file and ``os.replace`` (the house rule)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(text, bytes):
            tmp.write_bytes(text)
        else:
            tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def chapter_notebooks() -> list[Path]:
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def chapter_key(path: str | os.PathLike) -> str:
    """``chapters/01_gaussian.ipynb`` -> ``gaussian``."""
    return Path(path).stem.split("_", 1)[1]


# -- solution regions ---------------------------------------------------------------------------

@dataclass
class Region:
    """Where one solution lives: its label, and per cell index the Markdown lines or the whole code cell."""

    label: str
    markdown: dict[int, list[int]] = field(default_factory=dict)  # cell index -> line numbers
    code_cells: list[int] = field(default_factory=list)


def solution_regions(nb: dict) -> list[Region]:
    """Every solution of a notebook: ``{solution}`` blocks and ``{solution-start}`` .. ``{solution-end}``
    regions (which may span cells), plus any code cell tagged ``solution`` outside them (its own region)."""
    regions: list[Region] = []
    current: Region | None = None
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            if current is not None:
                current.code_cells.append(index)
            elif SOLUTION_TAG in tags(cell):
                regions.append(Region(label="(tagged cell)", code_cells=[index]))
            continue
        lines = source(cell).splitlines()
        directives = scan(lines)
        by_start = {d.start: d for d in directives if d.depth == 0}
        skip_until = -1
        for i in range(len(lines)):
            if i <= skip_until:
                continue
            d = by_start.get(i)
            if current is not None:
                current.markdown.setdefault(index, []).append(i)
                if d is not None and d.name == "solution-end":
                    current.markdown[index].extend(range(i + 1, d.end + 1))
                    skip_until = d.end
                    regions.append(current)
                    current = None
                continue
            if d is None:
                continue
            if d.name == "solution":
                regions.append(Region(label=d.label or "", markdown={index: list(range(d.start, d.end + 1))}))
                skip_until = d.end
            elif d.name == "solution-start":
                current = Region(label=d.label or "", markdown={index: list(range(d.start, d.end + 1))})
                skip_until = d.end
            elif d.name == "solution-end":
                raise FenceError(f"cell {index}: a solution-end without its solution-start")
    if current is not None:
        raise FenceError(f"solution-start {current.label!r} has no solution-end")
    return regions


def exercises(nb: dict) -> list[tuple[int, Directive]]:
    """Every ``{exercise}`` directive, as (cell index, directive)."""
    return [(index, d) for index, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown"
            for d in scan(source(cell)) if d.name == "exercise"]


def directives(nb: dict, name: str) -> list[tuple[int, Directive]]:
    return [(index, d) for index, cell in enumerate(nb["cells"]) if cell["cell_type"] == "markdown"
            for d in scan(source(cell)) if d.name == name]


_PY_FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})\s*(python|ipython3?|py)\s*$")


def solution_code(nb: dict, label: str) -> str:
    """The reference solution of exercise ``label``: its code cells, or the ``python`` fences of its
    Markdown solution (chapter 5 writes its sampler inside a ``{solution}`` block)."""
    parts: list[str] = []
    for region in solution_regions(nb):
        if region.label != label:
            continue
        parts += [source(nb["cells"][i]) for i in region.code_cells]
        for index, line_numbers in region.markdown.items():
            lines = source(nb["cells"][index]).splitlines()
            block: list[str] | None = None
            fence = ""
            for n in line_numbers:
                line = lines[n]
                if block is None:
                    m = _PY_FENCE_RE.match(line)
                    if m:
                        block, fence = [], m.group(1)
                elif line.strip() and set(line.strip()) == {fence[0]} and len(line.strip()) >= len(fence):
                    parts.append("\n".join(block))
                    block = None
                else:
                    block.append(line)
    return "\n\n".join(parts)


def glue_names(text: str) -> set[str]:
    return set(re.findall(r"\{glue:text\}`([^`:]+)", text))


def iter_markdown(nb: dict) -> Iterable[tuple[int, str]]:
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            yield index, source(cell)
