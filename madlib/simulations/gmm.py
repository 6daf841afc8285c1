"""Chapter 3's chains: a Gaussian mixture refitted on its own samples, and one point of MAD's phase diagram.

:func:`mixture_observer` measures a mixture chain (precision and recall with k=5, the true
modes still covered, the share of high-quality samples, the sliced W2^2 to the truth, the
total variance, the live components) and keeps sample snapshots as artefacts;
:func:`phase_point` runs the fresh-data loop at one (n_real, n_synthetic, lambda) and compares
where it ends with the fit to the real items alone.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..core.budget import PROCESS_BYTES
from ..core.loop import LoopCheckpoint, Observation, run_loop
from ..core.pace import Progress
from ..core.seeding import child_seed, generator as make_generator
from ..core.sources import DistributionSource
from ..core.workflows import WorkflowChoice
from ..data.toy import ToyDataset, get_toy
from ..metrics.frechet import gaussian_w2_squared
from ..metrics.manifold import precision_recall
from ..metrics.modes import high_quality_share, modes_covered, sliced_w2_squared
from ..models.gaussian import GaussianFamily, gaussian_source_sampler
from ..models.gmm import GMMFamily, GMMModel, StartFrom
from .gaussian import simulate_fresh_exact

GMM_METRICS = ("precision", "recall", "modes_covered", "high_quality", "sliced_w2", "spread", "components")


def eval_grid(generations: int, points: int) -> list[int]:
    """About ``points`` generations from 0 to ``generations``, denser early (where things change fastest)."""
    if generations == 0:
        return [0]
    grid = np.unique(np.round(np.geomspace(1, generations + 1, max(points - 1, 1)) - 1).astype(int))
    return sorted(set(grid.tolist()) | {0, generations})


def collapsed_start(dataset: ToyDataset, replicates: int, n_components: int, spread: float = 0.05,
                    device: torch.device | str = "cpu") -> GMMModel:
    """A deliberately bad first generation: every component piled on the first true mode with a tiny covariance."""
    d = dataset.modes.shape[1]
    centre = dataset.modes[0].to(device)
    offsets = 0.01 * torch.arange(n_components, dtype=torch.float64, device=device)[:, None]
    means = (centre + offsets).expand(replicates, n_components, d).clone()
    covs = (spread**2 * torch.eye(d, dtype=torch.float64, device=device)).expand(replicates, n_components, d, d).clone()
    weights = torch.full((replicates, n_components), 1.0 / n_components, dtype=torch.float64, device=device)
    return GMMModel(weights, means, covs)


def mixture_observer(dataset: ToyDataset, reference: torch.Tensor, *, wanted: set[int], n_eval: int,
                     snapshot_generations: set[int], k: int = 5):
    """An observer for :func:`run_loop` measuring :data:`GMM_METRICS` at the ``wanted`` generations.

    ``reference`` (1, n_eval, d) is a fixed real sample shared by every replicate and
    generation; samples of replicate 0 at ``snapshot_generations`` are kept as the artefact
    ``snapshot``.
    """

    def observe(model: GMMModel, data, generation: int, generator: torch.Generator):
        if generation not in wanted:
            return None
        samples = model.sample(n_eval, generator=generator, keep_fraction=1.0)
        precision, recall = precision_recall(reference, samples, k=k)
        artefacts = {"snapshot": samples[0].detach().cpu()} if generation in snapshot_generations else {}
        return Observation(artefacts=artefacts, metrics={
            "precision": precision,
            "recall": recall,
            "modes_covered": modes_covered(samples, dataset.modes, dataset.mode_radius),
            "high_quality": high_quality_share(samples, dataset.modes, dataset.mode_radius),
            "sliced_w2": sliced_w2_squared(samples, reference, generator=generator),
            "spread": torch.diagonal(model.cov, dim1=-2, dim2=-1).sum(-1),
            "components": model.alive.sum(1),
        })

    return observe


def simulate_mixture(dataset: ToyDataset, *, generations: int, replicates: int, n_real: int,
                     n_synthetic: int | None = None, workflow: str | WorkflowChoice = "replace",
                     sampling_bias: float = 1.0, keep_fraction: float = 1.0, n_components: int | None = None,
                     start: str = "fit", eval_points: int = 16, n_eval: int = 1000, snapshots=(), seed: int = 0,
                     device: torch.device | str = "cpu", checkpoint: LoopCheckpoint | None = None,
                     progress: Progress | None = None):
    """A Gaussian mixture refitted on its own samples, replicates batched; measured at about ``eval_points``
    generations (:func:`mixture_observer`) against a fixed real reference of ``n_eval`` points.

    ``start="collapsed"`` replaces the first fit by a deliberately bad model (:func:`collapsed_start`).
    Returns the loop's result and the reference sample ``(1, n_eval, d)``."""
    components = n_components or dataset.n_components
    snapshot_generations = {int(g) for g in snapshots}
    if any(not 0 <= g <= generations for g in snapshot_generations):
        raise ValueError(f"snapshots must be generations in [0, {generations}], got {sorted(snapshot_generations)}")
    wanted = set(eval_grid(generations, eval_points)) | snapshot_generations
    family = GMMFamily(components, keep_fraction=keep_fraction)
    if start == "collapsed":
        family = StartFrom(family, collapsed_start(dataset, replicates, components, device=device))
    elif start != "fit":
        raise ValueError(f"start must be 'fit' or 'collapsed', got {start!r}")
    reference = dataset.sampler(1, n_eval, make_generator(seed, "reference", device=device))
    observe = mixture_observer(dataset, reference, wanted=wanted, n_eval=n_eval,
                               snapshot_generations=snapshot_generations)
    result = run_loop(family, DistributionSource(dataset.sampler, replicates, device=device), generations=generations,
                      n_real=n_real, n_synthetic=n_synthetic, workflow=workflow, sampling_bias=sampling_bias,
                      seed=seed, observe=observe, checkpoint=checkpoint, progress=progress or Progress("gmm"))
    return result, reference


