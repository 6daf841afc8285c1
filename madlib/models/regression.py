"""Linear regression: the supervised model family of the replace-vs-accumulate results.

The setting of Gerstgrasser et al. (2024, "Is Model Collapse Inevitable?") and
Dohmatob, Feng and Kempe (2024, "Model Collapse Demystified"):

* real data: inputs ``x ~ N(0, I_d)``, labels ``y = x . w* + sigma * eps`` with
  ``eps ~ N(0, 1)``;
* a model is an ordinary-least-squares fit ``w`` plus a noise level; it *generates*
  data by drawing new inputs ``x ~ N(0, I_d)`` and labelling them with its own
  prediction plus fresh noise, ``y = x . w + sigma * eps``.

An item is the row ``[x_1, ..., x_d, y]``, so data sets are ``(R, N, d + 1)``
tensors, batched over R replicates like every family (:mod:`madlib.core.protocol`).

Two differences from the papers, stated so nobody is surprised:

* Gerstgrasser et al. keep one *fixed* design matrix X and redraw only the
  label noise each iteration; here, as in Dohmatob et al., every generation
  draws *new* inputs (the model samples x as well as y). The replace result is
  the same; the accumulate sum changes slightly (see :mod:`madlib.theory.regression`).
* By default the noise level of the generator is the *known* true sigma (both
  papers label with fresh noise of a fixed variance). ``OLSFamily(noise_std=None)``
  instead estimates it from the residuals, like a generative model would.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..core.validation import check_float, check_int
from ..core.state import register_state_class

_LOG_2PI = math.log(2 * math.pi)


def _split(items: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``(R, m, d)`` and labels ``(R, m)`` of items ``(R, m, d + 1)``."""
    if items.ndim != 3 or items.shape[-1] != dim + 1:
        raise ValueError(f"items must have shape (R, m, {dim + 1}) (inputs then label), got {tuple(items.shape)}")
    items = items.to(torch.float64)
    return items[..., :dim], items[..., dim]


