"""Two more families for the universality of the pi^2/6 bound (Dey and Donoho 2024): a Poisson rate
and a logistic regression, both batched over replicates like every family (:mod:`madlib.core.protocol`).

* :class:`PoissonFamily` -- counts ``(R, N)`` (float64), fitted by the maximum-likelihood rate (the
  weighted sample mean), sampled by ``torch.poisson``: the simplest exponential family beside the Gaussian.
  Its estimator is a sample mean whose variance is linear in its mean, which makes the accumulate bound
  exact (:func:`madlib.theory.recursion.poisson_mse`).
* :class:`LogisticFamily` -- items ``[x_1, ..., x_d, y]`` with ``x ~ N(0, I_d)`` and ``y ~ Bernoulli(sigmoid(x.w))``,
  fitted by Newton's method (maximum likelihood, no intercept): not a sample mean, only *asymptotically*
  linear, the case Dey and Donoho's universality covers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core.validation import check_float, check_int


def _weights(data: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    R, N = data.shape[:2]
    if weights is None:
        return torch.ones(R, N, dtype=torch.float64, device=data.device)
    w = weights.to(device=data.device, dtype=torch.float64)
    if w.shape != (R, N) or bool((w < 0).any()):
        raise ValueError(f"weights must be non-negative with shape {(R, N)}, got {tuple(w.shape)}")
    return w


@dataclass
class PoissonModel:
    """R fitted Poisson rates, ``rate`` (R,), float64."""

    rate: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.rate.shape[0]

    def log_prob(self, items: torch.Tensor) -> torch.Tensor:
        """``k log(rate) - rate - log k!`` of counts ``(R, m)``: (R, m)."""
        k = (items[..., 0] if items.ndim == 3 else items).to(torch.float64)
        rate = self.rate[:, None].clamp_min(1e-300)
        return k * torch.log(rate) - rate - torch.lgamma(k + 1)

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` counts per replicate, ``(R, n)`` float64 (``sampling_bias`` must be 1: a Poisson has no such knob)."""
        n = check_int("n", n, 0)
        if check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True) != 1.0:
            raise ValueError("sampling_bias must be 1 for the Poisson family (it has no temperature)")
        rates = self.rate[:, None].expand(self.replicates, n).contiguous()
        return torch.poisson(rates, generator=generator)


class PoissonFamily:
    """Fit one Poisson rate per replicate: the (weighted) mean count, the maximum-likelihood estimate."""

    name = "poisson"

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None) -> PoissonModel:
        if data.ndim == 3 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim != 2:
            raise ValueError(f"data must have shape (R, N) of counts, got {tuple(data.shape)}")
        data = data.to(torch.float64)
        if bool((data < 0).any()):
            raise ValueError("counts must be non-negative")
        w = _weights(data, weights)
        total = w.sum(dim=1)
        if bool((total <= 0).any()):
            raise ValueError("every replicate needs a positive total weight to fit a Poisson rate")
        return PoissonModel(rate=(w * data).sum(dim=1) / total)


