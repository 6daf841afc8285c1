"""The M-step checker of chapter 3: accepts the right M step, names the plausible wrong ones."""
import pytest
import torch

from madlib.exercises.gmm import _problem, check_m_step, reference_m_step
from madlib.models.gmm import GMMFamily


def m_step(x, resp):
    counts = resp.sum(0)
    means = resp.T @ x / counts[:, None]
    centred = x[None] - means[:, None]  # (K, n, d)
    covs = torch.einsum("nk,kni,knj->kij", resp, centred, centred) / counts[:, None, None]
    return counts / len(x), means, covs


def test_reference_is_the_em_fixed_point():
    """Starting from a converged EM fit, one more E step + the reference M step gives the same fit back."""
    x, _ = _problem(3)
    model = GMMFamily(3, max_iter=500, tol=1e-12, reg=0.0).fit(x[None], generator=torch.Generator().manual_seed(0))
    log_joint = torch.stack([torch.distributions.MultivariateNormal(model.means[0, j], model.covs[0, j]).log_prob(x)
                             for j in range(3)], 1) + model.weights[0].log()
    weights, means, covs = reference_m_step(x, torch.softmax(log_joint, 1))
    assert torch.allclose(weights, model.weights[0], atol=1e-5)
    assert torch.allclose(means, model.means[0], atol=1e-4)
    assert torch.allclose(covs, model.covs[0], atol=1e-4)


def test_accepts_a_correct_m_step():
    result = check_m_step(m_step)
    assert result.passed, str(result)
    assert check_m_step(reference_m_step).passed


def _counts_as_weights(x, resp):
    w, mu, cov = m_step(x, resp)
    return resp.sum(0), mu, cov


def _means_over_n(x, resp):
    w, mu, cov = m_step(x, resp)
    return w, resp.T @ x / len(x), cov


def _cov_over_n(x, resp):
    w, mu, cov = m_step(x, resp)
    return w, mu, cov * (resp.sum(0) / len(x))[:, None, None]


def _unbiased(x, resp):
    w, mu, cov = m_step(x, resp)
    counts = resp.sum(0)
    return w, mu, cov * (counts / (counts - 1))[:, None, None]


def _global_centre(x, resp):
    w, mu, _ = m_step(x, resp)
    centred = x - x.mean(0)
    return w, mu, torch.einsum("nk,ni,nj->kij", resp, centred, centred) / resp.sum(0)[:, None, None]


def _not_implemented(x, resp):
    raise NotImplementedError


@pytest.mark.parametrize("wrong, words", [
    (_counts_as_weights, "divide them by n"),
    (_means_over_n, "means are divided by n"),
    (_cov_over_n, "covariances are divided by n"),
    (_unbiased, "N_k - 1"),
    (_global_centre, "overall mean"),
    (_not_implemented, "NotImplementedError"),
    (lambda x, resp: m_step(x, resp)[:2], "three things"),
    (lambda x, resp: (m_step(x, resp)[0][None],) + m_step(x, resp)[1:], "shape"),
])
def test_rejects_wrong_m_steps_with_the_right_words(wrong, words):
    result = check_m_step(wrong)
    assert not result.passed
    assert words in str(result), str(result)
