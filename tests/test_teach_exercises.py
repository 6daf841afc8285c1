"""Every chapter has its teaching material (issue 30's done-when, counted by tools/teach/audit.py), and the
material waiting in teaching/exercises/ asks the library only for experiments and parameters it has."""
from __future__ import annotations

import ast
import re

import pytest

from madlib.experiments import get_experiment, resolve_config
from tools.teach import audit, nbsource as S

ROWS = audit.audit()
WAITING = sorted(audit.EXERCISES.glob("[0-9][0-9]_*.md"))


@pytest.mark.parametrize("row", ROWS, ids=[r.doc for r in ROWS])
def test_every_chapter_has_tasks_break_its_an_analysis_a_project_and_an_exam(row):
    assert row.missing == [], f"{row.doc} still needs: {row.missing}"
    assert 30 <= row.core <= 50


def test_chapters_1_and_2_carry_their_material_and_quizzes_in_the_notebook():
    for row in ROWS[:2]:
        assert row.waiting == 0 and row.quizzes >= 2 and row.graded >= 3, row


def test_labels_are_unique_across_the_notebooks_and_the_waiting_files():
    labels = [d.label for p in S.chapter_notebooks() for _, d in S.exercises(S.load(p))]
    labels += [d.label for p in WAITING for d in audit.exercise_directives(p.read_text())]
    assert len(labels) == len(set(labels)), sorted({x for x in labels if labels.count(x) > 1})


def _calls(text: str):
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "run_experiment":
                yield node


@pytest.mark.parametrize("path", WAITING, ids=[p.stem for p in WAITING])
def test_every_run_the_waiting_exercises_ask_for_exists(path):
    text = path.read_text()
    S.scan(text)  # fences balance
    calls = list(_calls(text))
    assert calls, f"{path.name} runs nothing"
    for call in calls:
        name = ast.literal_eval(call.args[0])
        known = get_experiment(name).defaults
        kwargs = {k.arg: k.value for k in call.keywords}
        preset_node = kwargs.pop("preset", None)
        try:
            preset = ast.literal_eval(preset_node) if preset_node is not None else None
        except ValueError:  # preset=<a loop variable>: every string of the block that names a preset must exist
            named = set(re.findall(r'"([\w-]+)"', text)) & set(get_experiment(name).presets)
            assert named, f"{path.name}: {name} is run with a preset the file never names"
            preset = sorted(named)[0]
        unknown = set(kwargs) - set(known)
        assert not unknown, f"{path.name}: {name} has no parameter {sorted(unknown)}"
        literal = {}
        for key, value in kwargs.items():
            try:
                literal[key] = ast.literal_eval(value)
            except ValueError:
                pass  # a loop variable: its name was checked above
        resolve_config(name, literal, scale="smoke", preset=preset)
