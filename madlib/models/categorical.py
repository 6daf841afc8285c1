"""Categorical data: a batched family of discrete distributions over K categories.

Items are integer category ids, data sets are ``(R, N)`` (or ``(R, N, 1)``)
tensors, and a fitted model holds one probability vector per replicate,
``probs`` of shape ``(R, K)``. Fitting is counting: the maximum-likelihood
estimate is the (weighted) share of each category, optionally smoothed by a
pseudocount. Refit to its own samples, this is neutral Wright-Fisher
resampling (:mod:`madlib.theory.wright_fisher`).

Speed. Drawing ``n`` items from R categorical models is the same as drawing the
*counts* ``(R, K)`` from a multinomial and writing the items out in category
order: the items of a data set are exchangeable for every model in this file,
so the order carries no information. For a few categories we draw the counts as
a chain of binomials (``K - 1`` calls of :func:`torch.binomial`, each over all
replicates at once), which is exact and far faster than ``torch.multinomial``
over items; for many categories we fall back to ``torch.multinomial``. The
model also remembers the counts of the last batch it drew, so refitting to
exactly that tensor (the *replace* workflow) skips the recount -- the same
numbers, just no second pass over the items.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..core.select import largest_remainder
from ..core.state import register_state_class
from ..core.validation import check_float, check_int

#: Up to this many categories counts are drawn as a chain of binomials.
BINOMIAL_CHAIN_MAX_CATEGORIES = 16


def id_dtype(num_categories: int) -> torch.dtype:
    """The compact integer dtype used for category ids (uint8 up to 256 categories)."""
    return torch.uint8 if num_categories <= 256 else torch.int64


def sharpen(probs: torch.Tensor, sampling_bias: float) -> torch.Tensor:
    """Temperature-like sharpening ``p_k^(1/lambda) / sum_j p_j^(1/lambda)``.

    ``sampling_bias`` (lambda) in (0, 1]: 1 leaves the model as it is, smaller
    values favour the common categories (lambda -> 0 is the arg-max). Zero
    probabilities stay zero, so sharpening never brings a lost category back.
    """
    sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
    if sampling_bias == 1.0:
        return probs
    # Work in log space: p^(1/lambda) underflows for small p and lambda.
    log_p = torch.log(probs.clamp_min(0)) / sampling_bias
    return torch.softmax(log_p, dim=-1)


def draw_counts(probs: torch.Tensor, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Multinomial counts ``(R, K)`` (float64) of ``n`` draws from each row of ``probs``.

    Exact: a chain of conditional binomials, ``c_k ~ Bin(n - c_<k, p_k / (1 - p_<k))``.
    """
    n = check_int("n", n, 0)
    probs = probs.to(torch.float64)
    R, K = probs.shape
    counts = torch.zeros(R, K, dtype=torch.float64, device=probs.device)
    remaining = torch.full((R,), float(n), dtype=torch.float64, device=probs.device)
    mass_left = torch.ones(R, dtype=torch.float64, device=probs.device)
    for k in range(K - 1):
        p = (probs[:, k] / mass_left.clamp_min(1e-300)).clamp(0.0, 1.0)
        c = torch.binomial(remaining, p, generator=generator)
        counts[:, k] = c
        remaining = remaining - c
        mass_left = (mass_left - probs[:, k]).clamp_min(0.0)
    counts[:, K - 1] = remaining
    return counts


def counts_to_items(counts: torch.Tensor, num_categories: int) -> torch.Tensor:
    """Items ``(R, n)`` in category order, ``counts[r, k]`` copies of category k."""
    counts = counts.round().to(torch.int64)
    R, K = counts.shape
    n = int(counts[0].sum().item()) if R else 0
    position = torch.arange(n, device=counts.device)
    boundaries = counts.cumsum(dim=1)[:, :-1]  # end of category k's run
    if K == 2:
        return (position[None, :] >= boundaries[:, 0:1]).to(id_dtype(num_categories))
    if K <= BINOMIAL_CHAIN_MAX_CATEGORIES:
        items = torch.zeros(R, n, dtype=torch.uint8, device=counts.device)
        for k in range(K - 1):
            items += position[None, :] >= boundaries[:, k : k + 1]
        return items.to(id_dtype(num_categories))
    items = torch.searchsorted(boundaries.contiguous(), position.expand(R, n).contiguous(), right=True)
    return items.to(id_dtype(num_categories))


