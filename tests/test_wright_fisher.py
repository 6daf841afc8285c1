"""Wright-Fisher theory: closed forms, the exact Markov chain, and the simulated chain through the loop."""
import numpy as np
import pytest
import torch

from madlib.core.config import cpu_threads
from madlib.simulations.cats import simulate_cats
from madlib.core.loop import run_loop
from madlib.models.categorical import CategoricalFamily, CategoricalSource
from madlib.theory import wright_fisher as wf


def test_the_papers_numbers():
    # the cats illustration of the "Curse of Recursion" authors: M=100, p=0.1 -> about 51 to lose, 190 to fix,
    # 65 overall
    assert wf.mean_time_to_loss(0.1, 100) == pytest.approx(51.17, abs=0.01)
    assert wf.mean_time_to_fixation(0.1, 100) == pytest.approx(189.65, abs=0.01)
    assert wf.mean_time_to_absorption(0.1, 100) == pytest.approx(65.02, abs=0.01)
    assert wf.loss_probability(0.1) == pytest.approx(0.9)
    assert wf.fixation_probability(0.1) == pytest.approx(0.1)
    assert wf.fixation_probability(np.array([0.05, 0.5, 0.95])) == pytest.approx([0.05, 0.5, 0.95])
    assert wf.one_step_loss_probability(0.01, 100) == pytest.approx(0.99**100)
    # absorption time is the mixture of the conditional times
    p = np.array([0.05, 0.3, 0.7])
    mix = (1 - p) * wf.mean_time_to_loss(p, 50) + p * wf.mean_time_to_fixation(p, 50)
    assert np.allclose(mix, wf.mean_time_to_absorption(p, 50))
    # K categories: with two categories the formula is the absorption time
    assert wf.mean_time_to_single_category([0.9, 0.1], 100) == pytest.approx(65.02, abs=0.01)


def test_exact_chain_is_close_to_the_diffusion_formulas():
    exact = wf.exact_two_category_times(10, 100)
    assert exact.loss_probability == pytest.approx(0.9)
    assert exact.mean_time_to_loss == pytest.approx(wf.mean_time_to_loss(0.1, 100), rel=0.04)
    assert exact.mean_time_to_fixation == pytest.approx(wf.mean_time_to_fixation(0.1, 100), rel=0.04)
    assert exact.mean_time_to_absorption == pytest.approx(wf.mean_time_to_absorption(0.1, 100), rel=0.04)
    # survival curve: P(lost by t) rises to 1 - p, first step is (1-p)^M
    curve = wf.survival_curve_loss(0.1, 100, 2000)
    assert curve[1] == pytest.approx(0.9**100)
    assert np.all(np.diff(curve) >= -1e-12) and curve[-1] == pytest.approx(0.9, abs=1e-6)
    # three categories, small population: exact chain vs the formula
    exact3 = wf.exact_time_to_single_category([6, 6, 8])
    assert exact3 == pytest.approx(wf.mean_time_to_single_category([0.3, 0.3, 0.4], 20), rel=0.08)


def test_bad_arguments():
    with pytest.raises(ValueError, match="frequency"):
        wf.mean_time_to_loss(0.0, 100)
    with pytest.raises(ValueError, match="frequency"):
        wf.loss_probability(1.2)
    with pytest.raises(ValueError, match="population"):
        wf.mean_time_to_absorption(0.1, 0)
    with pytest.raises(ValueError, match="count"):
        wf.exact_two_category_times(0, 100)
    with pytest.raises(ValueError, match="proportions"):
        wf.mean_time_to_single_category([0.5, 0.6], 10)


def test_simulated_blue_cats_match_wright_fisher():
    R = 6000
    out = simulate_cats(100, 10, 1500, R, seed=11)
    loss, fix = out["loss_time"], out["fixation_time"]
    lost, fixed = loss >= 0, fix >= 0
    assert np.all(lost ^ fixed)  # every world ends single-coloured; no world both loses and fixes blue
    assert abs(lost.mean() - wf.loss_probability(0.1)) < 4 * np.sqrt(0.09 / R)
    assert abs(fixed.mean() - wf.fixation_probability(0.1)) < 4 * np.sqrt(0.09 / R)
    exact = wf.exact_two_category_times(10, 100)

    def z(values, expected):
        return abs(values.mean() - expected) / (values.std(ddof=1) / np.sqrt(values.size))

    assert z(loss[lost], exact.mean_time_to_loss) < 4
    assert z(fix[fixed], exact.mean_time_to_fixation) < 4
    assert z(np.where(lost, loss, fix), exact.mean_time_to_absorption) < 4
    # and the diffusion numbers of the papers, within 8 %
    assert loss[lost].mean() == pytest.approx(51.2, rel=0.08)
    assert fix[fixed].mean() == pytest.approx(189.6, rel=0.08)
    assert np.where(lost, loss, fix).mean() == pytest.approx(65.0, rel=0.08)
    # the share of worlds that lost blue by t follows the exact curve
    curve = wf.survival_curve_loss(0.1, 100, 1500)
    assert np.max(np.abs(out["ever_lost"] - curve)) < 4 * np.sqrt(0.25 / R)


def test_one_step_loss_probability_simulated():
    R = 20000
    out = simulate_cats(10, 1, 1, R, seed=2)  # one cat of ten: lost in one step with prob 0.9^10
    assert abs((out["loss_time"] == 1).mean() - 0.9**10) < 4 * np.sqrt(0.35 * 0.65 / R)


def test_three_colours_reach_a_single_colour_in_the_exact_time():
    R, M = 4000, 20
    first_single = torch.full((R,), -1)

    def observe(model, data, t, generator):
        single = (model.probs > 0).sum(1) == 1
        first_single[(first_single < 0) & single] = t
        return {}

    source = CategoricalSource(torch.tensor([6.0, 6.0, 8.0]), R)
    with cpu_threads(1):
        run_loop(CategoricalFamily(3), source, generations=400, n_real=M, seed=5, observe=observe)
    times = first_single.numpy().astype(float)
    assert np.all(times > 0)
    expected = wf.exact_time_to_single_category([6, 6, 8])
    assert abs(times.mean() - expected) < 4 * times.std() / np.sqrt(R)


def test_rare_category_median_is_linear_in_count():
    medians = wf.rare_median_time_to_loss([1, 10, 20, 40])
    assert medians[0] == 2
    assert np.allclose(medians[1:] / np.array([10, 20, 40]), 2 / np.log(2), rtol=0.08)
    # the branching-process law equals the exact Wright-Fisher chain for a rare category
    exact = wf.survival_curve_loss(1 / 1000, 1000, 50)
    approx = wf.rare_loss_probability_by(1, np.arange(51))
    assert np.max(np.abs(exact - approx)) < 0.01