def gaussian_distance(dim: int):
    """W2^2 between each fitted Gaussian and the truth N(0, I): closed form."""
    def distance(model, generator):
        eye = torch.eye(dim, dtype=torch.float64, device=model.mean.device)
        return gaussian_w2_squared(model.mean, model.cov, torch.zeros_like(model.mean), eye.expand_as(model.cov))
    return distance


def mixture_distance(dataset: ToyDataset, test: torch.Tensor):
    """KL(truth || model) estimated on a fixed test sample (shared, so differences are low-noise)."""
    true_log_prob = dataset.truth.log_prob(test).mean()

    def distance(model, generator):
        return true_log_prob - model.log_prob(test.expand(model.replicates, -1, -1)).mean(1)
    return distance


def phase_point(family, source, distance, *, n_real: int, n_synthetic: int, sampling_bias: float,
                generations: int, tail: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One point of the phase diagram: per-replicate distance of the real-only fit and of the loop's end.

    The loop's end is the mean over the last ``tail`` generations of the fresh-data loop.
    """
    keep = set(range(max(generations - tail + 1, 1), generations + 1)) | {0}

    def observe(model, data, generation, generator):
        return {"distance": distance(model, generator)} if generation in keep else None

    result = run_loop(family, source, generations=generations, n_real=n_real, n_synthetic=n_synthetic,
                      workflow="fresh", sampling_bias=sampling_bias, seed=seed, observe=observe)
    values = result.wide("distance")
    baseline = values.loc[0].to_numpy()
    tail_values = values.drop(index=0)
    final = tail_values.to_numpy().mean(0) if len(tail_values) else baseline
    return baseline, final


def _phase_setup(family: str, dim: int, dataset: str, n_test: int, test_seed: int):
    """The model family, the real-data sampler and the distance to the truth of a phase-diagram cell."""
    if family == "gaussian":
        return GaussianFamily(ddof=0), gaussian_source_sampler(dim=dim), gaussian_distance(dim)
    toy = get_toy(dataset)
    test = toy.sampler(1, n_test, make_generator(test_seed))  # shared by every point
    return GMMFamily(toy.n_components), toy.sampler, mixture_distance(toy, test)


#: Replicates are simulated in blocks of this many, each with its own seed (block 0 the point's own, block b
#: ``child_seed(seed, "replicate block", b)``): the unit of randomness, so a point's numbers do not depend on how
#: many blocks are in memory at once, and a point of at most one block is the chain as it always was.
REPLICATE_BLOCK = 100
#: How each method of a phase point simulates the fresh-data loop (``exact``: Gaussians only).
PHASE_METHODS = ("sample", "exact")


def replicate_blocks(replicates: int, block: int | None = None) -> list[int]:
    """The sizes of the blocks of ``replicates`` (all full but the last)."""
    block = REPLICATE_BLOCK if block is None else block
    full, rest = divmod(replicates, block)
    return [block] * full + ([rest] if rest else [])


def block_seed(seed: int, block: int) -> int:
    """The seed of one block of a point's replicates: the point's own for block 0."""
    return seed if block == 0 else child_seed(seed, "replicate block", block)


def check_phase_method(method: str, family: str) -> None:
    """Refuse, in one line, what ``method='exact'`` does not implement."""
    if method not in PHASE_METHODS:
        raise ValueError(f"method must be one of {PHASE_METHODS}, got {method!r}")
    if method == "exact" and family != "gaussian":
        raise ValueError(f"method='exact' supports family='gaussian' only (sufficient statistics of a Gaussian), "
                         f"not {family!r}; use method='sample'")


def phase_block(*, n_real: int, synthetic_ratio: float, sampling_bias: float, block: int, seed: int, family: str,
                method: str, dim: int, dataset: str, n_test: int, test_seed: int, generations: int, tail: int,
                replicates: int) -> dict:
    """One block of one cell of MAD's phase diagram, built from plain arguments (so a sweep can run it in another
    process): the fresh-data loop of ``family`` ('gaussian' in ``dim`` dimensions, or a mixture fitted to the toy
    ``dataset``) at (n_real, n_synthetic = synthetic_ratio * n_real, lambda), on the CPU, for the replicates of
    block ``block`` (:data:`REPLICATE_BLOCK` each) of a point whose seed is ``seed``. ``method='exact'`` draws
    a Gaussian chain's sufficient statistics (:func:`madlib.simulations.gaussian.simulate_fresh_exact`) instead
    of its samples. Returns per replicate the distance of the real-only fit and the loop's end."""
    check_phase_method(method, family)
    size = replicate_blocks(replicates)[block]
    n_synthetic, seed = int(round(synthetic_ratio * n_real)), block_seed(seed, block)
    if method == "exact":
        keep = {0} | set(range(max(generations - tail + 1, 1), generations + 1))
        distances = simulate_fresh_exact(dim, n_real, n_synthetic, generations=generations, replicates=size,
                                         sampling_bias=sampling_bias, seed=seed, keep=keep)
        tail_values = [distances[g] for g in sorted(keep - {0})]
        baseline = distances[0]
        final = np.mean(tail_values, axis=0) if tail_values else baseline
    elif family == "gaussian":
        baseline, final = phase_point(GaussianFamily(ddof=0), DistributionSource(gaussian_source_sampler(dim=dim), size),
                                      gaussian_distance(dim), n_real=n_real, n_synthetic=n_synthetic,
                                      sampling_bias=sampling_bias, generations=generations, tail=tail, seed=seed)
    else:
        toy = get_toy(dataset)
        test = toy.sampler(1, n_test, make_generator(test_seed))  # shared by every point
        baseline, final = phase_point(GMMFamily(toy.n_components), DistributionSource(toy.sampler, size),
                                      mixture_distance(toy, test), n_real=n_real, n_synthetic=n_synthetic,
                                      sampling_bias=sampling_bias, generations=generations, tail=tail, seed=seed)
    return {"real_only": np.array(baseline, dtype=float), "loop_end": np.array(final, dtype=float)}  # copies: writable


