"""Closed forms to overlay on simulations, one module per family."""
