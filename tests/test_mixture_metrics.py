"""Metrics for mixtures: precision/recall behave as they must, modes covered, sliced W2, toy data."""
import math

import pytest
import torch

from madlib.data.toy import blobs, get_toy, grid25, moons
from madlib.metrics.manifold import precision_recall
from madlib.metrics.modes import high_quality_share, modes_covered, sliced_w2_squared
from madlib.models.gmm import GMMModel


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", ["blobs", "grid25", "moons"])
def test_precision_recall_near_one_for_the_truth(name):
    data = get_toy(name)
    real = data.sampler(1, 1500, _gen(1))
    generated = data.sampler(3, 1500, _gen(2))
    precision, recall = precision_recall(real, generated, k=5)
    assert precision.min() > 0.93 and recall.min() > 0.93


def test_precision_recall_fall_when_a_mode_is_dropped_or_the_spread_shrinks():
    grid = grid25()
    real_grid = grid.sampler(1, 2000, _gen(3))
    weights = grid.truth.weights.clone()
    weights[:, :5] = 0  # drop 5 of the 25 modes
    dropped = GMMModel(weights / weights.sum(), grid.truth.means, grid.truth.covs)
    p_drop, r_drop = precision_recall(real_grid, dropped.sample(2000, generator=_gen(4)))
    assert p_drop.item() > 0.95 and abs(r_drop.item() - 0.8) < 0.06  # a fifth of the real data is not covered
    data = blobs()
    real = data.sampler(1, 2000, _gen(3))
    truth = data.truth
    p_shrunk, r_shrunk = precision_recall(real, truth.sample(2000, sampling_bias=0.05, generator=_gen(5)))
    assert p_shrunk.item() > 0.93 and r_shrunk.item() < 0.5  # quality kept, diversity lost
    wide = truth.sample(2000, sampling_bias=1.0, generator=_gen(6)) * 2.5
    p_wide, r_wide = precision_recall(real, wide)
    assert p_wide.item() < 0.7  # samples outside the real manifold: quality lost


def test_precision_recall_monotone_in_the_spread():
    data = blobs()
    real = data.sampler(1, 1500, _gen(7))
    recalls = [precision_recall(real, data.truth.sample(1500, sampling_bias=lam, generator=_gen(8)))[1].item()
               for lam in (1.0, 0.5, 0.2, 0.05)]
    assert all(a > b for a, b in zip(recalls, recalls[1:]))


def test_modes_covered_counts_modes():
    data = grid25()
    samples = data.sampler(2, 2500, _gen(9))
    assert torch.equal(modes_covered(samples, data.modes, data.mode_radius), torch.tensor([25, 25]))
    keep = torch.cdist(samples, data.modes[None].expand(2, -1, -1)).argmin(-1) >= 5  # drop 5 modes
    reduced = samples[0][keep[0]]
    assert modes_covered(reduced, data.modes, data.mode_radius).item() == 20
    # P(|z| < 3 sigma) for a 2-D isotropic normal is 1 - exp(-4.5)
    share = high_quality_share(samples, data.modes, data.mode_radius)
    assert torch.allclose(share, torch.full((2,), 1 - math.exp(-4.5), dtype=torch.float64), atol=0.01)
    few = samples[:, :10]
    assert modes_covered(few, data.modes, data.mode_radius, min_count=1).max() <= 10


def test_sliced_w2_is_exact_in_one_dimension_and_scales_with_shifts():
    x = torch.randn(2, 500, 1, generator=_gen(10), dtype=torch.float64)
    assert torch.allclose(sliced_w2_squared(x, x + 3.0, projections=4, generator=_gen(0)),
                          torch.full((2,), 9.0, dtype=torch.float64))
    # in d dims a shift by c has E[(c . u)^2] = |c|^2 / d over random unit directions u
    y = torch.randn(1, 500, 4, generator=_gen(11), dtype=torch.float64)
    shifted = sliced_w2_squared(y, y + 2.0, projections=4000, generator=_gen(12))
    assert abs(shifted.item() - 16.0 / 4) < 0.3
    assert sliced_w2_squared(y, y, generator=_gen(13)).item() == 0.0


def test_toy_samplers_shapes_and_truths():
    for name in ("blobs", "grid25", "moons"):
        data = get_toy(name)
        x = data.sampler(3, 7, _gen(14))
        assert x.shape == (3, 7, 2) and x.dtype == torch.float64
    assert moons().truth is None
    big = blobs().sampler(1, 20000, _gen(15))[0]
    assert torch.allclose(big.mean(0), torch.zeros(2, dtype=torch.float64), atol=0.05)
    assert abs(big[:, 0].var().item() - 5.0) < 0.15  # 1 + (4/2)^2


def test_bad_arguments():
    with pytest.raises(ValueError, match="dataset"):
        get_toy("spiral")
    with pytest.raises(ValueError, match="std"):
        grid25(std=0.0)
    with pytest.raises(ValueError, match="radius"):
        modes_covered(torch.zeros(5, 2), torch.zeros(1, 2), radius=0.0)
    with pytest.raises(ValueError, match="min_count"):
        modes_covered(torch.zeros(5, 2), torch.zeros(1, 2), radius=1.0, min_count=0)
    with pytest.raises(ValueError, match="modes"):
        modes_covered(torch.zeros(5, 2), torch.zeros(3), radius=1.0)
    with pytest.raises(ValueError, match="equal shapes"):
        sliced_w2_squared(torch.zeros(5, 2), torch.zeros(6, 2))
