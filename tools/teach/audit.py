"""What each chapter has of the instructor kit, and what the per-chapter passes still owe (issue 30).

``python -m tools.teach.audit`` prints one row per chapter: the 50-minute path (core minutes), the sections
marked, the self-check quizzes, the guided explorer tasks, the break-it, analysis and project exercises
(counted in the notebook and in ``teaching/exercises/NN_key.md``, and where they are), the autograded
answers, the exam questions and the slide deck; then, per chapter, what is still missing or still waiting
in ``teaching/exercises/`` to be inserted.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import autograde, exam, nbsource as S, paths, slides

KINDS = ("explore", "break-it", "analysis", "project")
REQUIRED = {"explore": 1, "break-it": 2, "analysis": 1, "project": 1}
EXERCISES = S.REPO / "teaching" / "exercises"


@dataclass
class Row:
    doc: str
    core: int
    sections: int
    quizzes: int
    found: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> {"notebook": n, "waiting": n}
    rubrics: int = 0
    graded: int = 0
    questions: int = 0
    deck: bool = False

    def count(self, kind: str) -> int:
        return sum(self.found.get(kind, {}).values())

    @property
    def missing(self) -> list[str]:
        if self.doc.endswith("questions"):  # a discussion page: quizzes and exam questions only
            return [] if self.questions >= exam.MIN_PER_CHAPTER else ["exam questions"]
        out = [f"{REQUIRED[k] - self.count(k)} {k}" for k in KINDS if self.count(k) < REQUIRED[k]]
        if self.rubrics < 1:
            out.append("a project rubric")
        if self.questions < exam.MIN_PER_CHAPTER:
            out.append("exam questions")
        if not self.deck:
            out.append("a slide deck")
        return out

    @property
    def waiting(self) -> int:
        return sum(v.get("waiting", 0) for v in self.found.values())


def exercise_directives(text: str) -> list[S.Directive]:
    return [d for d in S.scan(text) if d.name == "exercise"]


def audit() -> list[Row]:
    table = paths.load()
    banks = {b.chapter: b for b in exam.load_all()}
    decks = {d.chapter for d in slides.load_decks()}
    graded = autograde.load_spec()
    rows = []
    for entry in table["chapters"]:
        doc = entry["doc"]
        sections = paths.chapter_sections(entry, resolve=False)
        nb = S.load(S.REPO / f"{doc}.ipynb")
        row = Row(doc, paths.core_minutes(sections), len(sections), len(S.directives(nb, "quiz")))
        sources = {"notebook": [d for _, d in S.exercises(nb)]}
        waiting = EXERCISES / f"{Path(doc).name}.md"
        if waiting.exists():
            sources["waiting"] = exercise_directives(waiting.read_text())
        for where, found in sources.items():
            for d in found:
                for kind in KINDS:
                    if kind in d.classes:
                        row.found.setdefault(kind, {}).setdefault(where, 0)
                        row.found[kind][where] += 1
                body = "\n".join(d.body)
                if "project" in d.classes and all(w in body for w in ("Rubric", "Good", "Adequate", "Weak")):
                    row.rubrics += 1
        row.graded = sum(1 for item in graded if item.notebook == Path(doc).name)
        bank = banks.get(doc)
        row.questions = len(bank.questions) if bank else 0
        row.deck = doc in decks
        rows.append(row)
    return rows


def report(rows: list[Row]) -> str:
    head = (f"{'chapter':24} {'core':>4} {'secs':>4} {'quiz':>4} " + " ".join(f"{k:>9}" for k in KINDS)
            + f" {'rubric':>6} {'graded':>6} {'exam':>4} {'deck':>4}")
    lines = [head]
    for r in rows:
        cells = []
        for kind in KINDS:
            nb, wait = r.found.get(kind, {}).get("notebook", 0), r.found.get(kind, {}).get("waiting", 0)
            cells.append(f"{nb}+{wait}w" if wait else f"{nb}")
        lines.append(f"{Path(r.doc).name:24} {r.core:>4} {r.sections:>4} {r.quizzes:>4} "
                     + " ".join(f"{c:>9}" for c in cells)
                     + f" {r.rubrics:>6} {r.graded:>6} {r.questions:>4} {'yes' if r.deck else 'no':>4}")
    lines += ["", "n+mw: n in the notebook, m waiting in teaching/exercises/ to be inserted.", ""]
    for r in rows:
        todo = []
        if r.waiting:
            todo.append(f"insert {r.waiting} exercise(s) from teaching/exercises/{Path(r.doc).name}.md "
                        "(solutions as cells tagged `solution`, numbers glued)")
        if r.quizzes == 0 and not r.doc.endswith("questions"):
            todo.append("turn its 'Predict, then run' prompts into {quiz} blocks with a prediction cell")
        if r.missing:
            todo.append("missing: " + ", ".join(r.missing))
        if todo:
            lines.append(f"{Path(r.doc).name}: " + "; ".join(todo))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    print(report(audit()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
