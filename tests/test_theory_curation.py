"""Verification, a verifier's knowledge center, curation by a reward, knowledge collapse: theory against simulation."""
import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.stats import norm

from madlib.remedies.verifiers import BandVerifier, PairwiseCurator
from madlib.simulations import theory as sims
from madlib.theory import curation as cur


def test_the_breakdown_point_is_where_kept_labels_are_wrong_half_the_time():
    assert cur.kept_label_error(0.6, 0.4, 0.6) == pytest.approx(0.5)
    assert cur.breakdown_false_accept(0.6) == pytest.approx(2 / 3)
    best = cur.optimal_accuracy(1.0)
    assert cur.limit_accuracy(0.6, 0.35, 1.0, 0.65) == best and cur.limit_accuracy(0.6, 0.45, 1.0, 0.55) == 1 - best


def test_the_sufficient_statistics_shortcut_equals_drawing_every_candidate():
    fast = sims.simulate_verifier_transition([0.66], [300], label_error=0.6, dim=8, signal=1.0, replicates=3000,
                                             seed=1)["accuracy"][0, 0]
    slow = sims.verifier_transition_brute_force(0.66, 300, label_error=0.6, dim=8, signal=1.0, replicates=3000, seed=2)
    assert abs(fast.mean() - slow.mean()) < 4 * np.sqrt(fast.var() / fast.size + slow.var() / slow.size)


def test_the_transition_sharpens_with_data_at_the_predicted_point():
    out = sims.simulate_verifier_transition([0.54, 0.6, 0.66], [200, 100_000], label_error=0.6, dim=10, signal=1.0,
                                            replicates=1000, seed=3)
    acc = out["accuracy"].mean(axis=2)
    best = cur.optimal_accuracy(1.0)
    assert acc[1, 0] < 1 - best + 0.01 and acc[1, 2] > best - 0.01  # a step with 100,000 candidates
    assert acc[1, 1] == pytest.approx(0.5, abs=0.03)  # at the breakdown point: a coin flip
    assert 1 - best + 0.05 < acc[0, 0] < 0.5 < acc[0, 2] < best - 0.05  # smooth with 200
    theory = cur.verifier_accuracy(0.6, 0.34, 1.0, 10, int(out["kept"][0, 2].mean()), true_accept=0.66)
    assert acc[0, 2] == pytest.approx(theory, abs=4 * out["accuracy"][0, 2].std() / np.sqrt(1000))


def test_a_biased_verifier_pulls_the_loop_to_its_knowledge_center():
    out = sims.simulate_biased_verifier(0.3, dim=5, n_real=400, n_keep=200, candidates=800, tolerance=1.0,
                                        generations=8, replicates=200, seed=4)
    assert out["to_truth"][0].mean() < 0.02  # generation 0 is better than the verifier...
    assert out["to_truth"][-1].mean() == pytest.approx(0.09, rel=0.2)  # ...and ends at the verifier's own error
    assert all(0 < cur.band_verifier_contraction(a, 1.0) < 1 for a in (0.0, 0.3, 1.0, 3.0))
    late = out["to_center"][4:] ** 2  # finite fits: the loop settles at the floor, not at theta_c itself
    rms = np.sqrt(late.mean())
    assert rms == pytest.approx(cur.band_verifier_floor(1.0, 5, 200), rel=0.1)
    path = cur.band_verifier_path(0.3, 1.0, 8)
    assert np.all(np.diff(path) < 0) and path[-1] < 0.01


