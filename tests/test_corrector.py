"""The corrector remedy (Gillman et al.): its projections, its family wrapper, its place in the registry."""
import pytest
import torch

from madlib.models.categorical import CategoricalFamily
from madlib.models.gaussian import GaussianFamily
from madlib.remedies import REMEDY_KEYS, CorrectedFamily, GaussianCorrector, MixtureCorrector, ShareCorrector
from madlib.remedies import remedy_settings
from madlib.simulations.remedies import remedy_curve

G = torch.Generator().manual_seed(0)


def test_the_gaussian_corrector_moves_the_batch_moments_by_its_strength():
    x = 3.0 + 0.5 * torch.randn(4, 200, 1, generator=G, dtype=torch.float64)
    mean, std = x.mean(dim=1), x.std(dim=1, correction=0)
    for gamma in (0.0, 0.3, 1.0):
        y = GaussianCorrector(gamma)(x)
        assert torch.allclose(y.mean(dim=1), (1 - gamma) * mean, atol=1e-12)
        assert torch.allclose(y.std(dim=1, correction=0), (1 - gamma) * std + gamma, atol=1e-12)


def test_the_share_corrector_moves_counts_towards_the_true_shares_in_whole_items():
    ids = torch.cat([torch.zeros(1, 96, dtype=torch.uint8), torch.ones(1, 4, dtype=torch.uint8)], dim=1)
    q = torch.tensor([0.9, 0.1])
    assert int(ShareCorrector(q, 0.0)(ids).sum()) == 4
    assert int(ShareCorrector(q, 1.0)(ids).sum()) == 10
    assert int(ShareCorrector(q, 0.5)(ids).sum()) == 7
    with pytest.raises(ValueError, match="integer category ids"):
        ShareCorrector(q)(ids.double())


def test_the_mixture_corrector_projects_each_group_onto_its_known_centre():
    centres = torch.tensor([[-2.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
    x = torch.cat([centres[0] + 0.3 * torch.randn(1, 300, 2, generator=G, dtype=torch.float64),
                   centres[1] + 0.2 + 0.3 * torch.randn(1, 300, 2, generator=G, dtype=torch.float64)], dim=1)
    y = MixtureCorrector(centres, 1.0, 1.0)(x)
    right = y[0, 300:]
    assert torch.allclose(right.mean(0), centres[1], atol=1e-9)
    assert torch.allclose(right.std(0, correction=0), torch.ones(2, dtype=torch.float64), atol=1e-9)


def test_the_corrected_family_leaves_generation_0_alone_and_refuses_weights():
    data = 5 + 2 * torch.randn(3, 100, 1, generator=G, dtype=torch.float64)
    family = CorrectedFamily(GaussianFamily(), GaussianCorrector(1.0))
    first = family.fit(data)
    assert torch.allclose(first.mean, data.mean(dim=1))  # real data: no correction
    later = family.fit(data, previous=first)
    assert torch.allclose(later.mean, torch.zeros_like(later.mean), atol=1e-12)
    with pytest.raises(ValueError, match="unweighted"):
        family.fit(data, weights=torch.ones(3, 100), previous=first)


def test_the_corrector_is_a_remedy_that_holds_the_toy_families():
    assert "corrector" in REMEDY_KEYS
    with pytest.raises(ValueError, match="needs corrector"):
        remedy_settings("corrector", n_real=100)
    for family in ("gaussian", "cats"):
        corrected = remedy_curve(family, "corrector", generations=40, replicates=200, seed=1)
        plain = remedy_curve(family, "none", generations=40, replicates=200, seed=1)
        assert corrected.min() > 0.9 and plain.iloc[-1] < corrected.iloc[-1] - 0.1, family
    assert isinstance(CorrectedFamily(CategoricalFamily(2), ShareCorrector(torch.tensor([0.5, 0.5]))).name, str)