def count_items(data: torch.Tensor, num_categories: int, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-replicate (weighted) counts ``(R, K)`` (float64) of category ids ``(R, N)``."""
    R, N = data.shape
    if weights is None and num_categories == 2:
        # The ids are 0/1, so their sum counts category 1. A float32 sum is exact below
        # 2^24 items and several times faster than an integer reduction of uint8 on CPU.
        exact_float = N < 2**24
        ones = (data.to(torch.float32).sum(dim=1) if exact_float else data.sum(dim=1, dtype=torch.int64))
        ones = ones.to(torch.float64)
        return torch.stack([N - ones, ones], dim=1)
    if weights is None and num_categories <= 8:
        # K cheap comparisons beat a scatter over int64 indices for few categories.
        return torch.stack([(data == k).sum(dim=1, dtype=torch.int64) for k in range(num_categories)],
                           dim=1).to(torch.float64)
    w = torch.ones(R, N, dtype=torch.float64, device=data.device) if weights is None else weights.to(torch.float64)
    counts = torch.zeros(R, num_categories, dtype=torch.float64, device=data.device)
    return counts.scatter_add_(1, data.to(torch.int64), w)


@register_state_class
@dataclass
class CategoricalModel:
    """R fitted categorical distributions: ``probs`` (R, K), float64, rows sum to one."""

    probs: torch.Tensor
    # (items, counts) of the last draw, so refitting to exactly those items skips a recount.
    _last_draw: tuple[torch.Tensor, torch.Tensor] | None = field(default=None, repr=False, compare=False)

    @property
    def replicates(self) -> int:
        return self.probs.shape[0]

    @property
    def num_categories(self) -> int:
        return self.probs.shape[1]

    def log_prob(self, items: torch.Tensor) -> torch.Tensor:
        """log p(item) of category ids ``(R, m)`` (or ``(R, m, 1)``) under each replicate's model: ``(R, m)``."""
        ids = items[..., 0] if items.ndim == 3 else items
        return torch.log(self.probs.gather(1, ids.to(torch.int64)).clamp_min(1e-300))

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` category ids per replicate, ``(R, n)`` (uint8 for K <= 256), in category order."""
        n = check_int("n", n, 0)
        probs = sharpen(self.probs, sampling_bias)
        K = self.num_categories
        if K <= BINOMIAL_CHAIN_MAX_CATEGORIES:
            counts = draw_counts(probs, n, generator)
            items = counts_to_items(counts, K)
        else:
            items = self._multinomial_items(probs, n, generator)
            counts = count_items(items, K)
        self._last_draw = (items, counts)
        return items

    @staticmethod
    def _multinomial_items(probs: torch.Tensor, n: int, generator) -> torch.Tensor:
        if n == 0:
            return torch.zeros(probs.shape[0], 0, dtype=id_dtype(probs.shape[1]), device=probs.device)
        items = torch.multinomial(probs.to(torch.float64), n, replacement=True, generator=generator)
        return items.to(id_dtype(probs.shape[1]))


class CategoricalFamily:
    """Fit one categorical distribution per replicate by (weighted) counting.

    ``probs_k = (count_k + pseudocount) / (N + K * pseudocount)``; ``pseudocount=0``
    is the maximum-likelihood estimate (Wright-Fisher resampling), a positive
    pseudocount (additive smoothing) keeps every category alive. ``weights``
    ``(R, N)`` act as frequency weights.
    """

    name = "categorical"

    def __init__(self, num_categories: int, pseudocount: float = 0.0):
        self.num_categories = check_int("num_categories", num_categories, 2)
        self.pseudocount = check_float("pseudocount", pseudocount, 0.0)

    def counts(self, data: torch.Tensor, weights: torch.Tensor | None = None,
               previous: CategoricalModel | None = None) -> torch.Tensor:
        """(Weighted) counts ``(R, K)`` of ``data`` ``(R, N)`` or ``(R, N, 1)``."""
        if data.ndim == 3 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim != 2:
            raise ValueError(f"data must have shape (R, N) or (R, N, 1) of category ids, got {tuple(data.shape)}")
        if data.is_floating_point() or data.is_complex():
            raise ValueError("data must hold integer category ids, got a floating-point tensor")
        R, N = data.shape
        if weights is not None:
            if weights.shape != (R, N) or bool((weights < 0).any()):
                raise ValueError(f"weights must be non-negative with shape {(R, N)}, got {tuple(weights.shape)}")
            return count_items(data, self.num_categories, weights)
        last = getattr(previous, "_last_draw", None)
        if last is not None and last[0] is data:
            return last[1]
        if N and (int(data.min()) < 0 or int(data.max()) >= self.num_categories):
            raise ValueError(f"category ids must lie in [0, {self.num_categories - 1}]")
        return count_items(data, self.num_categories)

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None,
            previous: CategoricalModel | None = None, generator: torch.Generator | None = None) -> CategoricalModel:
        counts = self.counts(data, weights, previous) + self.pseudocount
        total = counts.sum(dim=1, keepdim=True)
        if bool((total <= 0).any()):
            raise ValueError("every replicate needs a positive total weight to fit a categorical model")
        return CategoricalModel(probs=counts / total)


@dataclass
class CategoricalSource:
    """Real categorical data with known ``proportions`` (K,), for the self-consuming loop.

    The first draw is the *given* population: exactly ``round(p_k * n)`` items of
    category k in every replicate (largest remainders, so the counts add up to
    n) -- the 100 real cats, 10 of them blue. Later draws (the *fresh* workflow's
    new real cats) are i.i.d. from ``proportions``.
    """

    proportions: torch.Tensor
    replicates: int
    device: torch.device | str = "cpu"
    exact_first_draw: bool = True
    _draws: int = 0

    def __post_init__(self):
        self.replicates = check_int("replicates", self.replicates, 1)
        p = torch.as_tensor(self.proportions, dtype=torch.float64)
        if p.ndim != 1 or p.numel() < 2 or bool((p < 0).any()) or float(p.sum()) <= 0:
            raise ValueError("proportions must be a vector of >= 2 non-negative numbers with a positive sum")
        self.device = torch.device(self.device)
        self.proportions = (p / p.sum()).to(self.device)

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        n = check_int("n", n, 0)
        K = self.proportions.numel()
        probs = self.proportions.expand(self.replicates, K)
        first = self._draws == 0
        self._draws += 1
        if first and self.exact_first_draw:
            counts = largest_remainder(self.proportions, n).to(self.device, torch.float64)
            return counts_to_items(counts.expand(self.replicates, K), K)
        return CategoricalModel(probs=probs.contiguous()).sample(n, generator=generator)
