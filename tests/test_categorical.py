"""The categorical family: counting fits, exact multinomial sampling, sharpening, the real-cat source."""
import numpy as np
import pytest
import torch

from madlib.core.select import largest_remainder
from madlib.models.categorical import (
    CategoricalFamily,
    CategoricalModel,
    CategoricalSource,
    draw_counts,
    sharpen,
)


def test_fit_counts_items_with_and_without_weights():
    data = torch.tensor([[0, 0, 1, 2], [2, 2, 2, 1]], dtype=torch.uint8)
    model = CategoricalFamily(3).fit(data)
    assert torch.allclose(model.probs, torch.tensor([[0.5, 0.25, 0.25], [0.0, 0.25, 0.75]], dtype=torch.float64))
    # (R, N, 1) works the same
    assert torch.equal(CategoricalFamily(3).fit(data[..., None]).probs, model.probs)
    weights = torch.tensor([[1.0, 1.0, 2.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    weighted = CategoricalFamily(3).fit(data, weights=weights)
    assert torch.allclose(weighted.probs, torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], dtype=torch.float64))
    smoothed = CategoricalFamily(3, pseudocount=1.0).fit(data)
    assert torch.allclose(smoothed.probs[1], torch.tensor([1 / 7, 2 / 7, 4 / 7], dtype=torch.float64))


def test_fit_rejects_bad_input():
    family = CategoricalFamily(2)
    with pytest.raises(ValueError, match="integer"):
        family.fit(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        family.fit(torch.tensor([[0, 2]]))
    with pytest.raises(ValueError, match="weights"):
        family.fit(torch.tensor([[0, 1]]), weights=torch.tensor([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="shape"):
        family.fit(torch.zeros(2, 3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="num_categories"):
        CategoricalFamily(1)
    with pytest.raises(ValueError, match="pseudocount"):
        CategoricalFamily(2, pseudocount=-1)


@pytest.mark.parametrize("K", [2, 4, 40])  # binomial chain (small K) and torch.multinomial (large K)
def test_sample_counts_are_multinomial(K):
    g = torch.Generator().manual_seed(1)
    p = torch.distributions.Dirichlet(torch.ones(K, dtype=torch.float64)).sample()
    R, n = 20000, 30
    model = CategoricalModel(probs=p.expand(R, K).contiguous())
    items = model.sample(n, generator=g)
    assert items.shape == (R, n) and not items.is_floating_point()
    counts = CategoricalFamily(K).counts(items.clone())  # recount from the items themselves
    mean = counts.mean(0)
    var = counts.var(0)
    se = torch.sqrt(n * p * (1 - p) / R)
    assert torch.all((mean - n * p).abs() < 5 * se + 1e-9)
    assert torch.allclose(var, n * p * (1 - p), rtol=0.08, atol=0.02)
    # covariance of two categories is -n p_i p_j
    cov01 = ((counts[:, 0] - mean[0]) * (counts[:, 1] - mean[1])).mean()
    assert float(cov01) == pytest.approx(float(-n * p[0] * p[1]), abs=0.1 + 0.1 * float(n * p[0] * p[1]))


def test_refit_to_own_sample_reuses_counts_exactly():
    g = torch.Generator().manual_seed(0)
    model = CategoricalModel(probs=torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=torch.float64))
    items = model.sample(100, generator=g)
    fast = CategoricalFamily(2).fit(items, previous=model)
    slow = CategoricalFamily(2).fit(items.clone())
    assert torch.equal(fast.probs, slow.probs)


def test_sharpen_is_power_and_renormalise():
    p = torch.tensor([[0.6, 0.3, 0.1, 0.0]], dtype=torch.float64)
    lam = 0.5
    expected = p ** (1 / lam) / (p ** (1 / lam)).sum()
    assert torch.allclose(sharpen(p, lam), expected)
    assert sharpen(p, lam)[0, 3] == 0  # a lost category stays lost
    assert torch.equal(sharpen(p, 1.0), p)
    with pytest.raises(ValueError, match="sampling_bias"):
        sharpen(p, 0.0)
    with pytest.raises(ValueError, match="sampling_bias"):
        sharpen(p, 1.5)
    # sampling with the bias draws the sharpened shares
    g = torch.Generator().manual_seed(3)
    model = CategoricalModel(probs=torch.tensor([[0.8, 0.2]], dtype=torch.float64).expand(5000, 2).contiguous())
    share = model.sample(50, sampling_bias=0.5, generator=g).double().mean()
    assert float(share) == pytest.approx(0.04 / 0.68, abs=0.003)


def test_draw_counts_sum_and_degenerate_rows():
    g = torch.Generator().manual_seed(0)
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]], dtype=torch.float64)
    counts = draw_counts(probs, 17, g)
    assert torch.all(counts.sum(1) == 17)
    assert counts[0].tolist() == [17, 0, 0] and counts[1].tolist() == [0, 0, 17]


def test_source_first_draw_is_the_given_population_then_iid():
    g = torch.Generator().manual_seed(0)
    source = CategoricalSource(torch.tensor([90.0, 10.0]), replicates=3000)
    first = source.draw(100, g)
    assert torch.all(first.double().sum(1) == 10)  # exactly 10 blue cats in every replicate
    later = source.draw(100, g).double().sum(1)
    assert later.var() > 1  # random now
    assert float(later.mean()) == pytest.approx(10, abs=0.25)
    assert largest_remainder(torch.tensor([1 / 3, 1 / 3, 1 / 3]), 10).tolist() == [4, 3, 3]
    with pytest.raises(ValueError, match="proportions"):
        CategoricalSource(torch.tensor([1.0]), replicates=2)
