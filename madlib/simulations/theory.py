"""The theory chapter's chains: each regime and each 2024-2026 result, as plain arrays.

Loops go through the one loop (:func:`madlib.core.loop.run_loop`): the Gaussian's contraction regimes, the
universality families (Poisson, logistic), the biased verifier and the curator. Two results are one-shot
trainings, not loops (strong model collapse, the verifier's breakdown point); they are simulated from their
sufficient statistics, exactly, and each such shortcut has a brute-force twin here (``*_brute_force``) that
``tests/test_theory_simulations.py`` checks it against.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from ..core.loop import run_loop
from ..core.pace import Progress
from ..core.seeding import generator as make_generator
from ..core.sources import DistributionSource
from ..core.validation import check_float, check_int
from ..core.workflows import configure
from ..models.categorical import CategoricalFamily, CategoricalSource
from ..models.exponential import (LogisticFamily, PoissonFamily, logistic_source_sampler, poisson_source_sampler,
                                  unit_truth)
from ..models.gaussian import GaussianFamily, gaussian_source_sampler
from ..models.regression import OLSFamily, default_truth, regression_source_sampler
from ..remedies import CorrectedFamily, GaussianCorrector
from ..remedies.verifiers import BandVerifier, PairwiseCurator
from ..theory.synthetic_mix import synthetic_count

# ----------------------------------------------------------------------------- regime 2: the Gaussian's contractions

#: The contraction cases of the theory chapter: loop settings of the Gaussian (n items a generation, truth N(0, 1)).
CONTRACTION_CASES = ("replace", "keep 5% real", "keep 20% real", "web scrape", "corrector 0.2", "corrector 0.5")


def contraction_settings(case: str, n: int) -> tuple[object, dict]:
    """(family, loop settings) of one of :data:`CONTRACTION_CASES` for the Gaussian with n items a generation."""
    family = GaussianFamily(ddof=0)
    if case == "replace":
        return family, {"workflow": configure("replace")}
    if case.startswith("keep "):
        share = float(case.split()[1].rstrip("%")) / 100
        return family, {"workflow": configure("replace", kept_real_fraction=share)}
    if case == "web scrape":  # the registry's world: fresh real data and 4x as much cherry-picked content
        return family, {"workflow": configure("fresh"), "n_synthetic": 4 * n, "sampling_bias": 0.8}
    if case.startswith("corrector "):
        return CorrectedFamily(family, GaussianCorrector(float(case.split()[1]))), {"workflow": configure("replace")}
    raise ValueError(f"case must be one of {CONTRACTION_CASES}, got {case!r}")


def simulate_contraction(case: str, *, n: int, generations: int, replicates: int, seed: int = 0,
                         progress: Progress | None = None) -> dict[str, np.ndarray]:
    """The fitted standard deviation ``std`` and variance ``var`` of every replicate at every generation,
    ``(generations + 1, replicates)``, of the Gaussian under one of :data:`CONTRACTION_CASES`."""
    family, settings = contraction_settings(case, check_int("n", n, 2))
    observe = lambda model, data, t, g: {"std": model.std}  # noqa: E731
    result = run_loop(family=family, real=DistributionSource(gaussian_source_sampler(), check_int("replicates", replicates, 1)),
                      generations=generations, n_real=n, seed=seed, observe=observe,
                      progress=progress or Progress(f"contraction: {case}"), **settings)
    std = result.wide("std").to_numpy()
    return {"std": std, "var": std**2}


# ----------------------------------------------------------------------------- regime 3: universality of pi^2/6

UNIVERSALITY_FAMILIES = ("poisson", "logistic")


def simulate_universality(family: str, workflow: str, *, n: int, generations: int, replicates: int, rate: float = 4.0,
                          dim: int = 2, seed: int = 0, progress: Progress | None = None) -> np.ndarray:
    """Squared parameter error per generation and replicate, ``(generations + 1, replicates)``, of a Poisson rate
    (``(rate_t - rate)^2``) or a logistic regression in ``dim`` dimensions (``||w_t - w*||^2``, ``||w*|| = 1``)
    refitted on its own samples, n new ones a generation, under ``workflow`` (replace or accumulate)."""
    replicates = check_int("replicates", replicates, 2)
    if family == "poisson":
        rate = check_float("rate", rate, 0.0, open_minimum=True)
        fit, sampler = PoissonFamily(), poisson_source_sampler(rate)
        error = lambda model: (model.rate - rate) ** 2  # noqa: E731
    elif family == "logistic":
        w_star = unit_truth(check_int("dim", dim, 1))
        fit, sampler = LogisticFamily(dim), logistic_source_sampler(w_star)
        error = lambda model: model.squared_error(w_star)  # noqa: E731
    else:
        raise ValueError(f"family must be one of {UNIVERSALITY_FAMILIES}, got {family!r}")
    if workflow not in ("replace", "accumulate"):
        raise ValueError(f"workflow must be 'replace' or 'accumulate', got {workflow!r}")
    result = run_loop(family=fit, real=DistributionSource(sampler, replicates), generations=generations, n_real=n,
                      workflow=workflow, seed=seed, observe=lambda model, data, t, g: {"error": error(model)},
                      progress=progress or Progress(f"universality: {family} {workflow}"))
    return result.wide("error").to_numpy()


# ----------------------------------------------------------------------------- strong model collapse

def _shift(dim: int, shift_sq: float, device="cpu") -> torch.Tensor:
    """The synthetic teacher's shift ``Delta``: norm ``sqrt(shift_sq)``, orthogonal to ``default_truth(dim)``
    (a fixed direction: the error does not depend on it, the inputs being isotropic)."""
    delta = torch.zeros(dim, dtype=torch.float64, device=device)
    if dim == 1:
        return delta + math.sqrt(shift_sq)
    delta[0], delta[1] = 1.0, -1.0
    return delta / delta.norm() * math.sqrt(shift_sq)


def _gram_and_noise(count: int, dim: int, replicates: int, noise_std: float, generator: torch.Generator):
    """``(X^T X, X^T e)`` of ``count`` rows ``x ~ N(0, I_d)`` and noise ``e ~ N(0, sigma^2)``, exactly in
    distribution: the Bartlett decomposition of the Wishart matrix when ``count >= dim`` (cost independent of
    ``count``), the rows themselves otherwise."""
    dev, f64 = generator.device, torch.float64
    if count < dim:
        x = torch.randn(replicates, count, dim, generator=generator, device=dev, dtype=f64)
        e = noise_std * torch.randn(replicates, count, generator=generator, device=dev, dtype=f64)
        return x.transpose(1, 2) @ x, torch.einsum("rnd,rn->rd", x, e)
    # Bartlett: L lower triangular, L_ii^2 ~ chi2(count - i), L_ij ~ N(0, 1) below the diagonal
    free = torch.tensor([count - i for i in range(dim)], dtype=f64, device=dev)
    chi2 = torch._standard_gamma((free / 2).expand(replicates, dim).contiguous(), generator=generator) * 2
    lower = torch.randn(replicates, dim, dim, generator=generator, device=dev, dtype=f64).tril(-1)
    factor = lower + torch.diag_embed(chi2.sqrt())
    gram = factor @ factor.transpose(1, 2)
    # X^T e given X^T X is N(0, sigma^2 X^T X): the factor times a standard normal
    noise = noise_std * (factor @ torch.randn(replicates, dim, 1, generator=generator, device=dev, dtype=f64))[..., 0]
    return gram, noise


def simulate_strong_collapse(sizes: Sequence[int], shares: Sequence[float], *, dim: int, shift_sq: float,
                             replicates: int, noise_std: float = 1.0, seed: int = 0) -> np.ndarray:
    """Excess test error ``||w_hat - w*||^2`` of OLS trained once on n items, a share p of them labelled by a
    teacher shifted by ``Delta``: ``(len(shares), len(sizes), replicates)``. Simulated from the sufficient
    statistics (Wishart matrices), so n = 10^8 costs what n = 100 does (:func:`strong_collapse_brute_force` is
    the same experiment drawn row by row)."""
    dim = check_int("dim", dim, 1)
    replicates = check_int("replicates", replicates, 1)
    delta = _shift(dim, check_float("shift_sq", shift_sq, 0.0))
    out = np.empty((len(shares), len(sizes), replicates))
    for i, share in enumerate(shares):
        for j, n in enumerate(sizes):
            n = check_int("n", n, dim + 2)
            n_syn = synthetic_count(n, share)
            g = make_generator(seed, "strong collapse", n)  # common random numbers across shares
            real_gram, real_noise = _gram_and_noise(n - n_syn, dim, replicates, noise_std, g)
            syn_gram, syn_noise = _gram_and_noise(n_syn, dim, replicates, noise_std, g)
            gram = real_gram + syn_gram
            rhs = syn_gram @ delta + real_noise + syn_noise  # X^T (y - X w*)
            error = torch.linalg.solve(gram, rhs[..., None])[..., 0]
            out[i, j] = (error**2).sum(-1).numpy()
    return out


def strong_collapse_brute_force(n: int, share: float, *, dim: int, shift_sq: float, replicates: int,
                                noise_std: float = 1.0, seed: int = 0) -> np.ndarray:
    """The same experiment as :func:`simulate_strong_collapse` for one (n, p), drawing every row: ``(replicates,)``."""
    g = make_generator(seed, "strong collapse brute force")
    delta = _shift(dim, shift_sq)
    n_syn = synthetic_count(n, share)
    x = torch.randn(replicates, n, dim, generator=g, dtype=torch.float64)
    y = noise_std * torch.randn(replicates, n, generator=g, dtype=torch.float64)  # labels minus x.w*
    y[:, :n_syn] += x[:, :n_syn] @ delta
    w = torch.linalg.lstsq(x, y[..., None]).solution[..., 0]
    return (w**2).sum(-1).numpy()


def simulate_random_projections(model_sizes: Sequence[int], *, n: int, dim: int, share: float, shift_sq: float,
                                replicates: int, noise_std: float = 1.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Excess test error ``||S v - w*||^2`` of least squares (minimum norm beyond the interpolation threshold) on
    m random projections ``S`` (d x m, entries N(0, 1/d)) of the inputs, for each model size m, on the same data
    without (``clean``) and with (``mixed``) a synthetic share: each ``(len(model_sizes), replicates)``. ``||w*|| = 1``,
    a random direction per replicate; ``Delta`` orthogonal to it with ``||Delta||^2 = shift_sq``."""
    n, dim, replicates = check_int("n", n, 2), check_int("dim", dim, 1), check_int("replicates", replicates, 1)
    out = {"clean": np.empty((len(model_sizes), replicates)), "mixed": np.empty((len(model_sizes), replicates))}
    g = make_generator(seed, "random projections")
    f64 = torch.float64
    w = torch.randn(replicates, dim, generator=g, dtype=f64)
    w = w / w.norm(dim=1, keepdim=True)
    delta = torch.randn(replicates, dim, generator=g, dtype=f64)
    delta = delta - (delta * w).sum(1, keepdim=True) * w
    delta = delta / delta.norm(dim=1, keepdim=True) * math.sqrt(check_float("shift_sq", shift_sq, 0.0))
    x = torch.randn(replicates, n, dim, generator=g, dtype=f64)
    clean = (x @ w[..., None])[..., 0] + noise_std * torch.randn(replicates, n, generator=g, dtype=f64)
    mixed = clean.clone()
    n_syn = synthetic_count(n, share)
    mixed[:, :n_syn] += (x[:, :n_syn] @ delta[..., None])[..., 0]
    for i, m in enumerate(model_sizes):
        m = check_int("model_size", m, 1)
        s = torch.randn(replicates, dim, m, generator=make_generator(seed, "projection", m), dtype=f64) / math.sqrt(dim)
        features = x @ s
        both = torch.stack([clean, mixed], dim=-1)  # (R, n, 2): one solve for both label sets
        if m < n:  # least squares through the normal equations
            v = torch.cholesky_solve(features.transpose(1, 2) @ both, torch.linalg.cholesky(features.transpose(1, 2) @ features))
        else:  # the minimum-norm interpolator F^T (F F^T)^{-1} y
            v = features.transpose(1, 2) @ torch.cholesky_solve(both, torch.linalg.cholesky(features @ features.transpose(1, 2)))
        for k, name in enumerate(("clean", "mixed")):
            out[name][i] = ((s @ v[..., k:k + 1])[..., 0] - w).pow(2).sum(-1).numpy()
    return out


