"""Chapter 6's simulations: every remedy on the cheap families, on one footing.

For each family a *quality* per replicate and generation is measured and divided by its
generation-0 value (see :data:`CASES`); :func:`remedy_curve` runs one remedy on one family,
:func:`sweep_point` one point of a remedy's sweep (how much real data, how good a detector,
how strong a reweighting).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch

from ..core.loop import run_loop
from ..core.pace import Progress
from ..core.seeding import generator as make_generator
from ..core.sources import DistributionSource
from ..core.validation import check_int
from ..core.workflows import configure
from ..data.toy import blobs
from ..metrics.manifold import precision_recall
from ..models.categorical import CategoricalFamily, CategoricalSource
from ..models.gaussian import GaussianFamily, gaussian_source_sampler
from ..models.gmm import GMMFamily
from ..remedies import (CorrectedFamily, GaussianCorrector, MixtureCorrector, ProvenanceFilter, ShareCorrector,
                        TailReweighting, effective_sample_size, remedy_settings)
from ..remedies.filters import one_hot_features, quadratic_features
from ..remedies.registry import WEB_SCRAPE_BIAS, WEB_SCRAPE_RATIO

TOY_FAMILIES = ("gaussian", "cats", "mixture")


@dataclass
class FamilyCase:
    """How to run and measure one cheap family in the scoreboard."""

    name: str
    n_real: int
    make_family: Callable[[], Any]
    make_source: Callable[[int], Any]
    reference_log_prob: Callable[[torch.Tensor], torch.Tensor]
    quality: Callable[[Any, torch.Generator], torch.Tensor]  # per-replicate quality of a model
    aggregate: str  # "median" or "mean" over replicates
    what: str
    features: Callable[[torch.Tensor], torch.Tensor] = quadratic_features  # the learned verifier's features
    corrector: Callable | None = None  # the self-correction remedy's projection onto what is known of the truth

    def real_reference(self, replicates: int, n_ref: int, seed: int) -> torch.Tensor:
        """A small real set for the learned verifier, ``(R, n_ref, ...)``, independent of the loop's data."""
        return self.make_source(replicates).draw(n_ref, make_generator(seed, "verifier reference"))


def _gaussian_case() -> FamilyCase:
    return FamilyCase(
        name="gaussian", n_real=100, make_family=lambda: GaussianFamily(ddof=0),
        make_source=lambda R: DistributionSource(gaussian_source_sampler(), R),
        reference_log_prob=lambda x: -0.5 * x[..., 0] ** 2 - 0.5 * np.log(2 * np.pi),
        quality=lambda model, gen: model.std, aggregate="median",
        what="fitted sigma (median over replicates)", corrector=GaussianCorrector())


CAT_PROPORTIONS = torch.tensor([0.9, 0.1], dtype=torch.float64)  # yellow, blue


def _cats_case() -> FamilyCase:
    log_p = torch.log(CAT_PROPORTIONS)
    return FamilyCase(
        name="cats", n_real=100, make_family=lambda: CategoricalFamily(2),
        make_source=lambda R: CategoricalSource(CAT_PROPORTIONS, R),
        reference_log_prob=lambda items: log_p.to(items.device)[(items[..., 0] if items.ndim == 3 else items).long()],
        # blue's share relative to the true 10%, NOT capped. The median world, not the mean: the mean
        # blue share is a martingale (chapter 2), so it stays at 10% even under replace, where nine
        # worlds in ten lose blue; the median falls to 0 once most worlds have lost it.
        quality=lambda model, gen: model.probs[:, 1] / CAT_PROPORTIONS[1], aggregate="median",
        what="blue cats' share relative to the true 10% (median world; uncapped)",
        features=one_hot_features(2), corrector=ShareCorrector(CAT_PROPORTIONS))


#: The mixture's recall is measured against one fixed real sample, the same for every run and seed (so
#: remedies and seeds differ by their chains alone); it is drawn from its own named stream.
MIXTURE_REFERENCE_SEED = 12345


def _mixture_case() -> FamilyCase:
    data = blobs()
    reference = data.sampler(1, 500, make_generator(MIXTURE_REFERENCE_SEED))

    def recall(model, gen):
        samples = model.sample(500, generator=gen)
        return precision_recall(reference.to(samples.device), samples, k=5)[1]

    return FamilyCase(
        name="mixture", n_real=100, make_family=lambda: GMMFamily(2, max_iter=40, init="previous"),
        make_source=lambda R: DistributionSource(data.sampler, R),
        reference_log_prob=lambda x: data.truth.log_prob(x[:, :, :]) if x.shape[0] == 1 else
        data.truth.log_prob(x.reshape(1, -1, x.shape[-1])).reshape(x.shape[:2]),
        quality=recall, aggregate="median",
        what="recall of the two blobs (median over replicates)",
        corrector=MixtureCorrector(data.modes, float(data.truth.covs[0, 0, 0, 0].sqrt())))


CASES = {"gaussian": _gaussian_case, "cats": _cats_case, "mixture": _mixture_case}


def relative_quality(result, aggregate: str) -> pd.Series:
    """A loop's ``quality`` per generation, aggregated over replicates (median or mean), relative to generation 0."""
    values = result.wide("quality")
    curve = values.median(axis=1) if aggregate == "median" else values.mean(axis=1)
    return curve / curve.iloc[0]


