"""Metrics, one module per job: ``manifold`` (precision/recall, k-NN), ``frechet`` (W2 between
Gaussians, FID); chapters add their own modules (``text`` for perplexity and diversity)."""
