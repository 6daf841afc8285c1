"""Checkpoints of the self-consuming loop: save every finished generation, resume at the next.

A :class:`Checkpointer` owns one folder. After each generation the loop hands it the full
state (models, data, random streams, the metrics and artefacts so far); it is written
atomically, so a kill at any moment leaves the last finished generation intact. A state
carries a fingerprint of the run's configuration: a folder that holds another run is refused,
never silently resumed.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from .cache import atomic_torch_save, read_cached


class Checkpointer:
    """Save and load the loop's state in ``directory`` (``state.pt``), keyed by ``fingerprint``."""

    def __init__(self, directory: str | Path, fingerprint: str):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.path = self.directory / "state.pt"

    def load(self, map_location: torch.device | str | None = None) -> dict[str, Any] | None:
        """The saved state, or None when there is none (or it is unreadable: then the run starts over)."""
        state = read_cached(self.path, lambda p: torch.load(p, weights_only=False, map_location=map_location))
        if state is None:
            return None
        if state.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint_dir {str(self.directory)!r} holds a different run; "
                             "use another directory or delete it")
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (with the fingerprint) atomically."""
        atomic_torch_save({**state, "fingerprint": self.fingerprint}, self.path)

    def clear(self) -> None:
        """Forget the saved state (a finished run no longer needs it)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:  # pragma: no cover - a read-only folder: keeping it is harmless
            warnings.warn(f"could not remove {self.path}: {error}", stacklevel=2)
