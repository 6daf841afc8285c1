"""Grade student notebooks with the chapters' own checkers (``madlib.exercises``).

``python -m tools.teach.autograde SUBMISSION.ipynb ... [--csv grades.csv] [--json grades.json]``

``teaching/autograder.yml`` lists what is graded: per answer, the notebook, the exercise label, the names
the student's code must define and the checker (``module:function``) that judges them. For each
submission the grader

1. runs the chapter's setup cell (the first code cell not tagged ``remove-cell``: imports only, by the
   house convention of ARCHITECTURE.md),
2. runs every top-level ``import`` of the notebook's code cells (a stub imports ``torch`` in its own cell),
3. for each name, takes the *last* code cell that defines it at top level and runs only that cell's
   imports, definitions and assignments (not its calls, so a stray plot or a long run does not count),
4. calls the checker with those names; a passing :class:`~madlib.exercises.CheckResult` earns the points.

Each submission runs in its own Python process with a time limit (``--timeout``, default 300 s), so a
student's infinite loop or crash costs that notebook only. The chapter is read from the notebook's
metadata (``madlib_teaching.chapter``, set by the student build) or else from its file name.
"""
from __future__ import annotations

import argparse
import ast
import csv
import importlib
import io
import json
import os
import subprocess
import sys
import traceback
from contextlib import redirect_stdout
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import nbsource as S

SPEC = S.REPO / "teaching" / "autograder.yml"


@dataclass
class Item:
    notebook: str
    label: str
    names: list[str]
    checker: str
    points: float


@dataclass
class Verdict:
    label: str
    names: list[str]
    passed: bool
    points: float
    possible: float
    messages: list[str] = field(default_factory=list)


def load_spec(path: Path = SPEC) -> list[Item]:
    data = yaml.safe_load(Path(path).read_text())
    items = [Item(**entry) for entry in data["exercises"]]
    for item in items:
        if ":" not in item.checker or item.points <= 0 or not item.names:
            raise ValueError(f"{path}: entry {item.label!r} needs checker 'module:function', names and points > 0")
    return items


def chapter_of(nb: dict, path: Path) -> str:
    meta = nb.get("metadata", {}).get("madlib_teaching", {})
    if meta.get("chapter"):
        return meta["chapter"]
    stem = Path(path).stem
    return next((p.stem for p in S.chapter_notebooks() if stem.startswith(p.stem)), stem)


def _definitions(code: str) -> tuple[str | None, set[str]]:
    """The top-level imports, defs, classes and assignments of a cell (as source), and the names they bind.
    IPython magics (``%pip``) make a cell unparsable: such a cell defines nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None, set()
    keep, names = [], set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            keep.append(node)
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            keep.append(node)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    module = ast.Module(body=keep, type_ignores=[])
    return ast.unparse(module), names


def _imports(code: str) -> list[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]


def _setup_cell(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "remove-cell" not in S.tags(cell):
            return S.source(cell)
    return ""


def grade_notebook(path: Path, items: list[Item] | None = None) -> list[Verdict]:
    """Grade one notebook in this process (``grade`` runs it in a child process)."""
    nb = S.load(path)
    chapter = chapter_of(nb, path)
    mine = [i for i in (items if items is not None else load_spec()) if i.notebook == chapter]
    if not mine:
        return []
    namespace: dict[str, Any] = {"__name__": "__submission__", "display": lambda *a, **k: None}
    sink = io.StringIO()
    with redirect_stdout(sink):
        exec(compile(_setup_cell(nb), f"{path}:setup", "exec"), namespace)  # noqa: S102 - a notebook's own setup
    cells = [S.source(c) for c in nb["cells"] if c["cell_type"] == "code" and "remove-cell" not in S.tags(c)][1:]
    definitions = [_definitions(code) for code in cells]
    for code in cells:  # every cell's imports (a stub imports torch in its own cell), each on its own
        for line in _imports(code):
            try:
                exec(compile(line, f"{path}:imports", "exec"), namespace)  # noqa: S102 - import statements only
            except Exception:  # noqa: BLE001 - a missing optional module is the answer's problem, not ours
                pass
    verdicts = []
    for item in mine:
        possible = float(item.points)
        try:
            ns = dict(namespace)
            for name in item.names:
                where = [code for code, names in definitions if code is not None and name in names]
                if not where:
                    raise LookupError(f"no code cell defines `{name}`")
                with redirect_stdout(sink):
                    exec(compile(where[-1], f"{path}:{name}", "exec"), ns)  # noqa: S102 - the student's answer
            module, function = item.checker.split(":")
            checker = getattr(importlib.import_module(module), function)
            with redirect_stdout(sink):
                result = checker(*[ns[name] for name in item.names])
            passed = bool(result.passed)
            verdicts.append(Verdict(item.label, item.names, passed, possible if passed else 0.0, possible,
                                    list(result.messages)))
        except Exception as error:  # noqa: BLE001 - any failure of a submission is a verdict, not a crash
            verdicts.append(Verdict(item.label, item.names, False, 0.0, possible,
                                    [f"{type(error).__name__}: {error}"]))
    return verdicts


def grade(path: Path, timeout: float = 300.0) -> dict[str, Any]:
    """Grade one submission in a child process; a crash or a timeout scores 0 with the reason."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    try:
        done = subprocess.run([sys.executable, "-m", "tools.teach.autograde", "--one", str(path)],
                              cwd=S.REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"submission": str(path), "error": f"no verdict within {timeout:.0f} s", "verdicts": []}
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return {"submission": str(path), "error": "grader failed: " + " | ".join(tail), "verdicts": []}
    return json.loads(done.stdout.strip().splitlines()[-1])


