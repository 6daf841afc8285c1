"""Figures and computed sentences of chapter 7 (filtering and provenance). The scoreboard, the remedy curves
and the sweeps are shared with chapter 6 and live in :mod:`madlib.plots.remedies`; this module names what
chapter 7 uses, so the chapter imports only its own modules."""
from __future__ import annotations

from .remedies import (FAMILY_NAMES, REMEDY_COLOURS, between_sentence, detector_theory, expensive_sentence,
                       held_sentence, keeping_conclusion, order_sentence, plot_remedy_curves, plot_scoreboard,
                       plot_sweeps, scoreboard_table, self_likelihood_sentence, settled_sentence,
                       shortfall_sentence, slowed_phrase,
                       tail_reweighting_theory, too_small, verdict_overview, verdict_phrase, verifier_sentence)

__all__ = ["FAMILY_NAMES", "REMEDY_COLOURS", "between_sentence", "detector_theory", "expensive_sentence",
           "held_sentence", "keeping_conclusion", "order_sentence", "plot_remedy_curves", "plot_scoreboard",
           "plot_sweeps", "scoreboard_table", "self_likelihood_sentence", "settled_sentence",
           "shortfall_sentence", "slowed_phrase",
           "tail_reweighting_theory", "too_small", "verdict_overview", "verdict_phrase", "verifier_sentence"]
