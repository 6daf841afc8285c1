"""Checkpoints of the self-consuming loop: save every finished generation, resume at the next.

A :class:`Checkpointer` owns one folder. After each generation the loop hands it the full
state (models, data, random streams, the metrics and artefacts so far); it is written
atomically, so a kill at any moment leaves the last finished generation intact.

The file is plain data, never a pickle (:mod:`madlib.core.state`: tensors in safetensors, the rest
in JSON, models as the allow-listed classes' attributes or a module's constructor arguments and
weights). A state carries a fingerprint of the run's configuration in the file's header, which is
read and checked *before* anything else in the file is deserialised: a folder that holds another
run is refused, never silently resumed.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from .cache import prepare_cache_folder, read_cached
from .state import load_state, read_metadata, save_state

#: What the loop hands over and expects back.
STATE_KEYS = ("generation", "model", "data", "weights", "original", "records", "artefacts", "workflow_state",
              "real_state", "generator", "eval_generator")


class Checkpointer:
    """Save and load the loop's state in ``directory`` (``state.safetensors``), keyed by ``fingerprint``."""

    FILE = "state.safetensors"

    def __init__(self, directory: str | Path, fingerprint: str):
        self.directory = Path(directory)
        self.fingerprint = fingerprint
        self.path = self.directory / self.FILE

    def load(self, map_location: torch.device | str | None = None) -> dict[str, Any] | None:
        """The saved state, or None when there is none (or it is unreadable: then the run starts over).

        Tensors saved from an accelerator go to ``map_location``; CPU tensors (random states) stay."""
        metadata = read_cached(self.path, read_metadata)  # the header alone: nothing deserialised yet
        if metadata is None:
            return None
        if metadata.get("fingerprint") != self.fingerprint:
            raise ValueError(f"checkpoint_dir {str(self.directory)!r} holds a different run; "
                             "use another directory or delete it")
        state = read_cached(self.path, lambda p: load_state(p, map_location))
        if state is None:
            return None
        missing = [key for key in STATE_KEYS if key not in state] if isinstance(state, dict) else list(STATE_KEYS)
        if missing:
            warnings.warn(f"ignoring the checkpoint {self.path}: it lacks {missing}; starting over", stacklevel=2)
            return None
        return {**state, "fingerprint": self.fingerprint}

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` atomically, the fingerprint in the file's header (the folder: this user's,
        created private and tagged, see :func:`madlib.core.cache.prepare_cache_folder`)."""
        if not self.directory.exists():
            prepare_cache_folder(self.directory, "checkpoint_dir")
        save_state(self.path, {key: value for key, value in state.items() if key != "fingerprint"},
                   {"fingerprint": self.fingerprint})

    def clear(self) -> None:
        """Forget the saved state (a finished run no longer needs it)."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:  # pragma: no cover - a read-only folder: keeping it is harmless
            warnings.warn(f"could not remove {self.path}: {error}", stacklevel=2)