def total(report: dict[str, Any]) -> tuple[float, float]:
    verdicts = report["verdicts"]
    return sum(v["points"] for v in verdicts), sum(v["possible"] for v in verdicts)


def reference_submission(chapter: Path) -> dict:
    """The student notebook of ``chapter`` answered with the chapter's own solutions (one code cell per
    graded exercise, appended): what a perfect student hands in. The tests grade it."""
    from .notebooks import student_notebook

    source = S.load(chapter)
    nb = student_notebook(source, Path(chapter).stem)
    for label in dict.fromkeys(i.label for i in load_spec() if i.notebook == Path(chapter).stem):
        code = S.solution_code(source, label)
        if not code:
            raise LookupError(f"{chapter}: exercise {label!r} has no solution code to grade")
        nb["cells"].append({"cell_type": "code", "execution_count": None, "id": f"reference-{label}",
                            "metadata": {}, "outputs": [], "source": code.splitlines(keepends=True)})
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.teach.autograde", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="*", type=Path)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # the child process's entry point
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per submission")
    parser.add_argument("--csv", type=Path, help="one row per submission and answer")
    parser.add_argument("--json", type=Path, help="every verdict with the checkers' messages")
    parser.add_argument("--reference", action="store_true",
                        help="grade the chapters' own solutions (written to _build/teaching/reference/): all must pass")
    args = parser.parse_args(argv)
    if args.reference:
        folder = S.REPO / "_build" / "teaching" / "reference"
        args.submissions = []
        for chapter in dict.fromkeys(item.notebook for item in load_spec()):
            path = folder / f"{chapter}.ipynb"
            S.write_atomic(path, S.dumps(reference_submission(S.CHAPTERS / f"{chapter}.ipynb")))
            args.submissions.append(path)
    if args.one:
        try:
            verdicts = [asdict(v) for v in grade_notebook(args.one)]
            print(json.dumps({"submission": str(args.one), "verdicts": verdicts}))
        except Exception:  # noqa: BLE001 - report, the parent scores it 0
            traceback.print_exc()
            return 1
        return 0
    if not args.submissions:
        parser.error("give one or more notebooks to grade")
    reports = [grade(path, args.timeout) for path in args.submissions]
    for report in reports:
        got, possible = total(report)
        print(f"{report['submission']}: {got:g} / {possible:g}" + (f"  ({report['error']})" if "error" in report else ""))
        for v in report["verdicts"]:
            print(f"  {'pass' if v['passed'] else 'FAIL'} {v['label']} ({', '.join(v['names'])}): "
                  f"{v['points']:g}/{v['possible']:g}" + ("" if v["passed"] else f"  {'; '.join(v['messages'])[:200]}"))
    if args.json:
        S.write_atomic(args.json, json.dumps(reports, indent=1))
    failed = args.reference and any(not v["passed"] for r in reports for v in r["verdicts"]) \
        or args.reference and any("error" in r for r in reports)
    if args.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["submission", "exercise", "names", "passed", "points", "possible", "messages"])
        for report in reports:
            for v in report["verdicts"]:
                writer.writerow([report["submission"], v["label"], " ".join(v["names"]), v["passed"], v["points"],
                                 v["possible"], " | ".join(v["messages"])])
            if "error" in report:
                writer.writerow([report["submission"], "", "", False, 0, "", report["error"]])
        S.write_atomic(args.csv, buffer.getvalue())
    if failed:
        print("a reference solution failed its checker: the chapter and its checker disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
