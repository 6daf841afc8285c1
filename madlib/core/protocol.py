"""The one protocol every generative model family follows.

Everything is batched over *replicates*: a data set is a tensor of shape
``(R, N, *event_shape)`` holding R independent data sets of N items each, and a
fitted model holds R independent models. Cheap families (Gaussian, categorical,
mixtures) run hundreds of replicate chains at once this way; expensive ones
(VAE, tiny LM) simply use ``R = 1``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch


@runtime_checkable
class GenerativeModel(Protocol):
    """A fitted model (R replicates batched)."""

    def sample(
        self,
        n: int,
        *,
        sampling_bias: float = 1.0,
        generator: torch.Generator | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Draw ``n`` items per replicate: a tensor ``(R, n, *event_shape)``.

        ``sampling_bias`` (lambda, 0 < lambda <= 1) trades diversity for quality;
        1 samples the fitted model as it is. ``context`` is the data the model was
        trained on, for families that generate by continuing it (language models).
        """
        ...


@runtime_checkable
class Family(Protocol):
    """A model family: knows how to fit a batch of data sets."""

    name: str

    def fit(
        self,
        data: torch.Tensor,
        *,
        weights: torch.Tensor | None = None,
        previous: GenerativeModel | None = None,
        generator: torch.Generator | None = None,
    ) -> GenerativeModel:
        """Fit one model per replicate to ``data`` of shape ``(R, N, *event_shape)``.

        ``weights`` (``(R, N)``, non-negative) reweight items (curation, tail
        reweighting); ``previous`` is the last generation's model, for families
        that warm-start or fine-tune.
        """
        ...