# ----------------------------------------------------------------------------- a verifier's breakdown point

def simulate_verifier_transition(accuracies: Sequence[float], candidates: Sequence[int], *, label_error: float,
                                 dim: int, signal: float, replicates: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Test accuracy of the mean-difference classifier trained on the candidates a verifier keeps, for each
    verifier accuracy q (it keeps a correct label with probability q and a wrong one with 1 - q) and number of
    candidates N: ``accuracy`` and ``kept`` of shape ``(len(candidates), len(accuracies), replicates)``.

    Candidates ``x ~ N(y mu, I_d)`` carry the generator's label, wrong with probability ``label_error``. From
    the sufficient statistics: with ``k_c`` correct and ``k_w`` wrong labels kept, ``sum y' x`` is exactly
    ``(k_c - k_w) mu + sqrt(k_c + k_w) g``, ``g ~ N(0, I_d)`` (:func:`verifier_transition_brute_force` draws the points)."""
    p = check_float("label_error", label_error, 0.0, 1.0)
    dim, replicates = check_int("dim", dim, 1), check_int("replicates", replicates, 1)
    s = check_float("signal", signal, 0.0, open_minimum=True)
    accuracy = np.empty((len(candidates), len(accuracies), replicates))
    kept = np.empty_like(accuracy)
    for i, count in enumerate(candidates):
        count = check_int("candidates", count, 1)
        for j, q in enumerate(accuracies):
            q = check_float("accuracy", q, 0.0, 1.0)
            g = make_generator(seed, "verifier", count, q)
            probs = torch.tensor([(1 - p) * q, p * (1 - q), 1 - (1 - p) * q - p * (1 - q)], dtype=torch.float64)
            counts = _multinomial(count, probs.clamp_min(0), replicates, g)
            k_c, k_w = counts[:, 0], counts[:, 1]
            noise = torch.randn(replicates, dim, generator=g, dtype=torch.float64)
            w = noise * (k_c + k_w).sqrt()[:, None]
            w[:, 0] += (k_c - k_w) * s  # mu = s e_1
            accuracy[i, j] = _accuracy(w, s)
            kept[i, j] = (k_c + k_w).numpy()
    return {"accuracy": accuracy, "kept": kept}


def _multinomial(count: int, probs: torch.Tensor, replicates: int, generator: torch.Generator) -> torch.Tensor:
    """Multinomial counts ``(replicates, K)`` as a chain of binomials (exact, seeded by ``generator``)."""
    counts = torch.zeros(replicates, probs.numel(), dtype=torch.float64)
    remaining = torch.full((replicates,), float(count), dtype=torch.float64)
    mass = 1.0
    for k in range(probs.numel() - 1):
        share = float(probs[k]) / mass if mass > 0 else 0.0
        counts[:, k] = torch.binomial(remaining, torch.full_like(remaining, min(max(share, 0.0), 1.0)),
                                      generator=generator)
        remaining -= counts[:, k]
        mass -= float(probs[k])
    counts[:, -1] = remaining
    return counts


def _accuracy(w: torch.Tensor, signal: float) -> np.ndarray:
    """Test accuracy ``Phi(w.mu / ||w||)`` of ``sign(w.x)`` on the task ``x ~ N(y mu, I)``, ``mu = signal e_1``
    (one half where nothing was kept)."""
    norm = w.norm(dim=1)
    z = torch.where(norm > 0, w[:, 0] * signal / norm.clamp_min(1e-300), torch.zeros_like(norm))
    return (0.5 * (1 + torch.erf(z / math.sqrt(2)))).numpy()


def verifier_transition_brute_force(accuracy: float, candidates: int, *, label_error: float, dim: int, signal: float,
                                    replicates: int, seed: int = 0) -> np.ndarray:
    """:func:`simulate_verifier_transition` for one (q, N), drawing every candidate: test accuracies ``(replicates,)``."""
    g = make_generator(seed, "verifier brute force")
    f64 = torch.float64
    y = torch.where(torch.rand(replicates, candidates, generator=g) < 0.5, -1.0, 1.0).to(f64)
    x = torch.randn(replicates, candidates, dim, generator=g, dtype=f64)
    x[..., 0] += y * signal
    wrong = torch.rand(replicates, candidates, generator=g) < label_error
    label = torch.where(wrong, -y, y)
    keep = torch.rand(replicates, candidates, generator=g) < torch.where(wrong, 1 - accuracy, accuracy)
    w = torch.einsum("rn,rnd->rd", label * keep, x)
    return _accuracy(w, signal)


# ----------------------------------------------------------------------------- a biased verifier

def simulate_biased_verifier(center_shift: float, *, dim: int, n_real: int, n_keep: int, candidates: int,
                             tolerance: float, generations: int, replicates: int, seed: int = 0,
                             progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Linear regression refitted on its own labels, each generation keeping ``n_keep`` of ``candidates`` that a
    :class:`~madlib.remedies.verifiers.BandVerifier` centred at ``theta_c = w* + Delta`` accepts
    (``||Delta|| = center_shift``, Delta orthogonal to w*). Returns ``to_truth`` (``||w_t - w*||^2``) and
    ``to_center`` (``||w_t - theta_c||``), each ``(generations + 1, replicates)``."""
    dim = check_int("dim", dim, 2)
    w_star = default_truth(dim)
    center = w_star + _shift(dim, check_float("center_shift", center_shift, 0.0) ** 2)
    verifier = BandVerifier(center, tolerance, max_keep=check_int("n_keep", n_keep, dim + 2), min_keep=dim + 2)

    def observe(model, data, t, g):
        return {"to_truth": model.excess_risk(w_star), "to_center": model.excess_risk(center).sqrt()}

    result = run_loop(family=OLSFamily(dim, noise_std=1.0),
                      real=DistributionSource(regression_source_sampler(w_star), replicates),
                      generations=generations, n_real=n_real, n_synthetic=check_int("candidates", candidates, n_keep),
                      workflow="replace", seed=seed, observe=observe, curate=verifier,
                      progress=progress or Progress("biased verifier"))
    return {name: result.wide(name).to_numpy() for name in ("to_truth", "to_center")}


# ----------------------------------------------------------------------------- curation by a reward

def simulate_curation(proportions: Sequence[float], reward: Sequence[float], *, n_real: int, n_kept: int,
                      generations: int, replicates: int, real_share: float = 0.0, seed: int = 0,
                      progress: Progress | None = None) -> np.ndarray:
    """Category shares ``(generations + 1, replicates, K)`` of a categorical model whose synthetic data a
    :class:`~madlib.remedies.verifiers.PairwiseCurator` curates (``2 n_kept`` candidates, ``n_kept`` kept). With
    ``real_share`` 0 the loop is *replace*; otherwise *augment*: the ``n_real`` original real items stay, and
    ``n_kept`` is reset so that they are that share of each training set."""
    rho = check_float("real_share", real_share, 0.0, 0.99)
    q = torch.as_tensor(proportions, dtype=torch.float64)
    n_real = check_int("n_real", n_real, 2)
    if rho > 0:
        n_kept = max(1, int(round(n_real * (1 - rho) / rho)))
    n_kept = check_int("n_kept", n_kept, 1)
    workflow = "augment" if rho > 0 else "replace"
    result = run_loop(family=CategoricalFamily(q.numel()),
                      real=CategoricalSource(q, check_int("replicates", replicates, 1)),
                      generations=generations, n_real=n_real, n_synthetic=2 * n_kept, workflow=workflow, seed=seed,
                      curate=PairwiseCurator(torch.as_tensor(reward, dtype=torch.float64)),
                      observe=lambda model, data, t, g: {f"p{k}": model.probs[:, k] for k in range(q.numel())},
                      progress=progress or Progress(f"curation ({workflow})"))
    return np.stack([result.wide(f"p{k}").to_numpy() for k in range(q.numel())], axis=-1)
