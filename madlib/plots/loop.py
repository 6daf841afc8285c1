"""The picture of the self-consuming loop: data 0 -> model 0 -> data 1 -> model 1 -> ...,
and what each workflow puts in generation t's training set.

Drawn by code (not a pasted image) so it keeps the house style and follows the library:
the workflow panels are built from :data:`madlib.core.workflows.WORKFLOWS` and their sizes
from :func:`madlib.core.workflows.training_set_size`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from ..core.validation import check_fraction, check_int
from ..core.workflows import training_set_size
from .style import PALETTE

# what a training set is made of, and how each part is drawn
PARTS = {
    "real (original)": PALETTE["blue"],
    "real (fresh)": PALETTE["sky"],
    "synthetic (newest)": PALETTE["vermillion"],
    "synthetic (older)": PALETTE["orange"],
}
PANELS = (
    ("replace", 0.0, "replace\n(fully synthetic)"),
    ("replace", 0.1, "replace,\nkeep 10% real"),
    ("augment", 0.0, "augment\n(fixed real + synthetic)"),
    ("fresh", 0.0, "fresh\n(new real + synthetic)"),
    ("accumulate", 0.0, "accumulate\n(everything so far)"),
)


def training_set_parts(workflow: str, generation: int, kept_real_fraction: float = 0.0,
                       n_real: int = 1, n_synthetic: int = 1) -> dict[str, float]:
    """How many items of each kind (:data:`PARTS`) generation ``generation`` trains on."""
    generation = check_int("generation", generation, 0)
    kept = check_fraction("kept_real_fraction", kept_real_fraction)
    if generation == 0:
        return {"real (original)": float(n_real)}
    total = training_set_size(workflow, generation, n_real, n_synthetic)
    if workflow == "replace":
        return {"real (original)": kept * total, "synthetic (newest)": (1 - kept) * total}
    if workflow == "augment":
        return {"real (original)": float(n_real), "synthetic (newest)": float(n_synthetic)}
    if workflow == "fresh":
        return {"real (fresh)": float(n_real), "synthetic (newest)": float(n_synthetic)}
    return {"real (original)": float(n_real), "synthetic (older)": float((generation - 1) * n_synthetic),
            "synthetic (newest)": float(n_synthetic)}


def _box(ax, x, y, text, colour, width=1.25, height=0.62):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.04",
                                facecolor=colour, edgecolor=PALETTE["black"], linewidth=1.0, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=10, color="white", fontweight="bold")


def _arrow(ax, start, end, label=None):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, linewidth=1.2,
                                 color=PALETTE["black"], shrinkA=2, shrinkB=2))
    if label:
        ax.text((start[0] + end[0]) / 2 + 0.12, (start[1] + end[1]) / 2 - 0.02, label, ha="left", va="center",
                fontsize=9, color=PALETTE["black"], style="italic")


def plot_loop(generations: int = 3, *, ax=None):
    """The loop (top) and the training set of generation ``generations`` under each workflow (bottom).

    Returns the Figure. The chain is Data_0 (real) -> Model_0 -> Data_1 -> Model_1 -> ...:
    model t is fitted to data t, data t+1 is drawn from model t (mixed with real data as the
    workflow says; the course's generation 0 is the first fit, to real data).
    """
    generations = check_int("generations", generations, 1, 8)
    if ax is None:
        fig = plt.figure(figsize=(11, 6.2))
        top = fig.add_axes([0.02, 0.55, 0.96, 0.42])
    else:
        fig, top = ax.figure, ax
    top.set_xlim(-0.8, 2.2 * generations + 1.4)
    top.set_ylim(-0.9, 1.2)
    top.axis("off")
    for t in range(generations):
        x = 2.2 * t
        _box(top, x, 0.6, f"data {t}", PALETTE["blue"] if t == 0 else PALETTE["vermillion"])
        _box(top, x + 1.1, -0.35, f"model {t}", PALETTE["black"])
        _arrow(top, (x + 0.25, 0.28), (x + 0.85, -0.05), "fit" if t == 0 else None)
        _arrow(top, (x + 1.4, -0.05), (x + 2.0, 0.28), "sample" if t == 0 else None)
    _box(top, 2.2 * generations, 0.6, f"data {generations}", PALETTE["vermillion"])
    top.text(2.2 * generations + 0.95, 0.6, "...", fontsize=16, va="center")
    top.text(-0.7, 1.1, "The self-consuming loop: each model is trained on data the model before it made",
             fontsize=11.5, fontweight="bold", va="top")
    if ax is not None:
        return fig
    width = 0.96 / len(PANELS)
    for i, (workflow, kept, title) in enumerate(PANELS):
        panel = fig.add_axes([0.05 + i * width, 0.1, width * 0.72, 0.28])
        parts = training_set_parts(workflow, generations, kept)
        bottom = 0.0
        for name, colour in PARTS.items():
            size = parts.get(name, 0.0)
            if size:
                panel.bar(0, size, bottom=bottom, color=colour, width=0.6, edgecolor="white")
                bottom += size
        panel.set_title(title, fontsize=9)
        panel.set_xticks([])
        panel.set_ylim(0, generations + 1.2)
        panel.set_ylabel("items (x n)" if i == 0 else "")
        panel.spines[["top", "right"]].set_visible(False)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PARTS.values()]
    fig.legend(handles, list(PARTS), loc="lower center", ncol=len(PARTS), frameon=False, fontsize=9)
    fig.text(0.02, 0.49, f"What data {generations} holds under each workflow (n real items, n synthetic per generation)",
             fontsize=11, fontweight="bold")
    return fig
