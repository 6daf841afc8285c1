"""Chapter 4's checkers: they accept the library's reparameterisation and loss and name the usual mistakes."""
import pytest
import torch
from torch.nn import functional as F

from madlib.exercises.vae import check_negative_elbo, check_reparameterise
from madlib.models.vae import ConvVAE, negative_elbo, reparameterise


def test_library_functions_are_what_the_network_trains_with():
    torch.manual_seed(0)
    net = ConvVAE(channels=4, hidden=32).double()
    images = (torch.rand(5, 1, 28, 28) < 0.3).double()
    noise = torch.randn(5, net.latent_dim, dtype=torch.float64)
    mean, log_var = net.encode(images)
    expected = negative_elbo(images, net.decode_logits(reparameterise(mean, log_var, noise)), mean, log_var).mean()
    assert torch.allclose(net.loss(images, noise), expected)
    # known numbers: KL of N(m, 1) to N(0, 1) is m^2 / 2; z has standard deviation exp(log_var / 2)
    m = torch.full((1, 4), 2.0, dtype=torch.float64)
    zero_logits = torch.zeros(1, 1, 28, 28, dtype=torch.float64)
    assert torch.allclose(negative_elbo(torch.zeros(1, 1, 28, 28, dtype=torch.float64), zero_logits, m, torch.zeros_like(m)),
                          torch.tensor([784 * torch.log(torch.tensor(2.0)).item() + 8.0], dtype=torch.float64))
    assert torch.allclose(reparameterise(torch.zeros(1, 1), torch.tensor([[2 * torch.log(torch.tensor(3.0)).item()]]),
                                         torch.ones(1, 1)), torch.tensor([[3.0]]))


def _good_reparam(mean, log_var, noise):
    return mean + torch.exp(0.5 * log_var) * noise


def test_reparameterise_checker_accepts():
    assert check_reparameterise(_good_reparam).passed
    assert check_reparameterise(reparameterise).passed


@pytest.mark.parametrize("wrong, words", [
    (lambda m, lv, e: m + lv * e, "log-variance is used as the standard deviation"),
    (lambda m, lv, e: m + lv.exp() * e, "0.5 is missing"),
    (lambda m, lv, e: torch.exp(0.5 * lv) * e, "mean is missing"),
    (lambda m, lv, e: (m + torch.exp(0.5 * lv) * e).detach(), "no gradient"),
    (lambda m, lv, e: (m + torch.exp(0.5 * lv) * e)[:1], "shape"),
    (lambda m, lv, e: (_ for _ in ()).throw(NotImplementedError()), "NotImplementedError"),
])
def test_reparameterise_checker_names_the_mistake(wrong, words):
    result = check_reparameterise(wrong)
    assert not result.passed
    assert words in str(result), str(result)


def _good_loss(images, logits, mean, log_var):
    reconstruction = F.binary_cross_entropy_with_logits(logits, images, reduction="none").sum((1, 2, 3))
    kl = -0.5 * torch.sum(1 + log_var - mean**2 - log_var.exp(), dim=1)
    return reconstruction + kl


def _recon(images, logits):
    return F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1)


def test_elbo_checker_accepts():
    assert check_negative_elbo(_good_loss).passed
    assert check_negative_elbo(negative_elbo).passed


@pytest.mark.parametrize("wrong, words", [
    (lambda x, lg, m, lv: _recon(x, lg) + (m**2 + lv.exp() - 1 - lv).sum(1), "0.5"),
    (lambda x, lg, m, lv: _recon(x, lg) - 0.5 * (m**2 + lv.exp() - 1 - lv).sum(1), "wrong sign"),
    (lambda x, lg, m, lv: _recon(x, lg) + 0.5 * (m**2 + (2 * lv).exp() - 1 - 2 * lv).sum(1), "log standard deviation"),
    (lambda x, lg, m, lv: _recon(x, lg) + 0.5 * (m**2 + (0.5 * lv).exp() - 1 - lv).sum(1), "standard deviation exp(log_var / 2)"),
    (lambda x, lg, m, lv: _recon(x, lg) / 784 + 0.5 * (m**2 + lv.exp() - 1 - lv).sum(1), "averages over pixels"),
    (lambda x, lg, m, lv: _good_loss(x, lg, m, lv).mean(), "one number"),
    (lambda x, lg, m, lv: _recon(x, lg) + 0.5 * (m**2 + lv.exp() - 1 - lv).mean(1), "averaged over the latent"),
])
def test_elbo_checker_names_the_mistake(wrong, words):
    result = check_negative_elbo(wrong)
    assert not result.passed
    assert words in str(result), str(result)


# -- the break-it checkers: the verdict follows the share of generation-0 recall kept, each way ----------

from types import SimpleNamespace  # noqa: E402

from madlib.exercises import vae as vae_exercises  # noqa: E402


def _fake_loop(recall_by_workflow, calls):
    def run(name, **config):
        calls.append((name, config))
        return SimpleNamespace(summary={"recall": recall_by_workflow[config["workflow"]]})
    return run


@pytest.mark.parametrize("check, workflow", [(vae_exercises.check_fresh_breaks, "fresh"),
                                             (vae_exercises.check_accumulate_breaks, "accumulate")])
def test_break_checkers_pass_below_half_the_generation_0_recall_and_fail_above(monkeypatch, check, workflow):
    calls = []
    monkeypatch.setattr(vae_exercises, "run_experiment",
                        _fake_loop({"fresh": [0.80, 0.60, 0.39], "accumulate": [0.80, 0.60, 0.39]}, calls))
    broken = check(0.2)
    assert broken.passed and "broken" in str(broken) and "49%" in str(broken)
    assert calls == [("vae", {"workflow": workflow, "sampling_bias": 0.2, "seed": 0, "progress": False})]
    monkeypatch.setattr(vae_exercises, "run_experiment",
                        _fake_loop({"fresh": [0.80, 0.70, 0.41], "accumulate": [0.80, 0.70, 0.41]}, []))
    held = check(0.9)
    assert not held.passed and "not broken yet" in str(held) and "51%" in str(held)


def test_break_checkers_say_when_the_run_is_too_small_to_tell(monkeypatch):
    monkeypatch.setattr(vae_exercises, "run_experiment", _fake_loop({"fresh": [0.0, 0.0, 0.0]}, []))
    empty = vae_exercises.check_fresh_breaks(0.3)
    assert not empty.passed and "too small to tell" in str(empty)
    monkeypatch.setattr(vae_exercises, "run_experiment", _fake_loop({"accumulate": [0.5]}, []))
    assert "too small to tell" in str(vae_exercises.check_accumulate_breaks(0.3))


@pytest.mark.parametrize("bad", [0, 0.0, 1.5, -0.2, float("nan"), True, "0.3", ..., None])
def test_break_checkers_refuse_bad_biases_by_name_without_running(monkeypatch, bad):
    monkeypatch.setattr(vae_exercises, "run_experiment", lambda *a, **k: pytest.fail("ran the loop"))
    for check in (vae_exercises.check_fresh_breaks, vae_exercises.check_accumulate_breaks):
        result = check(bad)
        assert not result.passed and "sampling_bias" in str(result)
