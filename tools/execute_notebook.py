"""Execute one notebook for the book build: ``python -m tools.execute_notebook NOTEBOOK OUT.ipynb [--timeout S]``.

``tools/build_book.py`` runs one of these per chapter, several side by side, and reads its standard output:
one JSON object a line, ``{"event": "start", "cell": i, "cells": n}`` when a code cell starts and
``{"event": "done", "cell": i, "seconds": s}`` when it ends, then ``{"event": "finished", "ok": ..., "seconds": ...,
"error": ..., "cell": ...}``. The execution is myst-nb's own (jupyter-cache's ``single_nb_execution``: the
notebook's folder as the working directory, no errors allowed, ``timeout`` per cell), so a chapter executed
here gives the outputs a serial ``jupyter-book build`` gives; the kernel talks over IPC
(:func:`tools.build_book.ipc_kernel_manager_class`) with the executor's lost wake-up fixed
(:mod:`tools.kernel_wakeup`). On success the executed notebook is written to ``OUT.ipynb`` (atomically); on a
failure the full traceback goes to ``OUT.ipynb.log`` and the notebook as far as it ran to ``OUT.ipynb``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def emit(**event: Any) -> None:
    """One progress line for the parent."""
    print(json.dumps(event), flush=True)


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _last_line(error: BaseException) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1].strip() if lines else ''}".strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.execute_notebook")
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--timeout", type=float, default=-1, help="seconds per cell (-1: none)")
    args = parser.parse_args(argv)

    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    from tools import kernel_wakeup
    from tools.book_guard import first_error
    from tools.build_book import ipc_kernel_manager_class

    kernel_wakeup.install()
    path = Path(args.notebook).resolve()
    out = Path(args.out)
    notebook = nbformat.read(str(path), as_version=4)
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    started: dict[int, float] = {}

    def on_start(cell: Any, cell_index: int, **_: Any) -> None:
        if cell.get("cell_type") != "code":
            return
        started[cell_index] = time.perf_counter()
        emit(event="start", cell=cell_index, cells=len(notebook.cells), code_cells=len(code))

    def on_executed(cell: Any, cell_index: int, **_: Any) -> None:
        if cell_index not in started:
            return
        emit(event="done", cell=cell_index, seconds=round(time.perf_counter() - started.get(cell_index, 0.0), 3))

    kwargs: dict[str, Any] = {"on_cell_start": on_start, "on_cell_executed": on_executed}
    manager = ipc_kernel_manager_class()
    if manager is not None:
        kwargs["kernel_manager_class"] = manager
    timeout = None if args.timeout is None or args.timeout < 0 else int(args.timeout)
    try:
        result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout, allow_errors=False,
                                     meta_override=True, **kwargs)
    except Exception as error:  # noqa: BLE001 - e.g. the kernel died or did not start: say so, as a failure
        import traceback

        write_atomic(out.with_name(out.name + ".log"), traceback.format_exc())
        emit(event="finished", ok=False, seconds=0.0, cell=next(iter(sorted(started, reverse=True)), None),
             error=f"{type(error).__name__}: {error}".splitlines()[0])
        return 1
    write_atomic(out, nbformat.writes(notebook))
    if result.err is None:
        emit(event="finished", ok=True, seconds=result.time)
        return 0
    found = first_error(notebook)
    cell = found[0] if found is not None else next(iter(sorted(started, reverse=True)), None)
    write_atomic(out.with_name(out.name + ".log"), result.exc_string or repr(result.err))
    emit(event="finished", ok=False, seconds=result.time, cell=cell,
         error=found[1] if found is not None else _last_line(result.err))
    return 1


if __name__ == "__main__":
    sys.exit(main())
