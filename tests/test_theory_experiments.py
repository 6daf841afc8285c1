"""The theory chapter's experiments at small sizes: each runs, is cached, and agrees with its closed form."""
import numpy as np
import pytest

from madlib import run_experiment
from madlib.experiments import get_experiment

THEORY_EXPERIMENTS = {"contraction": "regimes", "universality": "pi2-over-6", "strong-collapse": "plateau",
                      "model-size": "random-projections", "verifier-transition": "breakdown",
                      "biased-verifier": "knowledge-center", "curation": "reward"}


def test_every_result_has_its_named_preset():
    for name, preset in THEORY_EXPERIMENTS.items():
        assert preset in get_experiment(name).presets, name


def test_contraction_cases_agree_with_their_fixed_points():
    result = run_experiment("contraction", preset="regimes", generations=12, replicates=300, progress=False)
    for case, row in result.summary["cases"].items():
        assert abs(row["z_final"]) < 4.5 or abs(row["final_mean"] / row["final_theory"] - 1) < 0.03, (case, row)
    assert run_experiment("contraction", preset="regimes", generations=12, replicates=300, progress=False).cached


def test_universality_and_strong_collapse_summaries():
    uni = run_experiment("universality", preset="pi2-over-6", generations=4, poisson_replicates=2000,
                         logistic_replicates=40, progress=False).summary
    poisson = uni["poisson_accumulate"]
    assert abs(poisson["final_mean"] - poisson["theory_final"]) < 4 * poisson["final_se"]
    assert uni["poisson_accumulate"]["theory_ratio"] < uni["pi2_over_6"] < uni["poisson_replace"]["theory_ratio"]
    strong = run_experiment("strong-collapse", preset="plateau", points=4, largest=10**6, replicates=300,
                            progress=False).summary
    assert strong["max_abs_z"] < 4.5
    assert strong["last_decade_slope"]["0.0"] < -0.8 and abs(strong["last_decade_slope"]["0.1"]) < 0.05


def test_model_size_verifier_and_curation_summaries():
    size = run_experiment("model-size", preset="random-projections", model_sizes=[5, 20, 40, 80, 120],
                          replicates=40, progress=False).summary
    assert size["grows_below_threshold"] and size["max_abs_z_underparameterised"] < 4.5
    verifier = run_experiment("verifier-transition", preset="breakdown", candidates=[100000], replicates=100,
                              accuracies=[0.5, 0.6, 0.7], progress=False).summary
    assert verifier["largest_below"] < 0.2 < 0.8 < verifier["largest_above"]
    curation = run_experiment("curation", preset="reward", generations=4, replicates=20, n_real=300,
                              progress=False).summary
    assert curation["real_share_0.0"]["final_reward"] > curation["real_share_0.5"]["final_reward"] > curation["start_reward"]
    biased = run_experiment("biased-verifier", preset="knowledge-center", generations=4, replicates=40,
                            progress=False).summary
    assert biased["n_real=400, shift=0.3"]["final_to_truth"] > 3 * biased["n_real=400, shift=0.3"]["first_to_truth"]
    assert biased["n_real=20, shift=0.0"]["final_to_truth"] < biased["n_real=20, shift=0.0"]["first_to_truth"] / 5


@pytest.mark.parametrize("name", ["strong-collapse", "verifier-transition"])
def test_parameters_are_checked_by_name(name):
    bad = {"strong-collapse": {"smallest": 5}, "verifier-transition": {"accuracies": [1.5]}}[name]
    with pytest.raises(ValueError, match=next(iter(bad))):
        run_experiment(name, progress=False, use_cache=False, **bad)