class poisson_source_sampler:
    """A picklable real-data sampler ``(replicates, n, generator) -> (R, n)`` of Poisson(``rate``) counts."""

    def __init__(self, rate: float):
        self.rate = check_float("rate", rate, 0.0, open_minimum=True)

    def __call__(self, replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        rates = torch.full((replicates, n), self.rate, dtype=torch.float64, device=generator.device)
        return torch.poisson(rates, generator=generator)


@dataclass
class LogisticModel:
    """R fitted logistic regressions, ``weight`` (R, d), float64."""

    weight: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.weight.shape[0]

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    def squared_error(self, w_star: torch.Tensor) -> torch.Tensor:
        """``||w - w*||^2`` per replicate, (R,)."""
        return ((self.weight - torch.as_tensor(w_star, dtype=torch.float64, device=self.weight.device)) ** 2).sum(-1)

    def log_prob(self, items: torch.Tensor) -> torch.Tensor:
        """``log P(y | x)`` of items ``(R, m, d + 1)`` (the inputs' own density is the same for every model)."""
        x, y = items[..., : self.dim].to(torch.float64), items[..., self.dim].to(torch.float64)
        logit = torch.einsum("rmd,rd->rm", x, self.weight)
        return -torch.nn.functional.softplus(torch.where(y > 0.5, -logit, logit))

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` items ``[x, y]`` per replicate: ``x ~ N(0, I)``, ``y ~ Bernoulli(sigmoid(x.w / lambda))``."""
        n = check_int("n", n, 0)
        lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        R, d = self.weight.shape
        items = torch.randn(R, n, d + 1, generator=generator, device=self.weight.device, dtype=torch.float64)
        logit = torch.einsum("rmd,rd->rm", items[..., :d], self.weight) / lam
        u = torch.rand(R, n, generator=generator, device=self.weight.device, dtype=torch.float64)
        items[..., d] = (u < torch.sigmoid(logit)).to(torch.float64)
        return items


class LogisticFamily:
    """Maximum-likelihood logistic regression (no intercept) by batched Newton steps, one fit per replicate.

    ``ridge`` (default 1e-6) keeps a separable data set's fit finite; it is far below the data's curvature
    at the sizes the course uses, so the fit is the MLE for every practical purpose."""

    name = "logistic"

    def __init__(self, dim: int, ridge: float = 1e-6, iterations: int = 25):
        self.dim = check_int("dim", dim, 1)
        self.ridge = check_float("ridge", ridge, 0.0)
        self.iterations = check_int("iterations", iterations, 1)

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None) -> LogisticModel:
        if data.ndim != 3 or data.shape[-1] != self.dim + 1:
            raise ValueError(f"data must have shape (R, N, {self.dim + 1}) (inputs then a 0/1 label), "
                             f"got {tuple(data.shape)}")
        x, y = data[..., : self.dim].to(torch.float64), data[..., self.dim].to(torch.float64)
        w = _weights(data, weights)
        R, d = x.shape[0], self.dim
        # start from the previous fit when there is one (it is close), else from zero
        theta = (previous.weight.clone() if isinstance(previous, LogisticModel)
                 else torch.zeros(R, d, dtype=torch.float64, device=x.device))
        eye = torch.eye(d, dtype=torch.float64, device=x.device)
        for _ in range(self.iterations):
            p = torch.sigmoid(torch.einsum("rnd,rd->rn", x, theta))
            gradient = torch.einsum("rn,rnd->rd", w * (y - p), x) - self.ridge * theta
            hessian = torch.einsum("rn,rnd,rne->rde", w * p * (1 - p), x, x) + self.ridge * eye
            step = torch.linalg.solve(hessian, gradient[..., None])[..., 0]
            theta = theta + step
            if float(step.abs().max()) < 1e-8:
                break
        return LogisticModel(weight=theta)


class logistic_source_sampler:
    """A picklable real-data sampler ``(replicates, n, generator) -> (R, n, d + 1)`` from the logistic model ``w*``."""

    def __init__(self, w_star: torch.Tensor):
        self.w_star = torch.as_tensor(w_star, dtype=torch.float64)
        if self.w_star.ndim != 1 or self.w_star.numel() == 0:
            raise ValueError(f"w_star must be a non-empty vector, got shape {tuple(self.w_star.shape)}")

    def __call__(self, replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        w = self.w_star.to(generator.device).expand(replicates, -1).contiguous()
        return LogisticModel(weight=w).sample(n, generator=generator)


def logistic_fisher_trace_inverse(w_star: torch.Tensor, draws: int = 400_000, seed: int = 0) -> float:
    """``tr(I(w*)^{-1})`` for ``x ~ N(0, I)``: the asymptotic ``n E||w_hat - w*||^2`` of one fit (Monte Carlo of the
    Fisher information ``E[sigmoid'(x.w*) x x^T]`` with a fixed seed)."""
    w_star = torch.as_tensor(w_star, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(draws, w_star.numel(), generator=g, dtype=torch.float64)
    p = torch.sigmoid(x @ w_star)
    fisher = torch.einsum("n,nd,ne->de", p * (1 - p), x, x) / draws
    return float(torch.linalg.inv(fisher).trace())


def unit_truth(dim: int, norm: float = 1.0) -> torch.Tensor:
    """``w* = norm (1, ..., 1) / sqrt(d)``."""
    dim = check_int("dim", dim, 1)
    return torch.full((dim,), check_float("norm", norm, 0.0) / math.sqrt(dim), dtype=torch.float64)
