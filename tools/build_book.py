"""Build the book: ``python -m tools.build_book [SOURCE] [--jobs N] [jupyter-book options]`` (``make book``).

Three steps, each with a short log:

1. **Execute** every notebook of the table of contents that the execution cache cannot answer, ``--jobs``
   at a time (``JOBS``; default: one per core), each in its own worker (:mod:`tools.execute_notebook`,
   myst-nb's own execution) and kernel, into jupyter-cache (``execute_notebooks: cache`` in
   ``_config.yml``; the cache of this scale and library version, see :mod:`tools.book_guard`). The
   longest chapters start first. One line per notebook when it finishes; a cell running longer than a
   minute says so every minute. A notebook whose kernel used no CPU for ``--stall-timeout`` seconds (a
   hung kernel) is stopped; there is no time limit otherwise (``--notebook-timeout`` sets one). **A
   failure stops the build before rendering**, naming the chapter, the cell and the error; the full
   traceback goes to ``_build/logs/`` (never into the site), and the next build executes that notebook
   again, so it fails again until it is fixed.
2. **Render** with ``jupyter-book build SOURCE --warningiserror --keep-going --builder html --quiet`` (any
   further option is passed on): every page from the cache, nothing executed twice. Kernels that Sphinx
   does start itself (a plain ``jupyter-book build``, a notebook the first step did not see) talk over
   IPC (Unix sockets in Jupyter's private runtime folder) instead of TCP, so ipykernel 7's "Kernel is
   running over TCP without encryption" warning is not printed (Windows keeps TCP, with its warning).
3. **Check** the site (:func:`tools.book_guard.check_site`): no error output in any executed page, no
   error log, traceback or local path of this machine under ``_build/html``.

The exit status is 0 only when all three succeeded; otherwise non-zero, with what failed on stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

# Linux allows 107 bytes in a Unix socket path, macOS 103; jupyter_client appends "-<port number>".
MAX_SOCKET_PATH = 96


def ipc_kernel_manager_class(runtime_dir: str | os.PathLike[str] | None = None) -> type | None:
    """A kernel manager class whose kernels listen on Unix sockets, or ``None`` where IPC is unavailable.

    The sockets live in ``runtime_dir`` (default: Jupyter's runtime folder, private to the user) under an
    absolute path: the kernel runs in the notebook's folder and the client in the build's, so a relative
    path (jupyter_client's default "kernel-ipc") would name two different sockets.
    ``None`` on Windows and when the path would be too long for a Unix socket; the caller keeps TCP.
    """
    if os.name == "nt":
        return None
    from jupyter_client import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    folder = Path(runtime_dir) if runtime_dir is not None else Path(jupyter_runtime_dir())
    if len(str(folder / "madlib-0123456789ab-ipc-00000")) > MAX_SOCKET_PATH:
        return None

    class IPCKernelManager(AsyncKernelManager):
        """An ``AsyncKernelManager`` on the ``ipc`` transport, sockets under an absolute private path."""

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # One prefix per kernel: jupyter_client numbers the sockets "<prefix>-1", "-2", ... and
            # removes them when the kernel is shut down.
            return str(folder / f"madlib-{uuid.uuid4().hex[:12]}-ipc")

    return IPCKernelManager


@dataclass
class ChapterTime:
    """One executed (or cached) notebook: its path relative to the source folder and its run time."""

    path: str
    seconds: float
    ok: bool
    cached: bool = False

    def line(self) -> str:
        """The one log line for this chapter."""
        if self.cached:
            return f"  {self.path:<34} from the execution cache ({self.seconds:.1f} s when run)"
        if self.ok:
            return f"  {self.path:<34} executed in {format_seconds(self.seconds)}"
        return f"  {self.path:<34} FAILED after {format_seconds(self.seconds)}"


@dataclass
class BuildReport:
    """Collects one :class:`ChapterTime` per notebook and prints its line as soon as it is known."""

    source: Path
    out: TextIO = field(default_factory=lambda: sys.stdout)
    chapters: list[ChapterTime] = field(default_factory=list)
    show_cached: bool = True

    def add(self, path: Path | None, seconds: float, ok: bool, cached: bool = False) -> None:
        """Record a notebook's result and print its line."""
        name = "<unnamed notebook>"
        if path is not None:
            with contextlib.suppress(ValueError):
                name = Path(path).resolve().relative_to(self.source.resolve()).as_posix()
            if name == "<unnamed notebook>":
                name = str(path)
        chapter = ChapterTime(name, seconds, ok, cached)
        self.chapters.append(chapter)
        if self.show_cached or not cached:
            print(chapter.line(), file=self.out, flush=True)


def format_seconds(seconds: float) -> str:
    """``42.3 s`` below a minute, ``3 min 05 s`` above."""
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds}")
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


@contextlib.contextmanager
def patched_notebook_execution(report: BuildReport, kernel_manager_class: type | None) -> Iterator[None]:
    """While active, myst-nb runs its kernels with ``kernel_manager_class`` and reports each notebook.

    myst-nb 1.x has no option for either, so this wraps its two executors (direct: ``execute_notebooks:
    force`` and ``auto``; cache: ``cache``) and restores them on exit. ``single_nb_execution`` passes
    extra keyword arguments to nbclient's ``NotebookClient``, whose ``kernel_manager_class`` is public.
    """
    from myst_nb.core.execute import cache, direct

    state: dict[str, Any] = {}
    saved: list[tuple[Any, str, Any]] = []

    def wrap_execution(original: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            if not state.get("announced"):
                state["announced"] = True
                print("Executing notebooks (one line each when it finishes; warnings and errors print in full):",
                      file=report.out, flush=True)
            if kernel_manager_class is not None:
                kwargs.setdefault("kernel_manager_class", kernel_manager_class)
            result = original(*args, **kwargs)
            state["result"] = result
            return result
        return run

    def wrap_start(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def start_client(client: Any) -> None:
            state.pop("result", None)
            started = time.perf_counter()
            try:
                original(client)
            finally:
                result = state.pop("result", None)
                meta = client.exec_metadata
                if result is not None:  # executed now: its own timer, without the cache bookkeeping
                    report.add(client.path, result.time, result.err is None)
                elif meta is not None:  # served by jupyter-cache, not executed
                    report.add(client.path, meta.get("runtime") or 0.0, bool(meta.get("succeeded")), cached=True)
                else:  # raised before executing (e.g. a kernel that did not start)
                    report.add(client.path, time.perf_counter() - started, False)
        return start_client

    for module in (direct, cache):
        saved.append((module, "single_nb_execution", module.single_nb_execution))
        module.single_nb_execution = wrap_execution(module.single_nb_execution)
    for cls in (direct.NotebookClientDirect, cache.NotebookClientCache):
        saved.append((cls, "start_client", cls.__dict__["start_client"]))
        cls.start_client = wrap_start(cls.start_client)
    try:
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def html_output_dir(source: Path, path_output: str | None) -> Path:
    """Where jupyter-book writes the html: ``<path-output or source>/_build/html``."""
    return Path(path_output if path_output is not None else source) / "_build" / "html"


# ----------------------------------------------------------------------------- the book's notebooks

def read_config(source: Path, config_file: str | None = None) -> dict:
    """The book's ``_config.yml`` (or ``config_file``) as a dict."""
    import yaml

    path = Path(config_file) if config_file else source / "_config.yml"
    return yaml.safe_load(path.read_text()) or {} if path.is_file() else {}


def book_notebooks(source: Path, config: dict) -> list[Path]:
    """The notebooks of the table of contents that the book executes (``execute.exclude_patterns`` left out)."""
    from fnmatch import fnmatch

    from sphinx_external_toc.parsing import parse_toc_yaml

    site_map = parse_toc_yaml(str(source / "_toc.yml"))
    excluded = (config.get("execute") or {}).get("exclude_patterns") or []
    out = []
    for docname in site_map:
        path = source / f"{docname}.ipynb"
        if path.is_file() and not any(fnmatch(path.relative_to(source).as_posix(), pattern) for pattern in excluded):
            out.append(path)
    return out


def default_jobs() -> int:
    """``JOBS`` (the Makefile's), else one notebook per core."""
    text = os.environ.get("JOBS", "").strip()
    if text:
        try:
            jobs = int(text)
        except ValueError:
            raise SystemExit(f"JOBS must be an integer >= 1, got {text!r}") from None
        if jobs < 1:
            raise SystemExit(f"JOBS must be an integer >= 1, got {text!r}")
        return jobs
    return _cores()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


TIMES_FILE = ".book_times.json"  # under _build: each notebook's last execution time, to start the longest first


def read_times(build_dir: Path) -> dict[str, dict]:
    """``{notebook: {"seconds": s, "cells": {index: s}}}`` of the last executions (``_build/.book_times.json``)."""
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        times = json.loads((build_dir / TIMES_FILE).read_text())
        return {str(k): {**v, "seconds": float(v["seconds"]), "cells": dict(v.get("cells", {}))}
                for k, v in times.items()}
    return {}


ORDER_FILE = Path(__file__).with_name("book_order.json")  # the chapters to start first (see the file)


def first_chapters(path: Path = ORDER_FILE) -> list[str]:
    with contextlib.suppress(OSError, ValueError, TypeError):
        return [str(name) for name in json.loads(path.read_text())["first"]]
    return []


def longest_first(notebooks: list[Path], source: Path, times: dict[str, dict],
                  first: list[str] | None = None) -> list[Path]:
    """The order to start notebooks in: those named in ``first`` (in that order), then the others by their last
    execution time, longest first (unknown ones first, in table-of-contents order)."""
    first = first or []

    def name(path: Path) -> str:
        return path.relative_to(source).as_posix() if path.is_relative_to(source) else str(path)

    def key(path: Path) -> tuple:
        n = name(path)
        return (first.index(n) if n in first else len(first), -times.get(n, {}).get("seconds", float("inf")))
    return sorted(notebooks, key=key)


# ----------------------------------------------------------------------------- parallel execution into the cache

@dataclass
class Running:
    """One notebook being executed by a worker process."""

    path: Path
    name: str
    process: Any
    out: Path
    started: float
    events: Any
    cell: int | None = None
    cell_started: float = 0.0
    cells: int = 0
    last_note: float = 0.0
    cpu_seen: dict[int, float] = field(default_factory=dict)
    cpu_max: dict[int, float] = field(default_factory=dict)  # the most CPU seen per process: its total
    cpu_changed: float = 0.0
    eof: set[str] = field(default_factory=set)
    finished: dict | None = None
    stderr_tail: list[str] = field(default_factory=list)
    cell_seconds: dict[int, float] = field(default_factory=dict)


@dataclass
class Failure:
    """A notebook that did not execute: where, which cell, what, and the log file with the full traceback."""

    name: str
    cell: str
    error: str
    log: Path | None


BOOK_BUILD_ENV = "MADLIB_BOOK_BUILD"  # set for the kernels of a book build
AFTER_KEY = "execute_after"  # notebook metadata madlib.execute_after: notebooks (from the book's folder) to wait for


def execute_after(path: Path) -> list[str]:
    """The notebooks ``path`` waits for (its metadata ``madlib.execute_after``), e.g. chapter 6 for the runs of
    chapters 4 and 5, which it reads from the experiment cache instead of computing them a second time."""
    import nbformat

    metadata = nbformat.read(str(path), as_version=4).metadata.get("madlib", {})
    return [str(name) for name in metadata.get(AFTER_KEY, [])]


def _tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by each descendant of ``pid`` (the kernel and anything it started)."""
    import psutil

    out = {}
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return out
    for child in children:
        try:
            times = child.cpu_times()
            out[child.pid] = times.user + times.system
        except psutil.Error:
            continue
    return out


def _made_progress(before: dict[int, float], now: dict[int, float]) -> bool:
    """Whether any process of the tree used CPU (or a new one started) between two snapshots."""
    return any(pid not in before or cpu > before[pid] + 0.01 for pid, cpu in now.items())


def _kill_tree(process: Any) -> None:
    import psutil

    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.Error:
        children = []
    for proc in [*children]:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    with contextlib.suppress(OSError):
        process.kill()


def execute_into_cache(notebooks: list[Path], source: Path, cache_dir: Path, log_dir: Path, *, jobs: int,
                       cell_timeout: float, stall_s: float, notebook_timeout: float, report: BuildReport,
                       note_every_s: float = 60.0) -> list[Failure]:
    """Execute ``notebooks`` (``jobs`` at a time, each in its own worker and kernel) and add every success to
    the jupyter-cache at ``cache_dir``; return the failures (each logged to ``log_dir/<name>.log``).

    A cell that runs long says so every ``note_every_s``; a notebook whose kernel used no CPU for ``stall_s``
    seconds (a hung kernel) or that ran past ``notebook_timeout`` (0: no limit) is stopped and reported.
    """
    import queue
    import subprocess
    import threading

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.cache.db import NbProjectRecord

    from tools.book_guard import cell_label

    cache = get_cache(str(cache_dir))
    work = Path(tempfile.mkdtemp(prefix="book-exec-"))
    pending = list(notebooks)
    running: list[Running] = []
    failures: list[Failure] = []
    env = dict(os.environ)
    cores = _cores()
    # Sweeps inside a chapter use MADLIB_WORKERS processes: share the cores between the chapters running
    # side by side (results do not depend on the number of workers).
    env.setdefault("MADLIB_WORKERS", str(max(1, cores // max(1, min(jobs, len(notebooks))))))
    env[BOOK_BUILD_ENV] = "1"  # chapters leave progress bars off the page: this log shows progress
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    def reader(stream: Any, sink: Any, tag: str) -> None:
        for line in stream:
            sink.put((tag, line))
        sink.put((tag, None))

    def start(path: Path) -> Running:
        name = path.relative_to(source).as_posix() if path.is_relative_to(source) else str(path)
        out = work / (name.replace("/", "__") + ".ipynb")
        process = subprocess.Popen([sys.executable, "-m", "tools.execute_notebook", str(path), str(out),
                                    "--timeout", str(cell_timeout)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=env, cwd=str(Path(__file__).resolve().parents[1]))
        events: Any = queue.Queue()
        for stream, tag in ((process.stdout, "out"), (process.stderr, "err")):
            threading.Thread(target=reader, args=(stream, events, tag), daemon=True).start()
        now = time.perf_counter()
        return Running(path, name, process, out, now, events, cpu_changed=now, last_note=now)

    def fail(run: Running, cell: int | None, error: str, log_text: str) -> None:
        notebook = nbformat.read(str(run.path), as_version=4)
        label = cell_label(notebook, cell) if cell is not None else "before its first cell"
        log = log_dir / (run.name.replace("/", "__") + ".log")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"{run.name}: {label} failed: {error}\n\n{log_text}", encoding="utf-8")
        record = cache.add_nb_to_project(str(run.path))
        NbProjectRecord.set_traceback(record.uri, f"{label}: {error}\n{log_text}", cache.db)
        failures.append(Failure(run.name, label, error, log))
        report.add(run.path, time.perf_counter() - run.started, False)
        print(f"    {label}: {error}\n    (full traceback: {shown_path(log)})", file=report.out, flush=True)

    def name_of(path: Path) -> str:
        return path.relative_to(source).as_posix() if path.is_relative_to(source) else str(path)

    waits = {path: set(execute_after(path)) for path in pending}

    try:
        while pending or running:
            while pending and len(running) < jobs:
                busy = {name_of(p) for p in pending} | {r.name for r in running}
                ready = [p for p in pending if not (waits[p] & busy)]
                if not ready and running:
                    break
                ready = ready or pending[:1]  # a cycle of waits: take them in order
                pending.remove(ready[0])
                running.append(start(ready[0]))
            time.sleep(0.2)
            now = time.perf_counter()
            for run in list(running):
                while True:
                    try:
                        tag, line = run.events.get_nowait()
                    except queue.Empty:
                        break
                    if line is None:
                        run.eof.add(tag)
                        continue
                    if tag == "err":
                        run.stderr_tail = (run.stderr_tail + [line.rstrip()])[-200:]
                        continue
                    try:
                        event = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if event.get("event") == "start":
                        run.cell, run.cell_started, run.cells = event["cell"], now, event.get("cells", 0)
                        run.last_note = now
                    elif event.get("event") == "done":
                        run.cell_seconds[int(event["cell"])] = float(event.get("seconds", 0.0))
                        if event.get("seconds", 0) >= note_every_s:
                            print(f"    {run.name}: cell {event['cell']} took {format_seconds(event['seconds'])}",
                                  file=report.out, flush=True)
                    elif event.get("event") == "finished":
                        run.finished = event
                cpu = _tree_cpu(run.process.pid)
                if _made_progress(run.cpu_seen, cpu):
                    run.cpu_changed = now
                run.cpu_seen = cpu
                for pid, seconds in cpu.items():
                    run.cpu_max[pid] = max(seconds, run.cpu_max.get(pid, 0.0))
                if run.process.poll() is not None and run.eof >= {"out", "err"}:
                    run.process.wait()
                    running.remove(run)
                    if run.finished is not None and run.finished.get("ok") and run.out.is_file():
                        executed = nbformat.read(str(run.out), as_version=4)
                        record = cache.add_nb_to_project(str(run.path))
                        NbProjectRecord.remove_tracebacks([record.pk], cache.db)
                        cache.cache_notebook_bundle(
                            CacheBundleIn(executed, record.uri, data={"execution_seconds": run.finished["seconds"]}),
                            check_validity=False, overwrite=True)
                        report.add(run.path, run.finished["seconds"], True)
                        (log_dir / (run.name.replace("/", "__") + ".log")).unlink(missing_ok=True)  # an old failure's
                        times = read_times(cache_dir.parent.parent)
                        times[run.name] = {"seconds": round(float(run.finished["seconds"]), 1),
                                           # CPU seconds of the kernel and its children: on a busy machine, a
                                           # better guess of the time on an idle one than the wall time
                                           "cpu_seconds": round(sum(run.cpu_max.values()), 1),
                                           "cells": {i: round(t, 2) for i, t in sorted(run.cell_seconds.items())}}
                        with contextlib.suppress(OSError):
                            _write_atomic(cache_dir.parent.parent / TIMES_FILE, json.dumps(times, indent=1, sort_keys=True))
                    else:
                        log_file = run.out.with_name(run.out.name + ".log")
                        log_text = log_file.read_text() if log_file.is_file() else "\n".join(run.stderr_tail)
                        finished = run.finished or {}
                        error = finished.get("error") or (
                            f"the executor exited with status {run.process.returncode} without a result")
                        fail(run, finished.get("cell", run.cell), error, log_text)
                    continue
                if run.cell is not None and now - run.last_note >= note_every_s:
                    run.last_note = now
                    print(f"    {run.name}: cell {run.cell} of {run.cells} running for "
                          f"{format_seconds(now - run.cell_started)}", file=report.out, flush=True)
                stalled = stall_s > 0 and now - run.cpu_changed > stall_s
                late = notebook_timeout > 0 and now - run.started > notebook_timeout
                if stalled or late:
                    _kill_tree(run.process)
                    run.process.wait()
                    running.remove(run)
                    why = (f"the kernel used no CPU for {format_seconds(now - run.cpu_changed)} (a hung kernel?); "
                           "stopped" if stalled else
                           f"the notebook ran past the limit of {format_seconds(notebook_timeout)}; stopped")
                    fail(run, run.cell, why, "\n".join(run.stderr_tail))
    finally:
        for run in running:
            _kill_tree(run.process)
        shutil.rmtree(work, ignore_errors=True)
    return failures


# ----------------------------------------------------------------------------- the build

def main(argv: list[str] | None = None) -> int:
    """Build the book; 0 only when every chapter executed and the site passed the checks."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_book",
        description="Execute the chapters (in parallel, into the execution cache), then jupyter-book build "
                    "--warningiserror --keep-going --builder html, then check the site; a short log.")
    parser.add_argument("source", nargs="?", default=".", help="the book's folder (default: .)")
    parser.add_argument("--path-output", default=None, help="build into DIR/_build (default: SOURCE/_build)")
    parser.add_argument("--config", default=None, help="another config file (passed on to jupyter-book)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="notebooks executed side by side (default: $JOBS, else one per two cores)")
    parser.add_argument("--stall-timeout", type=float, default=float(os.environ.get("BOOK_STALL_TIMEOUT", 900)),
                        help="stop a notebook whose kernel used no CPU for this many seconds (default 900; 0: never)")
    parser.add_argument("--notebook-timeout", type=float, default=float(os.environ.get("BOOK_NOTEBOOK_TIMEOUT", 0)),
                        help="stop a notebook after this many seconds (default 0: no limit)")
    args, passthrough = parser.parse_known_args(argv)
    source = Path(args.source)
    if not (source / "_toc.yml").is_file():
        raise SystemExit(f"source must be the book's folder (with _toc.yml); got {str(source)!r}")
    if argv is None:  # as a command: a kill (SIGTERM) stops the workers and their kernels too
        import signal

        def stop(signum: int, frame: Any) -> None:
            raise SystemExit(128 + signum)

        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, stop)
    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise SystemExit(f"--jobs must be >= 1, got {jobs}")

    import click
    from jupyter_book.cli.main import main as jupyter_book

    from tools import book_guard

    build_dir = Path(args.path_output if args.path_output is not None else source) / "_build"
    log_dir = build_dir / book_guard.LOG_FOLDER
    config = read_config(source, args.config)
    execute = config.get("execute") or {}
    mode = execute.get("execute_notebooks", "auto")
    cell_timeout = float(execute.get("timeout", 30) or -1)
    report = BuildReport(source)
    started = time.perf_counter()
    # Keep this log's lines in order with Sphinx's warnings on stderr when both go to one file.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    notebooks = book_notebooks(source, config)
    failures: list[Failure] = []
    if mode == "cache" and notebooks:
        import nbformat

        cache_dir = book_guard.cache_path(build_dir, source)
        book_guard.prune_caches(cache_dir)
        todo = []
        for path in notebooks:
            if book_guard.cached_record(cache_dir, nbformat.read(str(path), as_version=4)) is None:
                todo.append(path)
            else:
                report.add(path, _cached_seconds(cache_dir, path), True, cached=True)
        if todo:
            print(f"Executing {len(todo)} notebook{'s' if len(todo) > 1 else ''}, {min(jobs, len(todo))} at a time "
                  f"(a line each when it finishes; long cells say so every minute):", flush=True)
            todo = longest_first(todo, source, read_times(build_dir),
                                 first_chapters() if source.resolve() == Path(__file__).resolve().parents[1] else [])
            failures = execute_into_cache(todo, source, cache_dir, log_dir, jobs=jobs, cell_timeout=cell_timeout,
                                          stall_s=args.stall_timeout, notebook_timeout=args.notebook_timeout,
                                          report=report)
    if failures:
        print(f"{len(notebooks)} notebooks; whole build {format_seconds(time.perf_counter() - started)}.")
        lines = [f"  {f.name}, {f.cell}: {f.error}" for f in failures]
        print("Book build FAILED: a chapter did not execute, so the site was not rendered:\n" + "\n".join(lines)
              + f"\nThe full tracebacks are in {shown_path(log_dir)}/ (outside the site).", file=sys.stderr)
        return 1

    command = ["build", str(source), "--warningiserror", "--keep-going", "--builder", "html", "--quiet"]
    if args.path_output is not None:
        command += ["--path-output", args.path_output]
    if args.config is not None:
        command += ["--config", args.config]
    command += passthrough
    kernel_manager_class = ipc_kernel_manager_class()
    executed_by_sphinx = BuildReport(source, report.out, show_cached=False)
    with patched_notebook_execution(executed_by_sphinx, kernel_manager_class):
        try:
            jupyter_book.main(args=command, prog_name="jupyter-book", standalone_mode=False)
            status = 0
        except SystemExit as stop:  # jupyter-book exits with Sphinx's status on a failed build
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except click.ClickException as error:  # a bad option: click's own message and status
            error.show()
            status = error.exit_code
    report.chapters += [c for c in executed_by_sphinx.chapters if not c.cached]
    html = html_output_dir(source, args.path_output)
    problems = book_guard.check_site(html, source, executed_dir=build_dir / "jupyter_execute") if html.is_dir() else []
    if mode == "cache":  # every page was rendered from a successful execution of its notebook as it is now
        import nbformat

        cache_dir = book_guard.cache_path(build_dir, source)
        for path in notebooks:
            if book_guard.cached_record(cache_dir, nbformat.read(str(path), as_version=4)) is None:
                problems.append(book_guard.Problem(path.relative_to(source).as_posix() if path.is_relative_to(source)
                                                   else str(path), "has no successful execution in the cache"))
    elapsed = format_seconds(time.perf_counter() - started)
    failed = [c.path for c in report.chapters if not c.ok]
    executed = sum(c.seconds for c in report.chapters if not c.cached)
    print(f"{len(notebooks)} notebooks, {format_seconds(executed)} executing; whole build {elapsed}.")
    if status != 0 or failed or problems:
        what = f"; failed notebooks: {', '.join(failed)}" if failed else ""
        if problems:
            print("The built site has problems:\n" + "\n".join(p.line() for p in problems), file=sys.stderr)
        print(f"Book build FAILED (exit status {status or 1}){what}. The messages above say why (Sphinx prints its "
              "warnings when it has read every page).", file=sys.stderr)
        return status or 1
    index = html / "index.html"
    print(f"Open {shown_path(index)} in a browser ({index.resolve().as_uri()}).")
    return 0


def shown_path(path: Path) -> str:
    """A path as the log shows it: relative to the current folder, absolute when outside it."""
    relative = os.path.relpath(path)
    return str(Path(path).resolve()) if relative.startswith("..") else relative


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _cached_seconds(cache_dir: Path, path: Path) -> float:
    """The execution time recorded with a notebook's cached execution (0 when unknown)."""
    import nbformat
    from jupyter_cache import get_cache

    with contextlib.suppress(KeyError):
        record = get_cache(str(cache_dir)).match_cache_notebook(nbformat.read(str(path), as_version=4))
        return float((record.data or {}).get("execution_seconds") or 0.0)
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
