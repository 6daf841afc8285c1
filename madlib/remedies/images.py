"""Verification and curation of generated digits (chapter 6 on MNIST): ``curate`` hooks for the one loop.

The generator draws more candidates than it needs; a filter keeps ``n_keep`` of them (weight 1) and
drops the rest (weight 0) through :func:`madlib.core.loop.run_loop`'s ``curate`` hook.

* ``"learned-verifier"`` (:class:`ClassifierVerifier`) -- the digit classifier trained once on *real* digits
  judges: per predicted class it keeps the candidates it is most confident about, as many as the real
  class frequencies ask for, so kept digits look real and every class stays alive.
* ``"self-likelihood"`` -- the generator judges itself: keep the candidates with the highest ELBO under
  the VAE that drew them (:class:`madlib.remedies.SelfLikelihoodFilter` with
  :meth:`madlib.models.vae.VAEModel.log_prob`), cherry-picking by the model's own taste.
"""
from __future__ import annotations

import torch

from ..core.select import keep_top, largest_remainder
from ..core.validation import check_choice, check_int
from .filters import SelfLikelihoodFilter

from .registry import CURATIONS


def keep_per_class(confidence: torch.Tensor, predicted: torch.Tensor, quotas: torch.Tensor) -> torch.Tensor:
    """Weights ``(R, m)`` in {0, 1}: per replicate, the ``quotas[c]`` most confident items predicted as class c.

    ``confidence`` in [0, 1] and ``predicted`` (class ids) are ``(R, m)``. When a class has fewer
    candidates than its quota, the shortfall goes to the most confident of the remaining items, so
    exactly ``min(quotas.sum(), m)`` items are kept in every replicate.
    """
    if confidence.shape != predicted.shape or confidence.ndim != 2:
        raise ValueError(f"confidence and predicted must both be (R, m), got {tuple(confidence.shape)} "
                         f"and {tuple(predicted.shape)}")
    confidence = confidence.to(torch.float64)
    if bool(((confidence < 0) | (confidence > 1)).any()):
        raise ValueError("confidence must lie in [0, 1]")
    predicted = predicted.to(torch.int64)
    quotas = torch.as_tensor(quotas, dtype=torch.int64).to(predicted.device)
    if int(predicted.min()) < 0 or int(predicted.max()) >= quotas.numel():
        raise ValueError(f"predicted classes must lie in [0, {quotas.numel()})")
    replicates, m = confidence.shape
    # Sort by class, most confident first inside a class: key 2c - confidence keeps classes apart.
    order = (2.0 * predicted - confidence).argsort(dim=1, stable=True)
    sorted_class = predicted.gather(1, order)
    position = torch.arange(m, device=predicted.device).expand(replicates, m)
    counts = torch.nn.functional.one_hot(predicted, quotas.numel()).sum(1)  # (R, classes)
    class_start = counts.cumsum(1) - counts
    rank_in_class = position - class_start.gather(1, sorted_class)
    in_quota = torch.zeros(replicates, m, dtype=torch.float64, device=predicted.device)
    in_quota.scatter_(1, order, (rank_in_class < quotas[sorted_class]).to(torch.float64))
    # In-quota items first (key >= 2), then the rest by confidence: the top n_keep fill any shortfall.
    n_keep = min(int(quotas.sum()), m)
    return keep_top(2.0 * in_quota + confidence, n_keep)


class ClassifierVerifier:
    """A ``curate`` hook: a classifier of real digits keeps ``n_keep`` candidates, class by class.

    ``classifier`` has ``embed(images) -> (features, logits)`` (:class:`madlib.models.classifier.DigitClassifier`);
    ``class_shares`` are the real class frequencies the kept set should follow.
    """

    def __init__(self, classifier, class_shares: torch.Tensor, n_keep: int):
        self.classifier = classifier
        self.n_keep = check_int("n_keep", n_keep, 1)
        self.quotas = largest_remainder(class_shares, self.n_keep)

    @torch.no_grad()
    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model=None) -> torch.Tensor:
        replicates, m = synthetic.shape[:2]
        _, logits = self.classifier.embed(synthetic.reshape(-1, *synthetic.shape[2:]))
        probs = logits.to(torch.float64).softmax(-1).reshape(replicates, m, -1)
        confidence, predicted = probs.max(-1)
        return keep_per_class(confidence, predicted, self.quotas).to(synthetic.device)


def image_curator(curate: str, *, n_keep: int, n_drawn: int, classifier=None, class_shares: torch.Tensor | None = None):
    """The ``curate`` hook named ``curate`` (one of :data:`CURATIONS`) keeping ``n_keep`` of ``n_drawn``; None for "none"."""
    curate = check_choice("curate", curate, CURATIONS)
    n_keep = check_int("n_keep", n_keep, 1)
    n_drawn = check_int("n_drawn", n_drawn, n_keep)
    if curate == "none":
        return None
    if curate == "learned-verifier":
        if classifier is None or class_shares is None:
            raise ValueError("curate='learned-verifier' needs the classifier of real digits and the real class_shares")
        return ClassifierVerifier(classifier, class_shares, n_keep)
    # keep_fraction * n_drawn rounds back to exactly n_keep
    return SelfLikelihoodFilter(keep_fraction=n_keep / n_drawn)
