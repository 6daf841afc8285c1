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


# -- the break-it checkers ---------------------------------------------------------------------------------

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from madlib.exercises import gmm as gmm_exercises  # noqa: E402


def test_fresh_data_hurt_with_plenty_of_biased_synthetic_data_and_not_without_bias():
    broken = gmm_exercises.check_fresh_hurts(900, 0.7)
    assert broken.passed, str(broken)
    assert "= 0.27 of the truth" in str(broken)  # 100 / (100 + 0.3 * 900), the fixed point the solution states
    held = gmm_exercises.check_fresh_hurts(100, 1.0)
    assert not held.passed and "not broken yet" in str(held) and "= 1.00 of the truth" in str(held)


def _modes_table(first, last):
    rows = [{"metric": "modes_covered", "generation": g, "replicate": r, "value": v}
            for r, (a, b) in enumerate(zip(first, last)) for g, v in ((0, a), (40, b))]
    return pd.DataFrame(rows)


def test_augment_verdict_follows_the_median_chain(monkeypatch):
    def fake(first, last):
        return lambda name, **config: type("R", (), {"table": _modes_table(first, last)})()

    monkeypatch.setattr(gmm_exercises, "run_experiment", fake([20, 24, 16], [15, 17, 14]))  # kept 75%, 71%, 88%
    broken = gmm_exercises.check_augment_loses_modes(0.3)
    assert broken.passed and "keeps 75% of the modes" in str(broken) and "200 synthetic points beside" in str(broken)
    monkeypatch.setattr(gmm_exercises, "run_experiment", fake([20, 24, 16], [16, 19, 14]))  # 80%, 79%, 88%
    held = gmm_exercises.check_augment_loses_modes(0.3, 2000)
    assert not held.passed and "keeps 80%" in str(held) and "not broken yet" in str(held)


def test_augment_breaks_with_eight_biased_synthetic_points_per_real_one_and_not_without_bias():
    broken = gmm_exercises.check_augment_loses_modes(0.5, 1600)  # the notebook's solution
    assert broken.passed, str(broken)
    assert "0.20 of its variance" in str(broken)  # 200 / (200 + 0.5 * 1600)
    held = gmm_exercises.check_augment_loses_modes(1.0)
    assert not held.passed and "1.00 of its variance" in str(held)


@pytest.mark.parametrize("call, name", [
    (lambda: gmm_exercises.check_fresh_hurts(0, 0.7), "n_synthetic"),
    (lambda: gmm_exercises.check_fresh_hurts(90.5, 0.7), "n_synthetic"),
    (lambda: gmm_exercises.check_fresh_hurts(900, 0.0), "sampling_bias"),
    (lambda: gmm_exercises.check_fresh_hurts(900, True), "sampling_bias"),
    (lambda: gmm_exercises.check_augment_loses_modes(float("nan")), "sampling_bias"),
    (lambda: gmm_exercises.check_augment_loses_modes(0.5, -1), "n_synthetic"),
    (lambda: gmm_exercises.check_augment_loses_modes(..., 10), "sampling_bias"),
])
def test_gmm_break_checkers_refuse_bad_arguments_by_name_without_raising(call, name):
    result = call()
    assert not result.passed and name in str(result)
