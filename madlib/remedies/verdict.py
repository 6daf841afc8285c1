"""Collapse, a bounded loss, or held: what one relative-quality curve says (chapters 6 and 7).

A single threshold ("collapsed at the first generation below 0.75") calls two different things by one
name: a loop whose quality keeps falling towards zero (*collapse*, the random walk of chapter 8's regime 1)
and a loop that lost part of its quality once and then settled at a fixed point (a *bounded permanent loss*,
regime 2: a web scrape with undetected cherry-picked content, for example). :func:`collapse_verdict` tells
them apart from the curve alone:

* ``"held"``: never below the threshold within the horizon;
* ``"lost"``: below the threshold and ending near zero (below ``floor``): collapsed;
* ``"falling"``: below the threshold and still declining over the last part of the horizon (by more than
  ``tolerance`` of its level): collapse in progress, or a loss that has not settled yet;
* ``"settled"``: below the threshold but flat over the last part of the horizon: a bounded loss, at
  ``level`` (the mean of that part);
* ``"too short"``: below the threshold, not declining, but the horizon is shorter than ``min_horizon``
  generations: five generations cannot tell a level from a pause;
* ``"unmeasured"``: the curve has no finite value after generation 0 (a smoke-scale VAE whose recall is 0
  at generation 0, say): nothing can be said.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..core.validation import check_float, check_int
from .filters import generations_to_collapse

VERDICTS = ("held", "settled", "falling", "lost", "too short", "unmeasured")


@dataclass(frozen=True)
class Verdict:
    """What a relative-quality curve did: ``kind`` (one of :data:`VERDICTS`), the first generation below the
    threshold (``crossed``, None when it held), the ``final`` value and, for a settled curve, its ``level``."""

    kind: str
    crossed: int | None
    final: float
    level: float | None = None

    def short(self) -> str:
        """A cell label for the scoreboard: 'held', 'settles 0.74', 'falls (gen 25)', 'lost (gen 3)'."""
        if self.kind in ("held", "unmeasured"):
            return "held" if self.kind == "held" else "not measured"
        if self.kind == "settled":
            return f"settles {self.level:.2f}"
        if self.kind == "too short":
            return f"below (gen {self.crossed})"
        return f"{'falls' if self.kind == 'falling' else 'lost'} (gen {self.crossed})"


def collapse_verdict(generations: Sequence[int], relative_quality: Sequence[float], threshold: float = 0.75, *,
                     floor: float = 0.05, tolerance: float = 0.05, tail: float = 0.5,
                     min_horizon: int = 20) -> Verdict:
    """Classify one curve (generation 0 = 1.0) as held, settled (a bounded loss), falling or lost.

    The last ``tail`` share of the horizon decides between *falling* and *settled*: a least-squares line
    through it that drops by more than ``tolerance`` times its mean level over that stretch is falling."""
    threshold = check_float("threshold", threshold, 0.0, 1.0, open_minimum=True)
    floor = check_float("floor", floor, 0.0, 1.0)
    tolerance = check_float("tolerance", tolerance, 0.0)
    tail = check_float("tail", tail, 0.0, 1.0, open_minimum=True)
    min_horizon = check_int("min_horizon", min_horizon, 1)
    g = np.asarray(generations, dtype=float)
    v = np.asarray(relative_quality, dtype=float)
    if g.shape != v.shape or g.ndim != 1 or g.size < 2:
        raise ValueError(f"generations and relative_quality must be 1-d and of the same length >= 2, got "
                         f"{g.shape} and {v.shape}")
    finite = np.isfinite(v)
    if not finite[1:].any() or not finite[0]:
        return Verdict("unmeasured", None, float("nan"))
    g, v = g[finite], v[finite]
    crossed = generations_to_collapse(g.astype(int), v, threshold)
    final = float(v[-1])
    if crossed is None:
        return Verdict("held", None, final)
    if final < floor:
        return Verdict("lost", crossed, final)
    start = g[-1] - tail * (g[-1] - g[0])
    part = g >= start
    if part.sum() < 2:
        part[-2:] = True
    gx, vx = g[part], v[part]
    slope = np.polyfit(gx, vx, 1)[0] if np.ptp(gx) > 0 else 0.0
    level = float(vx.mean())
    drop = -slope * np.ptp(gx) / max(level, 1e-12)
    if drop > tolerance:
        return Verdict("falling", crossed, final)
    if g[-1] - g[0] < min_horizon:
        return Verdict("too short", crossed, final)
    return Verdict("settled", crossed, final, level)
