"""What a run may use: the memory this machine (or its GPU) has, and how many points fit at once.

Every experiment declares ``memory(config)`` (bytes) and every sweep point has an estimate too
(:func:`madlib.core.sweep.sweep`'s ``memory``). A run, or a sweep point, whose estimate exceeds what
is available is refused before it allocates anything, in one line that gives the estimate and the
parameter to lower (:func:`refuse`); a sweep runs only as many points at once as fit
(:func:`workers_for`).

``MADLIB_MEMORY`` caps what madlib believes it may use (``8G``, ``512M``, ``1.5GiB`` or a number of
bytes): on a machine shared with others, or to see what a smaller machine would do. Without it, the
RAM the operating system reports as available (``psutil``); on a CUDA device, the GPU's free memory.
"""
from __future__ import annotations

import os
import re
from typing import Any

from .params import parse_float

__all__ = ["PROCESS_BYTES", "ResourceError", "available_memory", "memory_cap", "format_gib", "refusal", "workers_for",
           "describe", "loop_items", "loop_peak_items"]

_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 10**3, "KIB": 2**10, "M": 2**20, "MB": 10**6, "MIB": 2**20,
          "G": 2**30, "GB": 10**9, "GIB": 2**30, "T": 2**40, "TB": 10**12, "TIB": 2**40}


#: The memory of a process before its data: the interpreter with numpy, pandas, torch and madlib imported (a
#: maximum resident size of 313 MiB measured on Linux, 2026-12-06, rounded up); every estimate adds it.
PROCESS_BYTES = 350e6


class ResourceError(RuntimeError):
    """The machine ran out of something a run needed (a sweep worker killed by the operating system):
    the command line prints it as one line, exit status 2, like a refused argument."""


def memory_cap() -> int | None:
    """``MADLIB_MEMORY`` in bytes, or None when unset."""
    raw = os.environ.get("MADLIB_MEMORY", "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"([0-9.eE+]+)\s*([A-Za-z]*)", raw)
    unit = match.group(2).upper() if match else None
    try:
        value = parse_float("MADLIB_MEMORY", match.group(1)) if match else float("nan")
    except ValueError:
        value = float("nan")
    if unit not in _UNITS or not (value > 0 and value * _UNITS[unit] < 2**62):
        raise ValueError(f"MADLIB_MEMORY must be an amount of memory such as 8G, 512M or 1.5GiB, got {raw!r}")
    return int(value * _UNITS[unit])


def available_memory(device: Any = None) -> tuple[int, str]:
    """``(bytes, what)``: the memory a run on ``device`` may use now and its name (``RAM``, ``GPU memory``),
    capped by ``MADLIB_MEMORY``."""
    import torch

    cap = memory_cap()
    device = torch.device(device) if device is not None else torch.device("cpu")
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return (int(free) if cap is None else min(int(free), cap)), "GPU memory"
    import psutil

    available = int(psutil.virtual_memory().available)
    return (available if cap is None else min(available, cap)), "RAM"


def format_gib(size: float) -> str:
    """``12.3 GiB``, ``412 MiB``."""
    if size >= 2**30:
        return f"{size / 2**30:.1f} GiB"
    return f"{max(size, 0) / 2**20:.0f} MiB"


def describe(estimate: Any) -> tuple[float, str | None]:
    """A declared estimate as ``(bytes, what to lower)``: ``memory(config)`` returns bytes, or
    ``(bytes, "lower replicates or n_real")`` to name the parameter that shrinks it."""
    if isinstance(estimate, tuple):
        size, advice = estimate
        return float(size), str(advice)
    return float(estimate), None


def refusal(what: str, needed: float, available: float, kind: str, advice: str | None = None) -> str:
    """The one line of a refused run: ``what`` needs about X, the machine has Y, what to lower."""
    return (f"{what} needs about {format_gib(needed)} of memory (estimated from its configuration), but this "
            f"machine has {format_gib(available)} of {kind} available: {advice or 'lower replicates, n_real or generations'}"
            + ("" if os.environ.get("MADLIB_MEMORY") else " (or run it on a machine with more memory)"))


def workers_for(per_point: float, cores: int, available: float) -> int:
    """How many points run at once: every core, as long as that many points fit in ``available`` bytes
    (at least one: a point that does not fit alone is refused before, see :func:`refusal`)."""
    if per_point <= 0 or available == float("inf"):
        return max(1, int(cores))
    return max(1, min(int(cores), int(available // per_point)))


def loop_items(workflow: str, n_real: float, n_synthetic: float, generations: float) -> float:
    """The training items a self-consuming loop fits over a run (generation 0 included): what its cost
    grows with. ``accumulate`` keeps every generation's samples, so its training set grows with t."""
    G = float(generations)
    if workflow == "accumulate":
        return (G + 1) * n_real + n_synthetic * G * (G + 1) / 2
    if workflow in ("augment", "fresh", "mix"):
        return n_real + G * (n_real + n_synthetic)
    return n_real + G * n_synthetic


def loop_peak_items(workflow: str, n_real: float, n_synthetic: float, generations: float) -> float:
    """The largest training set of a loop's run (what its memory grows with)."""
    if workflow in ("accumulate", "accumulate-subsample"):  # the pool keeps everything so far
        return n_real + float(generations) * n_synthetic
    if workflow in ("augment", "fresh", "mix"):
        return n_real + n_synthetic
    return max(n_real, n_synthetic)
