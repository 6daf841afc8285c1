"""Image metrics in a classifier's feature space: MNIST FID, precision/recall, digit-class entropy."""
from __future__ import annotations

import math

import torch

from .frechet import frechet_distance
from .manifold import precision_recall


def class_histogram(logits: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """Share of samples predicted as each class, ``(classes,)`` float64, summing to 1."""
    if logits.ndim != 2 or logits.shape[0] == 0:
        raise ValueError(f"logits must be a non-empty (n, classes) tensor, got {tuple(logits.shape)}")
    counts = torch.bincount(logits.argmax(1).cpu(), minlength=classes).to(torch.float64)
    return counts / counts.sum()


def class_entropy(histogram: torch.Tensor) -> float:
    """Entropy in bits of a class histogram: log2(10) = 3.32 when all ten digits are equally common, 0 for one."""
    p = torch.as_tensor(histogram, dtype=torch.float64)
    if p.ndim != 1 or (p < 0).any() or not math.isclose(float(p.sum()), 1.0, rel_tol=1e-6):
        raise ValueError("histogram must be a 1-D probability vector")
    p = p[p > 0]
    return float(-(p * p.log2()).sum())


def image_metrics(real_features: torch.Tensor, generated_features: torch.Tensor, generated_logits: torch.Tensor,
                  k: int = 5) -> dict[str, object]:
    """FID, precision, recall (k-NN manifolds, ``k``), class histogram and entropy of generated images.

    ``real_features`` / ``generated_features`` are ``(n, d)`` classifier features; ``generated_logits``
    the classifier's logits for the generated images.
    """
    fid = float(frechet_distance(real_features, generated_features))
    precision, recall = precision_recall(real_features.float(), generated_features.float(), k=k)
    histogram = class_histogram(generated_logits)
    return {
        "fid": fid,
        "precision": float(precision[0]),
        "recall": float(recall[0]),
        "class_entropy": class_entropy(histogram),
        "class_histogram": histogram,
    }
