"""The theory chapter's exercises: one step of curation by pairwise comparison (implement it) and two "break it"
checkers that run the chapter's loops with the learner's setting.

The learner writes ``curation_step(probs, reward)``: a curator draws two items from ``probs`` (a distribution over
K categories) and keeps one, x over y with the Bradley-Terry probability ``sigmoid(r(x) - r(y))``; the function
returns the distribution of the kept item. :func:`check_curation_step` runs it against
:func:`madlib.theory.curation.pairwise_curation_step` and names the usual mistakes.

Break it: :func:`check_kept_share_breaks` finds a number of items a generation at which *keep 5% real* is
*replace* (a training set holds a whole number of real items); :func:`check_verifier_worse_than_coin` finds a
generator's label error at which a verifier right 65% of the time trains a classifier worse than a coin.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..core.workflows import kept_real_count
from ..simulations import theory as sims
from ..theory.curation import limit_accuracy, pairwise_curation_step, softmax_curation_step
from ..theory.recursion import kept_fraction_fixed_point
from . import CheckResult, run_learner

EXERCISE = "one step of pairwise curation"
BREAK_KEPT = "break it: keep real data, and still collapse"
BREAK_VERIFIER = "break it: a verifier that makes things worse"
_KEPT_SHARE, _KEPT_GENERATIONS, _KEPT_RUNS = 0.05, 50, 500
_VERIFIER_ACCURACY, _VERIFIER_CANDIDATES, _VERIFIER_RUNS = 0.65, 10_000, 1000

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


def check_kept_share_breaks(n_real, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 8): run the Gaussian with ``n_real`` items a generation under *keep 5% real* and under
    *replace* (50 generations, 500 runs, the same seed) and find an ``n_real`` at which the kept share ends where
    replace ends: its mean variance within two standard errors of replace's. Never raises."""
    if isinstance(n_real, bool) or not isinstance(n_real, (int, np.integer)) or not 10 <= n_real <= 2000:
        return CheckResult(BREAK_KEPT, False, [f"n_real must be an integer in [10, 2000], got {n_real!r}"])
    n = int(n_real)
    runs = {case: sims.simulate_contraction(case, n=n, generations=_KEPT_GENERATIONS, replicates=_KEPT_RUNS,
                                            seed=seed)["var"][-1] for case in ("keep 5% real", "replace")}
    kept, replace = runs["keep 5% real"], runs["replace"]
    difference = kept - replace
    se = float(difference.std(ddof=1) / np.sqrt(difference.size))
    items = kept_real_count(_KEPT_SHARE, n)
    promised = kept_fraction_fixed_point(n, _KEPT_SHARE, approximate=True)
    messages = [f"{n} items a generation: after {_KEPT_GENERATIONS} generations ({_KEPT_RUNS} runs) the mean variance "
                f"is {kept.mean():.3f} keeping 5% real and {replace.mean():.3f} under replace; each training set "
                f"holds {items} real item(s), and the closed form 2fn/(2fn+1) promises {promised:.2f}"]
    if abs(float(difference.mean())) <= 2 * se:
        messages.append(f"broken: 5% of {n} items is {_KEPT_SHARE * n:g} of an item, and a training set holds a whole "
                        f"number of real items, here {items}: the loop is replace. The closed form treats fn as a "
                        "real number; counts, not shares, decide the fixed point")
        return CheckResult(BREAK_KEPT, True, messages)
    messages.append(f"not broken yet: {items} real item(s) a generation still anchor the loop. Fewer items a "
                    "generation, until 5% of them rounds to no item at all")
    return CheckResult(BREAK_KEPT, False, messages)


def check_verifier_worse_than_coin(label_error, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 8): let the generator's synthetic labels be wrong with probability ``label_error`` and
    find one at which a verifier right 65% of the time (10,000 candidates, 1,000 runs) trains a classifier
    worse than a coin: mean test accuracy more than two standard errors below 1/2. Never raises."""
    ok = isinstance(label_error, (int, float, np.integer, np.floating)) and not isinstance(label_error, bool)
    if not ok or not np.isfinite(label_error) or not 0 <= label_error < 1:
        return CheckResult(BREAK_VERIFIER, False, [f"label_error must be a number in [0, 1), got {label_error!r}"])
    p, q = float(label_error), _VERIFIER_ACCURACY
    out = sims.simulate_verifier_transition([q], [_VERIFIER_CANDIDATES], label_error=p, dim=10, signal=1.0,
                                            replicates=_VERIFIER_RUNS, seed=seed)
    accuracy = out["accuracy"][0, 0]
    mean, se = float(accuracy.mean()), float(accuracy.std(ddof=1) / np.sqrt(accuracy.size))
    limit = limit_accuracy(p, 1 - q, 1.0, true_accept=q)
    messages = [f"labels wrong {p:.0%} of the time, a verifier right {q:.0%} of the time: the classifier's test "
                f"accuracy is {mean:.3f} ± {se:.4f} ({_VERIFIER_CANDIDATES:,} candidates, {_VERIFIER_RUNS:,} runs); "
                f"with unlimited candidates it would be {limit:.3f}"]
    if mean + 2 * se < 0.5:
        messages.append(f"broken: the breakdown point is q = p. With p = {p:g} > {q:g} the kept labels are still "
                        "mostly wrong, and the classifier learns the wrong side. A verifier's worth is relative to "
                        "the generator it checks")
        return CheckResult(BREAK_VERIFIER, True, messages)
    messages.append(f"not broken yet: a verifier helps as long as it is right more often than the generator is wrong "
                    f"(q > p). Make the labels worse than {q:.0%} wrong")
    return CheckResult(BREAK_VERIFIER, False, messages)
