"""The break-it checkers of chapters 1 and 2: they pass a setting that breaks the remedy, fail one that does
not (saying why), refuse bad arguments by name without raising, and their theory agrees with the loop."""
from __future__ import annotations

import numpy as np
import pytest

from madlib.exercises import cats, gaussian
from madlib.theory import gaussian as theory


def test_augment_breaks_only_with_plenty_of_biased_synthetic_data():
    broken = gaussian.check_augment_breaks(10, 0.6)
    assert broken.passed, str(broken)
    assert not gaussian.check_augment_breaks(10, 1.0).passed  # unbiased: the real data hold sigma at 1
    held = gaussian.check_augment_breaks(1, 0.9)
    assert not held.passed and "not broken" in str(held)


def test_augment_settles_at_the_fixed_point_the_checker_states():
    result = gaussian.check_augment_breaks(4, 0.5)
    simulated = float(result.messages[0].split("median sigma after 100 generations ")[1].split(" ")[0])
    fixed = np.sqrt(theory.mixed_fixed_point_variance(4 / 5, 0.5))
    assert fixed == pytest.approx(np.sqrt(1 / (1 + 4 * 0.5)))
    assert simulated == pytest.approx(fixed, rel=0.05)


def test_accumulate_breaks_under_bias_and_follows_the_power_law():
    broken = gaussian.check_accumulate_breaks(0.5, 100)
    assert broken.passed, str(broken)
    simulated = float(broken.messages[0].split("median sigma ")[1].split(" ")[0])
    product = np.sqrt(np.prod([(k + 0.5) / (k + 1) for k in range(1, 101)]))  # the notebook's solution
    assert simulated == pytest.approx(product, rel=0.1)
    assert not gaussian.check_accumulate_breaks(1.0, 200).passed


@pytest.mark.parametrize("call, name", [
    (lambda: gaussian.check_augment_breaks(..., 0.5), "synthetic_per_real"),
    (lambda: gaussian.check_augment_breaks(10, 0.0), "sampling_bias"),
    (lambda: gaussian.check_accumulate_breaks(0.5, 5000), "generations"),
    (lambda: gaussian.check_accumulate_breaks(True, 100), "sampling_bias"),
    (lambda: cats.check_bias_always_loses(1.5), "sampling_bias"),
    (lambda: cats.check_keep_real_breaks("a lot"), "kept_real_fraction"),
])
def test_bad_arguments_fail_by_name_without_raising(call, name):
    result = call()
    assert not result.passed and name in str(result)


def test_a_mild_bias_loses_blue_everywhere_but_no_bias_does_not():
    assert cats.check_bias_always_loses(0.95).passed
    fair = cats.check_bias_always_loses(1.0)
    assert not fair.passed and "0.9" in str(fair)
    strong = cats.check_bias_always_loses(0.5)
    assert not strong.passed and "far from mild" in str(strong)


def test_keeping_one_real_cat_breaks_and_ten_do_not():
    assert cats.check_keep_real_breaks(0.01).passed
    assert not cats.check_keep_real_breaks(0.1).passed
    none = cats.check_keep_real_breaks(0.001)
    assert not none.passed and "0 real" in str(none)
