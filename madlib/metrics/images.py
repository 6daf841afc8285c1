"""Image metrics in a classifier's feature space: MNIST FID, precision/recall, digit-class entropy."""
from __future__ import annotations

import math

import numpy as np
import torch

from ..core.config import to_float64
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
    p = to_float64(histogram)
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


def embed_2d(feature_sets: list[torch.Tensor], *, perplexity: float = 30.0, seed: int = 0) -> list[np.ndarray]:
    """One joint 2-D t-SNE map (scikit-learn) of several sets of features ``(n_i, d)``, returned per set.

    Mapping every set together (real digits and each generation's samples) puts them on the same map, so
    a generation's points can be read against the real ones; t-SNE keeps neighbourhoods, not distances,
    so clusters merging or shrinking onto a few points is what the map shows. Features are used as they
    are: the classifier's feature space, whose distances FID and precision/recall also use (standardising
    each feature would inflate the many uninformative ones).
    """
    # scikit-learn's import is slow and only this function needs it
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if not feature_sets:
        raise ValueError("feature_sets must hold at least one (n, d) set of features")
    arrays = [np.asarray(to_float64(f).cpu()) for f in feature_sets]
    if any(a.ndim != 2 or a.shape[0] == 0 for a in arrays) or len({a.shape[1] for a in arrays}) != 1:
        raise ValueError(f"feature_sets must be non-empty (n, d) arrays of one d, got {[a.shape for a in arrays]}")
    stacked = np.concatenate(arrays)
    if not 1.0 <= perplexity < stacked.shape[0]:
        raise ValueError(f"perplexity must be in [1, {stacked.shape[0]}) (the number of points), got {perplexity}")
    # one OpenMP thread: on a busy 2-core machine t-SNE's threads spin-wait, 3-10x slower than one thread
    with threadpool_limits(1):
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                      max_iter=750).fit_transform(stacked)
    sizes = np.cumsum([a.shape[0] for a in arrays])[:-1]
    return np.split(points, sizes)
