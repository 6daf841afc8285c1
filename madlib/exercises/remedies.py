"""Chapter 6's implement-it exercise: a verifier's acceptance probability.

The learner writes ``acceptance_probability(log_p_real, log_p_model)``: for candidates drawn from
a model, the probability that a verifier who knows the real density accepts each one, r(x) / max r
with r = p_real / p_model, per replicate (row). :func:`check_acceptance_probability` runs it
against :func:`madlib.remedies.filters.acceptance_probability` and names the usual mistakes.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..core.seeding import generator as make_generator

from ..remedies.filters import acceptance_probability
from . import CheckResult, run_learner

EXERCISE = "a verifier's acceptance probability"


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-densities of 3 replicates x 50 candidates; replicate 2 sits near -1000 (naive exp underflows)."""
    g = make_generator(seed)
    log_real = -0.5 * torch.randn(3, 50, generator=g, dtype=torch.float64) ** 2 - 1.0
    log_model = -0.5 * (torch.randn(3, 50, generator=g, dtype=torch.float64) * 1.5) ** 2 - 1.2
    log_model[1] += 0.7  # replicates differ: the per-row maximum matters
    log_real[2] -= 1000.0
    log_model[2] -= 1000.0
    return log_real, log_model


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=1e-6, atol=1e-9))


def check_acceptance_probability(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> CheckResult:
    """Check the learner's ``acceptance_probability(log_p_real, log_p_model) -> (R, m)``; says what is wrong."""
    log_real, log_model = _inputs()
    out, failed = run_learner(EXERCISE, fn, log_real.clone(), log_model.clone())
    if failed is not None:
        return failed
    try:
        out = torch.as_tensor(np.asarray(out, dtype=float) if not isinstance(out, torch.Tensor) else out,
                              dtype=torch.float64)
    except (TypeError, ValueError):
        return CheckResult(EXERCISE, False, [f"return a tensor of probabilities, got {type(out).__name__}"])
    expected = acceptance_probability(log_real, log_model)
    if tuple(out.shape) != tuple(expected.shape):
        return CheckResult(EXERCISE, False, [f"wrong shape: expected {tuple(expected.shape)} (one probability per "
                                             f"candidate and replicate), got {tuple(out.shape)}"])
    if _close(out, expected):
        return CheckResult(EXERCISE, True, ["matches the library's verifier on every candidate, including a "
                                            "replicate whose log-densities are near -1000"])
    messages = []
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        rows = sorted(set(torch.nonzero(~finite)[:, 0].tolist()))
        messages.append(f"non-finite values (nan or inf) in replicate(s) {rows}: compute r / max r in log space, "
                        "exp(log r - max log r), so densities like e^-1000 do not underflow to 0/0")
    elif bool((out > 1 + 1e-9).any()) or bool((out < -1e-12).any()):
        messages.append(f"values outside [0, 1] (largest {float(out.max()):.3g}): these are ratios, not "
                        "probabilities; divide r by its maximum over the replicate's candidates")
    ok_rows = [i for i in range(out.shape[0]) if _close(out[i], expected[i])]
    inverted = acceptance_probability(log_model, log_real)
    real_only = acceptance_probability(log_real, torch.zeros_like(log_model))
    global_max = (log_real - log_model - (log_real - log_model).max()).exp()
    if _close(out, inverted):
        messages.append("the ratio is upside down: you accept what the model OVER-represents (p_model / p_real); "
                        "the verifier keeps items where p_real / p_model is large")
    elif _close(out, real_only):
        messages.append("you used p_real alone: a candidate the model already draws too often is then accepted "
                        "too often; divide by p_model (subtract log_p_model)")
    elif _close(out[:2], global_max[:2]) or (ok_rows == [] and bool(torch.isclose(out.max(), torch.tensor(1.0,
                                                                       dtype=torch.float64)))):
        messages.append("the maximum is taken over all replicates at once: each replicate is its own world with "
                        "its own model, so divide by each row's maximum (dim=1, keepdim=True)")
    if not messages:
        bad = [i for i in range(out.shape[0]) if i not in ok_rows]
        err = float((out - expected).abs().max())
        messages.append(f"replicate(s) {bad} differ from r / max r (largest difference {err:.3g})")
    return CheckResult(EXERCISE, False, messages)
