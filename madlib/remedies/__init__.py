"""Ways out of collapse: the remedy registry and the curation hooks (filters, verifiers, reweighting).

* :mod:`.registry` -- the remedies of chapter 6 (key, label, loop settings);
* :mod:`.filters` -- hooks for any family that can score items (``log_prob``);
* :mod:`.images` -- a classifier of real digits as verifier (chapter 4's VAE);
* :mod:`.text` -- verifier and self-likelihood filters of generated text (chapter 5's models);
* :mod:`.verdict` -- collapse, a bounded loss or held: what a relative-quality curve says;
* :mod:`.corrector` -- self-correction: move synthetic data towards a known constraint (the theory chapter);
* :mod:`.verifiers` -- a verifier with its own knowledge center, a curator with a reward (the theory chapter).
"""
from .corrector import CorrectedFamily, GaussianCorrector, MixtureCorrector, ShareCorrector
from .filters import (ProvenanceFilter, SelfLikelihoodFilter, TailReweighting, VerifierFilter, effective_sample_size,
                      generations_to_collapse)
from .registry import CURATIONS, REMEDIES, REMEDY_KEYS, Remedy, remedy_label, remedy_settings
from .verdict import VERDICTS, Verdict, collapse_verdict

__all__ = ["CorrectedFamily", "GaussianCorrector", "MixtureCorrector", "ShareCorrector", "CURATIONS", "REMEDIES", "REMEDY_KEYS", "ProvenanceFilter", "Remedy", "SelfLikelihoodFilter",
           "TailReweighting", "VerifierFilter", "effective_sample_size", "generations_to_collapse", "remedy_label",
           "remedy_settings", "VERDICTS", "Verdict", "collapse_verdict"]
