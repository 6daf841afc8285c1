"""Chapter 1's chain, simulated two ways: exactly from sufficient statistics, or by drawing samples.

* :func:`simulate_exact` draws the *sufficient statistics* directly: the sample mean is
  normal and the scatter is sigma^2 times a chi-square(n - 1), so one generation costs two
  random numbers per replicate whatever n is. It works in log space, so it stays sound for
  10^5 generations and more (1-D; the workflows of :data:`EXACT_WORKFLOWS`, any other is refused).
* :func:`simulate_samples` draws the samples for real through the one loop, batched over
  replicates, in any dimension.

Both number generations like the loop: generation 0 is the first fit, to real data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core.loop import run_loop
from ..core.pace import Pace, Progress
from ..core.sources import DistributionSource
from ..core.validation import check_float, check_int
from ..core.workflows import WorkflowChoice, configure
from ..models.gaussian import GaussianFamily, gaussian_source_sampler


def one_generation(mu, sigma, n_real: int, rng: np.random.Generator, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One generation of the essay's recursion for a batch of runs, in plain numpy.

    ``mu`` and ``sigma`` (shape (runs,)) are the current fits; draw ``n_real`` samples per run from
    N(mu, sigma^2) -- the *fitted* law, not the truth -- and return the new fits: their mean and
    their std with ``ddof`` (0: numpy's default and the essay's, the maximum-likelihood estimate)."""
    n_real = check_int("n_real", n_real, 2)
    ddof = check_int("ddof", ddof, 0, 1)
    mu, sigma = np.asarray(mu, dtype=float), np.asarray(sigma, dtype=float)
    x = rng.normal(mu[:, None], sigma[:, None], size=(mu.size, n_real))
    return x.mean(axis=1), x.std(axis=1, ddof=ddof)


def simulate_plain(n_real: int, generations: int, runs: int, *, ddof: int = 0, seed: int = 0) -> np.ndarray:
    """The essay's loop as written, drawing every sample: sigma of each run after each generation.

    Returns ``(generations + 1, runs)``; row 0 is the first fit, to real N(0, 1) draws. It costs n_real
    normal draws per run and generation: the slow reference that :func:`simulate_exact` replaces."""
    generations = check_int("generations", generations, 0)
    runs = check_int("runs", runs, 1)
    rng = np.random.default_rng(seed)
    mu, sigma = np.zeros(runs), np.ones(runs)
    out = np.empty((generations + 1, runs))
    for t in range(generations + 1):
        mu, sigma = one_generation(mu, sigma, n_real, rng, ddof)
        out[t] = sigma
    return out


@dataclass
class ExactChain:
    """Per-generation results of :func:`simulate_exact` at the recorded generations.

    ``mean`` and ``log_var`` have shape (len(generations), replicates); the
    variance itself is ``exp(log_var)``, kept in log space because it underflows.
    """

    generations: np.ndarray
    mean: np.ndarray
    log_var: np.ndarray

    @property
    def std(self) -> np.ndarray:
        return np.exp(0.5 * self.log_var)

    @property
    def var(self) -> np.ndarray:
        return np.exp(self.log_var)


def record_grid(generations: int, points: int = 201) -> np.ndarray:
    """About ``points`` evenly spaced generations from 0 to ``generations`` (both included)."""
    generations = check_int("generations", generations, 0)
    return np.unique(np.linspace(0, generations, min(points, generations + 1)).round().astype(int))


#: The workflows the sufficient-statistics chain implements. The others need individual items (a
#: random subset of the real data or of a pool: kept_real_fraction, accumulate-subsample, mix) and are
#: refused by name: use the loop (``simulate_samples``, ``method='sample'``).
EXACT_WORKFLOWS = ("replace", "augment", "fresh", "accumulate", "reset")


