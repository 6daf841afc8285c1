"""The break-it checkers of chapters 6 and 7: they pass a setting that breaks the remedy, fail one that does not
(saying why), refuse bad arguments by name without raising, and the theory they quote agrees with the loop."""
from __future__ import annotations

import numpy as np
import pytest

from madlib.exercises import filtering, remedies
from madlib.theory import recursion


def _number_after(text: str, marker: str) -> float:
    return float(text.split(marker)[1].split(" ")[0].rstrip(",;"))


def test_one_real_item_a_generation_breaks_keep_real_and_ten_do_not():
    broken = remedies.check_keep_real_breaks(10)
    assert broken.passed, str(broken)
    held = remedies.check_keep_real_breaks(100)
    assert not held.passed and "not broken" in str(held)
    # with ten real items the median run sits near the exact recursion's fixed point, above the cruder fn/(fn+1)
    simulated = _number_after(held.messages[0], "median sigma after 200 generations ")
    exact = np.sqrt(recursion.kept_fraction_fixed_point(100, 0.1) / 0.99)
    assert simulated == pytest.approx(exact, abs=0.03)


def test_fresh_data_break_under_a_sharpened_scrape_and_settle_at_the_fixed_point():
    broken = remedies.check_fresh_breaks(4, 0.8)
    assert broken.passed, str(broken)
    simulated = _number_after(broken.messages[0], "median sigma after 100 generations ")
    assert simulated == pytest.approx(np.sqrt(recursion.web_scrape_fixed_point(0.8, 0.8)), abs=0.03)
    assert not remedies.check_fresh_breaks(50, 1.0).passed  # unbiased synthetic data cannot drag the anchor


def test_a_verifier_breaks_with_few_cats_and_holds_with_many():
    assert filtering.check_verifier_breaks(20).passed
    held = filtering.check_verifier_breaks(200)
    assert not held.passed and "not broken" in str(held)


def test_reweighting_overshoots_above_the_doubling_strength_only():
    assert filtering.check_reweighting_breaks(0.05).passed
    assert not filtering.check_reweighting_breaks(0.02).passed  # beta = 2/n: the drift cancels


@pytest.mark.parametrize("call, name", [
    (lambda: remedies.check_keep_real_breaks(5), "n_real"),
    (lambda: remedies.check_keep_real_breaks(10.5), "n_real"),
    (lambda: remedies.check_fresh_breaks(..., 0.5), "synthetic_per_real"),
    (lambda: remedies.check_fresh_breaks(4, 0.0), "sampling_bias"),
    (lambda: filtering.check_verifier_breaks(True), "n_real"),
    (lambda: filtering.check_reweighting_breaks(0.7), "strength"),
])
def test_bad_arguments_fail_by_name_without_raising(call, name):
    result = call()
    assert not result.passed and name in str(result)
