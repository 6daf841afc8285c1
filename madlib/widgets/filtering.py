"""Explorers for chapter 7 (filtering and provenance): chapter 6's explorers (:mod:`madlib.widgets.remedies`)
over the remedies that judge, reweight, correct or filter synthetic data."""
from __future__ import annotations

from .remedies import FILTERING, explorer_figure, remedy_explorer, static_explorer, static_explorer_grid

__all__ = ["FILTERING", "explorer_figure", "remedy_explorer", "static_explorer", "static_explorer_grid"]
