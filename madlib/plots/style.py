"""The course's house style: colour-blind-safe Okabe-Ito colours, quiet axes, replicate bands."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import matplotlib as mpl
import pandas as pd

from ..core.cache import atomic_write_bytes

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies. The light
# members (orange, sky, yellow, grey) are darkened here to at least 3:1 contrast on white
# (WCAG 2.1, 1.4.11 non-text contrast: a line must stand out from its background); their
# original values stay in OKABE_ITO for fills. tests/test_figures.py checks the contrast.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "grey": "#999999",
}
PALETTE = {
    **OKABE_ITO,
    "orange": "#B37C00",   # 3.6:1 (Okabe-Ito's 2.3:1)
    "sky": "#2A8CC4",      # 3.7:1 (2.3:1)
    "yellow": "#8A7F00",   # 4.1:1 (1.3:1): an olive; pure yellow is for fills only
    "grey": "#767676",     # 4.5:1 (2.9:1)
}
CYCLE = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
# Line styles paired with colours so curves stay apart in greyscale too.
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1))]
THEORY_STYLE = {"color": PALETTE["black"], "linestyle": "--", "linewidth": 1.4}


def use_house_style() -> None:
    """Apply the course style to matplotlib (and seaborn, when it is imported)."""
    mpl.rcParams.update({
        "figure.figsize": (7.5, 4.2),
        "figure.dpi": 110,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "axes.prop_cycle": mpl.cycler(color=CYCLE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 11,
        "legend.frameon": False,
        "font.size": 10.5,
        "lines.linewidth": 2.0,
    })
    # High-DPI figures in notebooks and on the site: the inline backend draws at twice figure.dpi
    # ("retina"), so a figure shown at its CSS size stays sharp on 2x screens.
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # pragma: no cover - both come with ipykernel; plain scripts need neither
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:  # only inside a kernel: never start a shell
        set_matplotlib_formats("retina")
    try:
        import seaborn as sns

        sns.set_palette(CYCLE)
    except ImportError:  # pragma: no cover - seaborn is a requirement, but style must not depend on it
        pass


def per_generation(table: pd.DataFrame, metric: str, quantiles: Sequence[float] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Per-generation mean and quantiles of ``metric`` over replicates, from a tidy table."""
    if metric not in set(table["metric"]):
        raise ValueError(f"metric {metric!r} is not in the table; it has {sorted(set(table['metric']))}")
    values = table[table["metric"] == metric].groupby("generation")["value"]
    out = pd.DataFrame({"mean": values.mean()})
    for q in quantiles:
        out[f"q{int(round(q * 100)):02d}"] = values.quantile(q)
    out["count"] = values.count()
    return out


def band_plot(ax, table: pd.DataFrame, metric: str, *, label: str | None = None, color: str | None = None,
              center: str = "median", band: tuple[float, float] = (0.05, 0.95), linestyle="-",
              alpha: float = 0.18):
    """Draw the per-generation centre (median or mean) of ``metric`` with a replicate quantile band."""
    if center not in ("median", "mean"):
        raise ValueError(f"center must be 'median' or 'mean', got {center!r}")
    stats = per_generation(table, metric, quantiles=(band[0], 0.5, band[1]))
    lo, hi = stats.columns[1], stats.columns[3]
    mid = stats["q50"] if center == "median" else stats["mean"]
    (line,) = ax.plot(stats.index, mid, label=label, color=color, linestyle=linestyle)
    if stats["count"].max() > 1:
        ax.fill_between(stats.index, stats[lo], stats[hi], color=line.get_color(), alpha=alpha, linewidth=0)
    ax.set_xlabel("generation")
    return line


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """Save a figure (format from the suffix, PNG by default) atomically, creating folders; return the path."""
    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=(path.suffix.lstrip(".") or "png"), **kwargs)
    return atomic_write_bytes(path, buffer.getvalue())

