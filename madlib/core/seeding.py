"""Child seeds: the one rule by which a run derives the seed of each of its parts.

A run has one seed. Every independent random stream inside it (the loop's evaluation
draws, a reference sample, one replicate's chain, a sweep point, the dropout masks of a
training run) gets its own seed from :func:`child_seed`, keyed by *what the stream is
for*, never by arithmetic such as ``seed + 1``: offsets collide (run 1's evaluation
stream would be run 2's data stream) and say nothing about their purpose.

``child_seed(seed, *key)`` feeds the run's seed and the SHA-256 of the key's canonical
JSON to numpy's :class:`~numpy.random.SeedSequence`, so it is

* the same in every process, machine and Python version (no ``hash()``),
* different for different keys or seeds (up to a 2**-63 chance), and
* independent of the order in which parts are created.
"""
from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

import numpy as np
import torch

from .validation import check_int

SEED_BITS = 63  # fits torch.manual_seed, numpy and a signed int64

# Held by code that seeds torch's global generator and draws from it (a network's initial weights come from
# there: nn.Module's initialisers have no generator argument). Chains that run in threads at once
# (madlib.core.chains) would otherwise interleave their draws and no longer be the chains a run one after
# another makes. Re-entrant, so a helper that holds it may call another that does.
GLOBAL_RNG = threading.RLock()

__all__ = ["GLOBAL_RNG", "SEED_BITS", "canonical_json", "key_digest", "child_seed", "generator", "seed_from"]


def canonical_json(key: Any) -> str:
    """The key's canonical JSON: sorted keys, no spaces, no NaN (so equal keys hash equally).

    JSON tells ``1`` from ``1.0``: keep a coordinate's type fixed across runs.
    """
    try:
        return json.dumps(key, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"a seed key must be JSON-able without NaN or infinity, got {key!r}: {error}") from None


def key_digest(key: Any) -> str:
    """SHA-256 (hex) of the key's canonical JSON: stable across processes, machines and Python versions."""
    return hashlib.sha256(canonical_json(key).encode()).hexdigest()


def child_seed(seed: int, *key: Any) -> int:
    """The seed of the part of a run named by ``key``, in ``[0, 2**63)``.

    ``key`` is one or more JSON-able values naming the part, for example
    ``child_seed(seed, "evaluation")``, ``child_seed(seed, "replicate", 3)`` or a sweep
    point's coordinates ``child_seed(seed, {"scale": 0.1, "n": 100})``. One value is
    hashed as itself, several as a JSON list.
    """
    seed = check_int("seed", seed, 0)
    if not key:
        raise ValueError("child_seed needs a key naming the part of the run, e.g. child_seed(seed, 'evaluation')")
    words = [int(w) for w in np.frombuffer(bytes.fromhex(key_digest(key[0] if len(key) == 1 else list(key))),
                                           dtype=">u4")]
    state = np.random.SeedSequence([seed, *words]).generate_state(1, dtype=np.uint64)[0]
    return int(state) >> (64 - SEED_BITS)


def generator(seed: int, *key: Any, device: torch.device | str = "cpu") -> torch.Generator:
    """The library's one way to make a random stream: a torch generator seeded with ``seed``, or with
    ``child_seed(seed, *key)`` when a key names the part of the run it is for.

    It lives on ``device``, except on Apple MPS, whose generators cannot draw float64: there it lives on
    the CPU and callers move what it draws (every sampler in the library does).
    """
    device = torch.device(device)
    home = torch.device("cpu") if device.type == "mps" else device
    return torch.Generator(device=home).manual_seed(child_seed(seed, *key) if key else check_int("seed", seed, 0))


def seed_from(generator: torch.Generator) -> int:
    """A seed in ``[0, 2**62)`` drawn from ``generator``: how a stream hands a sub-stream its seed
    (a model that makes its own generator inside a fit, say)."""
    return int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
