"""The remedies of chapter 6, as a small registry: each has a key (for code and the command line),
a label (for figures and tables) and the loop settings it stands for.

Every remedy is a change to the fully synthetic loop (``replace``): a workflow (accumulate,
accumulate on a fixed budget, fresh data, a kept share of real data, a periodic reset to the
pristine snapshot), a ``curate`` hook (an oracle or a learned verifier, the model's own taste,
tail reweighting, a detector of synthetic data), a corrector that moves the synthetic data towards a
constraint known about the real data (:mod:`.corrector`), or a different world (a web scrape where 80%
of each generation's data is machine-made and cherry-picked, sampling bias 0.8).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ..core.validation import check_choice
from ..core.workflows import configure
from .corrector import CORRECTION_STRENGTH, Corrector
from .filters import LearnedVerifier, ProvenanceFilter, SelfLikelihoodFilter, TailReweighting, VerifierFilter

LogProb = Callable[[torch.Tensor], torch.Tensor]

#: The curation choices of the ``vae`` and ``lm`` experiments: a judge trained on real data (the registry's
#: ``learned-verifier``; see images/text) or the generator's own likelihood.
CURATIONS = ("none", "learned-verifier", "self-likelihood")


@dataclass(frozen=True)
class Remedy:
    """A way out of collapse: ``key`` (code, CLI), ``label`` (figures, tables), ``summary`` (one line)."""

    key: str
    label: str
    summary: str


REMEDIES: dict[str, Remedy] = {r.key: r for r in (
    Remedy("none", "none (replace)", "fully synthetic: each generation trains on the last one's samples only"),
    Remedy("keep-real", "keep 10% real", "a share of each training set is original real data"),
    Remedy("accumulate", "accumulate", "keep every generation's data, real and synthetic"),
    Remedy("accumulate-subsample", "accumulate, fixed budget",
           "keep every generation's data but train on a random subset of constant size"),
    Remedy("fresh", "fresh data", "new real data every generation beside the synthetic"),
    Remedy("reset", "reset to snapshot", "replace, but every 10 generations refit to the original real data"),
    Remedy("verifier", "oracle verifier (upper bound)",
           "a verifier that knows the true density ratio accepts candidates: the best any verifier can do"),
    Remedy("learned-verifier", "learned verifier",
           "a judge trained on real data: for the toys a classifier of 100 real items against the candidates"),
    Remedy("self-likelihood", "self-likelihood filter", "the generator keeps the candidates it finds most likely"),
    Remedy("tail-reweighting", "tail reweighting", "unlikely items are upweighted"),
    Remedy("corrector", "self-correction",
           f"each synthetic batch is moved {CORRECTION_STRENGTH:.0%} of the way onto a constraint known about the "
           "real data (Gillman et al.)"),
    Remedy("web-scrape", "web scrape, no detector", "80% of each scrape is cherry-picked synthetic content"),
    Remedy("web-scrape-detector", "web scrape + detector", "the scrape's synthetic content is filtered by a detector"),
)}
REMEDY_KEYS = tuple(REMEDIES)


def remedy_label(key: str) -> str:
    """The display label of remedy ``key``."""
    return REMEDIES[check_choice("remedy", key, REMEDY_KEYS)].label


RESET_EVERY = 10  #: generations between two resets to the pristine snapshot (remedy "reset")
WEB_SCRAPE_RATIO = 4  #: synthetic items per fresh real one in a web scrape (remedies "web-scrape*")
WEB_SCRAPE_BIAS = 0.8  #: the sampling bias (cherry-picking) of the web scrape's synthetic content
DETECTOR_MISS_RATE = 0.1  #: the share of synthetic items the scoreboard's detector misses


def remedy_settings(remedy: str, *, n_real: int, reference_log_prob: LogProb | None = None,
                    tail_strength: float | None = None, detector_miss_rate: float = DETECTOR_MISS_RATE,
                    keep_fraction: float = 0.8, kept_real_fraction: float = 0.1,
                    real_reference: torch.Tensor | None = None, features: Callable | None = None,
                    reset_every: int = RESET_EVERY, corrector: Corrector | None = None) -> dict:
    """Loop settings (``workflow``, a :class:`~madlib.core.workflows.WorkflowChoice` with its options,
    ``n_synthetic``, ``sampling_bias``, ``curate``) for the remedy with key ``remedy`` on a family trained
    on ``n_real`` items a generation. The oracle verifier needs ``reference_log_prob``; the learned one a
    small set of real items ``real_reference`` and the classifier's ``features``. The corrector needs the
    family's ``corrector`` and adds it under the key ``corrector``: wrap the family in
    :class:`~madlib.remedies.corrector.CorrectedFamily` with it (it is not a loop setting)."""
    remedy = check_choice("remedy", remedy, REMEDY_KEYS)
    n = n_real
    settings = {"workflow": configure("replace"), "n_synthetic": n, "sampling_bias": 1.0, "curate": None}
    if remedy == "keep-real":
        settings["workflow"] = configure("replace", kept_real_fraction=kept_real_fraction)
    elif remedy in ("accumulate", "fresh", "accumulate-subsample"):
        settings["workflow"] = configure(remedy)
    elif remedy == "reset":
        settings["workflow"] = configure("reset", reset_every=reset_every)
    elif remedy == "learned-verifier":
        if real_reference is None or features is None:
            raise ValueError("the learned verifier needs real_reference (a small set of real items) and features")
        settings.update(n_synthetic=4 * n, curate=LearnedVerifier(real_reference, features, max_keep=n))
    elif remedy == "verifier":
        if reference_log_prob is None:
            raise ValueError("the verifier filter needs reference_log_prob (the real distribution's log-density)")
        # draw 4x the candidates, keep n that the verifier accepts
        settings.update(n_synthetic=4 * n, curate=VerifierFilter(reference_log_prob, max_keep=n))
    elif remedy == "self-likelihood":
        settings["curate"] = SelfLikelihoodFilter(keep_fraction)
    elif remedy == "tail-reweighting":
        settings["curate"] = TailReweighting(2.0 / n if tail_strength is None else tail_strength)
    elif remedy == "corrector":
        if corrector is None:
            raise ValueError("the corrector remedy needs corrector (a function of a synthetic batch, see "
                             "madlib.remedies.corrector)")
        settings["corrector"] = corrector
    elif remedy.startswith("web-scrape"):
        settings.update(workflow=configure("fresh"), n_synthetic=WEB_SCRAPE_RATIO * n, sampling_bias=WEB_SCRAPE_BIAS)
        if remedy == "web-scrape-detector":
            settings["curate"] = ProvenanceFilter(detector_miss_rate)
    return settings
