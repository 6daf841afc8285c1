"""The theory chapter's checker accepts the library's curation step and names the plausible wrong ones."""
import numpy as np
import pytest

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


# ----------------------------------------------------------------------------- the break-it checkers

from madlib.exercises.theory import check_kept_share_breaks, check_verifier_worse_than_coin  # noqa: E402
from madlib.theory import curation  # noqa: E402


def test_keep_five_percent_is_replace_at_ten_items_and_holds_at_twenty():
    broken = check_kept_share_breaks(10)
    assert broken.passed and "here 0" in str(broken), str(broken)
    held = check_kept_share_breaks(20)  # one real item a generation: the loop settles near 2fn/(2fn+1) = 2/3
    assert not held.passed and "not broken" in str(held) and "holds 1 real item" in str(held)
    kept = float(held.messages[0].split("the mean variance is ")[1].split(" ")[0])
    assert kept > 0.5


def test_a_verifier_right_65_percent_of_the_time_breaks_only_beyond_the_breakdown_point():
    broken = check_verifier_worse_than_coin(0.7)
    assert broken.passed, str(broken)
    simulated = float(broken.messages[0].split("accuracy is ")[1].split(" ")[0])
    assert simulated < 0.5 and simulated == pytest.approx(
        curation.limit_accuracy(0.7, 0.35, 1.0, true_accept=0.65), abs=0.05)
    assert not check_verifier_worse_than_coin(0.6).passed  # q > p: the verifier helps
    assert not check_verifier_worse_than_coin(0.65).passed  # at q = p the kept labels are a coin, not worse


@pytest.mark.parametrize("call, name", [
    (lambda: check_kept_share_breaks(9), "n_real"),
    (lambda: check_kept_share_breaks(10.0), "n_real"),
    (lambda: check_kept_share_breaks(True), "n_real"),
    (lambda: check_verifier_worse_than_coin(1.0), "label_error"),
    (lambda: check_verifier_worse_than_coin("0.7"), "label_error"),
    (lambda: check_verifier_worse_than_coin(...), "label_error"),
])
def test_bad_arguments_fail_by_name_without_raising(call, name):
    result = call()
    assert not result.passed and name in str(result)
