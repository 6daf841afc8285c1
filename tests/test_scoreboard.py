"""Chapter 6's qualitative claims, pinned on the cheap families."""
import numpy as np
import pytest

from madlib import run_experiment
from madlib.simulations.remedies import remedy_curve
from madlib.remedies import REMEDY_KEYS, remedy_settings
from madlib.experiments.remedies import EXPENSIVE_REMEDIES, expensive_curve


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
    assert len(board["cats"]) == len(REMEDY_KEYS) == 13  # 13: the corrector (theory chapter) joined
    assert board["gaussian"]["self-likelihood"]["generations_to_collapse"] is not None
    assert board["gaussian"]["accumulate"]["generations_to_collapse"] is None


def test_bad_remedy_and_family_names():
    with pytest.raises(ValueError, match="remedy"):
        remedy_settings("prayer", n_real=10)
    with pytest.raises(ValueError, match="family"):
        remedy_curve("unicorn", "accumulate", generations=2, replicates=2)
    with pytest.raises(ValueError, match="families"):
        run_experiment("scoreboard", families="gaussian,unicorn")


def test_cats_measure_is_uncapped_and_agrees_with_chapter_2():
    # with 10% kept real cats the MEAN blue share stays at 10% (chapter 2: a martingale), and so does the
    # mean under replace; the median world, the scoreboard's measure, tells the two apart
    kept_mean = remedy_curve("cats", "keep-real", generations=60, replicates=400, aggregate="mean")
    plain_mean = remedy_curve("cats", "none", generations=60, replicates=400, aggregate="mean")
    kept = remedy_curve("cats", "keep-real", generations=60, replicates=400)
    plain = remedy_curve("cats", "none", generations=60, replicates=400)
    assert kept_mean.iloc[-20:].mean() == pytest.approx(1.0, abs=0.08)
    assert plain_mean.iloc[-1] == pytest.approx(1.0, abs=0.3)  # noisy: a few all-blue worlds carry it
    assert kept.iloc[-20:].min() >= 0.75 and plain.iloc[-1] == 0.0
    assert kept_mean.max() > 1.0  # uncapped: worlds above their fair share count


def test_reset_saws_between_collapse_and_the_snapshot_where_fresh_data_holds():
    reset = remedy_curve("gaussian", "reset", generations=40, replicates=400)
    fresh = remedy_curve("gaussian", "fresh", generations=40, replicates=400)
    none = remedy_curve("gaussian", "none", generations=40, replicates=400)
    assert np.allclose(reset.loc[[10, 20, 30, 40]], 1.0)  # back at the snapshot's fit
    assert np.allclose(reset.loc[1:9].values, none.loc[1:9].values)  # replace in between
    assert reset.loc[9] < 0.93 < fresh.loc[5:].min()


def test_learned_verifier_and_fixed_budget_hold_the_toys():
    for family in ("gaussian", "cats"):
        assert remedy_curve(family, "learned-verifier", generations=40, replicates=200).iloc[-1] > 0.85
        assert remedy_curve(family, "accumulate-subsample", generations=40, replicates=200).iloc[-1] > 0.85


def test_expensive_families_use_recall_and_perplexity():
    vae = expensive_curve("vae", {"recall": [0.8, 0.4, 0.2], "class_entropy": [2.3, 2.3, 2.3]})
    assert vae.tolist() == pytest.approx([1.0, 0.5, 0.25])
    lm = expensive_curve("lm", {"test_perplexity": [10.0, 20.0]})
    assert lm.tolist() == pytest.approx([1.0, 0.5])
    # the sub-runs keep the overrides the vae and lm experiments take, and name registry keys
    assert set(EXPENSIVE_REMEDIES) <= set(REMEDY_KEYS)
    assert all(set(o) <= {"workflow", "kept_real_fraction", "curate"} for o in EXPENSIVE_REMEDIES.values())


def test_static_explorer_has_a_slider_over_n_and_a_family_menu():
    from madlib.widgets.remedies import static_explorer, static_explorer_grid

    grid = static_explorer_grid(families=("gaussian", "cats"), sizes=(20, 100), remedies=("none", "fresh"),
                                generations=4, replicates=8)
    assert set(grid) == {(20, "gaussian"), (20, "cats"), (100, "gaussian"), (100, "cats")}
    assert all(len(series) == 2 and len(series[0][0]) == 5 for series in grid.values())
    fig = static_explorer(grid)
    assert len(fig.data) == 8
    assert [step["label"] for step in fig.layout.sliders[0].steps] == ["20", "100"]
    # the slider opens at n = 100, the scoreboard's size
    assert fig.layout.sliders[0].active == 1


def test_expensive_rows_run_the_chapters_presets_at_three_seeds_or_more():
    from madlib.experiments import resolve_config
    from madlib.experiments.remedies import EXPENSIVE_PRESETS

    for family, presets in EXPENSIVE_PRESETS.items():
        assert set(presets) == set(EXPENSIVE_REMEDIES)
        for remedy, preset in presets.items():
            config = resolve_config(family, preset=preset, scale="default")
            assert config["replicates"] >= 3, (family, preset)
            for key, value in EXPENSIVE_REMEDIES[remedy].items():
                assert config[key] == value, (family, preset, key)
    # the chapters' own runs: chapter 4's vae presets and chapter 5's 5-gram chains
    assert EXPENSIVE_PRESETS["vae"]["none"] == "replace" and EXPENSIVE_PRESETS["lm"]["none"] == "ngram"
