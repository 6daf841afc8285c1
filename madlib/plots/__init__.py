"""House plotting style and per-chapter figures (one module per chapter)."""
from .style import PALETTE, band_plot, per_generation, save_figure, use_house_style

__all__ = ["PALETTE", "band_plot", "per_generation", "save_figure", "use_house_style"]