def check_exact_supports(workflow: WorkflowChoice, dim: int = 1) -> None:
    """Refuse, in one line, what :func:`simulate_exact` does not implement (never a silent other answer)."""
    if dim != 1:
        raise ValueError(f"method='exact' supports dim=1 only, got dim={dim}; use method='sample'")
    if workflow.name not in EXACT_WORKFLOWS:
        raise ValueError(f"method='exact' supports workflow {', '.join(EXACT_WORKFLOWS)}, not "
                         f"{workflow.name!r}; use method='sample'")
    if workflow.options.get("kept_real_fraction", 0.0) > 0:
        raise ValueError("method='exact' supports kept_real_fraction=0 only (a kept share is a random subset "
                         "of the real items); use method='sample'")


def simulate_exact(
    n_real: int,
    generations: int,
    replicates: int,
    *,
    ddof: int = 0,
    workflow: str | WorkflowChoice = "replace",
    sampling_bias: float = 1.0,
    n_synthetic: int | None = None,
    mu0: float = 0.0,
    sigma0: float = 1.0,
    record: np.ndarray | None = None,
    seed: int = 0,
) -> ExactChain:
    """Simulate the 1-D Gaussian chain exactly from sufficient statistics.

    Generation 0 fits ``n_real`` real draws from the truth N(mu0, sigma0^2) (the loop's numbering,
    see :mod:`madlib.core.loop`); each later generation draws ``n_synthetic`` (default n_real) items
    from N(mu, lambda sigma^2) of the last fit and builds the training set as ``workflow`` says, for
    the workflows of :data:`EXACT_WORKFLOWS` (any other is refused). A batch of m normal draws has
    mean ~ N(mu, s^2/m) and scatter s^2 chi2(m-1), independent, so a generation costs two random
    numbers per replicate whatever n is. The synthetic part runs in log space (sound for 10^5
    generations and more); pooled training sets combine means and scatters exactly.
    """
    n = check_int("n_real", n_real, 2)
    generations = check_int("generations", generations, 0)
    R = check_int("replicates", replicates, 1)
    ddof = check_int("ddof", ddof, 0, 1)
    choice = configure(workflow)
    check_exact_supports(choice)
    lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    m = n if n_synthetic is None else check_int("n_synthetic", n_synthetic, 2)
    sigma0 = check_float("sigma0", sigma0, 0.0, open_minimum=True)
    record = record_grid(generations) if record is None else np.unique(np.asarray(record, dtype=int))
    if record.size and (record.min() < 0 or record.max() > generations):
        raise ValueError(f"record must hold generations in [0, {generations}]")
    rng = np.random.default_rng(seed)
    rows = {int(g): i for i, g in enumerate(record)}
    out_mean, out_logvar = np.empty((record.size, R)), np.empty((record.size, R))

    def real_batch():
        """Size, mean and scatter of n fresh real draws (linear space: real data never collapses)."""
        return float(n), mu0 + sigma0 * rng.standard_normal(R) / np.sqrt(n), sigma0**2 * rng.chisquare(n - 1, R)

    # What each pooled workflow adds the new samples to: (size, mean, scatter) of the other part.
    base_of = {"augment": lambda: original, "fresh": real_batch, "accumulate": lambda: pool}
    original = pool = real_batch()
    mean, log_var = original[1], np.log(original[2]) - np.log(n - ddof)
    # a generation is two random numbers per replicate, but a billion of them still takes hours: say so early
    pace = Pace("gaussian (exact)", generations + 1, "generation")
    for t in range(generations + 1):
        if t > 0:
            # m synthetic draws from N(mean, lam * var): batch mean and log batch scatter
            log_batch_var = np.log(lam) + log_var
            batch_mean = mean + np.exp(0.5 * log_batch_var) * rng.standard_normal(R) / np.sqrt(m)
            log_batch_scatter = log_batch_var + np.log(rng.chisquare(m - 1, R))
            if choice.name == "reset" and t % choice.options["reset_every"] == 0:
                mean, log_var = original[1], np.log(original[2]) - np.log(n - ddof)
            elif choice.name in ("replace", "reset"):
                mean, log_var = batch_mean, log_batch_scatter - np.log(m - ddof)
            else:
                base_n, base_mean, base_scatter = base_of[choice.name]()
                total = base_n + m
                pool = (total, (base_n * base_mean + m * batch_mean) / total,
                        base_scatter + np.exp(log_batch_scatter) + base_n * m / total * (base_mean - batch_mean) ** 2)
                mean, log_var = pool[1], np.log(pool[2]) - np.log(total - ddof)
        if t in rows:
            out_mean[rows[t]], out_logvar[rows[t]] = mean, log_var
        pace.tick()
    return ExactChain(generations=record, mean=out_mean, log_var=out_logvar)