def _gaussian_log_prob(residual: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(residual; 0, std^2), std broadcast over the last axis."""
    std = std[..., None]
    return -0.5 * (residual / std) ** 2 - torch.log(std) - 0.5 * _LOG_2PI


@register_state_class
@dataclass
class RegressionModel:
    """R fitted linear models: ``weight`` (R, d) and ``noise_std`` (R,), float64."""

    weight: torch.Tensor
    noise_std: torch.Tensor

    @property
    def replicates(self) -> int:
        return self.weight.shape[0]

    @property
    def dim(self) -> int:
        return self.weight.shape[1]

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """``x . w`` for inputs ``(R, m, d)``: ``(R, m)``."""
        return torch.einsum("rmd,rd->rm", x.to(torch.float64), self.weight)

    def excess_risk(self, w_star: torch.Tensor) -> torch.Tensor:
        """Test error without the label noise, ``E_x[(x.w - x.w*)^2] = ||w - w*||^2`` for x ~ N(0, I): (R,)."""
        w_star = torch.as_tensor(w_star, dtype=torch.float64, device=self.weight.device)
        return ((self.weight - w_star) ** 2).sum(-1)

    def log_prob(self, items: torch.Tensor) -> torch.Tensor:
        """Gaussian log-likelihood of each item's label given its inputs, ``log N(y; x.w, sigma^2)``: (R, m).

        The inputs' own density is left out: every model (and the truth) draws x
        from the same N(0, I), so it cancels in any likelihood ratio a curation
        hook forms.
        """
        x, y = _split(items, self.dim)
        return _gaussian_log_prob(y - self.predict(x), self.noise_std)

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` new items per replicate: x ~ N(0, I), y = x.w + sqrt(lambda) sigma eps; (R, n, d + 1).

        ``sampling_bias`` lambda scales the label-noise *variance* (as it scales
        the covariance of the Gaussian family); the inputs are always N(0, I).
        """
        n = check_int("n", n, 0)
        lam = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        R, d = self.weight.shape
        device = self.weight.device
        # one draw for inputs and noise together, the label written in place of the last column:
        # no concatenation (the profile of the accumulate loop showed copies, not arithmetic)
        items = torch.randn(R, n, d + 1, generator=generator, device=device, dtype=torch.float64)
        x = items[..., :d]
        items[..., d] = self.predict(x) + math.sqrt(lam) * self.noise_std[:, None] * items[..., d]
        return items


class OLSFamily:
    """Ordinary least squares, one fit per replicate, on items ``[x, y]`` of dimension ``dim + 1``.

    ``weights`` are frequency weights: an item of weight 2 counts as two copies
    (weighted least squares). ``noise_std`` is the generator's label-noise level:
    a number fixes it (the papers' setting), ``None`` estimates it per replicate
    from the weighted residuals, ``RSS / (sum(w) - d)``, which is unbiased.
    """

    name = "ols"

    def __init__(self, dim: int, noise_std: float | None = 1.0):
        self.dim = check_int("dim", dim, 1)
        self.noise_std = None if noise_std is None else check_float("noise_std", noise_std, 0.0, open_minimum=True)

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None) -> RegressionModel:
        x, y = _split(data, self.dim)
        R, N, d = x.shape
        if weights is None:
            w = torch.ones(R, N, dtype=torch.float64, device=x.device)
        else:
            w = weights.to(device=x.device, dtype=torch.float64)
            if w.shape != (R, N) or bool((w < 0).any()):
                raise ValueError(f"weights must be non-negative with shape {(R, N)}")
        total = w.sum(dim=1)
        # fitting d coefficients needs more than d (weighted) items; with noise estimated, the
        # residual variance divides by total - d, so that must be positive too
        if bool((total <= d).any()):
            raise ValueError(f"OLS in dim={d} needs more than {d} (weighted) items per replicate, got "
                             f"{float(total.min()):g}")
        # one batched product Z^T W Z of the items Z = [X, y] gives X^T W X and X^T W y together
        # (faster on the CPU than separate products or a three-operand einsum)
        z = data.to(torch.float64)
        if weights is not None:
            z = z * w.sqrt()[..., None]
        zz = z.transpose(1, 2) @ z
        gram, moment = zz[:, :d, :d], zz[:, :d, d]
        chol, info = torch.linalg.cholesky_ex(gram)
        if bool((info != 0).any()):
            raise ValueError("the inputs are linearly dependent in some replicate (X^T W X is singular); "
                             "use more items or fewer zero weights")
        weight = torch.cholesky_solve(moment[..., None], chol)[..., 0]
        if self.noise_std is None:
            residual = y - torch.einsum("rnd,rd->rn", x, weight)
            noise_std = ((w * residual**2).sum(dim=1) / (total - d)).sqrt()
        else:
            noise_std = torch.full((R,), self.noise_std, dtype=torch.float64, device=x.device)
        return RegressionModel(weight=weight, noise_std=noise_std)


def default_truth(dim: int) -> torch.Tensor:
    """The true coefficients used by the experiments: ``w* = (1, ..., 1) / sqrt(d)``, of unit norm.

    OLS is unbiased, so the test error does not depend on w*; any choice serves.
    """
    dim = check_int("dim", dim, 1)
    return torch.full((dim,), 1.0 / math.sqrt(dim), dtype=torch.float64)


class regression_source_sampler:
    """A picklable real-data sampler ``(replicates, n, generator) -> (R, n, d + 1)``.

    Items are ``[x, y]`` with x ~ N(0, I_d), y = x . w* + noise_std * eps. Its
    :meth:`log_prob` is the true conditional log-likelihood, for verifiers.
    """

    def __init__(self, w_star: torch.Tensor, noise_std: float = 1.0):
        w_star = torch.as_tensor(w_star, dtype=torch.float64)
        if w_star.ndim != 1 or w_star.numel() == 0:
            raise ValueError(f"w_star must be a non-empty vector of shape (d,), got shape {tuple(w_star.shape)}")
        self.w_star = w_star
        self.noise_std = check_float("noise_std", noise_std, 0.0, open_minimum=True)

    @property
    def dim(self) -> int:
        return self.w_star.numel()

    def __call__(self, replicates: int, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        items = torch.randn(replicates, n, self.dim + 1, generator=generator, device=device, dtype=torch.float64)
        items[..., -1] = items[..., :-1] @ self.w_star.to(device) + self.noise_std * items[..., -1]
        return items

    def log_prob(self, items: torch.Tensor) -> torch.Tensor:
        """``log N(y; x.w*, noise_std^2)`` per item: (R, m)."""
        x, y = _split(items, self.dim)
        residual = y - x @ self.w_star.to(x.device)
        std = torch.full(residual.shape[:1], self.noise_std, dtype=torch.float64, device=x.device)
        return _gaussian_log_prob(residual, std)
