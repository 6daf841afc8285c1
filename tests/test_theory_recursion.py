"""The theory chapter's three regimes: closed forms against the loop's own simulations (with Monte-Carlo error)."""
import numpy as np
import pytest

from madlib.simulations import theory as sims
from madlib.theory import gaussian as gauss
from madlib.theory import recursion as rec


def test_affine_maps_contract_to_their_fixed_point():
    path = rec.affine_path(0.3, 0.7, 5.0, 200)
    assert path[0] == 5.0 and path[-1] == pytest.approx(1.0, abs=1e-12)
    assert rec.affine_fixed_point(0.3, 0.7) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="slope must be < 1"):
        rec.affine_fixed_point(0.3, 1.0)


def test_fixed_points_depend_on_the_number_of_real_items_not_the_share():
    # 2 f n / (2 f n + 1): ten real items a generation give the same fixed point at n = 100 and n = 10,000
    small, large = rec.kept_fraction_fixed_point(100, 0.1), rec.kept_fraction_fixed_point(10_000, 0.001)
    assert small == pytest.approx(large, abs=0.01) and small == pytest.approx(20 / 21, abs=0.01)
    assert rec.kept_fraction_fixed_point(100, 0.05, approximate=True) == pytest.approx(10 / 11)
    assert rec.anchored_fixed_point(0.2, 10**9, 0.8) == pytest.approx(rec.web_scrape_fixed_point(0.8, 0.8))
    assert rec.web_scrape_fixed_point(0.8, 0.8) == pytest.approx(0.2 / 0.36)


@pytest.mark.parametrize("case, share", [("keep 20% real", 0.2), ("keep 5% real", 0.05)])
def test_a_kept_real_share_holds_the_variance_at_the_anchored_fixed_point(case, share):
    chain = sims.simulate_contraction(case, n=100, generations=35, replicates=1000, seed=1)
    late = chain["var"][20:].mean(axis=0)  # each replicate's average over the late generations
    mean, se = late.mean(), late.std(ddof=1) / np.sqrt(late.size)
    theory = rec.anchored_variance_path(share, 100, 35)[20:].mean()
    assert abs(mean - theory) < 4 * se + 0.02 * theory, (mean, se, theory)
    # chapter 6's f n / (f n + 1) leaves out the wandering of the mean: it is measurably too low for 5 items
    if share == 0.05:
        assert mean > gauss.kept_fraction_variance(100, share, 10**6) + 4 * se


def test_the_web_scrape_settles_where_its_two_dimensional_recursion_says():
    chain = sims.simulate_contraction("web scrape", n=100, generations=20, replicates=500, seed=2)
    mean, se = chain["var"][-1].mean(), chain["var"][-1].std(ddof=1) / np.sqrt(500)
    theory = rec.anchored_variance_path(0.2, 500, 20, 0.8, start_var=0.99, start_mean_sq=0.01)[-1]
    assert abs(mean - theory) < 4 * se + 0.005, (mean, se, theory)
    assert abs(theory - rec.web_scrape_fixed_point(0.8, 0.8)) < 0.01  # large-n form, close at N = 500


@pytest.mark.parametrize("strength", [0.2, 0.5])
def test_the_corrector_chain_follows_its_exact_moments(strength):
    n, G = 50, 20
    chain = sims.simulate_contraction(f"corrector {strength}", n=n, generations=G, replicates=2000, seed=3)
    for measure, theory in (("std", rec.corrector_std_path(n, strength, G)), ("var", rec.corrector_var_path(n, strength, G))):
        values = chain[measure]
        z = (values.mean(axis=1) - theory) / (values.std(axis=1, ddof=1) / np.sqrt(values.shape[1]))
        assert np.abs(z).max() < 4.5, (measure, np.abs(z).max())
    assert rec.corrector_std_path(n, strength, 500)[-1] == pytest.approx(rec.corrector_fixed_point(n, strength))


def test_without_anchor_the_variance_is_a_random_walk_down():
    chain = sims.simulate_contraction("replace", n=50, generations=30, replicates=1000, seed=4)
    log_var = np.log(chain["var"][-1])
    mean, se = log_var.mean(), log_var.std(ddof=1) / np.sqrt(log_var.size)
    assert abs(mean - gauss.log_var_mean(50, 30)) < 4 * se
    assert rec.regime("replace") == "random walk with absorption"
    assert rec.regime("accumulate") == "summable noise" and rec.regime("corrector") == "contraction to a fixed point"
    with pytest.raises(ValueError, match="workflow must be one of"):
        rec.regime("nope")


def test_summable_noise_is_bounded_by_pi_squared_over_six():
    ratio = rec.accumulate_error_ratio(np.arange(1000))
    assert ratio[0] == 1.0 and np.all(np.diff(ratio) > 0) and ratio[-1] < rec.PI2_OVER_6
    assert rec.replace_error_ratio(9) == 10
    # the cats' exact recursion: replace tends to absorption, accumulate stays near (pi^2/6) p(1-p)/n
    assert rec.bernoulli_mse(0.1, 100, 5000, "replace")[-1] == pytest.approx(0.09, rel=1e-6)
    acc = rec.bernoulli_mse(0.1, 100, 5000, "accumulate")
    assert acc[-1] < rec.PI2_OVER_6 * 0.09 / 100 and acc[-1] > 1.5 * 0.09 / 100


@pytest.mark.parametrize("workflow", ["replace", "accumulate"])
def test_the_poisson_rate_follows_its_exact_error_under_both_workflows(workflow):
    errors = sims.simulate_universality("poisson", workflow, n=100, generations=8, rate=3.0, replicates=4000, seed=5)
    theory = rec.poisson_mse(3.0, 100, 8, workflow)
    z = (errors.mean(axis=1) - theory) / (errors.std(axis=1, ddof=1) / np.sqrt(errors.shape[1]))
    assert np.abs(z).max() < 4.5, np.abs(z).max()


def test_the_logistic_fit_under_accumulate_stays_near_the_universal_ratio():
    errors = sims.simulate_universality("logistic", "accumulate", n=300, generations=4, replicates=200, seed=6)
    mean = errors.mean(axis=1)
    assert mean[-1] / mean[0] == pytest.approx(rec.accumulate_error_ratio(4), rel=0.15)
    replace = sims.simulate_universality("logistic", "replace", n=300, generations=4, replicates=200, seed=6)
    assert np.median(replace[-1]) > 3 * np.median(errors[-1])  # replace's errors add up
