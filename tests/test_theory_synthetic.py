"""Strong model collapse and random projections: closed forms against simulation, shortcuts against brute force."""
import numpy as np
import pytest

from madlib.simulations import theory as sims
from madlib.theory import synthetic_mix as mix


def _z(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample z statistic of the means of a and b."""
    return (a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)


@pytest.mark.parametrize("n, share", [(40, 0.3), (200, 0.1)])
def test_the_wishart_shortcut_equals_drawing_every_row(n, share):
    fast = sims.simulate_strong_collapse([n], [share], dim=5, shift_sq=4.0, replicates=2000, seed=1)[0, 0]
    slow = sims.strong_collapse_brute_force(n, share, dim=5, shift_sq=4.0, replicates=2000, seed=2)
    assert abs(_z(fast, slow)) < 4
    assert abs(np.log(fast.std() / slow.std())) < 0.1  # same spread, not only the same mean


def test_the_error_matches_the_closed_form_and_plateaus():
    sizes = [200, 2000, 20000, 10**6]
    errors = sims.simulate_strong_collapse(sizes, [0.0, 0.01, 0.1], dim=10, shift_sq=10.0, replicates=2000, seed=3)
    for i, share in enumerate([0.0, 0.01, 0.1]):
        theory = mix.mixed_ols_test_error(np.array(sizes), share, 10, 10.0)
        mean, se = errors[i].mean(axis=1), errors[i].std(axis=1, ddof=1) / np.sqrt(2000)
        assert np.all(np.abs(mean - theory) < 4 * se + 0.01 * theory), (share, mean, theory)
    # clean data: error ~ d/n keeps falling; with 1% synthetic it levels off at p^2 |Delta|^2 = 1e-3
    assert errors[0, -1].mean() < errors[0, 0].mean() / 1000
    assert errors[1, -1].mean() == pytest.approx(mix.collapse_plateau(0.01, 10.0), rel=0.05)
    assert errors[1, -1].mean() > 50 * errors[0, -1].mean()
    assert mix.plateau_size(0.001, 10, 10.0) == pytest.approx(1e6)


def test_random_projections_match_the_closed_form_below_the_threshold():
    sizes = [10, 30, 50]
    out = sims.simulate_random_projections(sizes, n=100, dim=150, share=0.2, shift_sq=4.0, replicates=300, seed=4)
    for name, share in (("clean", 0.0), ("mixed", 0.2)):
        theory = mix.random_projection_test_error(100, np.array(sizes), 150, share, 4.0)
        mean, se = out[name].mean(axis=1), out[name].std(axis=1, ddof=1) / np.sqrt(300)
        assert np.all(np.abs(mean - theory) < 4 * se + 0.02 * theory), (name, mean, theory)
    beyond = sims.simulate_random_projections([150], n=100, dim=150, share=0.2, shift_sq=4.0, replicates=50, seed=5)
    # beyond the threshold the minimum-norm fit interpolates: the same as the pseudo-inverse's
    assert np.all(np.isfinite(beyond["mixed"])) and beyond["mixed"].mean() > beyond["clean"].mean()
    term = mix.random_projection_collapse_term(100, np.arange(1, 99), 150, 0.2, 4.0)
    assert np.all(np.diff(term) > 0)  # larger models: a larger collapse term, up to the threshold
    with pytest.raises(ValueError, match="model_size must lie in"):
        mix.random_projection_test_error(100, 99, 150, 0.2, 4.0)
