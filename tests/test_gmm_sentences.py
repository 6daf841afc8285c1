"""Chapter 3's computed sentence on the phase diagram's unbiased cells, built from synthetic tables each way."""
import pandas as pd
import pytest

from madlib.plots import gmm as figures


def frame(ratios, extrapolated=False):
    rows = [{"sampling_bias": 1.0, "n_real": 20 * (i + 1), "synthetic_ratio": 9.0, "effective_sample_ratio": r,
             "n_effective_extrapolated": extrapolated} for i, r in enumerate(ratios)]
    rows.append({"sampling_bias": 0.7, "n_real": 20, "synthetic_ratio": 9.0, "effective_sample_ratio": 5.0,
                 "n_effective_extrapolated": False})  # a biased cell never counts
    return pd.DataFrame(rows)


def test_within_the_cap():
    text = figures.ess_cap_sentence(frame([1.4, 2.1]), -1.0, label="the Gaussian")
    assert "$n_e/n_r$ = 2.10" in text and "$n_r$ = 40" in text and "within the factor 2" in text
    assert "above" not in text and "extrapolated" not in text


@pytest.mark.parametrize("slope, words", [(-1.4, "falls faster than $1/n$"), (-0.7, "more slowly than $1/n$"),
                                          (-1.02, "close to $1/n$")])
def test_above_the_cap_says_what_the_curve_says(slope, words):
    text = figures.ess_cap_sentence(frame([3.0, 1.5], extrapolated=True), slope, label="the mixture")
    assert "$n_e/n_r$ = 3.00" in text and "above the factor 2" in text and words in text
    assert "extrapolated beyond the measured curve" in text and f"{slope:.2f}" in text


def test_no_unbiased_cell_and_a_wrong_table():
    only_biased = frame([])
    assert "no cell at λ = 1" in figures.ess_cap_sentence(only_biased, -1.0, label="the mixture")
    with pytest.raises(ValueError, match="effective_sample_ratio"):
        figures.ess_cap_sentence(pd.DataFrame({"sampling_bias": [1.0]}), -1.0, label="x")
