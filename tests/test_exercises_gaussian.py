"""Chapter 1's implement-it checker: accepts the library's generation, names the usual mistakes."""
import numpy as np

from madlib.exercises.gaussian import check_one_generation
from madlib.simulations.gaussian import one_generation


def test_accepts_the_library_implementation():
    result = check_one_generation(one_generation)
    assert result.passed, str(result)


def test_accepts_a_plain_per_run_loop():
    def loop(mu, sigma, n, rng):
        out = [rng.normal(m, s, n) for m, s in zip(mu, sigma)]
        return np.array([x.mean() for x in out]), np.array([x.std() for x in out])

    assert check_one_generation(loop).passed


def test_rejects_ddof1():
    result = check_one_generation(lambda mu, sigma, n, rng: one_generation(mu, sigma, n, rng, ddof=1))
    assert not result.passed and "ddof=1" in str(result)


def test_rejects_sampling_from_the_truth():
    def truth(mu, sigma, n, rng):
        x = rng.normal(0.0, 1.0, size=(len(mu), n))
        return x.mean(axis=1), x.std(axis=1)

    result = check_one_generation(truth)
    assert not result.passed and "true N(0, 1)" in str(result)


def test_rejects_wrong_shape():
    def pooled(mu, sigma, n, rng):
        x = rng.normal(mu[:, None], sigma[:, None], size=(len(mu), n))
        return x.mean(axis=0), x.std(axis=0)

    result = check_one_generation(pooled)
    assert not result.passed and "wrong shape" in str(result)


def test_rejects_variance_and_ignored_rng_and_stub():
    def variance(mu, sigma, n, rng):
        x = rng.normal(mu[:, None], sigma[:, None], size=(len(mu), n))
        return x.mean(axis=1), x.var(axis=1)

    assert "variance" in str(check_one_generation(variance))

    def own_rng(mu, sigma, n, rng):
        return one_generation(mu, sigma, n, np.random.default_rng())

    assert "rng" in str(check_one_generation(own_rng))

    def stub(mu, sigma, n, rng):
        raise NotImplementedError

    assert "NotImplementedError" in str(check_one_generation(stub))