@dataclass
class SampleChain:
    """Per-replicate results of :func:`simulate_samples` at the recorded generations, each
    ``(len(generations), replicates)``: the mean (the first coordinate in 1-D, its norm in d > 1),
    the std (sqrt of the mean variance) and ln det of the covariance."""

    generations: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    log_det: np.ndarray


def simulate_samples(n_real: int, generations: int, replicates: int, *, dim: int = 1, ddof: int = 0,
                     workflow: str | WorkflowChoice = "replace", sampling_bias: float = 1.0,
                     n_synthetic: int | None = None, record: np.ndarray | None = None, seed: int = 0,
                     device: torch.device | str = "cpu", progress: Progress | None = None) -> SampleChain:
    """Draw the samples for real, batched over replicates, through the generic loop (any workflow)."""
    record = record_grid(generations) if record is None else np.unique(np.asarray(record, dtype=int))
    wanted = set(int(g) for g in record)
    source = DistributionSource(gaussian_source_sampler(dim=dim), replicates, device=device)

    def observe(model, data, generation, generator):
        if generation not in wanted:
            return None
        mean = model.mean[:, 0] if dim == 1 else (model.mean**2).sum(-1).sqrt()
        return {"mean": mean, "std": model.std, "log_det_cov": torch.logdet(model.cov)}

    result = run_loop(GaussianFamily(ddof=ddof), source, generations=generations, n_real=n_real,
                      n_synthetic=n_synthetic, workflow=workflow, sampling_bias=sampling_bias, seed=seed,
                      observe=observe, progress=progress or Progress("gaussian (sample)"))
    return SampleChain(record, *(result.wide(m).loc[record].to_numpy() for m in ("mean", "std", "log_det_cov")))


# --------------------------------------------------------------------------- the fresh-data loop in d dimensions
def wishart_factor(rng: np.random.Generator, dof: int, dim: int, replicates: int) -> np.ndarray:
    """``replicates`` factors ``F`` with ``F F^T ~ Wishart_dim(dof, I)``, exactly: the scatter matrix of
    ``dof + 1`` standard normal draws about their mean.

    For ``dof >= dim`` the Bartlett decomposition: ``F`` lower triangular, ``F_ii = sqrt(chi2(dof - i))``,
    ``F_ij ~ N(0, 1)`` below the diagonal, ``(R, dim, dim)``; below that the (singular) Wishart as ``Z Z^T``
    with ``Z`` of shape ``(R, dim, dof)`` standard normal (``dof = 0``: the zero matrix)."""
    dof, dim, replicates = check_int("dof", dof, 0), check_int("dim", dim, 1), check_int("replicates", replicates, 1)
    if dof < dim:
        return rng.standard_normal((replicates, dim, dof))
    factor = np.zeros((replicates, dim, dim))
    rows, cols = np.tril_indices(dim, -1)
    factor[:, rows, cols] = rng.standard_normal((replicates, rows.size))
    diagonal = np.arange(dim)
    factor[:, diagonal, diagonal] = np.sqrt(rng.chisquare(dof - diagonal, size=(replicates, dim)))
    return factor


def _gram(factor: np.ndarray) -> np.ndarray:
    return factor @ np.swapaxes(factor, -1, -2)


