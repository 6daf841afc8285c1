"""tools/book_guard.py: the execution cache's context, and the checks of a built site (no builds here)."""
from __future__ import annotations

from pathlib import Path

import nbformat

from tools import book_guard

REPO = Path(__file__).resolve().parents[1]


def test_the_execution_cache_is_per_scale(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MADLIB_SCALE", "smoke")
    smoke = book_guard.context_key(REPO)
    monkeypatch.setenv("MADLIB_SCALE", "default")
    default = book_guard.context_key(REPO)
    assert smoke != default and default == book_guard.context_key(REPO)
    assert book_guard.cache_path(tmp_path, REPO) == tmp_path / ".jupyter_cache" / default
    # the package's files are part of it: the shipped base and the corpus too, not only the code
    files = book_guard.package_fingerprint()
    assert "models/pretrained/lm-base-default.safetensors" in files and "experiments/lm.py" in files


def test_old_contexts_are_pruned(tmp_path: Path) -> None:
    root = tmp_path / ".jupyter_cache"
    for i, name in enumerate(("a", "b", "c", "d", "e")):
        (root / name).mkdir(parents=True)
        (root / name / "global.db").write_text("")
    removed = book_guard.prune_caches(root / "e", keep=3)
    assert len(removed) == 2 and (root / "e").is_dir() and len(list(root.iterdir())) == 3


def _notebook(path: Path, error: bool, tags: list[str] | None = None) -> None:
    cell = nbformat.v4.new_code_cell("raise ValueError('x')", metadata={"tags": tags or []})
    if error:
        cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_check_site_finds_logs_tracebacks_local_paths_and_error_outputs(tmp_path: Path) -> None:
    html, executed = tmp_path / "html", tmp_path / "jupyter_execute"
    (html / "reports").mkdir(parents=True)
    (html / "index.html").write_text("<p>fine</p>")
    assert book_guard.check_site(html, REPO, executed_dir=executed) == []
    (html / "reports" / "chapter.err.log").write_text("boom")
    (html / "a.html").write_text(f"<pre>{REPO.resolve()}/madlib/x.py</pre>")
    (html / "b.html").write_text("<pre>Traceback (most recent call last):</pre>")
    _notebook(executed / "chapters" / "bad.ipynb", error=True)
    _notebook(executed / "chapters" / "allowed.ipynb", error=True, tags=["raises-exception"])
    problems = {p.where: p.what for p in book_guard.check_site(html, REPO, executed_dir=executed)}
    assert problems["reports/chapter.err.log"] == "an execution error log is published"
    assert problems["a.html"].startswith("contains the local path")
    assert problems["b.html"] == "contains a Python traceback"
    assert problems["chapters/bad.ipynb"] == "cell 1 (`raise ValueError('x')`) raised ValueError: x"
    assert "chapters/allowed.ipynb" not in problems