@pytest.mark.parametrize("distance", [0.2, 1.5])
def test_one_verified_generation_shrinks_the_distance_by_kappa(distance):
    # one step with a million candidates: least squares on the kept ones moves w towards theta_c by kappa
    g = torch.Generator().manual_seed(7)
    d, m = 3, 1_000_000
    center = torch.zeros(d, dtype=torch.float64)
    w = torch.tensor([distance, 0.0, 0.0], dtype=torch.float64)
    x = torch.randn(m, d, generator=g, dtype=torch.float64)
    y = x @ w + torch.randn(m, generator=g, dtype=torch.float64)
    keep = BandVerifier(center, 1.0).residual(torch.cat([x, y[:, None]], 1)[None])[0] <= 1.0
    fit = torch.linalg.lstsq(x[keep], y[keep][:, None]).solution[:, 0]
    assert float(fit.norm() / distance) == pytest.approx(cur.band_verifier_contraction(distance, 1.0), abs=0.01)
    assert float(keep.double().mean()) == pytest.approx(cur.band_acceptance(distance, 1.0), abs=0.002)


def test_the_band_verifier_keeps_what_it_believes_and_enough_for_a_fit():
    items = torch.tensor([[[1.0, 0.0, 1.1], [1.0, 0.0, 5.0], [0.0, 1.0, -0.2]]], dtype=torch.float64)
    weights = BandVerifier(torch.tensor([1.0, 0.0]), 0.5, min_keep=0)(items, 1, torch.Generator().manual_seed(0))
    assert weights.tolist() == [[1.0, 0.0, 1.0]]
    weights = BandVerifier(torch.tensor([1.0, 0.0]), 0.01, min_keep=2)(items, 1, torch.Generator().manual_seed(0))
    assert weights.sum() == 2 and weights[0, 1] == 0  # the two smallest residuals


def test_pairwise_curation_is_exactly_the_bradley_terry_map():
    p, r = np.array([0.6, 0.3, 0.1]), np.array([0.0, 0.3, 0.6])
    step = cur.pairwise_curation_step(p, r)
    assert step.sum() == pytest.approx(1.0) and step[2] > p[2]
    curator = PairwiseCurator(torch.tensor(r))
    ids = torch.multinomial(torch.tensor(p), 400_000, replacement=True, generator=torch.Generator().manual_seed(0))[None]
    kept = curator(ids, 1, torch.Generator().manual_seed(1))
    shares = np.bincount(ids[0][kept[0] > 0].numpy(), minlength=3) / kept.sum().item()
    assert np.allclose(shares, step, atol=4 * np.sqrt(step * (1 - step) / kept.sum().item()))
    assert np.allclose(cur.softmax_curation_step(p, r), p * np.exp(r) / (p * np.exp(r)).sum())


def test_the_curated_loop_follows_the_map_and_real_data_holds_it():
    q, r = [0.6, 0.3, 0.1], [0.0, 0.3, 0.6]
    for rho in (0.0, 0.5):
        shares = sims.simulate_curation(q, r, n_real=1000, n_kept=1000, generations=10, replicates=100,
                                        real_share=rho, seed=5)
        theory = cur.curation_path(q, r, 10, real_share=rho)
        mean, se = shares.mean(axis=1), shares.std(axis=1, ddof=1) / 10
        assert np.all(np.abs(mean - theory) < 4 * se + 0.01), (rho, np.abs(mean - theory).max())
    assert cur.curation_path(q, r, 400)[-1, 2] > 0.99  # replace: the favourite takes over
    held = cur.curation_path(q, r, 400, real_share=0.5)
    assert held[-1, 2] < 0.3 and np.allclose(held[-1], held[-2])


def test_knowledge_collapse_distance_is_the_hellinger_distance_of_the_toy():
    assert cur.knowledge_collapse_distance(0.0) == 0.0
    values = [cur.knowledge_collapse_distance(a, 1.0) for a in (0.2, 0.5, 1.0)]
    assert values == sorted(values)
    z = 2 * norm.cdf(1.0) - 1
    public = lambda x: norm.pdf(x) * (0.5 + 0.5 * (abs(x) <= 1) / z)  # noqa: E731
    affinity = sum(quad(lambda x: np.sqrt(public(x) * norm.pdf(x)), a, b)[0] for a, b in ((-9, -1), (-1, 1), (1, 9)))
    assert cur.knowledge_collapse_distance(0.5, 1.0) == pytest.approx(np.sqrt(1 - affinity), rel=1e-6)