def _square_root(cov: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L L^T = cov`` per replicate: Cholesky, or (a singular batch) the symmetric root."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        return vectors * np.sqrt(np.clip(values, 0, None))[..., None, :]


def w2_to_standard_normal(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """W2^2 between N(mean, cov) and N(0, I) per replicate: ``|mean|^2 + sum_i (sqrt(lambda_i) - 1)^2`` over the
    eigenvalues of ``cov`` (the general formula of :func:`madlib.metrics.frechet.gaussian_w2_squared` with
    the identity; one symmetric eigenvalue solve instead of two square roots)."""
    values = np.clip(np.linalg.eigvalsh(cov), 0, None)
    return (mean**2).sum(-1) + ((np.sqrt(values) - 1) ** 2).sum(-1)


def simulate_fresh_exact(dim: int, n_real: int, n_synthetic: int, *, generations: int, replicates: int,
                         sampling_bias: float = 1.0, seed: int = 0,
                         keep: set[int] | None = None) -> dict[int, np.ndarray]:
    """The fresh-data loop of a d-dimensional Gaussian (maximum-likelihood fits, truth N(0, I)) from sufficient
    statistics, exactly: W2^2 to the truth per replicate at the generations in ``keep``.

    Generation 0 fits ``n_real`` real draws; each later one fits ``n_real`` fresh real draws pooled with
    ``n_synthetic`` draws of N(mu, lambda Sigma) of the last fit. The fit depends on the data only through
    each part's mean (normal: ``N(mu, C / m)``) and scatter (``L W L^T`` with ``L L^T = C`` and ``W`` a Wishart
    with ``m - 1`` degrees of freedom, drawn by the Bartlett decomposition, :func:`wishart_factor`), pooled
    exactly: ``S = S_real + S_synthetic + (n_r n_s / N) (m_r - m_s)(m_r - m_s)^T``. A generation costs
    O(d^3) per replicate whatever n is, and O(d^2) memory instead of O(n d).
    """
    dim, n_real = check_int("dim", dim, 1), check_int("n_real", n_real, 2)
    n_synthetic, generations = check_int("n_synthetic", n_synthetic, 0), check_int("generations", generations, 0)
    R, lam = check_int("replicates", replicates, 1), check_float("sampling_bias", sampling_bias, 0.0, 1.0,
                                                                 open_minimum=True)
    keep = set(range(generations + 1)) if keep is None else {int(g) for g in keep}
    rng = np.random.default_rng(check_int("seed", seed, 0))
    out: dict[int, np.ndarray] = {}

    def real_part() -> tuple[np.ndarray, np.ndarray]:
        mean = rng.standard_normal((R, dim)) / np.sqrt(n_real)
        return mean, _gram(wishart_factor(rng, n_real - 1, dim, R))

    mean, scatter = real_part()
    cov = scatter / n_real
    pace = Pace("mad-phase (exact)", generations + 1, "generation")
    for t in range(generations + 1):
        if t > 0:
            root = _square_root(lam * cov)
            real_mean, real_scatter = None, None
            if n_synthetic:
                noise = rng.standard_normal((R, dim, 1)) / np.sqrt(n_synthetic)
                synthetic_mean = mean + (root @ noise)[..., 0]
                spread = root @ wishart_factor(rng, n_synthetic - 1, dim, R)
                real_mean, real_scatter = real_part()
                total = n_real + n_synthetic
                gap = real_mean - synthetic_mean
                scatter = real_scatter + _gram(spread) + (n_real * n_synthetic / total) * gap[:, :, None] * gap[:, None, :]
                mean = (n_real * real_mean + n_synthetic * synthetic_mean) / total
                cov = scatter / total
            else:
                mean, scatter = real_part()
                cov = scatter / n_real
        if t in keep:
            out[t] = w2_to_standard_normal(mean, cov)
        pace.tick()
    return out
