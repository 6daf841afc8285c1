"""Chapter 2's chains: blue and yellow cats, their fur hues, and a Zipf vocabulary, through the one loop.

Generations: the loop's generation 0 is the model fitted to the real data (the
100 given cats); generation t is fitted to the t-th synthetic data set. A
category "lost at generation t" is absent from the data of generation t, which
is time t of the Wright-Fisher chain (t resampling steps after the real cats).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from ..core.loop import Observation, run_loop
from ..core.pace import Progress
from ..core.select import largest_remainder
from ..core.sources import DistributionSource
from ..core.validation import check_float, check_int
from ..core.workflows import WorkflowChoice
from ..data.hues import COLOUR_NAMES, cat_hue_sampler, colour_index
from ..models.categorical import CategoricalFamily, CategoricalSource
from ..models.gaussian import GaussianFamily
from ..models.mixture1d import HueMixtureFamily
from ..theory.wright_fisher import truncate_tail, zipf_probabilities

YELLOW, BLUE = 0, 1


def wright_fisher_step(counts, rng: np.random.Generator) -> np.ndarray:
    """One Wright-Fisher generation for a batch of populations, in plain numpy.

    ``counts`` (runs, K) are category counts, each row summing to its population M. Fitting the
    categorical model gives the shares counts / M; the next generation draws M items from the
    fit, i.e. a multinomial(M, counts / M) per row. E[new counts] = counts (the fit is unbiased);
    only the sampling variance moves them."""
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise ValueError(f"counts must have shape (runs, K >= 2), got {counts.shape}")
    if np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0)):
        raise ValueError("counts must be non-negative integers")
    population = counts.sum(axis=1)
    if np.any(population < 1):
        raise ValueError("every row of counts must hold at least one item")
    return rng.multinomial(population.astype(np.int64), counts / population[:, None])


def first_generation(flags: torch.Tensor) -> torch.Tensor:
    """Per column of ``flags (G, R)`` (bool), the first generation where it is True; -1 if never."""
    G = flags.shape[0]
    index = torch.where(flags, torch.arange(G, device=flags.device)[:, None], G)
    first = index.min(dim=0).values
    return torch.where(first < G, first, torch.full_like(first, -1))


def simulate_cats(n_real: int = 100, blue: int = 10, generations: int = 1000, replicates: int = 20000, *,
                  workflow: str | WorkflowChoice = "replace", sampling_bias: float = 1.0, seed: int = 0,
                  trajectories: int = 50, device: torch.device | str = "cpu",
                  progress: Progress | None = None) -> dict[str, Any]:
    """Run the yellow/blue categorical chain of ``n_real`` cats, ``blue`` of them blue, through the loop.

    Returns numpy arrays: ``loss_time`` and ``fixation_time`` (R,) -- the first
    generation at which the model has no blue (all blue) cats, -1 if never within
    the horizon; ``blue_share`` (generations+1, trajectories) for the first
    replicates; ``ever_lost`` and ``absent`` (generations+1,): share of
    replicates that have lost blue at least once by t / have no blue at t;
    ``mean_blue_share`` (generations+1,).
    """
    n_real = check_int("n_real", n_real, 2)
    blue = check_int("blue", blue, 1, n_real - 1)
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    trajectories = min(check_int("trajectories", trajectories, 0), replicates)
    device = torch.device(device)
    source = CategoricalSource(torch.tensor([n_real - blue, blue], dtype=torch.float64), replicates, device=device)

    def observe(model, data, generation, generator):
        p_blue = model.probs[:, BLUE]
        return Observation(artefacts={"absent": p_blue <= 0, "fixed": p_blue >= 1, "mean_share": p_blue.mean(),
                                      "share": p_blue[:trajectories].clone()})

    result = run_loop(CategoricalFamily(2), source, generations=generations, n_real=n_real, workflow=workflow,
                      sampling_bias=sampling_bias, seed=seed, observe=observe, progress=progress or Progress("cats"))
    absent, fixed = result.stacked("absent"), result.stacked("fixed")  # (G, R)
    loss_time, fixation_time = first_generation(absent), first_generation(fixed)
    ever_lost = torch.cummax(absent, dim=0).values
    to_np = lambda x: x.cpu().numpy()  # noqa: E731
    return {
        "loss_time": to_np(loss_time), "fixation_time": to_np(fixation_time),
        "blue_share": to_np(result.stacked("share")),
        "absent": to_np(absent.double().mean(1)), "ever_lost": to_np(ever_lost.double().mean(1)),
        "mean_blue_share": to_np(result.stacked("mean_share")),
    }


def hue_family(name: str, components: int = 2, iterations: int = 30):
    """The hue model family by name: ``gaussian`` (too simple) or ``mixture`` (rich enough)."""
    if name == "gaussian":
        return GaussianFamily(ddof=0)
    if name == "mixture":
        return HueMixtureFamily(components=components, iterations=iterations)
    raise ValueError(f"family must be 'gaussian' or 'mixture', got {name!r}")


def simulate_cat_hues(family: str = "gaussian", n_real: int = 100, blue: int = 10, generations: int = 200,
                      replicates: int = 100, *, workflow: str | WorkflowChoice = "replace",
                      sampling_bias: float = 1.0, spread: float = 6.0, components: int = 2, iterations: int = 30,
                      keep_hues: int = 4, seed: int = 0, device: torch.device | str = "cpu",
                      progress: Progress | None = None) -> dict[str, Any]:
    """Run the hue chain through the loop; colour shares per generation and the hues of a few replicates.

    Returns ``shares`` (generations+1, R, colours) -- the share of each colour name in
    the training data of each generation (generation 0: the real cats) -- and
    ``hues`` (generations+1, keep_hues, n_real) for the first replicates.
    """
    n_real = check_int("n_real", n_real, 2)
    blue = check_int("blue", blue, 0, n_real)
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    keep_hues = min(check_int("keep_hues", keep_hues, 0), replicates)
    source = DistributionSource(cat_hue_sampler(blue / n_real, spread=spread), replicates, device=device)
    K = len(COLOUR_NAMES)

    def observe(model, data, generation, generator):
        h = data[..., 0].detach().cpu().numpy()
        index = colour_index(h)
        return Observation(artefacts={"shares": (index[..., None] == np.arange(K)).mean(axis=1),
                                      "hues": h[:keep_hues, :n_real]})

    result = run_loop(hue_family(family, components, iterations), source, generations=generations,
                      n_real=n_real, workflow=workflow, sampling_bias=sampling_bias, seed=seed, observe=observe,
                      progress=progress or Progress(f"cat hues ({family})"))
    return {"shares": result.stacked("shares"), "hues": result.stacked("hues")}


def zipf_counts(vocabulary: int, n_real: int, exponent: float = 1.0) -> torch.Tensor:
    """Initial word counts: Zipf shares ``k^-exponent`` rounded to ``n_real`` tokens in total (largest remainders)."""
    vocabulary = check_int("vocabulary", vocabulary, 2)
    n_real = check_int("n_real", n_real, vocabulary)
    exponent = check_float("exponent", exponent, 0.0)
    ranks = torch.arange(1, vocabulary + 1, dtype=torch.float64)
    return largest_remainder(ranks ** (-exponent), n_real).to(torch.float64)


def simulate_zipf_survival(vocabulary: int = 500, n_real: int = 5000, exponent: float = 1.0,
                           generations: int = 1000, replicates: int = 20, *,
                           workflow: str | WorkflowChoice = "replace", seed: int = 0,
                           device: torch.device | str = "cpu", progress: Progress | None = None) -> dict[str, np.ndarray]:
    """Resample a Zipf corpus of ``n_real`` tokens through the loop; the generation each word is first lost (-1: survived)."""
    counts = zipf_counts(vocabulary, n_real, exponent)
    counts = counts[counts > 0]
    generations = check_int("generations", generations, 0)
    replicates = check_int("replicates", replicates, 1)
    device = torch.device(device)
    source = CategoricalSource(counts, replicates, device=device)

    def observe(model, data, generation, generator):
        return Observation(artefacts={"absent": model.probs <= 0})

    result = run_loop(CategoricalFamily(counts.numel()), source, generations=generations, n_real=n_real,
                      workflow=workflow, seed=seed, observe=observe, progress=progress or Progress("zipf survival"))
    absent = result.stacked("absent")  # (G, R, V)
    loss_time = first_generation(absent.reshape(absent.shape[0], -1)).reshape(absent.shape[1:])
    return {"initial_count": counts.numpy(), "loss_time": loss_time.cpu().numpy()}


def survival_by_count(initial_count: np.ndarray, loss_time: np.ndarray, max_count: int | None = None) -> pd.DataFrame:
    """Per initial count k: words, share lost within the horizon, mean generations to loss (of the lost ones)
    and median generations to loss (of all, NaN unless more than half were lost)."""
    rows = []
    for k in np.unique(initial_count):
        if max_count is not None and k > max_count:
            continue
        times = loss_time[:, initial_count == k].reshape(-1)
        lost = times[times >= 0]
        rows.append({"initial_count": int(k), "words": int((initial_count == k).sum()), "samples": int(times.size),
                     "share_lost": float((times >= 0).mean()),
                     "mean_generations_to_loss": float(lost.mean()) if lost.size else np.nan,
                     # the median over *all* copies, survivors counted as never lost: the median of the lost
                     # ones only is biased low when the horizon cuts off the slow losses
                     "median_generations_to_loss": (float(np.median(np.where(times >= 0, times, np.inf)))
                                                    if (times >= 0).mean() > 0.5 else np.nan)})
    return pd.DataFrame(rows)


def simulate_zipf_tails(vocabulary: int = 100_000, exponent: float = 1.5, truncate_rank: int = 1000,
                        sizes=(100, 1000, 10_000, 100_000, 1_000_000), clean_shares=(0.1,), replicates: int = 10,
                        seed: int = 0) -> dict[str, np.ndarray]:
    """Error against training-set size for a memorising model on Zipf data (Dohmatob et al. 2024).

    Each training set of size T is drawn (i) from the true Zipf shares ("clean"), (ii) from a
    generator that emits only the top ``truncate_rank`` ranks ("tail-cut": what a model that lost
    its tail produces), and (iii) for each share pi in ``clean_shares``, round(pi T) clean items plus
    the rest tail-cut. The model memorises every item it saw; its test error is the true mass of
    the items it never saw. Returns ``sizes`` and ``error[label]`` of shape (replicates, len(sizes))."""
    p = zipf_probabilities(vocabulary, exponent)
    q = truncate_tail(p, truncate_rank)
    sizes = np.asarray(sizes, dtype=np.int64)
    if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1):
        raise ValueError("sizes must be a non-empty list of training-set sizes >= 1")
    replicates = check_int("replicates", replicates, 1)
    shares = [check_float("clean_shares", c, 0.0, 1.0) for c in clean_shares]
    rng = np.random.default_rng(seed)
    splits = {"clean": (sizes, 0 * sizes), "tail-cut": (0 * sizes, sizes)}
    for c in shares:
        clean = np.round(c * sizes).astype(np.int64)
        splits[f"{c:.0%} clean"] = (clean, sizes - clean)
    error = {}
    for label, (clean, synthetic) in splits.items():
        out = np.empty((replicates, sizes.size))
        for j in range(sizes.size):
            seen = rng.multinomial(clean[j], p, size=replicates) + rng.multinomial(synthetic[j], q, size=replicates)
            out[:, j] = (p[None, :] * (seen == 0)).sum(axis=1)
        error[label] = out
    return {"sizes": sizes, "error": error, "clean": {k: v[0] for k, v in splits.items()},
            "synthetic": {k: v[1] for k, v in splits.items()}, "p": p, "q": q}
