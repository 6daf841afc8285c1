"""Reusable simulations of the chapters: chains run through the one loop, returning plain arrays.

Experiments call these (and add defaults, caching and a summary); explorers call them live.
"""
