"""Scale, device and the thread setting: one place each (seeds: :mod:`madlib.core.seeding`).

``MADLIB_SCALE`` picks how big every experiment is:

* ``smoke``   -- seconds per chapter (the test suite),
* ``default`` -- a few minutes per chapter on a laptop CPU (the book),
* ``full``    -- the papers' sizes, meant for a GPU.

``MADLIB_DEVICE`` overrides the device helper (``cpu``, ``cuda``, ``mps``).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Iterator, TypeVar

import numpy as np
import torch

SCALES = ("smoke", "default", "full")
T = TypeVar("T")


def get_scale() -> str:
    """The scale named by ``MADLIB_SCALE`` (``default`` when unset)."""
    scale = os.environ.get("MADLIB_SCALE", "default").strip().lower() or "default"
    if scale not in SCALES:
        raise ValueError(f"MADLIB_SCALE must be one of {SCALES}, got {scale!r}")
    return scale


@dataclass(frozen=True)
class Scaled(Generic[T]):
    """A value that depends on the scale, resolved when an experiment runs."""

    smoke: T
    default: T
    full: T

    def resolve(self, scale: str | None = None) -> T:
        scale = scale or get_scale()
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        return getattr(self, scale)


def scaled(smoke: T, default: T, full: T | None = None) -> Scaled[T]:
    """Shorthand: ``scaled(smoke=10, default=100, full=1000)``; ``full`` defaults to ``default``."""
    return Scaled(smoke, default, default if full is None else full)


def resolve(value: Any, scale: str | None = None) -> Any:
    """Resolve a possibly :class:`Scaled` value."""
    return value.resolve(scale) if isinstance(value, Scaled) else value


DEVICE_TYPES = ("cpu", "cuda", "mps")


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA if present, else Apple MPS, else CPU; ``prefer`` or ``MADLIB_DEVICE`` names one instead.

    A named device must exist on this machine (``cpu``, ``cuda``, ``cuda:N``, ``mps``; any case):
    an unknown name or an absent accelerator is a ``ValueError`` that says what is available,
    never a silent fall-back to the CPU under another name.
    """
    source = "device" if prefer else "MADLIB_DEVICE"
    name = (prefer or os.environ.get("MADLIB_DEVICE") or "").strip().lower()
    if name:
        available = [t for t in DEVICE_TYPES if _device_available(t)]
        try:
            device = torch.device(name)
        except (RuntimeError, ValueError):
            raise ValueError(f"{source}={name!r} is not a device; use one of {available}") from None
        if device.type not in DEVICE_TYPES:
            raise ValueError(f"{source}={name!r} is not a compute device; use one of {available}")
        if not _device_available(device.type):
            raise ValueError(f"{source}={name!r} was requested but this machine has no {device.type.upper()}; "
                             f"available: {available}")
        if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{source}={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _device_available("mps"):
        return torch.device("mps")
    return torch.device("cpu")


def _device_available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "cuda":
        return torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def float64_device(device: torch.device | str) -> torch.device:
    """``device``, or the CPU where it cannot hold float64 tensors (Apple MPS): the exact chains
    (Gaussian, categorical, mixtures) need float64."""
    device = torch.device(device)
    return torch.device("cpu") if device.type == "mps" else device


def to_float64(values: Any) -> torch.Tensor:
    """``values`` as a float64 tensor, on the CPU when its device cannot hold float64 (Apple MPS).

    The metrics compute in float64 (FID's matrix square root, shares of counts); features that a
    model computed on MPS would otherwise raise "Cannot convert a MPS Tensor to float64"."""
    tensor = torch.as_tensor(values)
    return tensor.to(device=float64_device(tensor.device), dtype=torch.float64)


def _positive_threads(threads: Any) -> int:
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return int(threads)


@contextmanager
def cpu_threads(threads: int | None = 1, *, device: torch.device | str | None = None) -> Iterator[None]:
    """Run torch's CPU ops with ``threads`` intra-op threads, then restore the setting.

    :func:`madlib.experiments.run_experiment` sets each run's policy with it, once (the experiment's
    ``threads``); ``None`` leaves torch's setting alone, and so does a ``device`` that is not the CPU.
    """
    if threads is None or (device is not None and torch.device(device).type != "cpu"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(_positive_threads(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
