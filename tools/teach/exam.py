"""The exam bank (instructor only): ``teaching/exam/NN_key.yml``, checked, exported to QTI and to an answer key.

``python -m tools.teach.exam [--out DIR]`` writes, per chapter, ``NN_key.txt`` (text2qti's plain-text quiz
format), ``NN_key-qti.zip`` (QTI 1.2 as text2qti writes it for Canvas, which imports it directly; other LMSs
through their own QTI import, where they have one) and ``NN_key-answers.md`` (every question with its answer, explanation and the section
it tests). Default ``_build/teaching/exam``. The bank lives outside the book (``_config.yml`` excludes
``teaching/``, ``tests/test_teach_exam.py`` checks that no question reaches the built site).

A question (YAML)::

    - id: gauss-num-mean          # unique in the bank
      type: numeric               # mc | numeric | derivation
      section: sec-gauss-law      # a section label, or a heading's text without its number
      points: 1
      question: With n = 1000 ... what is E[sigma_T] after 1,000 fits?
      answer: 0.472               # mc: the index of the right choice; derivation: a model answer
      tolerance: 0.002            # numeric: what the LMS accepts either side
      check: gaussian.expected_std(1000, 999)   # numeric: the library recomputes it (tested)
      choices: [...]              # mc only
      explanation: ...

A ``check`` is a Python expression over ``np``, ``math``, ``torch``, ``brentq``, ``truncnorm``, the
``madlib.theory`` modules (``gaussian``, ``wright_fisher``, ``mad``, ``regression``) and ``madlib`` itself;
the test evaluates it and requires ``|answer - check| <= tolerance`` with a tolerance of at most 2 % of the
value (so a check cannot pass vacuously). LaTeX math (``$...$``) in a question becomes an image of Canvas's
own equation service in the QTI file (text2qti's default, a path on the LMS's host, never an outside URL).
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import nbsource as S
from . import paths as lecture_paths

BANK = S.REPO / "teaching" / "exam"
DEFAULT_OUT = S.REPO / "_build" / "teaching" / "exam"
TYPES = ("mc", "numeric", "derivation")
MIN_PER_CHAPTER = 10


@dataclass
class Question:
    id: str
    type: str
    section: str
    question: str
    answer: Any
    points: float = 1
    choices: list[str] = field(default_factory=list)
    tolerance: float | None = None
    check: str | None = None
    explanation: str = ""


@dataclass
class Bank:
    path: Path
    chapter: str  # the chapter's doc, e.g. chapters/01_gaussian
    title: str
    questions: list[Question]
    planned: bool = False  # a slot for a chapter that does not exist yet


class BankError(ValueError):
    """A question that is not well formed: it names the file, the question and what is wrong."""


def load_bank(path: Path) -> Bank:
    data = yaml.safe_load(Path(path).read_text())
    questions = []
    for raw in data.get("questions") or []:
        unknown = set(raw) - set(Question.__dataclass_fields__)
        if unknown:
            raise BankError(f"{path.name}: question {raw.get('id')!r} has unknown keys {sorted(unknown)}")
        try:
            questions.append(Question(**raw))
        except TypeError as error:
            raise BankError(f"{path.name}: question {raw.get('id')!r}: {error}") from error
    return Bank(Path(path), data["chapter"], data["title"], questions, bool(data.get("planned", False)))


def load_all(folder: Path = BANK) -> list[Bank]:
    return [load_bank(p) for p in sorted(Path(folder).glob("*.yml"))]


def check_namespace() -> dict[str, Any]:
    """What a ``check`` expression may use."""
    import numpy as np
    import torch
    from scipy.optimize import brentq
    from scipy.stats import norm, truncnorm

    import madlib
    import madlib.exercises.lm
    import madlib.metrics.images
    import madlib.models.vae
    from madlib.theory import curation, gaussian, mad, recursion, regression, synthetic_mix, wright_fisher

    return {"np": np, "math": math, "torch": torch, "brentq": brentq, "truncnorm": truncnorm, "norm": norm,
            "madlib": madlib, "gaussian": gaussian, "mad": mad, "regression": regression,
            "wright_fisher": wright_fisher, "recursion": recursion, "curation": curation,
            "synthetic_mix": synthetic_mix}


def evaluate_check(question: Question, namespace: dict[str, Any] | None = None) -> float:
    return float(eval(question.check, namespace or check_namespace()))  # noqa: S307 - the bank's own expressions


def validate(bank: Bank) -> list[str]:
    """Every problem of a bank's questions, as sentences (an empty list when it is well formed).
    The sections are resolved against the chapter's headings, as the lecture paths are."""
    problems = []
    if bank.planned:
        return problems
    heads = lecture_paths.headings(bank.chapter)
    labels = {h.label for h in heads if h.label}
    titles = {lecture_paths.normalise(h.text) for h in heads}
    for q in bank.questions:
        where = f"{bank.path.name}: {q.id}"
        if q.type not in TYPES:
            problems.append(f"{where}: type must be one of {TYPES}, got {q.type!r}")
        if q.section not in labels and lecture_paths.normalise(q.section) not in titles:
            problems.append(f"{where}: section {q.section!r} is not a label or heading of {bank.chapter}")
        if not str(q.question).strip() or q.answer is None or (isinstance(q.answer, str) and not q.answer.strip()):
            problems.append(f"{where}: needs a question and an answer")
        if q.type == "mc" and not (isinstance(q.answer, int) and len(q.choices) >= 3 and 0 <= q.answer < len(q.choices)):
            problems.append(f"{where}: a multiple-choice question needs at least 3 choices and the 0-based index "
                            "of the right one as its answer")
        if q.type == "numeric":
            if not isinstance(q.answer, (int, float)) or not isinstance(q.tolerance, (int, float)) or q.tolerance <= 0:
                problems.append(f"{where}: a numeric question needs a number as answer and a tolerance > 0")
            if not q.check:
                problems.append(f"{where}: a numeric question needs a `check` that recomputes its answer")
        if not all(isinstance(c, str) for c in q.choices) or not isinstance(q.question, str):
            problems.append(f"{where}: the question and every choice must be text (quote a choice that holds ': ')")
        if q.type != "mc" and q.choices:
            problems.append(f"{where}: only multiple-choice questions have choices")
    ids = [q.id for q in bank.questions]
    if len(ids) != len(set(ids)):
        problems.append(f"{bank.path.name}: question ids repeat")
    return problems


