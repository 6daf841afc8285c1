"""Build the book with a short, readable log: ``python -m tools.build_book [SOURCE] [jupyter-book options]``.

``make book`` runs this. It is ``jupyter-book build SOURCE --warningiserror --keep-going --builder html``
(any further option, e.g. ``--path-output DIR`` or ``--config FILE``, is passed on) with three changes
to what a learner reads:

* Kernels talk to the build over IPC (Unix sockets in Jupyter's private runtime folder) instead of TCP
  on localhost. ipykernel 7 prints "Kernel is running over TCP without encryption" for every TCP kernel,
  one screenful per book, which reads like an error; over IPC that exposure does not exist, so the
  warning is not printed, and no logger is silenced. (Windows has no IPC transport: TCP stays, with
  its warning.)
* Sphinx's progress lines are off (jupyter-book ``--quiet``). Its warnings and errors still print in
  full on stderr, and any warning still fails the build.
* One line per executed chapter with its execution time, and at the end the page to open.

The exit status is jupyter-book's: non-zero when the build fails or warns.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
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
        return f"  {self.path:<34} FAILED after {format_seconds(self.seconds)} (its error is among the warnings below)"


@dataclass
class BuildReport:
    """Collects one :class:`ChapterTime` per notebook and prints its line as soon as it is known."""

    source: Path
    out: TextIO = field(default_factory=lambda: sys.stdout)
    chapters: list[ChapterTime] = field(default_factory=list)

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
            if kernel_manager_class is not None:
                kwargs.setdefault("kernel_manager_class", kernel_manager_class)
            result = original(*args, **kwargs)
            state["result"] = result
            return result
        return run

    def wrap_start(original: Callable[[Any], None]) -> Callable[[Any], None]:
        def start_client(client: Any) -> None:
            if not report.chapters and not state.get("announced"):
                state["announced"] = True
                print("Executing notebooks (one line each when it finishes; warnings and errors print in full):",
                      file=report.out, flush=True)
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


def main(argv: list[str] | None = None) -> int:
    """Build the book; return jupyter-book's exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.build_book",
        description="jupyter-book build --warningiserror --keep-going --builder html, with a short log.")
    parser.add_argument("source", nargs="?", default=".", help="the book's folder (default: .)")
    parser.add_argument("--path-output", default=None, help="build into DIR/_build (default: SOURCE/_build)")
    args, passthrough = parser.parse_known_args(argv)
    source = Path(args.source)
    if not (source / "_toc.yml").is_file():
        raise SystemExit(f"source must be the book's folder (with _toc.yml); got {str(source)!r}")

    import click
    from jupyter_book.cli.main import main as jupyter_book

    command = ["build", str(source), "--warningiserror", "--keep-going", "--builder", "html", "--quiet"]
    if args.path_output is not None:
        command += ["--path-output", args.path_output]
    command += passthrough

    report = BuildReport(source)
    kernel_manager_class = ipc_kernel_manager_class()
    started = time.perf_counter()
    # Keep this log's lines in order with Sphinx's warnings on stderr when both go to one file.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with patched_notebook_execution(report, kernel_manager_class):
        try:
            jupyter_book.main(args=command, prog_name="jupyter-book", standalone_mode=False)
            status = 0
        except SystemExit as stop:  # jupyter-book exits with Sphinx's status on a failed build
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        except click.ClickException as error:  # a bad option: click's own message and status
            error.show()
            status = error.exit_code
    elapsed = format_seconds(time.perf_counter() - started)
    failed = [c.path for c in report.chapters if not c.ok]
    executed = sum(c.seconds for c in report.chapters if not c.cached)
    print(f"{len(report.chapters)} notebooks, {format_seconds(executed)} executing; whole build {elapsed}.")
    if status != 0 or failed:
        what = f"; failed notebooks: {', '.join(failed)}" if failed else ""
        print(f"Book build FAILED (exit status {status or 1}){what}. The warnings above say why (Sphinx prints them when it has read every page).", file=sys.stderr)
        return status or 1
    index = html_output_dir(source, args.path_output) / "index.html"
    shown = os.path.relpath(index)
    if shown.startswith(".."):  # outside the current folder: the absolute path reads better
        shown = str(index.resolve())
    print(f"Open {shown} in a browser ({index.resolve().as_uri()}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
