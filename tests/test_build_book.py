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
    """A jb-article book configured like the course (execution cache, tools.book_guard): an intro page and
    one notebook per ``pages`` entry (name -> code of its second code cell; the first is ``x = 1``)."""
    folder.mkdir()
    (folder / "_config.yml").write_text(
        "title: tiny\nexecute:\n  execute_notebooks: cache\n  timeout: 120\n"
        f"sphinx:\n  local_extensions:\n    tools.book_guard: {REPO}\n")
    sections = "".join(f"  - file: {name}\n" for name in pages)
    (folder / "_toc.yml").write_text(f"format: jb-article\nroot: intro\nsections:\n{sections}")
    (folder / "intro.md").write_text("# Tiny\n\nA page.\n")
    for name, code in pages.items():
        _write_notebook(folder / f"{name}.ipynb", code)
    return folder


def _write_notebook(path: Path, code: str, after: list[str] | None = None) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {path.stem}"),
                                         nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if after:
        nb.metadata["madlib"] = {"execute_after": after}
    nbformat.write(nb, str(path))


def _build(book: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.build_book", str(book), "--path-output", str(out), *options],
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=600)


def _lines(text: str, *words: str) -> list[str]:
    return [line for line in text.splitlines() if line.split()[: len(words)] == list(words)]


def test_build_prints_one_line_per_notebook_and_the_page_to_open(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book", {"alpha": "import time\ntime.sleep(2)\nprint(6 * 7)", "beta": "x = 1"})
    _write_notebook(book / "beta.ipynb", "x = 1", after=["alpha.ipynb"])  # as chapter 6 waits for 4 and 5
    done = _build(book, tmp_path / "out", "--jobs", "2")
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert TCP_WARNING not in log
    lines = done.stdout.splitlines()
    timed = [line for line in lines if "executed in" in line]
    assert [line.split()[0] for line in timed] == ["alpha.ipynb", "beta.ipynb"], log  # beta waited for alpha
    assert "Executing notebook using" not in log and "reading sources" not in log  # Sphinx's chatter is off
    index = tmp_path / "out" / "_build" / "html" / "index.html"
    assert index.is_file()
    assert lines[-1].startswith("Open ") and index.as_uri() in lines[-1], lines[-1]
    # A rebuild with nothing changed renders from the execution cache: nothing is executed again.
    again = _build(book, tmp_path / "out")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(_lines(again.stdout, "alpha.ipynb", "from", "the", "execution", "cache")) == 1, again.stdout
    assert "executed in" not in again.stdout


def test_a_failing_notebook_fails_the_first_build_and_every_rebuild(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book", {"good": "print(1)", "bad": "raise ValueError('boom for the test')"})
    out = tmp_path / "out"
    for attempt in ("first build", "rebuild, nothing changed", "second rebuild"):
        done = _build(book, out)
        assert done.returncode != 0, f"{attempt}: exit 0 with a failing notebook\n{done.stdout}{done.stderr}"
        assert _lines(done.stdout, "bad.ipynb", "FAILED"), f"{attempt}: {done.stdout}"
        # the chapter, the cell and the error, on stderr's summary
        assert "bad.ipynb, cell 2 (`raise ValueError('boom for the test')`): ValueError: boom for the test" \
            in done.stderr, f"{attempt}: {done.stderr}"
        assert "Open " not in done.stdout
    assert _lines(done.stdout, "good.ipynb", "from", "the", "execution", "cache")  # the good one is not redone
    # the full traceback goes to a log outside the site, and nothing of it into the site
    log = out / "_build" / "logs" / "bad.ipynb.log"
    assert "Traceback" in log.read_text() and "boom for the test" in log.read_text()
    html = out / "_build" / "html"
    assert not list(html.rglob("*.err.log")) if html.exists() else True
    # fixed: the build passes and the page shows the new output
    _write_notebook(book / "bad.ipynb", "print('fixed now')")
    done = _build(book, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "fixed now" in (html / "bad.html").read_text()
    assert not log.exists()


def test_a_plain_jupyter_book_rebuild_still_fails_a_failed_notebook(tmp_path: Path) -> None:
    # Without tools.build_book (e.g. `jupyter-book build .`): tools.book_guard makes Sphinx read the failed
    # notebook again on a rebuild, so the warning (an error under -W) comes back, and its log leaves the site.
    book = _tiny_book(tmp_path / "book", {"bad": "raise ValueError('boom for the test')"})
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    for attempt in ("first build", "rebuild"):
        done = subprocess.run([str(jupyter_book), "build", str(book), "--path-output", str(tmp_path / "out"),
                               "--warningiserror", "--keep-going", "--builder", "html"],
                              cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                              capture_output=True, text=True, timeout=600)
        assert done.returncode != 0, attempt
        assert "bad.ipynb: WARNING: Executing notebook failed" in done.stdout + done.stderr, attempt
    html = tmp_path / "out" / "_build" / "html"
    assert not list(html.rglob("*.err.log")) and not (html / "reports").exists()
    assert list((tmp_path / "out" / "_build" / "logs" / "reports").glob("*.err.log"))


def test_a_hung_kernel_ends_the_build_with_a_message(tmp_path: Path) -> None:
    book = _tiny_book(tmp_path / "book", {"hangs": "import time\ntime.sleep(600)"})
    done = _build(book, tmp_path / "out", "--stall-timeout", "4")
    assert done.returncode != 0
    assert "hangs.ipynb, cell 2 (`import time`): the kernel used no CPU for" in done.stderr, done.stderr


def test_start_order_named_chapters_first_then_longest_first(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    notebooks = [tmp_path / f"{n}.ipynb" for n in names]
    times = {"a.ipynb": {"seconds": 5.0}, "b.ipynb": {"seconds": 50.0}, "d.ipynb": {"seconds": 20.0}}
    order = build_book.longest_first(notebooks, tmp_path, times)
    assert [p.stem for p in order] == ["c", "b", "d", "a"]  # c never ran: it may be the longest
    order = build_book.longest_first(notebooks, tmp_path, times, first=["d.ipynb"])
    assert [p.stem for p in order] == ["d", "c", "b", "a"]
    # the course's own list names chapters that exist
    assert all((REPO / name).is_file() for name in build_book.first_chapters())