# -- exports -----------------------------------------------------------------------------------------

def _escape(text: str) -> str:
    """The bank is plain text with Unicode maths: keep text2qti's Markdown from reading ``*`` or ``_`` as
    emphasis and ``$`` as LaTeX."""
    return str(text).replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("$", "\\$")


def _indent(text: str, first: str, width: int = 4) -> list[str]:
    lines = _escape(str(text).strip()).splitlines() or [""]
    pad = " " * width
    return [f"{first:<{width}}{lines[0]}"] + [pad + line if line.strip() else "" for line in lines[1:]]


def _numeric_line(q: Question) -> str:
    return f"=   {q.answer:g} +- {q.tolerance:g}"


def to_text2qti(bank: Bank) -> str:
    """The bank in text2qti's plain-text format (one quiz per chapter)."""
    out = [f"Quiz title: {bank.title}: exam bank",
           "Quiz description: Questions on the chapter of *Model Collapse, Hands-On*; each tests one section "
           "(see the feedback). Generated from teaching/exam/ by tools/teach/exam.py.", ""]
    for number, q in enumerate(bank.questions, start=1):
        out.append(f"Title: {q.id}")
        out.append(f"Points: {q.points:g}")
        out += _indent(q.question, f"{number}.")
        feedback = f"Section: {q.section}. " + " ".join(str(q.explanation).split())
        if q.type == "derivation":
            feedback += " Model answer: " + " ".join(str(q.answer).split())
        out += _indent(feedback, "...")
        if q.type == "mc":
            for i, choice in enumerate(q.choices):
                mark = "*" if i == q.answer else ""
                out += _indent(choice, f"{mark}{chr(ord('a') + i)})")
        elif q.type == "numeric":
            out.append(_numeric_line(q))
        else:
            out.append("____")
        out.append("")
    return "\n".join(out)


def to_qti_zip(bank: Bank) -> bytes:
    """QTI 1.2 (a zip) through text2qti 0.8.0, with its defaults and without reading ~/.text2qti.bespon."""
    from text2qti.config import Config
    from text2qti.qti import QTI
    from text2qti.quiz import Quiz

    quiz = Quiz(to_text2qti(bank), config=Config(), source_name=bank.path.name)
    return QTI(quiz).zip_bytes()


def to_answer_key(bank: Bank) -> str:
    out = [f"# Exam bank: {bank.title}", "", "Instructors only: generated from `teaching/exam/` "
           "(`make exam`); never part of the public site.", ""]
    for q in bank.questions:
        out += [f"## {q.id} ({q.type}, {q.points:g} point{'s' if q.points != 1 else ''}; section `{q.section}`)", "",
                str(q.question).strip(), ""]
        if q.type == "mc":
            out += [f"{chr(ord('a') + i)}) {c}" + ("  **(answer)**" if i == q.answer else "") for i, c in enumerate(q.choices)]
            out.append("")
        elif q.type == "numeric":
            out += [f"**Answer:** {q.answer:g} ± {q.tolerance:g} (recomputed by `{q.check}`)", ""]
        else:
            out += ["**Model answer.** " + str(q.answer).strip(), ""]
        if q.explanation:
            out += ["*Why:* " + " ".join(str(q.explanation).split()), ""]
    return "\n".join(out)


def build(out: Path = DEFAULT_OUT) -> list[Path]:
    written = []
    for bank in load_all():
        if bank.planned or not bank.questions:
            continue
        problems = validate(bank)
        if problems:
            raise BankError("\n".join(problems))
        stem = bank.path.stem
        for name, content in ((f"{stem}.txt", to_text2qti(bank)), (f"{stem}-qti.zip", to_qti_zip(bank)),
                              (f"{stem}-answers.md", to_answer_key(bank))):
            S.write_atomic(Path(out) / name, content)
            written.append(Path(out) / name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.teach.exam", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    files = build(args.out)
    banks = [b for b in load_all() if not b.planned]
    print(f"{sum(len(b.questions) for b in banks)} questions in {len(banks)} chapters; "
          f"{len(files)} files written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
