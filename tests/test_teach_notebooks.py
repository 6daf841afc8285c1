"""Student and instructor notebooks from one source, and the autograder (issue 30).

The student build must hold no solution (no tagged cell, no solution block, no line of solution code,
no quiz answer) and still run; the reference solutions must pass the autograder and the untouched stubs
must not.
"""
from __future__ import annotations

import ast
import json
import os
import re

import pytest

from tools.teach import autograde, nbsource as S, notebooks
from tools.teach.quizsyntax import QuizError, parse_quiz, to_markdown

CHAPTERS = S.chapter_notebooks()
IDS = [p.stem for p in CHAPTERS]


def _code_lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) > 12 and not line.strip().startswith("#")}


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_every_solution_code_cell_is_tagged_and_every_tagged_cell_is_a_solution(path):
    nb = S.load(path)
    in_regions = {i for r in S.solution_regions(nb) for i in r.code_cells}
    tagged = {i for i, c in enumerate(nb["cells"]) if S.SOLUTION_TAG in S.tags(c)}
    assert in_regions == tagged, (f"{path.name}: tag the code cells inside a solution-start/end region "
                                  f"`solution` (metadata.tags), and only those: untagged {sorted(in_regions - tagged)}, "
                                  f"tagged outside {sorted(tagged - in_regions)}")
    labels = {d.label for _, d in S.exercises(nb)}
    assert {r.label for r in S.solution_regions(nb)} <= labels, "a solution without its exercise"


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_a_student_notebook_holds_no_solution(path):
    source = S.load(path)
    student = notebooks.student_notebook(source, path.stem)
    text = "\n".join(S.source(c) for c in student["cells"])
    assert not any(S.SOLUTION_TAG in S.tags(c) for c in student["cells"])
    assert not re.search(r"\{solution(-start|-end)?\}", text), "a solution directive survived"
    # every line of solution code that appears nowhere else in the chapter must be gone
    solution_text = "\n".join(S.solution_code(source, r.label) for r in S.solution_regions(source))
    regions = S.solution_regions(source)
    dropped_cells = {i for r in regions for i in r.code_cells}
    dropped_lines = {(i, n) for r in regions for i, ns in r.markdown.items() for n in ns}
    kept_text = "\n".join(
        "\n".join(line for n, line in enumerate(S.source(c).splitlines()) if (i, n) not in dropped_lines)
        for i, c in enumerate(source["cells"]) if i not in dropped_cells)
    secret = _code_lines(solution_text) - _code_lines(kept_text)
    leaked = sorted(secret & _code_lines(text))
    assert not leaked, f"solution code in the student notebook: {leaked[:3]}"
    # quizzes lose their answers and explanations
    assert "[x]" not in text and "✔" not in text
    for _, d in S.directives(source, "quiz"):
        quiz = parse_quiz(d.arg, d.body, d.label)
        if quiz.explanation:
            assert quiz.explanation.splitlines()[0] not in text
    # what the student must answer is still there
    assert {d.label for _, d in S.exercises(source)} == {d.label for _, d in S.exercises(student)}
    assert student["metadata"]["madlib_teaching"] == {"build": "student", "chapter": path.stem}
    assert all(c.get("outputs", []) == [] for c in student["cells"] if c["cell_type"] == "code")


