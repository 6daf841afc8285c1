"""Data: toy distributions (mixtures), cat hues, MNIST (offline and online loaders) and text corpora.

Loaders never touch the network unless asked; a missing source fails with a message that says how to get it.
"""