def phase_row(point: dict, blocks: list[dict]) -> dict:
    """A cell of the phase diagram as a table row, from its blocks (in order): means over every replicate with
    their standard errors, the log ratio of the loop's end to the real-only fit, MAD's effective sample ratio."""
    baseline = np.concatenate([np.asarray(b["real_only"], dtype=float) for b in blocks])
    final = np.concatenate([np.asarray(b["loop_end"], dtype=float) for b in blocks])
    n_real, ratio = point["n_real"], point["synthetic_ratio"]

    def se(values: np.ndarray) -> float | None:
        return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else None

    return {"n_real": n_real, "synthetic_ratio": ratio, "n_synthetic": int(round(ratio * n_real)),
            "sampling_bias": point["sampling_bias"], "real_only": float(np.mean(baseline)),
            "loop_end": float(np.mean(final)), "real_only_se": se(baseline), "loop_end_se": se(final),
            "log10_ratio": float(np.log10(np.mean(final) / np.mean(baseline))),
            # the 1/n proxy of n_e / n_r (exact only if a real-only fit's distance fell like 1/n); the
            # experiment replaces it by inverting the measured real-only curve (effective_sample_size)
            "proxy_ratio": float(np.mean(baseline) / np.mean(final)),
            "share_better": float(np.mean(final < baseline)), "replicates": int(baseline.size)}


