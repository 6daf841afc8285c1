"""Chapter 6's implement-it checker accepts the library's verifier and names plausible mistakes."""
import torch

from madlib.exercises.remedies import check_acceptance_probability
from madlib.remedies.filters import acceptance_probability


def test_accepts_the_library_and_a_plain_log_space_version():
    assert check_acceptance_probability(acceptance_probability).passed

    def mine(log_p_real, log_p_model):
        log_r = log_p_real - log_p_model
        return torch.exp(log_r - log_r.max(dim=1, keepdim=True).values)

    assert check_acceptance_probability(mine).passed


def test_rejects_an_inverted_ratio():
    def upside_down(log_p_real, log_p_model):
        log_r = log_p_model - log_p_real
        return torch.exp(log_r - log_r.max(dim=1, keepdim=True).values)

    result = check_acceptance_probability(upside_down)
    assert not result.passed and "upside down" in str(result)


def test_rejects_a_ratio_without_the_maximum():
    result = check_acceptance_probability(lambda a, b: torch.exp(a - b))
    assert not result.passed and "not probabilities" in str(result)


def test_rejects_naive_exponentials_that_underflow():
    def naive(log_p_real, log_p_model):
        r = torch.exp(log_p_real) / torch.exp(log_p_model)
        return r / r.max(dim=1, keepdim=True).values

    result = check_acceptance_probability(naive)
    assert not result.passed and "log space" in str(result)


def test_rejects_a_global_maximum_and_p_real_alone():
    def global_max(log_p_real, log_p_model):
        log_r = log_p_real - log_p_model
        return torch.exp(log_r - log_r.max())

    result = check_acceptance_probability(global_max)
    assert not result.passed and "each row" in str(result)

    def real_only(log_p_real, log_p_model):
        return torch.exp(log_p_real - log_p_real.max(dim=1, keepdim=True).values)

    result = check_acceptance_probability(real_only)
    assert not result.passed and "p_real alone" in str(result)


def test_unfinished_and_wrong_shape():
    def stub(log_p_real, log_p_model):
        raise NotImplementedError

    assert "NotImplementedError" in str(check_acceptance_probability(stub))
    assert "wrong shape" in str(check_acceptance_probability(lambda a, b: torch.zeros(3)))
