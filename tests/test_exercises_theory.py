"""The theory chapter's checker accepts the library's curation step and names the plausible wrong ones."""
import numpy as np

from madlib.exercises.theory import check_curation_step
from madlib.theory.curation import pairwise_curation_step, softmax_curation_step


def test_the_library_passes():
    assert check_curation_step(pairwise_curation_step).passed


def test_plausible_mistakes_are_named():
    def half(p, r):
        return p * ((1 / (1 + np.exp(-(r[:, None] - r[None, :])))) @ p)

    def loser(p, r):
        return p * (2 * (1 - 1 / (1 + np.exp(-(r[:, None] - r[None, :])))) @ p)

    def unfinished(p, r):
        raise NotImplementedError

    cases = {softmax_curation_step: "many-candidate limit", half: "multiply by 2", loser: "upside down",
             unfinished: "NotImplementedError", (lambda p, r: p[:2]): "wrong shape"}
    for fn, words in cases.items():
        result = check_curation_step(fn)
        assert not result.passed and words in " ".join(result.messages), (words, result.messages)
