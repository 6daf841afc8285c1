"""Chapter 4's "implement it" exercises: the VAE's reparameterisation and its loss (the negative ELBO).

* ``reparameterise(mean, log_var, noise) -> z``: a draw from q(z|x) = N(mean, exp(log_var)) written as
  a differentiable function of the encoder's outputs; :func:`check_reparameterise`.
* ``negative_elbo(images, logits, mean, log_var) -> (n,)``: Bernoulli reconstruction loss summed over
  pixels plus KL(q(z|x) || N(0, I)), per image; :func:`check_negative_elbo`.

The references are the library's own :func:`madlib.models.vae.reparameterise` and
:func:`madlib.models.vae.negative_elbo`, the functions the course's VAE trains with. The checkers probe
the learner's function with inputs chosen so that each usual mistake has its own signature: a missing
0.5 in the KL, the log-variance used as a standard deviation (or the variance as one), the KL's sign,
pixels averaged instead of summed, probabilities passed where logits are expected, a batch mean
instead of one value per image.

Two "break it" checkers run the loop with the learner's setting (one seed, at the current scale, through the
cache): :func:`check_fresh_breaks` (a sampling bias at which *fresh data* still loses half its
generation-0 recall) and :func:`check_accumulate_breaks` (the same for *accumulate*).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch.nn import functional as F

from ..core.seeding import generator as make_generator
from ..experiments import run_experiment

from ..models.vae import kl_to_prior, negative_elbo, reparameterise
from . import CheckResult, run_learner

REPARAM = "the reparameterisation trick"
ELBO = "the VAE loss (negative ELBO)"


def _as_tensor(value, exercise: str) -> tuple[torch.Tensor | None, CheckResult | None]:
    try:
        return torch.as_tensor(value, dtype=torch.float64), None
    except (TypeError, ValueError, RuntimeError) as error:
        return None, CheckResult(exercise, False, [f"could not read your result as a tensor: {error}"])


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=1e-6))


def check_reparameterise(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
                         seed: int = 0) -> CheckResult:
    """Run the learner's ``reparameterise(mean, log_var, noise)`` against the library's and say what is wrong."""
    g = make_generator(seed)
    n, latent = 64, 20
    mean = torch.randn(n, latent, generator=g, dtype=torch.float64)
    log_var = torch.empty(n, latent, dtype=torch.float64).uniform_(-3.0, 1.5, generator=g)
    noise = torch.randn(n, latent, generator=g, dtype=torch.float64)
    out, crash = run_learner(REPARAM, fn, mean.clone(), log_var.clone(), noise.clone())
    if crash is not None:
        return crash
    z, bad = _as_tensor(out, REPARAM)
    if bad is not None:
        return bad
    if tuple(z.shape) != (n, latent):
        return CheckResult(REPARAM, False, [f"z has shape {tuple(z.shape)}; expected {(n, latent)}, one latent per row"])
    reference = reparameterise(mean, log_var, noise)
    if _close(z, reference):
        # the gradient must reach the encoder's outputs, or the VAE cannot learn through the sample
        m, lv = mean.clone().requires_grad_(True), log_var.clone().requires_grad_(True)
        out, crash = run_learner(REPARAM, fn, m, lv, noise.clone())
        if crash is not None:
            return crash
        out = torch.as_tensor(out)
        if out.requires_grad:
            out.sum().backward()
        if m.grad is None or lv.grad is None or not torch.allclose(lv.grad, 0.5 * (0.5 * log_var).exp() * noise):
            return CheckResult(REPARAM, False, ["the values are right but no gradient reaches mean and log_var: "
                                                "compute z from them with torch operations (no .detach(), no numpy)"])
        return CheckResult(REPARAM, True, ["z = mean + exp(log_var / 2) * noise, with gradients to mean and log_var"])
    candidates = {
        "the log-variance is used as the standard deviation: sigma = exp(log_var / 2), not log_var":
            mean + log_var * noise,
        "exp(log_var) is the variance, not the standard deviation: sigma = exp(0.5 * log_var) (the 0.5 is missing)":
            mean + log_var.exp() * noise,
        "the mean is missing: z = mean + sigma * noise": (0.5 * log_var).exp() * noise,
        "the noise is missing: z must be a random draw, mean + sigma * noise": mean + (0.5 * log_var).exp(),
        "the noise is subtracted: the draw has the right law, but use z = mean + sigma * noise so the same "
        "noise gives the same z": mean - (0.5 * log_var).exp() * noise,
    }
    messages = [message for message, value in candidates.items() if _close(z, value)]
    return CheckResult(REPARAM, False, messages[:1] or ["z is off: z = mean + exp(log_var / 2) * noise"])


def _elbo_problem(seed: int) -> tuple[torch.Tensor, ...]:
    g = make_generator(seed)
    n = 16
    images = (torch.rand(n, 1, 28, 28, generator=g, dtype=torch.float64) < 0.2).to(torch.float64)
    logits = 2.0 * torch.randn(n, 1, 28, 28, generator=g, dtype=torch.float64)
    mean = torch.randn(n, 20, generator=g, dtype=torch.float64)
    log_var = torch.empty(n, 20, dtype=torch.float64).uniform_(-3.0, 1.0, generator=g)
    return images, logits, mean, log_var


def _reference_parts(images, logits, mean, log_var) -> tuple[torch.Tensor, torch.Tensor]:
    """Reconstruction and KL per image, by the library."""
    kl = kl_to_prior(mean, log_var)
    return negative_elbo(images, logits, mean, log_var) - kl, kl


def check_negative_elbo(fn: Callable[..., torch.Tensor], seed: int = 0) -> CheckResult:
    """Run the learner's ``negative_elbo(images, logits, mean, log_var)`` against the library's and say what is wrong."""
    images, logits, mean, log_var = _elbo_problem(seed)
    n = images.shape[0]
    out, crash = run_learner(ELBO, fn, images.clone(), logits.clone(), mean.clone(), log_var.clone())
    if crash is not None:
        return crash
    loss, bad = _as_tensor(out, ELBO)
    if bad is not None:
        return bad
    if loss.ndim == 0:
        return CheckResult(ELBO, False, [f"you returned one number; return one loss per image, shape ({n},) "
                                         "(sum over pixels and latent dimensions, not over images)"])
    if tuple(loss.shape) != (n,):
        return CheckResult(ELBO, False, [f"the loss has shape {tuple(loss.shape)}; expected ({n},), one value per image"])
    recon, kl = _reference_parts(images, logits, mean, log_var)
    if _close(loss, recon + kl):
        return CheckResult(ELBO, True, ["reconstruction (Bernoulli, summed over pixels) + KL to N(0, I), per image"])

    messages: list[str] = []
    # Split the learner's loss into its two parts by probing: with logits fixed, the KL part is what changes
    # with (mean, log_var); at mean = 0, log_var = 0 the true KL is exactly zero.
    zeros = torch.zeros_like(mean)
    at_prior, crash = run_learner(ELBO, fn, images.clone(), logits.clone(), zeros.clone(), zeros.clone())
    if crash is not None:
        return crash
    at_prior, bad = _as_tensor(at_prior, ELBO)
    if bad is not None or tuple(at_prior.shape) != (n,):
        return CheckResult(ELBO, False, ["the loss is off, and calling it at mean = 0, log_var = 0 failed"])
    their_recon = at_prior  # every usual KL mistake also vanishes at the prior, so this is their reconstruction
    their_kl = loss - their_recon
    if not _close(their_recon, recon):
        if _close(their_recon, recon / 784):
            messages.append("the reconstruction term averages over pixels; sum it over the 784 pixels "
                            "(the ELBO is a log-likelihood of the whole image)")
        elif _close(their_recon, -recon):
            messages.append("the reconstruction term has the wrong sign: the loss adds -log p(x|z), "
                            "the binary cross-entropy, which is positive")
        elif _close(their_recon, F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(logits)), images,
                                                        reduction="none").flatten(1).sum(1)):
            messages.append("the sigmoid is applied twice: binary_cross_entropy_with_logits takes the logits "
                            "as they are")
        else:
            messages.append("the reconstruction term is off: -log p(x|z) = sum over pixels of "
                            "binary_cross_entropy_with_logits(logits, images)")
    if not _close(their_kl, kl):
        half_missing = (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)
        as_log_std = 0.5 * (mean.pow(2) + (2 * log_var).exp() - 1.0 - 2 * log_var).sum(1)
        std_as_var = 0.5 * (mean.pow(2) + (0.5 * log_var).exp() - 1.0 - log_var).sum(1)
        if _close(their_kl, -kl):
            messages.append("the KL term has the wrong sign: the loss *adds* KL(q(z|x) || N(0, I)), "
                            "which is never negative")
        elif _close(their_kl, half_missing):
            messages.append("the KL term is twice too large: the 0.5 in 0.5 * sum(mean^2 + var - 1 - log var) is missing")
        elif _close(their_kl, as_log_std):
            messages.append("the KL treats log_var as a log standard deviation; the encoder outputs the "
                            "log-variance: var = exp(log_var)")
        elif _close(their_kl, std_as_var):
            messages.append("the KL uses the standard deviation exp(log_var / 2) where the variance "
                            "exp(log_var) belongs")
        elif _close(their_kl, kl / mean.shape[1]):
            messages.append("the KL is averaged over the latent dimensions; sum it over them")
        else:
            messages.append("the KL term is off: KL = 0.5 * sum over latent dimensions of "
                            "(mean^2 + exp(log_var) - 1 - log_var)")
    if not messages:
        messages.append("the loss is off: reconstruction (sum of binary cross-entropy with logits over pixels) "
                        "+ KL(q(z|x) || N(0, I)), one value per image")
    return CheckResult(ELBO, False, messages)


BREAK_FRESH = "break fresh data: a sampling bias at which the fresh-data loop loses half its recall"
BREAK_ACCUMULATE = "break accumulate: a sampling bias at which the accumulate loop loses half its recall"
_HALF = 0.5


def _bias(exercise: str, value) -> float | CheckResult:
    ok = (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
          and math.isfinite(value) and 0 < value <= 1)
    if ok:
        return float(value)
    return CheckResult(exercise, False, [f"sampling_bias must be a number in (0, 1], got {value!r}"])


def _break(exercise: str, workflow: str, sampling_bias, seed: int, why_broken: str, not_yet: str) -> CheckResult:
    lam = _bias(exercise, sampling_bias)
    if isinstance(lam, CheckResult):
        return lam
    result = run_experiment("vae", workflow=workflow, sampling_bias=lam, seed=seed, progress=False)
    recall = [float(r) for r in result.summary["recall"]]
    generations = len(recall) - 1
    if generations < 1 or not recall[0] > 0:
        return CheckResult(exercise, False, [f"workflow={workflow}, lambda = {lam:g}: recall at generation 0 is "
                                             f"{recall[0]:.2f} over {generations} generation(s); this scale is too "
                                             "small to tell (run it at MADLIB_SCALE=default)"])
    kept = recall[-1] / recall[0]
    messages = [f"workflow={workflow}, lambda = {lam:g}: recall {recall[0]:.2f} at generation 0 -> {recall[-1]:.2f} at "
                f"generation {generations} (one seed), {kept:.0%} of its generation-0 value kept"]
    if kept < _HALF:
        messages.append(why_broken)
        return CheckResult(exercise, True, messages)
    messages.append(not_yet)
    return CheckResult(exercise, False, messages)


def check_fresh_breaks(sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 4): a ``sampling_bias`` at which the fresh-data loop (half real, half synthetic digits every
    generation) keeps less than half of its generation-0 recall at the last generation. Never raises."""
    return _break(BREAK_FRESH, "fresh", sampling_bias, seed,
                  "broken: the fresh real half would anchor a Gaussian's variance at 1/(2 - lambda) of the truth, yet "
                  "the VAE lost more than half its recall: truncation narrows what the synthetic half hands on, and "
                  "near the centre of the latent space the decoder's means are blurred averages",
                  "not broken yet: a stronger truncation (a smaller lambda) makes the synthetic half narrower and "
                  "blurrier")


def check_accumulate_breaks(sampling_bias, *, seed: int = 0) -> CheckResult:
    """Break it (chapter 4): a ``sampling_bias`` at which the accumulate loop keeps less than half of its
    generation-0 recall at the last generation. Never raises."""
    return _break(BREAK_ACCUMULATE, "accumulate", sampling_bias, seed,
                  "broken: accumulating keeps the real digits, but their share of the pool falls like 1/(t+1) and "
                  "every truncated batch is narrower than the model that drew it",
                  "not broken yet: a smaller lambda (or a longer horizon, generations=...) makes the truncated "
                  "batches dominate the pool sooner")
