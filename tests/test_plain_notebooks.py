"""The reader's notebooks (notebooks/, made by ``make notebooks``): current, plain, resolvable, runnable.

* Every chapter has one, made from the chapter as it is now (its source hash), naming this release.
* No MyST syntax is left in any Markdown cell and every image resolves (an attachment or a URL).
* Their code needs only what the install cell installs (the library's runtime dependencies).
* Chapter 1's notebook runs top to bottom at smoke scale in a fresh virtual environment holding
  only what the install cell installs (the library from this checkout instead of the release
  tag's URL, and a kernel to run it): no myst-nb, no book tooling.
The conversion itself (sphinx-tojupyter on a real build) is tested in tests/test_book_site.py.
"""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tools import plain_notebooks as pn

REPO = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((REPO / "chapters").glob("[0-9][0-9]_*.ipynb"))


def test_every_chapter_has_a_current_clean_plain_notebook() -> None:
    problems = pn.check()
    assert not problems, "\n".join(problems) + "\n(make book, then make notebooks)"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_plain_notebook_shows_the_build_s_figures_and_keeps_solutions_at_the_end(path: Path) -> None:
    notebook = json.loads((REPO / "notebooks" / path.name).read_text())
    cells = notebook["cells"]
    text = ["".join(c["source"]) for c in cells]
    images = sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))
    assert images >= 3, "the reader sees the figures before running anything"
    captions = [t for t in text if re.match(r"\*\*Figure \d+\.\d+\.\*\* ", t)]
    assert len(captions) == images - sum(1 for c in cells for o in c.get("outputs", [])
                                         if "image/png" in o.get("data", {}) and "text/html" in o.get("data", {}))
    assert "{glue" not in "".join(text) and not re.search(r"(?m)^\s*:::", "".join(text))
    solutions = [i for i, t in enumerate(text) if t.startswith("### Solution to exercise")]
    exercises = [i for i, t in enumerate(text) if t.startswith("### Exercise ")]
    if path.stem != "09_questions":
        assert exercises and solutions and min(solutions) > max(exercises)
    assert cells[1]["id"] == "install-madlib"


