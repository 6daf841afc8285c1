"""tools/build_book.py, the `make book` wrapper: kernels over IPC, one line per notebook, the page to open.

The builds here are of a two-page book made in a temporary folder (seconds), not of the course.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from tools import build_book

REPO = Path(__file__).resolve().parents[1]
TCP_WARNING = "without encryption"
posix_only = pytest.mark.skipif(os.name == "nt", reason="no IPC transport on Windows; the build keeps TCP there")


def test_format_seconds() -> None:
    assert build_book.format_seconds(0) == "0.0 s"
    assert build_book.format_seconds(42.34) == "42.3 s"
    assert build_book.format_seconds(185.4) == "3 min 05 s"
    assert build_book.format_seconds(3600) == "60 min 00 s"
    with pytest.raises(ValueError, match="seconds"):
        build_book.format_seconds(-1)


def test_html_output_dir() -> None:
    assert build_book.html_output_dir(Path("."), None) == Path("_build/html")
    assert build_book.html_output_dir(Path("."), "/tmp/x") == Path("/tmp/x/_build/html")


@posix_only
def test_socket_path_too_long_keeps_tcp(tmp_path: Path) -> None:
    assert build_book.ipc_kernel_manager_class(tmp_path / ("x" * 120)) is None
    short = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))  # pytest-xdist's tmp_path can itself be too long
    try:
        assert build_book.ipc_kernel_manager_class(short) is not None
    finally:
        shutil.rmtree(short, ignore_errors=True)


RUN_ONE_CELL = textwrap.dedent("""
    import json, sys
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution
    from tools.build_book import ipc_kernel_manager_class

    transport, runtime, cwd = sys.argv[1:]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; print(6 * 7, os.getcwd())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    kwargs = {}
    if transport == "ipc":
        kwargs["kernel_manager_class"] = ipc_kernel_manager_class(runtime)
        assert kwargs["kernel_manager_class"] is not None, "socket path too long under " + runtime
    result = single_nb_execution(nb, cwd=cwd, timeout=120, allow_errors=False, **kwargs)
    print(json.dumps({"err": repr(result.err) if result.err else None, "out": nb.cells[0].outputs[0]["text"]}))
""")


def _run_one_cell(transport: str, tmp_path: Path, runtime: Path) -> tuple[dict, str]:
    # A subprocess: the kernel writes its log straight to the inherited stderr, which capsys cannot see.
    cwd = tmp_path / f"notebook-dir-{transport}"
    cwd.mkdir()
    done = subprocess.run([sys.executable, "-c", RUN_ONE_CELL, transport, str(runtime), str(cwd)],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@posix_only
def test_ipc_kernel_runs_in_the_notebook_folder_without_the_tcp_warning(tmp_path: Path) -> None:
    # pytest's tmp_path is too long for a Unix socket path; a short private folder instead.
    runtime = Path(tempfile.mkdtemp(prefix="mb-"))
    try:
        result, stderr = _run_one_cell("ipc", tmp_path, runtime)
        sockets_left = [p.name for p in runtime.iterdir()]
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    # The kernel ran in the notebook's folder while the client ran elsewhere: the socket path is absolute.
    assert result["err"] is None and result["out"].strip() == f"42 {tmp_path / 'notebook-dir-ipc'}"
    assert TCP_WARNING not in stderr, stderr
    # jupyter_client removes the sockets at shutdown; nothing is left in the runtime folder or the notebook's.
    assert not sockets_left
    assert not list((tmp_path / "notebook-dir-ipc").iterdir())
    # The same notebook over TCP (what jupyter-book does by itself) prints the warning: the check above
    # would see it. If this fails, ipykernel stopped warning and build_book's transport change is moot.
    result, stderr = _run_one_cell("tcp", tmp_path, runtime)
    assert result["err"] is None and TCP_WARNING in stderr


def _tiny_book(folder: Path, pages: dict[str, str]) -> Path:
    """A jb-article book: an intro page and one notebook per ``pages`` entry (name -> code)."""
    folder.mkdir()
    (folder / "_config.yml").write_text("title: tiny\nexecute:\n  execute_notebooks: force\n  timeout: 120\n")
    sections = "".join(f"  - file: {name}\n" for name in pages)
    (folder / "_toc.yml").write_text(f"format: jb-article\nroot: intro\nsections:\n{sections}")
    (folder / "intro.md").write_text("# Tiny\n\nA page.\n")
    for name, code in pages.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {name}"),
                                             nbformat.v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return folder


def _build(book: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.build_book", str(book), "--path-output", str(out)],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=600)


def test_build_prints_one_line_per_notebook_and_the_page_to_open(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book", {"alpha": "print(6 * 7)", "beta": "x = 1"})
    done = _build(book, tmp_path / "out")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert TCP_WARNING not in log
    lines = done.stdout.splitlines()
    timed = [line for line in lines if "executed in" in line]
    assert sorted(line.split()[0] for line in timed) == ["alpha.ipynb", "beta.ipynb"], log
    assert "Executing notebook using" not in log and "reading sources" not in log  # Sphinx's chatter is off
    index = tmp_path / "out" / "_build" / "html" / "index.html"
    assert index.is_file()
    assert lines[-1].startswith("Open ") and index.as_uri() in lines[-1], lines[-1]


def test_failing_notebook_fails_the_build_and_says_which(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book", {"good": "print(1)", "bad": "raise ValueError('boom for the test')"})
    done = _build(book, tmp_path / "out")
    assert done.returncode != 0
    assert any(line.split()[:2] == ["bad.ipynb", "FAILED"] for line in done.stdout.splitlines()), done.stdout
    assert any(line.split()[:3] == ["good.ipynb", "executed", "in"] for line in done.stdout.splitlines())
    # The real error is not hidden: Sphinx's warning names the notebook and the exception.
    assert "bad.ipynb: WARNING: Executing notebook failed: CellExecutionError" in done.stderr
    assert "FAILED" in done.stderr and "bad.ipynb" in done.stderr.splitlines()[-1]
    assert "Open " not in done.stdout
