"""The core: written once, knows no model family.

config (scale, device, threads, seeds), validation, the protocol every family follows, real-data
sources, the workflows, the self-consuming loop and its checkpoints, the selection rules, the cache.
"""
