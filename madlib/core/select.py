"""The shared selection rules: keep the best items, count candidates, round shares to counts.

Curation, cherry-picking and verification all come down to "score the items, keep the
best ``k``"; drawing extra candidates to keep a share of them; and turning shares into
whole counts. Each rule is written once, here.
"""
from __future__ import annotations

import math

import torch

from .validation import check_float, check_int


def n_candidates(n_keep: int, keep_fraction: float) -> int:
    """How many candidates to draw so that keeping ``n_keep`` of them keeps a share ``keep_fraction``
    (``ceil(n_keep / keep_fraction)``, never fewer than ``n_keep``)."""
    n_keep = check_int("n_keep", n_keep, 0)
    keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, open_minimum=True)
    return max(n_keep, math.ceil(n_keep / keep_fraction - 1e-9))


def n_kept(n_items: int, keep_fraction: float) -> int:
    """How many of ``n_items`` a share ``keep_fraction`` keeps: ``round(keep_fraction * n_items)``, at least 1."""
    n_items = check_int("n_items", n_items, 1)
    keep_fraction = check_float("keep_fraction", keep_fraction, 0.0, 1.0, open_minimum=True)
    return max(1, int(round(keep_fraction * n_items)))


def top_indices(scores: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices ``(R, k)`` of the ``k`` highest ``scores (R, m)`` per row, best first.

    With a ``generator``, exactly equal scores (categorical items share a likelihood) are
    ordered at random; without one, ``torch.topk`` decides. NaN scores rank last.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (R, m), got {tuple(scores.shape)}")
    k = check_int("k", k, 0, scores.shape[1])
    scores = torch.nan_to_num(scores.to(torch.float64), nan=-torch.inf)
    if generator is None:
        return scores.topk(k, dim=1).indices
    jitter = torch.rand(scores.shape, generator=generator, device=generator.device, dtype=torch.float64)
    # rank by score, then by jitter among equal scores: a lexicographic sort, exact at any score scale
    order = jitter.to(scores.device).argsort(dim=1, descending=True)
    order = order.gather(1, scores.gather(1, order).argsort(dim=1, descending=True, stable=True))
    return order[:, :k]


def keep_top(scores: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Weights ``(R, m)`` in {0, 1}: 1 for the ``k`` highest ``scores`` of each row (see :func:`top_indices`)."""
    top = top_indices(scores, k, generator)
    return torch.zeros(scores.shape, dtype=torch.float64, device=scores.device).scatter_(1, top, 1.0)


def keep_top_fraction(scores: torch.Tensor, keep_fraction: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """:func:`keep_top` of the share ``keep_fraction`` (:func:`n_kept`) of each row's items."""
    return keep_top(scores, n_kept(scores.shape[1], keep_fraction), generator)


def largest_remainder(shares: torch.Tensor, n: int) -> torch.Tensor:
    """Whole counts ``(K,)`` (int64) summing to ``n`` closest to ``n * shares / sum(shares)``.

    The largest-remainder (Hamilton) method; ties go to the earlier category.
    """
    n = check_int("n", n, 0)
    shares = torch.as_tensor(shares, dtype=torch.float64).cpu()
    if shares.ndim != 1 or shares.numel() == 0 or bool((shares < 0).any()) or float(shares.sum()) <= 0:
        raise ValueError("shares must be a non-empty 1-D tensor of non-negative numbers with a positive sum")
    exact = shares / shares.sum() * n
    counts = exact.floor()
    short = int(n - counts.sum().item())
    if short > 0:
        order = torch.argsort(exact - counts, descending=True, stable=True)
        counts[order[:short]] += 1
    return counts.to(torch.int64)


def random_subset(generator: torch.Generator, replicates: int, size: int, k: int,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Indices ``(R, k)`` of a uniform random k-subset of ``range(size)`` per replicate (the library's one way).

    The k smallest of ``size`` uniform keys: their positions are a uniform k-subset, in the order of
    the keys (so also a uniform random order). ``topk`` costs O(size), a full argsort O(size log size).
    """
    keys = torch.rand(replicates, size, generator=generator, device=generator.device)
    chosen = keys.topk(min(k, size), dim=1, largest=False, sorted=True).indices
    return chosen if device is None else chosen.to(device)