def phase_diagram_point(*, n_real: int, synthetic_ratio: float, sampling_bias: float, seed: int, family: str,
                        dim: int, dataset: str, n_test: int, test_seed: int, generations: int, tail: int,
                        replicates: int, method: str = "sample") -> dict:
    """One cell of MAD's phase diagram as a table row (:func:`phase_row`), its blocks one after another."""
    point = {"n_real": n_real, "synthetic_ratio": synthetic_ratio, "sampling_bias": sampling_bias}
    blocks = [phase_block(**point, block=b, seed=seed, family=family, method=method, dim=dim, dataset=dataset,
                          n_test=n_test, test_seed=test_seed, generations=generations, tail=tail,
                          replicates=replicates) for b in range(len(replicate_blocks(replicates)))]
    return phase_row(point, blocks)


def phase_block_memory(*, family: str, method: str, dim: int, dataset: str, n_real: int, synthetic_ratio: float,
                       replicates: int, n_test: int = 0) -> tuple[float, str]:
    """Peak bytes of one block of a phase point (and what lowers it): the exact chain holds about 14 d x d
    matrices per replicate; the sampled one about six copies of its training set (n_real + n_synthetic items)
    and, for a mixture, EM's per-item responsibilities; plus the interpreter and libraries (PROCESS_BYTES)."""
    size = float(min(replicates, REPLICATE_BLOCK))
    items = n_real * (1 + synthetic_ratio)
    if method == "exact":
        return PROCESS_BYTES + 14 * 8 * size * dim * dim, "lower dim"
    if family == "gaussian":
        return (PROCESS_BYTES + 6 * 8 * size * items * dim + 12 * 8 * size * dim * dim,
                "lower n_real or synthetic_ratio (or dim), or use method='exact'")
    toy = get_toy(dataset)
    components, d = toy.n_components, toy.modes.shape[1]
    return (PROCESS_BYTES + 10 * 8 * size * (items + n_test) * components * (d + 2),
            "lower n_real or synthetic_ratio")


