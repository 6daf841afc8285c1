"""Chapter 7's exercises (filtering and provenance): the verifier's acceptance probability (implement it; the
checker lives in :mod:`madlib.exercises.remedies`) and two "break it" checkers that run the loop with the
learner's setting: a verifier that cannot keep the blue cats (:func:`check_verifier_breaks`) and a tail
reweighting that overshoots (:func:`check_reweighting_breaks`).
"""
from __future__ import annotations

import numpy as np

from ..experiments import run_experiment
from ..simulations.remedies import sweep_point
from ..theory import gaussian as theory
from . import CheckResult
from .remedies import check_acceptance_probability

__all__ = ["check_acceptance_probability", "check_verifier_breaks", "check_reweighting_breaks"]

BREAK_VERIFIER = "break it: an oracle verifier that cannot keep the blue cats"
BREAK_REWEIGHTING = "break it: a tail reweighting worse than the collapse it treats"
_VERIFIER_GENERATIONS, _VERIFIER_RUNS = 60, 100
_REWEIGHT_GENERATIONS, _REWEIGHT_RUNS = 100, 200


def check_verifier_breaks(n_real, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 7): run the oracle verifier on the cats with ``n_real`` cats a generation and find an
    ``n_real`` at which the median world's blue share after 60 generations is below 0.75 of its true 10%.
    Runs the ``remedy-curve`` experiment; never raises."""
    if isinstance(n_real, bool) or not isinstance(n_real, (int, np.integer)) or not 5 <= n_real <= 2000:
        return CheckResult(BREAK_VERIFIER, False, [f"n_real must be an integer in [5, 2000], got {n_real!r}"])
    n = int(n_real)
    curve = run_experiment("remedy-curve", family="cats", remedy="verifier", n_real=n,
                           generations=_VERIFIER_GENERATIONS, replicates=_VERIFIER_RUNS, seed=seed,
                           progress=False).summary
    final = float(curve["final_relative_quality"])
    p_lost = 0.9**n  # a generation's n draws hold no blue cat when the model is at the truth
    messages = [f"{n} cats a generation: the median world keeps {final:.2f} of blue's true share after "
                f"{_VERIFIER_GENERATIONS} generations ({_VERIFIER_RUNS} worlds); even a model at the truth draws no "
                f"blue cat in a generation with probability 0.9^{n} = {p_lost:.2g}"]
    if final < 0.75:
        messages.append("broken: once a generation holds no blue cat, the model's blue share is 0, no candidate is "
                        "blue, and the verifier has nothing to accept. A verifier corrects proportions; it cannot "
                        "bring back a category the generator no longer draws")
        return CheckResult(BREAK_VERIFIER, True, messages)
    messages.append("not broken yet: with this many cats a generation blue is almost never lost in one step, and the "
                    "verifier corrects its share before it is. Fewer cats a generation")
    return CheckResult(BREAK_VERIFIER, False, messages)


def check_reweighting_breaks(strength, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 7): weight the Gaussian's synthetic items by p_model^(-strength) and find a ``strength``
    at which the median sigma after 100 generations is more than twice generation 0's: the remedy overshoots.
    Runs one point of the tail-reweighting sweep; never raises."""
    ok = isinstance(strength, (int, float, np.integer, np.floating)) and not isinstance(strength, bool)
    if not ok or not np.isfinite(strength) or not 0 < strength <= 0.5:
        return CheckResult(BREAK_REWEIGHTING, False, [f"strength must be a number in (0, 0.5], got {strength!r}"])
    beta = float(strength)
    point = sweep_point("gaussian", "tail reweighting strength", beta, generations=_REWEIGHT_GENERATIONS,
                        replicates=_REWEIGHT_RUNS, seed=seed)
    final = float(point["final_relative_quality"])
    step = theory.log_var_step_mean(100, 0)
    predicted = float(np.exp(0.5 * _REWEIGHT_GENERATIONS * (step - np.log1p(-beta))))
    messages = [f"beta = {beta:g}: median sigma after {_REWEIGHT_GENERATIONS} generations {final:.3g} times "
                f"generation 0's ({_REWEIGHT_RUNS} runs); if each fit were inflated by exactly 1/(1 - beta), the "
                f"log-variance would drift by {step:+.4f} + {-np.log1p(-beta):.4f} a generation, giving {predicted:.3g}"]
    if final > 2:
        messages.append("broken: reweighting cancels the drift only at one strength (about 2/n); above it every "
                        "generation inflates the spread again, and nothing in the synthetic data says where to stop")
        return CheckResult(BREAK_REWEIGHTING, True, messages)
    messages.append("not broken yet: the spread has not doubled. The drift per generation is about beta - 2/n in "
                    "the log-variance: find the beta at which 100 generations of it double sigma")
    return CheckResult(BREAK_REWEIGHTING, False, messages)