def _assigned(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _loaded(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_no_cell_of_a_student_notebook_needs_a_name_only_a_solution_defined(path):
    source = S.load(path)
    solution_names: set[str] = set()
    for cell in source["cells"]:
        if cell["cell_type"] == "code" and S.SOLUTION_TAG in S.tags(cell):
            solution_names |= _assigned(S.source(cell))
    student = notebooks.student_notebook(source, path.stem)
    defined: set[str] = set()
    for cell in student["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = S.source(cell)
        missing = (_loaded(code) & solution_names) - defined - _assigned(code)
        assert not missing, f"{path.name}: a student cell uses {sorted(missing)}, which only a solution defines"
        defined |= _assigned(code)


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_the_instructor_notebook_keeps_every_solution_and_the_answer_key_lists_them(path):
    source = S.load(path)
    instructor = notebooks.instructor_notebook(source, path.stem)
    text = "\n".join(S.source(c) for c in instructor["cells"])
    for region in S.solution_regions(source):
        for index in region.code_cells:
            assert S.source(source["cells"][index]) in text
    key = notebooks.answer_key(source, path.stem)
    for _, d in S.exercises(source):
        assert d.arg in key
    assert "[x]" not in text  # quizzes become plain Markdown with the answer marked in words


def test_the_builds_write_every_chapter(tmp_path):
    student = notebooks.build("student", tmp_path)
    instructor = notebooks.build("instructor", tmp_path)
    assert {p.name for p in student} == {p.name for p in CHAPTERS}
    assert {p.name for p in CHAPTERS} <= {p.name for p in instructor}
    assert any(p.name.endswith("-answers.md") for p in instructor)
    for path in student:
        json.loads(path.read_text())  # valid JSON, as Jupyter needs
    with pytest.raises(ValueError, match="kind"):
        notebooks.build("teacher", tmp_path)


def test_quiz_syntax_parses_choices_answers_and_explanation():
    quiz = parse_quiz("Which?", ["- one", "- [x] two", "  continued", "- three", "", "Because."], "q")
    assert quiz.choices == [("one", False), ("two continued", True), ("three", False)]
    assert quiz.correct == [1] and quiz.explanation == "Because."
    assert "✔" not in to_markdown(quiz, reveal=False) and "Because" not in to_markdown(quiz, reveal=False)
    assert "✔" in to_markdown(quiz, reveal=True) and "Because" in to_markdown(quiz, reveal=True)
    with pytest.raises(QuizError, match=r"\[x\]"):
        parse_quiz("Which?", ["- one", "- two"])
    with pytest.raises(QuizError, match="two choices"):
        parse_quiz("Which?", ["- [x] one"])


def test_the_fence_scanner_nests_and_refuses_an_unclosed_fence():
    found = S.scan(["````{solution} ex", ":class: dropdown", "```python", "x = 1", "```", "````"])
    assert [(d.name, d.label, d.start, d.end) for d in found] == [("solution", "ex", 0, 5)]
    with pytest.raises(S.FenceError):
        S.scan([":::{exercise} open", "text"])


# -- the autograder ---------------------------------------------------------------------------------

GRADED = sorted({item.notebook for item in autograde.load_spec()})


def test_every_graded_exercise_exists_with_a_solution():
    for item in autograde.load_spec():
        nb = S.load(S.CHAPTERS / f"{item.notebook}.ipynb")
        assert item.label in {d.label for _, d in S.exercises(nb)}, item
        assert S.solution_code(nb, item.label), f"{item.label} has no solution code to grade"


@pytest.mark.parametrize("chapter", GRADED)
def test_the_reference_solutions_pass_and_the_untouched_stubs_fail(chapter, tmp_path):
    path = S.CHAPTERS / f"{chapter}.ipynb"
    reference = tmp_path / f"{chapter}-reference.ipynb"
    S.write_atomic(reference, S.dumps(autograde.reference_submission(path)))
    verdicts = autograde.grade_notebook(reference)
    assert verdicts and all(v.passed for v in verdicts), [(v.label, v.messages) for v in verdicts]
    blank = tmp_path / f"{chapter}-blank.ipynb"
    S.write_atomic(blank, S.dumps(notebooks.student_notebook(S.load(path), chapter)))
    verdicts = autograde.grade_notebook(blank)
    assert verdicts and not any(v.passed for v in verdicts)
    assert sum(v.points for v in verdicts) == 0


def test_a_wrong_answer_fails_with_the_checkers_reason_and_a_crash_costs_only_its_notebook(tmp_path):
    chapter = S.CHAPTERS / "01_gaussian.ipynb"
    nb = notebooks.student_notebook(S.load(chapter), "01_gaussian")
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "wrong", "metadata": {}, "outputs": [],
                        "source": ["def one_generation(mu, sigma, n, rng):\n",
                                   "    x = rng.normal(mu[:, None], sigma[:, None], size=(len(mu), n))\n",
                                   "    return x.mean(axis=1), x.std(axis=1, ddof=1)\n"]})
    wrong = tmp_path / "student-a.ipynb"  # a renamed file: the chapter comes from the metadata
    S.write_atomic(wrong, S.dumps(nb))
    broken = tmp_path / "student-b.ipynb"
    broken.write_text("not a notebook")
    out = tmp_path / "grades.csv"
    assert autograde.main([str(wrong), str(broken), "--csv", str(out), "--json", str(tmp_path / "g.json")]) == 0
    rows = out.read_text().splitlines()
    assert any("ex-gauss-implement" in r and "False" in r and "ddof=1" in r for r in rows), rows
    assert any("student-b" in r and "grader failed" in r for r in rows), rows


def test_the_student_notebook_of_chapter_1_runs_top_to_bottom(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    nb = notebooks.student_notebook(S.load(S.CHAPTERS / "01_gaussian.ipynb"), "01_gaussian")
    nb["cells"] = [c for c in nb["cells"] if "remove-cell" not in S.tags(c) or c["cell_type"] != "code"]
    notebook = nbformat.reads(S.dumps(nb), as_version=4)
    os.environ.setdefault("MADLIB_SCALE", "smoke")
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    stub_outputs = [o for c in notebook.cells if c.cell_type == "code" and "NotImplementedError" in c.source
                    for o in c.outputs]
    assert any("Not yet" in json.dumps(o) for o in stub_outputs)