def real_only_point(*, n_real: int, seed: int, family: str, dim: int, dataset: str, n_test: int, test_seed: int,
                    replicates: int, method: str = "sample") -> dict:
    """One point of the real-only curve: the mean distance to the truth of a fit to ``n_real`` real items
    (over ``replicates`` independent fits), the curve MAD invert to define the effective sample size. The fits run
    in blocks of :data:`REPLICATE_BLOCK` (seeds as :func:`block_seed`), so memory stays that of one block.
    ``method='exact'`` (Gaussians only) draws each fit's sufficient statistics, generation 0 of
    :func:`madlib.simulations.gaussian.simulate_fresh_exact`: O(d^3) per fit whatever ``n_real``, where sampling
    costs O(n d^2) (a curve to 10,000 items of 100 dimensions: seconds instead of minutes)."""
    check_phase_method(method, family)
    if method == "exact":
        def fit_block(size: int, block_seed_: int) -> np.ndarray:
            return simulate_fresh_exact(dim, n_real, 0, generations=0, replicates=size, seed=block_seed_,
                                        keep={0})[0]
    else:
        model_family, sampler, distance = _phase_setup(family, dim, dataset, n_test, test_seed)

        def fit_block(size: int, block_seed_: int) -> np.ndarray:
            result = run_loop(model_family, DistributionSource(sampler, size), generations=0, n_real=n_real,
                              workflow="replace", seed=block_seed_,
                              observe=lambda model, data, generation, generator: {"distance": distance(model, generator)})
            return result.wide("distance").loc[0].to_numpy()
    values = [fit_block(size, block_seed(seed, block)) for block, size in enumerate(replicate_blocks(replicates))]
    values = np.concatenate(values)
    return {"n_real": n_real, "distance": float(np.mean(values)),
            "standard_error": float(np.std(values, ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0}


def real_only_sizes(smallest: int, largest: int, points: int = 12) -> list[int]:
    """About ``points`` sizes from ``smallest`` to ``largest``, evenly spaced on a log scale."""
    if smallest < 1 or largest < smallest:
        raise ValueError(f"need 1 <= smallest <= largest, got smallest={smallest}, largest={largest}")
    return sorted(set(np.round(np.geomspace(smallest, largest, points)).astype(int).tolist()))


def effective_sample_size(sizes, distances, targets, *, anchors=None, anchor_sizes=None) -> tuple[np.ndarray, np.ndarray]:
    """MAD's effective sample size: the n at which a real-only fit's mean distance equals each target.

    ``sizes`` and ``distances`` are the measured real-only curve (it is made non-increasing and
    interpolated linearly in log n and log distance); a target outside the curve's range is extrapolated
    with the power law of the three nearest points, and flagged. With ``anchors`` (each cell's own
    real-only distance at its n_r, from the same chains as the target) the inverse is read *relative* to
    the anchor: ``n_e = n_r * N(target) / N(anchor)`` (``anchor_sizes`` holds the n_r), with N the inverse
    curve, which removes the noise of comparing different chains. Returns ``(n_e, extrapolated)``.
    """
    n = np.asarray(sizes, dtype=float)
    d = np.asarray(distances, dtype=float)
    if n.ndim != 1 or n.size < 3 or d.shape != n.shape or not np.all(np.diff(n) > 0):
        raise ValueError(f"sizes must be increasing with one distance each (at least 3), got {sizes!r}, {distances!r}")
    if not np.all(d > 0):
        raise ValueError(f"distances must be positive, got {distances!r}")
    log_n, log_d = np.log(n), np.log(np.minimum.accumulate(d))

    def inverse(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.log(np.asarray(target, dtype=float))
        low, high = t > log_d[0], t < log_d[-1]  # above the smallest size's distance / below the largest's
        # np.interp needs increasing x: the curve read backwards
        out = np.interp(t, log_d[::-1], log_n[::-1])
        for mask, index in ((low, slice(0, 3)), (high, slice(-3, None))):
            if mask.any():
                slope, intercept = np.polyfit(log_n[index], log_d[index], 1)
                if slope >= 0:
                    raise ValueError("the real-only curve must fall with n to be inverted")
                out = np.where(mask, (t - intercept) / slope, out)
        return np.exp(out), low | high

    targets = np.atleast_1d(np.asarray(targets, dtype=float))
    if np.any(targets <= 0):
        raise ValueError(f"targets must be positive, got {targets!r}")
    n_e, extrapolated = inverse(targets)
    if (anchors is None) != (anchor_sizes is None):
        raise ValueError("anchors and anchor_sizes go together: give both or neither")
    if anchors is not None:
        anchor_distance = np.atleast_1d(np.asarray(anchors, dtype=float))
        anchor_n = np.atleast_1d(np.asarray(anchor_sizes, dtype=float))
        if anchor_distance.shape != targets.shape or anchor_n.shape != targets.shape or np.any(anchor_distance <= 0):
            raise ValueError("anchors and anchor_sizes must be positive, one per target")
        n_anchor, anchor_out = inverse(anchor_distance)
        n_e, extrapolated = anchor_n * n_e / n_anchor, extrapolated | anchor_out
    return n_e, extrapolated


def curve_slope(sizes, distances) -> float:
    """The slope of log(distance) against log(n) over the whole real-only curve (-1 for a 1/n law)."""
    return float(np.polyfit(np.log(np.asarray(sizes, dtype=float)), np.log(np.asarray(distances, dtype=float)), 1)[0])


def admissible_synthetic(frame: pd.DataFrame) -> pd.DataFrame:
    """Per (sampling_bias, n_real): the largest n_synthetic / n_real of the grid up to which synthetic data
    helps in every cell (``log10_ratio < 0``), and that amount n_synthetic itself.

    A row has ``admissible_ratio`` 0 when even the smallest ratio hurts; ``bounded`` is False when the
    largest ratio of the grid still helps (the threshold lies beyond the grid).
    """
    needed = {"sampling_bias", "n_real", "synthetic_ratio", "log10_ratio"}
    if not needed <= set(frame.columns):
        raise ValueError(f"frame must have the columns {sorted(needed)}, got {sorted(frame.columns)}")
    rows = []
    for (lam, n_real), part in frame.groupby(["sampling_bias", "n_real"]):
        part = part.sort_values("synthetic_ratio")
        helps = (part["log10_ratio"] < 0).to_numpy()
        ratios = part["synthetic_ratio"].to_numpy()
        first_hurt = int(np.argmin(helps)) if not helps.all() else len(helps)
        ratio = float(ratios[first_hurt - 1]) if first_hurt > 0 else 0.0
        rows.append({"sampling_bias": float(lam), "n_real": int(n_real), "admissible_ratio": ratio,
                     "admissible_n_synthetic": int(round(ratio * n_real)), "bounded": bool(first_hurt < len(helps))})
    return pd.DataFrame(rows)
