"""The ``{quiz}`` syntax, shared by the Sphinx directive (``_ext/quiz.py``) and the notebook builds.

A self-check question: the argument (and any lines before the list) is the question, the first
bullet list holds the choices, ``[x]`` marks the correct ones, and what follows the list is the
explanation, which the site shows only after the reader has chosen::

    :::{quiz} After 1,000 generations with $n = 1000$, the fitted $\\sigma$ is about
    :label: quiz-gauss-sigma
    - 1: the fit is nearly unbiased
    - [x] 0.5
    - 0.05

    The median falls like $e^{-T/n}$ ...
    :::
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_ITEM_RE = re.compile(r"^[-*+]\s+(?P<mark>\[[xX ]\]\s+)?(?P<text>.*)$")


@dataclass
class Quiz:
    question: str
    choices: list[tuple[str, bool]]
    explanation: str
    label: str | None = None

    @property
    def correct(self) -> list[int]:
        return [i for i, (_, ok) in enumerate(self.choices) if ok]


class QuizError(ValueError):
    """A quiz without choices, or without a correct one."""


def parse_quiz(argument: str, body: list[str], label: str | None = None) -> Quiz:
    """Split a quiz's body (options removed) into question, choices and explanation."""
    question_lines, choices, explanation = [argument.strip()] if argument.strip() else [], [], []
    state = "question"
    for line in body:
        item = _ITEM_RE.match(line)
        if state in ("question", "list") and item:
            state = "list"
            choices.append([item.group("text").strip(), bool(item.group("mark") and "x" in item.group("mark").lower())])
        elif state == "list" and line.startswith(("  ", "\t")) and line.strip():
            choices[-1][0] += " " + line.strip()  # a choice continued on the next line
        elif state == "list" and not line.strip():
            state = "after"
        elif state == "question":
            question_lines.append(line)
        else:
            state = "after"
            explanation.append(line)
    if len(choices) < 2:
        raise QuizError(f"quiz {label or argument!r}: give at least two choices as a bullet list")
    if not any(ok for _, ok in choices):
        raise QuizError(f"quiz {label or argument!r}: mark the correct choice(s) with [x]")
    return Quiz("\n".join(question_lines).strip(), [(t, ok) for t, ok in choices],
                "\n".join(explanation).strip(), label)


def to_markdown(quiz: Quiz, reveal: bool) -> str:
    """Plain Markdown for Jupyter: the student version hides the answer, the instructor's shows it."""
    lines = [f"**Self-check.** {quiz.question}", ""]
    for i, (text, ok) in enumerate(quiz.choices):
        mark = " ✔ *(answer)*" if reveal and ok else ""
        lines.append(f"{chr(ord('a') + i)}) {text}{mark}  ")
    if reveal and quiz.explanation:
        lines += [""] + [f"> {line}" if line else ">" for line in quiz.explanation.splitlines()]
    return "\n".join(lines).rstrip() + "\n"