def quality_observer(case: FamilyCase, keep) -> Callable:
    """An observer measuring ``case.quality`` at the generations where ``keep(t)`` is true."""
    def observe(model, data, t, generator):
        return {"quality": case.quality(model, generator)} if keep(t) else None
    return observe


def remedy_curve(family: str, remedy: str, *, generations: int, replicates: int, seed: int = 0,
                 every: int = 1, progress: Progress | None = None, n_real: int | None = None,
                 aggregate: str | None = None) -> pd.Series:
    """Relative quality per generation (generation 0 = 1) of one family under one remedy.

    ``n_real`` (default the family's) is the training-set size per generation; ``aggregate``
    ("median" or "mean") overrides how the family's quality is averaged over replicates.
    """
    if family not in CASES:
        raise ValueError(f"family must be one of {tuple(CASES)}, got {family!r}")
    case = CASES[family]()
    n_real = case.n_real if n_real is None else check_int("n_real", n_real, 2)
    aggregate = case.aggregate if aggregate is None else aggregate
    if aggregate not in ("median", "mean"):
        raise ValueError(f"aggregate must be 'median' or 'mean', got {aggregate!r}")
    reference = case.real_reference(replicates, n_real, seed) if remedy == "learned-verifier" else None
    settings = remedy_settings(remedy, n_real=n_real, reference_log_prob=case.reference_log_prob,
                               real_reference=reference, features=case.features, corrector=case.corrector)
    every = check_int("every", every, 1)
    observe = quality_observer(case, lambda t: t % every == 0 or t == generations)
    corrector = settings.pop("corrector", None)
    fitted = case.make_family() if corrector is None else CorrectedFamily(case.make_family(), corrector)
    result = run_loop(fitted, case.make_source(replicates), generations=generations, n_real=n_real,
                      seed=seed, observe=observe, progress=progress or Progress(f"{family}: {remedy}"), **settings)
    return relative_quality(result, aggregate)


def sweep_settings(sweep: str, value: float, n_real: int) -> dict:
    """Loop settings for one point of a remedy sweep (see :data:`SWEEPS`)."""
    if sweep == "kept real fraction":
        return {"workflow": configure("replace", kept_real_fraction=value)}
    if sweep == "detector miss rate":
        # the web-scrape world: 80% of each scrape is cherry-picked synthetic content
        return {"workflow": configure("fresh"), "n_synthetic": WEB_SCRAPE_RATIO * n_real, "sampling_bias": WEB_SCRAPE_BIAS,
                "curate": ProvenanceFilter(value)}
    if sweep == "tail reweighting strength":
        return {"workflow": configure("replace"), "curate": TailReweighting(value) if value > 0 else None}
    raise ValueError(f"sweep must be one of {SWEEPS}, got {sweep!r}")


SWEEPS = {
    "kept real fraction": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
    "detector miss rate": (0.0, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0),
    "tail reweighting strength": (0.0, 0.005, 0.01, 0.02, 0.04, 0.08),
}


def sweep_point(family: str, sweep: str, value: float, *, generations: int, replicates: int, seed: int = 0) -> dict:
    """Final relative quality (and, for reweighting, the effective sample size) at one sweep point."""
    case = CASES[family]()
    settings = {"n_synthetic": case.n_real, **sweep_settings(sweep, value, case.n_real)}
    recorder = EssRecorder(settings["curate"]) if isinstance(settings.get("curate"), TailReweighting) else None
    if recorder is not None:
        settings["curate"] = recorder
    result = run_loop(case.make_family(), case.make_source(replicates), generations=generations, n_real=case.n_real,
                      seed=seed, observe=quality_observer(case, lambda t: t in (0, generations)), **settings)
    return {"family": family, "sweep": sweep, "value": value,
            "final_relative_quality": float(relative_quality(result, case.aggregate).iloc[-1]),
            "relative_ess": recorder.mean() if recorder is not None else 1.0}


class EssRecorder:
    """A curate hook that delegates to ``inner`` and records each generation's relative effective sample
    size of the weights it returns (the cost of reweighting)."""

    def __init__(self, inner: Callable):
        self.inner, self.values = inner, []

    def __call__(self, synthetic, generation, generator, model):
        weights = self.inner(synthetic, generation, generator, model)
        self.values.append(float(effective_sample_size(weights).mean()) / synthetic.shape[1])
        return weights

    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else 1.0


def mix_final_quality(original: float, previous: float, *, generations: int, replicates: int, n_real: int = 100,
                      seed: int = 0) -> float:
    """The Gaussian's median fitted sigma after ``generations`` under Shumailov's mix (shares alpha =
    ``original``, beta = ``previous``, gamma = the rest), relative to generation 0's."""
    case = CASES["gaussian"]()
    result = run_loop(case.make_family(), case.make_source(replicates), generations=generations, n_real=n_real,
                      n_synthetic=n_real, workflow=configure("mix", mix_original=original, mix_previous=previous),
                      seed=seed, observe=quality_observer(case, lambda t: t in (0, generations)))
    return float(relative_quality(result, "median").iloc[-1])