def _runtime_modules() -> set[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.match(r"[A-Za-z0-9_.-]+", d).group().lower().replace("-", "_") for d in deps}
    return names | {"madlib", "sklearn", "IPython", "mpl_toolkits"} | set(sys.stdlib_module_names)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_plain_notebook_imports_only_what_the_install_cell_installs(path: Path) -> None:
    allowed = {m.lower() for m in _runtime_modules()}
    notebook = json.loads((REPO / "notebooks" / path.name).read_text())
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        code = "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("%", "!"))
                         else line for line in "".join(cell["source"]).splitlines())
        for node in ast.walk(ast.parse(code)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                assert name.split(".")[0].lower() in allowed, f"{path.name}: imports {name}, which the install cell lacks"


def test_the_checks_find_myst_left_overs_and_broken_images() -> None:
    cell = lambda text, **kw: {"cell_type": "markdown", "metadata": {}, "source": [text], **kw}  # noqa: E731
    good = {"cells": [cell("note"), {"cell_type": "code", "id": "install-madlib", "source": [], "metadata": {},
                                     "outputs": [], "execution_count": None},
                      cell("![loop](attachment:loop.png)", attachments={"loop.png": {"image/png": "AA=="}})]}
    assert pn.problems(good, "nb") == []
    for bad in ("Our {glue:text}`runs:.0f` runs", ":::{note}\nx\n:::", "see {ref}`sec-x`", "(sec-x)=\n## A",
                "![x](../_static/figures/loop.png)", "```{bibliography}\n```"):
        assert pn.problems({"cells": good["cells"][:2] + [cell(bad)]}, "nb"), bad


def test_solutions_move_to_the_end_and_headings_are_numbered() -> None:
    md = lambda t: {"cell_type": "markdown", "metadata": {}, "source": [t]}  # noqa: E731
    code = lambda t: {"cell_type": "code", "metadata": {}, "source": [t], "outputs": [], "execution_count": None}  # noqa: E731
    cells = [md("# Title"), md("## Part"), md("## Exercises"), md("##  (Derive it (★★☆))Exercise 1.1\n\nShow it."),
             md("## Solution to[ Exercise 1.1 (Derive it (★★☆))](#ex-x)\n\nBecause.\n\n## Summary\n\nDone."),
             md("##  (Code it (★☆☆))Exercise 1.2"), md("## Solution to[ Exercise 1.2 (Code it (★☆☆))](#ex-y)"),
             code("answer = 42"), md("## References\n\n[1] A paper.")]
    pn.fix_exercises_and_admonitions(cells, {"title", "part", "exercises", "summary", "references"})
    cells = pn.move_solutions_to_the_end(pn.split_at_headings(cells))
    pn.number_headings(cells, 3)
    text = ["".join(c["source"]).strip() for c in cells]
    assert text[:3] == ["# 3. Title", "## 3.1 Part", "## 3.2 Exercises"]
    assert text[3].startswith("### Exercise 1.1: Derive it (★★☆)") and text[4].startswith("## 3.3 Summary")
    assert text[5] == "### Exercise 1.2: Code it (★☆☆)"
    assert text[6].startswith("## 3.4 Solutions") and text[7].startswith("### Solution to exercise 1.1: Derive it")
    assert "Because." in text[7] and text[9] == "answer = 42" and text[10].startswith("## 3.5 References")


def test_links_to_other_pages_go_to_the_site_and_sibling_chapters_stay_relative() -> None:
    cells = [{"cell_type": "markdown", "metadata": {},
              "source": ["[a](../glossary.ipynb#term-MAD) [b](02_cats.ipynb#sec-x) [c](#local) [d](https://x.org)"]}]
    pn.fix_links(cells, {"02_cats"}, "https://site/")
    assert "".join(cells[0]["source"]) == ("[a](https://site/glossary.html#term-MAD) [b](02_cats.ipynb#sec-x) "
                                           "[c](#local) [d](https://x.org)")


@pytest.mark.skipif(os.environ.get("MADLIB_SKIP_CLEAN_VENV") == "1", reason="MADLIB_SKIP_CLEAN_VENV=1")
def test_chapter_1_runs_in_a_clean_venv_with_only_the_install_cell_s_packages(tmp_path: Path) -> None:
    """A reader's first cell installs the library (and so its runtime dependencies) and nothing else."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # The install cell's requirement, with this checkout for the release tag's URL (no network to GitHub);
    # requirements.txt only pins the versions, so pip takes them from its cache. ipykernel and nbclient run it.
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "-c", str(REPO / "requirements.txt"), str(REPO), "ipykernel", "nbclient"],
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    missing = subprocess.run([str(python), "-c", "import myst_nb"], capture_output=True)
    assert missing.returncode != 0, "the clean venv must not have the book's tooling"
    # The executor (not the kernel) gets the fix for nbclient's lost wake-up, as nbmake and the book's build do
    # (tools/kernel_wakeup.py): without it, chapter 1's first interact can stall the whole cell timeout.
    script = (
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "from tools import kernel_wakeup; kernel_wakeup.install(); sys.path.pop(0)\n"
        "import json, nbformat, nbclient\n"
        f"nb = nbformat.read({str(REPO / 'notebooks' / '01_gaussian.ipynb')!r}, as_version=4)\n"
        "client = nbclient.NotebookClient(nb, timeout=600, kernel_name='python3', allow_errors=False)\n"
        "client.execute()\n"
        "errors = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs if o.output_type == 'error']\n"
        "print(json.dumps({'cells': len(nb.cells), 'errors': len(errors)}))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(MADLIB_SCALE="smoke", MADLIB_CACHE=str(tmp_path / "cache"), PATH=f"{venv / 'bin'}:{env['PATH']}")
    done = subprocess.run([str(python), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["errors"] == 0
