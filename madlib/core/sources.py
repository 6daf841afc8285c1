"""Where real data comes from in the self-consuming loop.

A *real source* hands out ``(R, n, *event_shape)`` batches of real data. An
infinite source samples a known distribution; a pool source deals items of a
finite data set without replacement, so the *fresh* workflow really sees new
real items each generation and fails clearly when the pool runs dry.
"""
from __future__ import annotations

from typing import Callable, Protocol, runtime_checkable

import torch

from .select import random_subset
from .validation import check_int

Sampler = Callable[[int, int, torch.Generator], torch.Tensor]


@runtime_checkable
class RealSource(Protocol):
    replicates: int

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` new real items per replicate: ``(R, n, *event_shape)``."""
        ...


class DistributionSource:
    """Real data from a known distribution: ``sampler(replicates, n, generator)``."""

    def __init__(self, sampler: Sampler, replicates: int, device: torch.device | str = "cpu"):
        self.sampler = sampler
        self.replicates = check_int("replicates", replicates, 1)
        self.device = torch.device(device)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        n = check_int("n", n, 0)
        data = self.sampler(self.replicates, n, generator)
        if data.shape[:2] != (self.replicates, n):
            raise ValueError(
                f"sampler returned shape {tuple(data.shape)}, expected ({self.replicates}, {n}, ...)"
            )
        return data


class PoolSource:
    """Real data dealt from a finite pool, without replacement, per replicate.

    Each replicate gets its own random order of the pool; successive draws
    continue where the last one stopped.
    """

    def __init__(self, pool: torch.Tensor, replicates: int = 1, *, generator: torch.Generator | None = None):
        if pool.ndim < 1 or pool.shape[0] == 0:
            raise ValueError("pool must be a non-empty tensor of shape (N, *event_shape)")
        self.pool = pool
        self.replicates = check_int("replicates", replicates, 1)
        self.order = random_subset(generator or torch.Generator(), self.replicates, pool.shape[0], pool.shape[0],
                                   pool.device)  # a random order of the whole pool per replicate
        self.cursor = 0

    def state_dict(self) -> dict:
        return {"order": self.order, "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        if state["order"].shape != self.order.shape:
            raise ValueError("the saved pool state does not match this pool's size or replicates")
        self.order, self.cursor = state["order"].to(self.order.device), int(state["cursor"])

    @property
    def remaining(self) -> int:
        return self.pool.shape[0] - self.cursor

    def draw(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        n = check_int("n", n, 0)
        if n > self.remaining:
            raise ValueError(
                f"the real data pool has {self.pool.shape[0]} items and {self.remaining} are left, "
                f"but {n} were requested: lower n_real or generations, or load a larger data set"
            )
        index = self.order[:, self.cursor : self.cursor + n]
        self.cursor += n
        return self.pool[index]
