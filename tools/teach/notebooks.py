"""Student and instructor notebooks from one source: the chapters, whose solutions are tagged once.

``python -m tools.teach.notebooks student [--out DIR]`` writes every chapter without its solutions:

* every ``{solution}`` block and every ``{solution-start}`` .. ``{solution-end}`` region goes, with the
  code cells inside it (they carry the tag ``solution``; a tagged cell outside a region goes too);
* a ``{quiz}`` becomes plain Markdown with its choices and without its answer or explanation;
* the exercise stubs (``raise NotImplementedError``) stay: that is where a student writes, and the
  checker call in the same cell says at once whether it is right.

``python -m tools.teach.notebooks instructor`` writes the full notebooks (quizzes with their answers
shown) and one answer key per chapter (``NN_key-answers.md``: every exercise with its solution).

Default output: ``_build/teaching/student`` and ``_build/teaching/instructor``. Outputs are never in
the source (the chapters are committed without outputs), so none can leak a solution's result.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from . import nbsource as S
from .quizsyntax import parse_quiz, to_markdown

DEFAULT_OUT = S.REPO / "_build" / "teaching"
STUDENT_NOTE = ("> **Student version.** The solutions of this chapter's exercises are not in this notebook. "
                "Write your answers in the cells that say `raise NotImplementedError` (and in the Markdown "
                "cells marked *Your prediction* / *Your answer*); run the cell after each to check it.")
INSTRUCTOR_NOTE = ("> **Instructor version, with every solution.** Do not hand this notebook out; "
                   "`make student-notebooks` builds the students' copy from the same source.")


def _note_cell(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text.splitlines(keepends=True)}


def _convert_quizzes(text: str, reveal: bool) -> str:
    lines = text.splitlines()
    quizzes = [d for d in S.scan(lines) if d.name == "quiz" and d.depth == 0]
    for d in reversed(quizzes):
        quiz = parse_quiz(d.arg, d.body, d.options.get("label"))
        lines[d.start:d.end + 1] = to_markdown(quiz, reveal).rstrip("\n").splitlines()
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


ANSWER_MD = "*Your answer (double-click this cell to write it):* …"


def student_notebook(nb: dict, chapter: str | None = None) -> dict:
    """A copy of chapter notebook ``nb`` without solutions (see the module's docstring).

    Where a solution was, the student finds room for an answer: an empty code cell where the
    solution had code, else a line "Your answer" in the Markdown."""
    out = copy.deepcopy(nb)
    drop_lines: dict[int, set[int]] = {}
    placeholder_lines: dict[tuple[int, int], str] = {}
    drop_cells: set[int] = set()
    answer_cells: dict[int, str] = {}
    for region in S.solution_regions(nb):
        drop_cells.update(region.code_cells)
        if region.code_cells:
            answer_cells[region.code_cells[0]] = region.label
        for index, numbers in region.markdown.items():
            drop_lines.setdefault(index, set()).update(numbers)
        if not region.code_cells and region.markdown:
            index = min(region.markdown)
            placeholder_lines[(index, min(region.markdown[index]))] = ANSWER_MD
    cells = []
    for index, cell in enumerate(out["cells"]):
        stub_before = bool(cells) and cells[-1]["cell_type"] == "code" and "NotImplementedError" in S.source(cells[-1])
        if index in answer_cells and not stub_before:
            cells.append({"cell_type": "code", "execution_count": None, "id": f"answer-{index}",
                          "metadata": {}, "outputs": [],
                          "source": [f"# Your code for exercise {answer_cells[index]}\n"]})
            continue
        if index in drop_cells or S.SOLUTION_TAG in S.tags(cell):
            continue
        if cell["cell_type"] == "markdown":
            lines = S.source(cell).splitlines()
            kept = [placeholder_lines.get((index, i), line) for i, line in enumerate(lines)
                    if i not in drop_lines.get(index, set()) or (index, i) in placeholder_lines]
            text = _tidy(_convert_quizzes("\n".join(kept), reveal=False))
            if not text.strip():
                continue
            S.set_source(cell, text)
        else:
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
    out["cells"] = _with_note(cells, STUDENT_NOTE, "student-version-note")
    out.setdefault("metadata", {})["madlib_teaching"] = {"build": "student", "chapter": chapter}
    return out


def instructor_notebook(nb: dict, chapter: str | None = None) -> dict:
    """A copy of ``nb`` with every solution and the quizzes' answers shown as plain Markdown."""
    out = copy.deepcopy(nb)
    for cell in out["cells"]:
        if cell["cell_type"] == "markdown":
            text = S.source(cell)
            converted = _convert_quizzes(text, reveal=True)
            if converted != text:
                S.set_source(cell, converted)
        else:
            cell["outputs"], cell["execution_count"] = [], None
    out["cells"] = _with_note(out["cells"], INSTRUCTOR_NOTE, "instructor-version-note")
    out.setdefault("metadata", {})["madlib_teaching"] = {"build": "instructor", "chapter": chapter}
    return out


def _with_note(cells: list[dict], note: str, cell_id: str) -> list[dict]:
    """The note goes right after the chapter's title cell (the first Markdown cell)."""
    first_md = next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown"), 0)
    return cells[:first_md + 1] + [_note_cell(note, cell_id)] + cells[first_md + 1:]


def answer_key(nb: dict, title: str) -> str:
    """Every exercise of a chapter with its solution, as one Markdown page for the instructor."""
    lines = [f"# Answer key: {title}", "",
             "Generated by `make instructor-notebooks` from the chapter's notebook; instructors only.", ""]
    solutions = {}
    for region in S.solution_regions(nb):
        parts = []
        for index in sorted(set(region.markdown) | set(region.code_cells)):
            if index in region.code_cells:
                parts.append("```python\n" + S.source(nb["cells"][index]).strip() + "\n```")
                continue
            text_lines = S.source(nb["cells"][index]).splitlines()
            markup = set()  # the solution directives' own fence and option lines
            for d in S.scan(text_lines):
                if d.name in ("solution", "solution-start", "solution-end"):
                    markup |= {d.start, d.end} | set(range(d.start + 1, d.start + 1 + len(d.options)))
            kept = [text_lines[i] for i in region.markdown[index] if i not in markup]
            if "\n".join(kept).strip():
                parts.append("\n".join(kept).strip())
        solutions[region.label] = "\n\n".join(parts)
    for _, d in S.exercises(nb):
        title_line = d.arg or d.label or "Exercise"
        lines += [f"## {title_line}", ""]
        if d.classes:
            lines += [f"*Kind: {', '.join(d.classes)}; label `{d.label}`*", ""]
        lines += ["\n".join(d.body).strip(), "", "**Solution.**", "", solutions.get(d.label or "", "(none given)"), ""]
    return _tidy("\n".join(lines)) + "\n"


def build(kind: str, out: Path = DEFAULT_OUT, chapters: list[Path] | None = None) -> list[Path]:
    """Write the ``kind`` ("student" or "instructor") set; returns the files written."""
    if kind not in ("student", "instructor"):
        raise ValueError(f"kind must be 'student' or 'instructor', got {kind!r}")
    target = Path(out) / kind
    written = []
    for path in chapters or S.chapter_notebooks():
        nb = S.load(path)
        made = (student_notebook if kind == "student" else instructor_notebook)(nb, path.stem)
        S.write_atomic(target / path.name, S.dumps(made))
        written.append(target / path.name)
        if kind == "instructor" and S.exercises(nb):
            title = next((line[2:] for _, t in S.iter_markdown(nb) for line in t.splitlines()
                          if line.startswith("# ")), path.stem)
            key = target / f"{path.stem}-answers.md"
            S.write_atomic(key, answer_key(nb, title))
            written.append(key)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.teach.notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=("student", "instructor"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the <kind>/ set")
    args = parser.parse_args(argv)
    files = build(args.kind, args.out)
    print(f"{len(files)} files written to {args.out / args.kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
