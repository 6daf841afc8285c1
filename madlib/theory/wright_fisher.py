"""Neutral Wright-Fisher resampling: what refitting a categorical model to its own samples does.

A population of M items; each generation draws M new items with replacement
from the current population (equivalently: fit the category shares, sample M
items from the fit). A category at frequency p

* is eventually lost with probability ``1 - p`` and fixed with probability ``p``
  (its frequency is a martingale; the single-category worlds are the only
  absorbing states);
* is lost in one step with probability ``(1 - p)^M`` (about ``e^-k`` for a
  category seen k times);
* takes, in the diffusion approximation (Kimura & Ohta 1969, haploid form),

  - ``-2M [p ln p + (1-p) ln(1-p)]`` generations to absorption,
  - ``-2M p ln p / (1 - p)`` generations given loss,
  - ``-2M (1-p) ln(1-p) / p`` generations given fixation;

* with K categories, ``-2M sum_i (1 - p_i) ln(1 - p_i)`` generations until a
  single category is left.

Times count resampling steps: the population at time 0 is the real data, time t
is the t-th synthetic generation. :func:`exact_two_category_times` solves the
Markov chain exactly for moderate M, to check the approximation.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats

from ..core.validation import check_float, check_int


def _check_frequency(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if np.any(~np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise ValueError(f"frequency p must lie strictly between 0 and 1, got {p!r}")
    return p


def _xlogx(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def loss_probability(p):
    """Probability that a category at frequency ``p`` is eventually lost: ``1 - p``."""
    return 1.0 - _check_frequency(p)


def fixation_probability(p):
    """Probability that a category at frequency ``p`` eventually takes over: ``p``."""
    return _check_frequency(p) * 1.0


def one_step_loss_probability(p, population: int):
    """Probability that a category at frequency ``p`` is absent after one resampling: ``(1 - p)^M``."""
    population = check_int("population", population, 1)
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"frequency p must lie in [0, 1], got {p!r}")
    return (1.0 - p) ** population


def mean_time_to_absorption(p, population: int):
    """Diffusion approximation: ``-2M [p ln p + (1-p) ln(1-p)]`` generations."""
    population = check_int("population", population, 1)
    p = _check_frequency(p)
    return -2.0 * population * (_xlogx(p) + _xlogx(1 - p))


def mean_time_to_loss(p, population: int):
    """Diffusion approximation, given the category is lost: ``-2M p ln p / (1 - p)``."""
    population = check_int("population", population, 1)
    p = _check_frequency(p)
    return -2.0 * population * _xlogx(p) / (1 - p)


def mean_time_to_fixation(p, population: int):
    """Diffusion approximation, given the category takes over: ``-2M (1-p) ln(1-p) / p``."""
    population = check_int("population", population, 1)
    p = _check_frequency(p)
    return -2.0 * population * _xlogx(1 - p) / p


def mean_time_to_single_category(proportions, population: int) -> float:
    """K categories: ``-2M sum_i (1 - p_i) ln(1 - p_i)`` generations until one category is left."""
    population = check_int("population", population, 1)
    p = np.asarray(proportions, dtype=float)
    if p.ndim != 1 or p.size < 2 or np.any(p <= 0) or not np.isclose(p.sum(), 1.0):
        raise ValueError("proportions must be >= 2 positive numbers summing to 1")
    return float(-2.0 * population * _xlogx(1 - p).sum())


@dataclass(frozen=True)
class ExactTimes:
    """Exact Markov-chain answers for one starting count i of M (two categories)."""

    loss_probability: float
    mean_time_to_absorption: float
    mean_time_to_loss: float
    mean_time_to_fixation: float


def exact_two_category_times(count: int, population: int) -> ExactTimes:
    """Solve the two-category Wright-Fisher chain exactly (M + 1 states, fine up to M ~ 2000).

    With Q the transient block of the binomial transition matrix and u the
    loss probabilities, ``(I - Q) t = 1`` gives the absorption times and
    ``(I - Q) w = P u`` gives ``w = E[T; loss]``, so ``E[T | loss] = w / u``.
    """
    population = check_int("population", population, 2, 5000)
    count = check_int("count", count, 1, population - 1)
    M = population
    states = np.arange(M + 1)
    P = stats.binom.pmf(states[None, :], M, states[:, None] / M)  # P[i, j] = Bin(j; M, i/M)
    transient = states[1:M]
    Q = P[np.ix_(transient, transient)]
    A = np.eye(M - 1) - Q
    t = np.linalg.solve(A, np.ones(M - 1))
    u = 1.0 - states / M  # exact: the frequency is a martingale
    w = np.linalg.solve(A, P[transient] @ u)
    v = np.linalg.solve(A, P[transient] @ (1 - u))
    i = count - 1
    return ExactTimes(
        loss_probability=float(u[count]),
        mean_time_to_absorption=float(t[i]),
        mean_time_to_loss=float(w[i] / u[count]),
        mean_time_to_fixation=float(v[i] / (1 - u[count])),
    )


def exact_time_to_single_category(counts, population: int | None = None) -> float:
    """Exact mean number of generations until one category is left, for small populations.

    Enumerates all compositions of M into K parts (keep ``C(M+K-1, K-1)`` below a
    few thousand) and solves ``(I - Q) t = 1`` with multinomial transitions.
    """
    counts = [check_int("count", c, 0) for c in counts]
    M = sum(counts) if population is None else check_int("population", population, 1)
    if sum(counts) != M or len(counts) < 2:
        raise ValueError("counts must have >= 2 entries that add up to population")
    K = len(counts)
    compositions = [tuple(np.diff((-1,) + cut + (M + K - 1,)) - 1) for cut in combinations(range(M + K - 1), K - 1)]
    if len(compositions) > 6000:
        raise ValueError(f"{len(compositions)} states are too many for the exact solver; lower the population")
    transient = [c for c in compositions if sum(x > 0 for x in c) > 1]
    index = {c: i for i, c in enumerate(transient)}
    start = tuple(counts)
    if start not in index:
        return 0.0
    comp = np.array(compositions)
    Q = np.zeros((len(transient), len(transient)))
    for i, c in enumerate(transient):
        pmf = stats.multinomial.pmf(comp, M, np.array(c) / M)
        for j, d in enumerate(compositions):
            if d in index:
                Q[i, index[d]] = pmf[j]
    t = np.linalg.solve(np.eye(len(transient)) - Q, np.ones(len(transient)))
    return float(t[index[start]])


def survival_curve_loss(p: float, population: int, generations: int) -> np.ndarray:
    """Exact ``P(lost by generation t)``, t = 0..generations, for two categories (Markov chain powers)."""
    population = check_int("population", population, 1, 5000)
    generations = check_int("generations", generations, 0)
    p = float(check_float("p", p, 0.0, 1.0))
    M = population
    states = np.arange(M + 1)
    P = stats.binom.pmf(states[None, :], M, states[:, None] / M)
    dist = np.zeros(M + 1)
    dist[int(round(p * M))] = 1.0
    out = np.empty(generations + 1)
    for t in range(generations + 1):
        out[t] = dist[0]
        dist = dist @ P
    return out


def rare_loss_probability_by(count, generations) -> np.ndarray:
    """P(a category seen ``count`` times is lost by generation t), for a rare category (count << M).

    A rare category's count is a critical Galton-Watson process with Poisson(1)
    offspring (each copy leaves Poisson(1) copies next generation), so
    ``P(lost by t) = f_t(0)^count`` with ``f(s) = exp(s - 1)`` iterated t times;
    for large t this is about ``exp(-2 count / t)``.
    """
    count = np.asarray(count, dtype=float)
    t_max = check_int("generations", int(np.max(generations)), 0)
    q = np.zeros(t_max + 1)
    for t in range(1, t_max + 1):
        q[t] = np.exp(q[t - 1] - 1.0)
    return q[np.asarray(generations, dtype=int)] ** count


def rare_median_time_to_loss(count) -> np.ndarray:
    """Median generations until a rare category seen ``count`` times is lost: about ``2 count / ln 2``.

    Linear in the count -- the "time to forget a word grows linearly with its
    frequency" of the rare-word analysis; exact from :func:`rare_loss_probability_by`.
    """
    count = np.atleast_1d(np.asarray(count, dtype=float))
    if np.any(count < 1):
        raise ValueError("count must be >= 1")
    horizon = int(np.ceil(4 * count.max() / np.log(2))) + 10
    curve = rare_loss_probability_by(count[:, None], np.arange(horizon + 1)[None, :])
    return (curve < 0.5).sum(axis=1).astype(float)  # first t with P(lost by t) >= 1/2


# ---------------------------------------------------------------- tails and scaling laws (Dohmatob et al. 2024)

def zipf_probabilities(vocabulary: int, exponent: float) -> np.ndarray:
    """Zipf shares p_i proportional to i^-exponent over ranks i = 1..vocabulary."""
    vocabulary = check_int("vocabulary", vocabulary, 2)
    exponent = check_float("exponent", exponent, 0.0, open_minimum=True)
    weights = np.arange(1, vocabulary + 1, dtype=float) ** (-exponent)
    return weights / weights.sum()


def truncate_tail(p, rank: int) -> np.ndarray:
    """The top-``rank`` shares of ``p`` (sorted by rank), renormalised: a generator that never emits the tail."""
    p = np.asarray(p, dtype=float)
    rank = check_int("rank", rank, 1, p.size)
    q = np.zeros_like(p)
    q[:rank] = p[:rank]
    return q / q.sum()


def memorization_error(p, sources) -> np.ndarray:
    """Expected test error of a model that memorises every item it has seen (Hutter's model):
    the true mass of the items absent from training, ``sum_i p_i prod_j (1 - q_ji)^T_j``.

    ``sources`` is a list of ``(q, sizes)`` pairs: T_j items drawn from the shares q (sizes may be
    an array, one entry per training-set size, aligned across sources). Clean data: ``[(p, T)]``;
    tail-truncated synthetic data: ``[(truncate_tail(p, k), T)]``, whose error tends to the
    plateau sum_{i>k} p_i; a mix: both with their sizes."""
    p = np.asarray(p, dtype=float)
    log_absent = 0.0
    for q, sizes in sources:
        q = np.asarray(q, dtype=float)
        if q.shape != p.shape:
            raise ValueError(f"sources: shares of shape {q.shape} do not match p of shape {p.shape}")
        sizes = np.atleast_1d(np.asarray(sizes, dtype=float))
        if np.any(sizes < 0):
            raise ValueError("sources: sizes must be >= 0")
        log_absent = log_absent + sizes[:, None] * np.log1p(-np.minimum(q, 1 - 1e-300))[None, :]
    return (np.exp(log_absent) * p[None, :]).sum(axis=1)
