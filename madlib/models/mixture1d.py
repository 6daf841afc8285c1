"""A C-component 1-D Gaussian mixture fitted by batched EM (chapter 2's rich-enough hue model).

With two components it places one on each hue cluster and draws no green cats; only
sampling error is left, and the blue component drifts like a Wright-Fisher category.
The too-simple model is one Gaussian (:class:`madlib.models.gaussian.GaussianFamily`).

Why a second EM beside :class:`madlib.models.gmm.GMMFamily` (the course's tuned, batched,
any-dimension EM with one log-density for the E step and scoring): chapter 2 shows EM to readers
who meet it for the first time, and these forty lines -- a z-score log-density, responsibilities,
weighted moments -- are the version a learner can read in one sitting. Its results are those of
``GMMFamily(d = 1)`` up to initialisation; it is not a fast path of it (nothing chooses between them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core.validation import check_float, check_int
from ..core.state import register_state_class


@register_state_class
@dataclass
class MixtureModel1D:
    """R fitted 1-D Gaussian mixtures: ``weights``, ``means``, ``stds`` each (R, C), float64."""

    weights: torch.Tensor
    means: torch.Tensor
    stds: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.weights.shape[0]

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Log density of points ``x`` (R, n) or (R, n, 1) under each replicate's mixture: (R, n)."""
        if x.ndim == 3:
            x = x[..., 0]
        return torch.logsumexp(_component_log_joint(x, self.weights, self.means, self.stds), dim=-1)

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` hues per replicate ``(R, n, 1)``; ``sampling_bias`` (lambda) scales each variance by lambda."""
        n = check_int("n", n, 0)
        sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        R, C = self.weights.shape
        device = self.weights.device
        if n == 0:
            return torch.zeros(R, 0, 1, dtype=torch.float64, device=device)
        component = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        mean = self.means.gather(1, component)
        std = self.stds.gather(1, component) * math.sqrt(sampling_bias)
        z = torch.randn(R, n, generator=generator, device=device, dtype=torch.float64)
        return (mean + std * z)[..., None]


def _component_log_joint(x, weights, means, stds):
    """log(w_c N(x; mu_c, sd_c^2)) of shape (R, n, C)."""
    z = (x[..., None] - means[:, None, :]) / stds[:, None, :]
    return (torch.log(weights.clamp_min(1e-300))[:, None, :] - torch.log(stds)[:, None, :]
            - 0.5 * z**2 - 0.5 * math.log(2 * math.pi))


class HueMixtureFamily:
    """A C-component 1-D Gaussian mixture fitted by batched EM (all replicates at once).

    Initialisation: the component means spread evenly between each replicate's
    smallest and largest hue (for two well-separated clusters: one on each),
    or the previous generation's fit when ``warm_start``. ``min_std`` keeps a
    component from shrinking onto a single point (EM's degenerate optimum).
    A component that loses all its points keeps a tiny weight and is never
    drawn again: the continuous analogue of a lost category.
    """

    name = "hue-mixture"

    def __init__(self, components: int = 2, iterations: int = 30, min_std: float = 0.5, warm_start: bool = True):
        self.components = check_int("components", components, 1)
        self.iterations = check_int("iterations", iterations, 1)
        self.min_std = check_float("min_std", min_std, 0.0, open_minimum=True)
        self.warm_start = bool(warm_start)

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None,
            previous: MixtureModel1D | None = None, generator: torch.Generator | None = None) -> MixtureModel1D:
        if data.ndim == 3 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim != 2 or data.shape[1] < 1:
            raise ValueError(f"data must have shape (R, N) or (R, N, 1) with N >= 1, got {tuple(data.shape)}")
        x = data.to(torch.float64)
        R, N = x.shape
        C = self.components
        item_w = torch.ones(R, N, dtype=torch.float64, device=x.device) if weights is None else weights.to(torch.float64)
        if item_w.shape != (R, N) or bool((item_w < 0).any()):
            raise ValueError(f"weights must be non-negative with shape {(R, N)}")
        total = item_w.sum(dim=1, keepdim=True).clamp_min(1e-300)
        overall_std = _weighted_std(x, item_w, total).clamp_min(self.min_std)

        if self.warm_start and isinstance(previous, MixtureModel1D) and previous.means.shape == (R, C):
            mix, means, stds = previous.weights.clone(), previous.means.clone(), previous.stds.clone()
            # A component that died keeps its place but must be able to win points back from nothing.
            mix = mix.clamp_min(1e-12)
            mix = mix / mix.sum(dim=1, keepdim=True)
        else:
            lo, hi = x.min(dim=1).values, x.max(dim=1).values
            grid = torch.linspace(0.0, 1.0, C, dtype=torch.float64, device=x.device) if C > 1 else \
                torch.full((1,), 0.5, dtype=torch.float64, device=x.device)
            means = lo[:, None] + (hi - lo)[:, None] * grid[None, :]
            stds = (overall_std / C)[:, None].expand(R, C).clamp_min(self.min_std).clone()
            mix = torch.full((R, C), 1.0 / C, dtype=torch.float64, device=x.device)

        for _ in range(self.iterations):
            log_joint = _component_log_joint(x, mix, means, stds)
            resp = torch.softmax(log_joint, dim=-1) * item_w[..., None]  # (R, N, C)
            mass = resp.sum(dim=1)  # (R, C)
            mix = mass / total
            safe = mass.clamp_min(1e-12)
            new_means = (resp * x[..., None]).sum(dim=1) / safe
            var = (resp * (x[..., None] - new_means[:, None, :]) ** 2).sum(dim=1) / safe
            alive = mass > 1e-9
            # An empty component keeps its old parameters (nothing to learn from).
            means = torch.where(alive, new_means, means)
            stds = torch.where(alive, var.sqrt().clamp_min(self.min_std), stds)
        mix = mix / mix.sum(dim=1, keepdim=True)
        return MixtureModel1D(weights=mix, means=means, stds=stds)


def _weighted_std(x, w, total):
    mean = (w * x).sum(dim=1, keepdim=True) / total
    return ((w * (x - mean) ** 2).sum(dim=1, keepdim=True) / total).sqrt()[:, 0]
