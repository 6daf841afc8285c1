"""A run's independent chains at once, in threads, with the results of running them one after another.

A chain of a small torch model (chapter 4's VAEs) spends its time in torch's kernels, which release the
GIL, so chains in threads use a machine's cores: on two idle cores chapter 4's three seeds train in about
half the time. They stay the chains a sequential run makes, bit for bit (``tests/test_chains.py``):

* every chain draws from its own generators (:mod:`madlib.core.seeding`);
* code that seeds and draws from torch's global generator (a network's initial weights) holds
  :data:`madlib.core.seeding.GLOBAL_RNG`, so no two chains interleave their draws there;
* every kernel runs on the thread that calls it, with the run's torch thread setting.

On a GPU the chains run one after another (they would share its one device), as they do when
``MADLIB_WORKERS=1`` or only one chain fits in memory beside the others.

Ctrl-C (a ``KeyboardInterrupt`` in the calling thread) asks every chain to stop after the generation it
is training; finished generations are checkpointed, so the same command resumes from them.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from .budget import available_memory, workers_for
from .sweep import default_workers
from .validation import check_float, check_int

__all__ = ["ChainStopped", "chain_workers", "run_chains"]


class ChainStopped(Exception):
    """Raised inside a chain that was asked to stop (another chain failed, or Ctrl-C) between generations."""


def chain_workers(count: int, device: torch.device | str = "cpu", *, memory_per_chain: float = 0.0,
                  workers: int | None = None) -> int:
    """How many of ``count`` chains run at once: 1 on a GPU; on the CPU ``workers`` (else ``MADLIB_WORKERS``)
    if given, else two per core this process may use (while one thread holds the GIL for Python, another
    runs a kernel: three VAE chains on two cores train 1.8x faster in three threads than one after another,
    1.3x in two; ``benchmarks/bench_vae_chains.py``); never more than ``count``, nor more than fit in the
    memory available when each chain needs ``memory_per_chain`` bytes."""
    count = check_int("count", count, 1)
    check_float("memory_per_chain", memory_per_chain, 0.0)
    if torch.device(device).type != "cpu":
        return 1
    if workers is None and not os.environ.get("MADLIB_WORKERS", "").strip():
        workers = 2 * default_workers()
    at_once = min(count, default_workers(workers))
    if at_once <= 1:
        return 1
    return workers_for(memory_per_chain, at_once, float(available_memory()[0]) if memory_per_chain else float("inf"))


def run_chains(run: Callable[[int, threading.Event], Any], count: int, *, workers: int = 1) -> list:
    """``[run(0, stop), ..., run(count - 1, stop)]``, with up to ``workers`` of them running at once.

    ``stop`` is a :class:`threading.Event` that is set when the chains should stop early: a chain checks it
    between generations (``madlib.core.loop.run_loop``'s ``stop``) and raises :class:`ChainStopped`. When a
    chain fails the others stop and the first chain's error (by index) is raised once every chain has
    ended; Ctrl-C is raised again once the chains have finished the generations they were training."""
    count = check_int("count", count, 0)
    workers = check_int("workers", workers, 1)
    stop = threading.Event()
    if workers == 1 or count <= 1:
        return [run(index, stop) for index in range(count)]
    results: list = [None] * count
    errors: list[BaseException | None] = [None] * count
    queue, lock = iter(range(count)), threading.Lock()
    running, all_ended = [min(workers, count)], threading.Event()

    def worker() -> None:
        try:
            while not stop.is_set():
                with lock:
                    index = next(queue, None)
                if index is None:
                    return
                try:
                    results[index] = run(index, stop)
                except BaseException as error:  # noqa: BLE001 - handed to the caller below, whatever it is
                    errors[index] = error
                    stop.set()  # one chain failed: the others stop at their next generation
        finally:
            with lock:
                running[0] -= 1
                if running[0] == 0:
                    all_ended.set()

    threads = [threading.Thread(target=worker, name=f"madlib-chain-{i}", daemon=True) for i in range(running[0])]
    try:
        with _ctrl_c_deferred():  # a thread half-started by Ctrl-C would run on, unwatched
            for thread in threads:
                thread.start()
        # an Event, not Thread.join: a join that Ctrl-C interrupts marks a running thread as ended (Python 3.11)
        while not all_ended.wait(0.2):
            pass
    except KeyboardInterrupt:
        stop.set()
        print("madlib: stopping: each chain finishes the generation it is training (finished generations "
              "are kept; the same command resumes)", file=sys.stderr, flush=True)
        all_ended.wait()
        raise
    failed = [error for error in errors if error is not None]
    if failed:
        raise next((error for error in failed if not isinstance(error, ChainStopped)), failed[0])
    return results


@contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold SIGINT back while the block runs (the main thread, on POSIX); it arrives when the block ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
