"""The theory chapter's implement-it exercise: one step of curation by pairwise comparison.

The learner writes ``curation_step(probs, reward)``: a curator draws two items from ``probs`` (a distribution over
K categories) and keeps one, x over y with the Bradley-Terry probability ``sigmoid(r(x) - r(y))``; the function
returns the distribution of the kept item. :func:`check_curation_step` runs it against
:func:`madlib.theory.curation.pairwise_curation_step` and names the usual mistakes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..theory.curation import pairwise_curation_step, softmax_curation_step
from . import CheckResult, run_learner

EXERCISE = "one step of pairwise curation"

#: Seeded inputs: a skewed distribution over four categories and a reward that favours a rare one.
PROBS = np.array([0.5, 0.3, 0.15, 0.05])
REWARD = np.array([0.0, 0.4, -0.3, 1.2])


def _wrong_answers() -> dict[str, np.ndarray]:
    p, r = PROBS, REWARD
    win = 1 / (1 + np.exp(-(r[:, None] - r[None, :])))
    unnormalised = p * (win @ p)
    return {
        "softmax": softmax_curation_step(p, r),
        "half": unnormalised,
        "win only": (win @ p) / (win @ p).sum(),
        "reward only": p * (1 / (1 + np.exp(-r))) / (p * (1 / (1 + np.exp(-r)))).sum(),
        "loser": p * (2 * (1 - win) @ p),
    }


def check_curation_step(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check the learner's ``curation_step(probs, reward) -> probs``; says what is wrong."""
    out, failed = run_learner(EXERCISE, fn, PROBS.copy(), REWARD.copy())
    if failed is not None:
        return failed
    try:
        out = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        return CheckResult(EXERCISE, False, [f"return an array of probabilities, got {type(out).__name__}"])
    expected = pairwise_curation_step(PROBS, REWARD)
    if out.shape != expected.shape:
        return CheckResult(EXERCISE, False, [f"wrong shape: expected {expected.shape} (one probability per category), "
                                             f"got {out.shape}"])
    if np.allclose(out, expected, rtol=1e-9, atol=1e-12):
        return CheckResult(EXERCISE, True, [f"matches the library on a 4-category example: the rewarded rare category "
                                            f"goes from {PROBS[-1]:.2f} to {expected[-1]:.3f} in one step"])
    wrong = _wrong_answers()
    messages = []
    if not np.all(np.isfinite(out)):
        messages.append("non-finite values: sigmoid(r(x) - r(y)) is 1 / (1 + exp(r(y) - r(x)))")
    elif np.allclose(out, wrong["softmax"]):
        messages.append("this is the many-candidate limit p e^r / sum p e^r; with two candidates the kept item is x with "
                        "probability p(x) * sum_y p(y) * 2 sigmoid(r(x) - r(y))")
    elif np.allclose(out, wrong["half"]):
        messages.append("the shares add up to 1/2: either draw may be the one kept, so each pair (x, y) counts twice "
                        "(multiply by 2)")
    elif np.allclose(out, wrong["win only"]):
        messages.append("you left out p(x): x must first be drawn before it can win")
    elif np.allclose(out, wrong["reward only"]):
        messages.append("you compared x with a fixed reward of 0 instead of with the other draw y ~ p")
    elif np.allclose(out, wrong["loser"]):
        messages.append("the comparison is upside down: you keep the item that loses")
    if not messages:
        total = float(out.sum())
        if not np.isclose(total, 1.0):
            messages.append(f"the probabilities sum to {total:.4g}, not 1")
        messages.append(f"largest difference from p(x) sum_y p(y) 2 sigmoid(r(x) - r(y)): "
                        f"{float(np.abs(out - expected).max()):.3g}")
    return CheckResult(EXERCISE, False, messages)
