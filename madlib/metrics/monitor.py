"""Early warning of collapse for a real pipeline: compare a model's samples of generation t with real data.

``monitor(reference, samples)`` computes the course's early-collapse indicators of every generation's samples
against a real *reference* set and says which are *moving*: it splits the reference in two, keeps one half as
the anchor, and draws ``null_draws`` subsets of the other half of the samples' size to see how far each indicator
wanders for real data of that size (its null mean and spread). An indicator is moving when it lies more than
``threshold`` null standard deviations from the null mean in the direction collapse pushes it.

Indicators (``kind``):

* ``"vectors"`` (points, embeddings, features ``(N, d)``): *tail mass*, the share of samples beyond the anchor's
  outer 1% per dimension (falls as the tails go); *recall* (k-NN, Kynkaanniemi et al.; falls as diversity goes);
  *precision* (rises under sampling bias, falls as samples leave the data); *spread*, the samples' total standard
  deviation over the anchor's (falls); with a ``classify`` function, *class entropy* of the predicted labels (falls);
* ``"text"`` (strings): *distinct-2* at a matched number of bigrams, *effective vocabulary* (Hill number of order
  1) over a matched number of words, *rare-word survival* (of the anchor's words seen at most twice, the share that
  still occurs; falls first);
* ``"labels"`` (category ids): *class entropy* and the *rarest class's share* (both fall).

The result is a tidy frame (generation, indicator, value, null_mean, null_sd, z, moving) and
:func:`moving_indicators` lists, per generation, what moved. See the page "Monitoring a pipeline".
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..core.config import to_float64
from ..core.validation import check_choice, check_float, check_int
from .manifold import knn_radii
from .text import distinct_n_at, effective_vocabulary, rare_token_survival, words

KINDS = ("vectors", "text", "labels")


@dataclass(frozen=True)
class Indicator:
    """One indicator: its ``name``, the function ``(anchor, samples) -> float``, and the sign of the change that
    collapse causes (-1: it falls, +1: it rises, 0: either way is a warning)."""

    name: str
    compute: Callable[[object, object], float]
    collapse_direction: int
    meaning: str


def _tail_mass(anchor: np.ndarray, samples: np.ndarray, q: float = 0.01) -> float:
    low, high = np.quantile(anchor, q, axis=0), np.quantile(anchor, 1 - q, axis=0)
    return float(((samples < low) | (samples > high)).mean())


def _spread(anchor: np.ndarray, samples: np.ndarray) -> float:
    return float(np.sqrt(samples.var(axis=0).sum() / anchor.var(axis=0).sum()))


class _Manifolds:
    """Precision and recall (k = 5) against one anchor, its k-NN radii computed once; the last sample's pair is
    remembered, so the two indicators of one sample cost one computation."""

    def __init__(self, k: int = 5):
        self.k, self._anchor, self._last = k, None, (None, None)

    def __call__(self, anchor: np.ndarray, samples: np.ndarray, which: int) -> float:
        if self._anchor is None or self._anchor[0] is not anchor:
            points = to_float64(anchor)
            self._anchor = (anchor, points, knn_radii(points[None], self.k)[0])
        if self._last[0] is not samples:
            _, real, real_radii = self._anchor
            generated = to_float64(samples)
            radii = knn_radii(generated[None], self.k)[0]
            precision = (torch.cdist(generated, real) <= real_radii[None, :]).any(dim=1).sum() / len(generated)
            recall = (torch.cdist(real, generated) <= radii[None, :]).any(dim=1).sum() / len(real)
            self._last = (samples, (float(precision), float(recall)))
        return self._last[1][which]


def _entropy(labels) -> float:
    counts = np.asarray(list(Counter(np.asarray(labels).ravel().tolist()).values()), dtype=float)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def _rarest_share(anchor, samples) -> float:
    anchor_counts = Counter(np.asarray(anchor).ravel().tolist())
    rarest = min(anchor_counts, key=anchor_counts.get)
    return float((np.asarray(samples).ravel() == rarest).mean())


def indicators(kind: str, classify: Callable | None = None, size: int | None = None) -> list[Indicator]:
    """The indicators of ``kind`` (see the module docstring); ``size`` is the matched sample size for text."""
    kind = check_choice("kind", kind, KINDS)
    if kind == "vectors":
        manifolds = _Manifolds()
        out = [Indicator("tail mass", _tail_mass, -1, "share beyond the reference's outer 1% per dimension"),
               Indicator("recall", lambda a, s: manifolds(a, s, 1), -1, "real data covered by the samples"),
               Indicator("precision", lambda a, s: manifolds(a, s, 0), 0, "samples inside the real data"),
               Indicator("spread", _spread, -1, "total standard deviation relative to the reference")]
        if classify is not None:
            out.append(Indicator("class entropy", lambda a, s: _entropy(classify(s)), -1,
                                 "entropy of the predicted classes (nats)"))
        return out
    if kind == "text":
        def bigrams(a, s):
            return distinct_n_at(s, 2, size)

        def vocabulary(a, s):
            tokens = [w for t in s for w in words(t)][: size or None]
            return effective_vocabulary([" ".join(tokens)])

        return [Indicator("distinct-2", bigrams, -1, "distinct word bigrams over a matched count"),
                Indicator("effective vocabulary", vocabulary, -1, "Hill number of order 1 of the word counts"),
                Indicator("rare-word survival", lambda a, s: rare_token_survival(a, s), -1,
                          "share of the reference's rarest words still used")]
    return [Indicator("class entropy", lambda a, s: _entropy(s), -1, "entropy of the category shares (nats)"),
            Indicator("rarest class share", _rarest_share, -1, "share of the reference's rarest category")]


def _as_items(data, kind: str):
    if kind == "vectors":
        array = np.asarray(data.detach().cpu() if isinstance(data, torch.Tensor) else data, dtype=float)
        return array[:, None] if array.ndim == 1 else array
    if kind == "labels":
        return np.asarray(data.detach().cpu() if isinstance(data, torch.Tensor) else data).ravel()
    return list(data)


def _subset(items, index):
    return items[index] if isinstance(items, np.ndarray) else [items[i] for i in index]


def monitor(reference, samples: Mapping[int, object] | Sequence, *, kind: str = "vectors",
            classify: Callable | None = None, null_draws: int = 20, threshold: float = 3.0,
            seed: int = 0) -> pd.DataFrame:
    """Indicators of each generation's ``samples`` (a mapping generation -> samples, or a list: generation =
    position) against ``reference`` (real data, at least twice the largest sample), with their null spread from
    real subsets of the same size; ``moving`` is true where an indicator has moved by more than ``threshold``
    null standard deviations in the direction collapse pushes it."""
    kind = check_choice("kind", kind, KINDS)
    null_draws = check_int("null_draws", null_draws, 5)
    threshold = check_float("threshold", threshold, 0.0, open_minimum=True)
    batches = dict(samples) if isinstance(samples, Mapping) else dict(enumerate(samples))
    reference = _as_items(reference, kind)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(reference))
    half = len(reference) // 2
    anchor, pool = _subset(reference, order[:half]), _subset(reference, order[half:])
    rows = []
    for generation, batch in batches.items():
        batch = _as_items(batch, kind)
        size = len(batch)
        if size > len(pool):
            raise ValueError(f"generation {generation} has {size} samples but the reference only {len(reference)} "
                             f"items: it needs at least {2 * size} (half anchor, half null)")
        text_size = sum(len(words(t)) for t in batch) - len(batch) if kind == "text" else None
        measures = indicators(kind, classify, text_size)
        values = [m.compute(anchor, batch) for m in measures]
        nulls = np.empty((null_draws, len(measures)))
        for draw in range(null_draws):  # every indicator of one real subset together (they share its k-NN radii)
            subset = _subset(pool, rng.choice(len(pool), size, replace=False))
            nulls[draw] = [m.compute(anchor, subset) for m in measures]
        for indicator, value, null in zip(measures, values, nulls.T):
            null_mean, null_sd = float(np.nanmean(null)), float(np.nanstd(null, ddof=1))
            z = (value - null_mean) / null_sd if null_sd > 0 else (0.0 if value == null_mean else np.sign(value - null_mean) * np.inf)
            direction = indicator.collapse_direction
            moving = bool(abs(z) > threshold if direction == 0 else direction * z > threshold)
            rows.append({"generation": generation, "indicator": indicator.name, "value": value,
                         "null_mean": null_mean, "null_sd": null_sd, "z": float(z), "moving": moving,
                         "meaning": indicator.meaning})
    return pd.DataFrame(rows)


def moving_indicators(report: pd.DataFrame) -> dict:
    """``{generation: [indicators that moved]}`` from a :func:`monitor` report (generations with none included)."""
    return {g: part.loc[part["moving"], "indicator"].tolist() for g, part in report.groupby("generation", sort=True)}


def first_alarm(report: pd.DataFrame) -> dict:
    """``{indicator: the first generation at which it moved}`` (None when it never moved)."""
    out = {}
    for name, part in report.groupby("indicator", sort=False):
        moved = part.sort_values("generation")
        hits = moved.loc[moved["moving"], "generation"]
        out[name] = None if hits.empty else int(hits.iloc[0])
    return out
