"""Chapter 2's implement-it checker: accepts the library's Wright-Fisher step, names the usual mistakes."""
import numpy as np

from madlib.exercises.cats import check_wright_fisher_step
from madlib.simulations.cats import wright_fisher_step


def test_accepts_the_library_implementation_and_a_per_row_loop():
    assert check_wright_fisher_step(wright_fisher_step).passed

    def loop(counts, rng):
        return np.array([rng.multinomial(row.sum(), row / row.sum()) for row in counts])

    result = check_wright_fisher_step(loop)
    assert result.passed, str(result)


def test_library_step_is_unbiased_with_binomial_variance():
    rng = np.random.default_rng(1)
    counts = np.tile([[90, 10]], (50000, 1))
    new = wright_fisher_step(counts, rng)
    assert (new.sum(axis=1) == 100).all()
    assert abs(new[:, 1].mean() - 10) < 5 * 3 / np.sqrt(50000)
    assert abs(new[:, 1].var() / 9.0 - 1) < 0.03  # M p (1 - p) = 9


def test_rejects_shares_instead_of_counts():
    result = check_wright_fisher_step(lambda counts, rng: wright_fisher_step(counts, rng) / counts.sum(1, keepdims=True))
    assert not result.passed and "shares" in str(result)


def test_rejects_the_original_shares():
    def original(counts, rng):
        return rng.multinomial(counts.sum(1), np.tile([0.9, 0.1], (len(counts), 1)))

    result = check_wright_fisher_step(original)
    assert not result.passed and "original" in str(result)


def test_rejects_poisson_draws_and_sharpening_and_copying():
    poisson = check_wright_fisher_step(lambda counts, rng: rng.poisson(counts))
    assert not poisson.passed and "population size changed" in str(poisson)

    def sharpened(counts, rng):
        p = (counts / counts.sum(1, keepdims=True)) ** 1.25
        return rng.multinomial(counts.sum(1), p / p.sum(1, keepdims=True))

    sharp = check_wright_fisher_step(sharpened)
    assert not sharp.passed and "unbiased" in str(sharp)
    assert "never change" in str(check_wright_fisher_step(lambda counts, rng: counts.copy()))

    def half(counts, rng):
        M = counts.sum(1)
        return 2 * rng.multinomial(M // 2, counts / M[:, None])

    assert "spread" in str(check_wright_fisher_step(half))
