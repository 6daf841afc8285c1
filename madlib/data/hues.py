"""Cat fur hue on the colour wheel (chapter 2): the real cats, colour names, drawing colours.

A cat's fur colour is a hue angle in degrees (HSV hue: yellow ~55, green ~120,
blue ~215). Real cats form two tight clusters, many yellow and a few blue.
Hues stay on the real line (the clusters are far from the 0/360 seam);
:func:`colour_names` wraps them onto the wheel to name them.
"""
from __future__ import annotations

import numpy as np
import torch

from ..core.validation import check_float

YELLOW_HUE = 55.0
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
