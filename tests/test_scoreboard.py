"""Chapter 6's qualitative claims, pinned on the cheap families."""
import numpy as np
import pytest

from madlib import run_experiment
from madlib.simulations.remedies import remedy_curve
from madlib.remedies import remedy_settings


def test_accumulate_keeps_gaussian_variance_bounded_where_replace_collapses():
    replace = remedy_curve("gaussian", "none", generations=60, replicates=200)
    accumulate = remedy_curve("gaussian", "accumulate", generations=60, replicates=200)
    # replace, n=100, ddof=0: median sigma ~ exp(-60/100) = 0.55
    assert replace.iloc[-1] == pytest.approx(np.exp(-0.6), abs=0.08)
    assert accumulate.min() > 0.93


def test_verifier_keeps_blue_cats_where_self_likelihood_loses_them_faster():
    verified = remedy_curve("cats", "verifier", generations=60, replicates=300)
    plain = remedy_curve("cats", "none", generations=60, replicates=300)
    cherry = remedy_curve("cats", "self-likelihood", generations=60, replicates=300)
    assert verified.iloc[-1] > 0.7
    assert verified.iloc[-1] > plain.iloc[-1] + 0.2
    assert cherry.iloc[-1] < 0.05
    # self-likelihood curation loses blue faster than doing nothing
    assert (cherry.iloc[1:11] <= plain.iloc[1:11] + 1e-12).all()


def test_detector_reduces_the_damage_of_leaked_synthetic_cats():
    leaky = remedy_curve("cats", "web-scrape", generations=40, replicates=300)
    filtered = remedy_curve("cats", "web-scrape-detector", generations=40, replicates=300)
    assert filtered.iloc[-1] > leaky.iloc[-1] + 0.2


def test_scoreboard_experiment_reports_every_family_and_remedy():
    result = run_experiment("scoreboard", families="gaussian,cats", generations=15, replicates=50)
    board = result.summary["families"]
    assert set(board) == {"gaussian", "cats"}
    assert len(board["cats"]) == 9
    assert board["gaussian"]["self-likelihood"]["generations_to_collapse"] is not None
    assert board["gaussian"]["accumulate"]["generations_to_collapse"] is None


def test_bad_remedy_and_family_names():
    with pytest.raises(ValueError, match="remedy"):
        remedy_settings("prayer", n=10)
    with pytest.raises(ValueError, match="family"):
        remedy_curve("unicorn", "accumulate", generations=2, replicates=2)
    with pytest.raises(ValueError, match="families"):
        run_experiment("scoreboard", families="gaussian,unicorn")
