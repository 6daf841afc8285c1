"""Fur hue on the colour wheel: a too-simple and a rich-enough model of cat colours.

A cat's fur colour is a hue angle in degrees (HSV hue: yellow ~55, green ~120,
blue ~215). Real cats form two tight clusters, many yellow and a few blue.

* Too simple: one Gaussian on the hue (:class:`madlib.models.gaussian.GaussianFamily`
  with data ``(R, N, 1)``; reused, not rewritten). It puts its mass between
  the clusters, so it draws green (and orange) cats that never existed.
* Rich enough: :class:`HueMixtureFamily`, a mixture of C Gaussians on the hue
  fitted by a small batched EM (all replicates at once). With two components
  it places one on each cluster and draws no green cats; only sampling error
  is left, and the blue component drifts like a Wright-Fisher category.

Hues stay on the real line (the clusters are far from the 0/360 seam);
:func:`colour_names` wraps them onto the wheel to name them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import check_float, check_int

YELLOW_HUE = 55.0
GREEN_HUE = 120.0
BLUE_HUE = 215.0

#: Named hue ranges [start, end) in degrees; red wraps around 0.
COLOUR_RANGES: dict[str, tuple[float, float]] = {
    "red": (345.0, 15.0),
    "orange": (15.0, 30.0),
    "yellow": (30.0, 80.0),
    "green": (80.0, 170.0),
    "blue": (170.0, 260.0),
    "purple": (260.0, 345.0),
}
COLOUR_NAMES = tuple(COLOUR_RANGES)
#: One letter per colour name, printed on each cat so colour is never the only cue.
COLOUR_LETTERS = {"red": "R", "orange": "O", "yellow": "Y", "green": "G", "blue": "B", "purple": "P"}


def colour_index(hues) -> np.ndarray:
    """Index into :data:`COLOUR_NAMES` of each hue (any shape; degrees, wrapped mod 360)."""
    h = np.mod(np.asarray(hues, dtype=float), 360.0)
    out = np.zeros(h.shape, dtype=np.int64)  # red: the wrap-around range
    for i, (start, end) in enumerate(COLOUR_RANGES.values()):
        if start < end:
            out[(h >= start) & (h < end)] = i
    return out


def colour_names(hues) -> np.ndarray:
    """The colour name of each hue."""
    return np.asarray(COLOUR_NAMES, dtype=object)[colour_index(hues)]


def colour_shares(hues: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per-replicate share of each colour name in ``hues`` ``(R, N)`` or ``(R, N, 1)``."""
    h = hues.detach().cpu().numpy() if isinstance(hues, torch.Tensor) else np.asarray(hues)
    if h.ndim == 3:
        h = h[..., 0]
    index = colour_index(h)
    return {name: (index == i).mean(axis=1) for i, name in enumerate(COLOUR_NAMES)}


def hue_to_rgb(hues, saturation: float = 0.75, value: float = 0.92) -> np.ndarray:
    """RGB colours (..., 3) for hues in degrees, for drawing fur."""
    from matplotlib.colors import hsv_to_rgb

    h = np.mod(np.asarray(hues, dtype=float), 360.0) / 360.0
    hsv = np.stack([h, np.full_like(h, saturation), np.full_like(h, value)], axis=-1)
    return hsv_to_rgb(hsv)


def cat_hue_sampler(blue_share: float = 0.1, *, yellow_hue: float = YELLOW_HUE, blue_hue: float = BLUE_HUE,
                    spread: float = 6.0):
    """A real-data sampler ``(replicates, n, generator) -> (R, n, 1)`` of cat hues.

    Every draw has exactly ``round(blue_share * n)`` blue cats (hue ~ N(blue_hue,
    spread^2)) and the rest yellow (N(yellow_hue, spread^2)): the given
    population of the story, not a random share.
    """
    blue_share = check_float("blue_share", blue_share, 0.0, 1.0)
    spread = check_float("spread", spread, 0.0)

    def sampler(replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        n_blue = int(round(blue_share * n))
        centres = torch.full((n,), float(yellow_hue), dtype=torch.float64, device=generator.device)
        centres[n - n_blue:] = float(blue_hue)
        noise = torch.randn(replicates, n, 1, generator=generator, device=generator.device, dtype=torch.float64)
        return centres[None, :, None] + spread * noise

    return sampler


@dataclass
class MixtureModel1D:
    """R fitted 1-D Gaussian mixtures: ``weights``, ``means``, ``stds`` each (R, C), float64."""

    weights: torch.Tensor
    means: torch.Tensor
    stds: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.weights.shape[0]

    def log_density(self, x: torch.Tensor) -> torch.Tensor:
        """Log density of points ``x`` (R, n) under each replicate's mixture: (R, n)."""
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
