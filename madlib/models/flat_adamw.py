"""AdamW over one contiguous buffer: torch's update, bit for bit, in a handful of kernels per step.

torch's AdamW updates each parameter tensor on its own (on the CPU its "foreach" form loops over them
too): about 8 small kernels per tensor and step. A small network such as chapter 4's VAE (18 tensors,
training steps of a few milliseconds) spends a fifth of every step there. :class:`FlatAdamW` moves the
parameters and their gradients into one buffer each (the parameters become views of it) and applies the
same element-wise operations, in the same order, once to the whole buffer. Element-wise arithmetic does
not depend on which tensor an element sits in, so the result is what torch's AdamW gives, bit for bit
(``tests/test_optimizers.py`` trains the VAE both ways and compares every parameter exactly).

It implements AdamW's defaults only (no amsgrad, maximize, capturable or differentiable options; one
parameter group); anything else is a ``ValueError``.
"""
from __future__ import annotations

from typing import Iterable

import torch

from ..core.validation import check_float

__all__ = ["FlatAdamW"]


class FlatAdamW:
    """``torch.optim.AdamW(params, lr, betas, eps, weight_decay)`` on one flat buffer (see the module).

    The parameters must share one device and dtype. Their ``.data`` becomes a view of :attr:`flat` and their
    ``.grad`` a view of :attr:`grad`, which backward accumulates into; :meth:`zero_grad` zeroes it.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], *, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2):
        self.lr = check_float("lr", lr, 0.0)
        self.beta1, self.beta2 = (check_float(f"betas[{i}]", beta, 0.0, 1.0) for i, beta in enumerate(betas))
        if max(self.beta1, self.beta2) == 1.0:
            raise ValueError(f"betas must be in [0, 1), got {tuple(betas)}")
        self.eps = check_float("eps", eps, 0.0)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0)
        self.params = [p for p in params if p.requires_grad]
        if not self.params:
            raise ValueError("params must hold at least one parameter that requires a gradient")
        first = self.params[0]
        if any(p.device != first.device or p.dtype != first.dtype or p.is_sparse for p in self.params):
            raise ValueError("params must be dense and share one device and dtype")
        total = sum(p.numel() for p in self.params)
        self.flat = torch.empty(total, dtype=first.dtype, device=first.device)
        self.grad = torch.zeros_like(self.flat)
        offset = 0
        for p in self.params:
            n = p.numel()
            self.flat[offset : offset + n].copy_(p.detach().reshape(-1))
            p.data = self.flat[offset : offset + n].view_as(p)
            p.grad = self.grad[offset : offset + n].view_as(p)
            offset += n
        self.exp_avg = torch.zeros_like(self.flat)
        self.exp_avg_sq = torch.zeros_like(self.flat)
        self.steps = 0

    def zero_grad(self) -> None:
        """Zero the gradient buffer (backward then adds into it: 0 + g is g exactly)."""
        self.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One AdamW step: the operations of torch's single-tensor AdamW, in its order, on the whole buffer."""
        for p in self.params:  # backward replaced a gradient instead of adding into the buffer: never silently
            if p.grad is None or p.grad.data_ptr() < self.grad.data_ptr() \
                    or p.grad.data_ptr() >= self.grad.data_ptr() + self.grad.numel() * self.grad.element_size():
                raise RuntimeError("a parameter's gradient left FlatAdamW's buffer (set_to_none or a replaced "
                                   ".grad): use FlatAdamW.zero_grad()")
        self.steps += 1
        step = float(self.steps)
        self.flat.mul_(1 - self.lr * self.weight_decay)
        self.exp_avg.lerp_(self.grad, 1 - self.beta1)
        self.exp_avg_sq.mul_(self.beta2).addcmul_(self.grad, self.grad, value=1 - self.beta2)
        bias_correction1 = 1 - self.beta1**step
        bias_correction2 = 1 - self.beta2**step
        step_size = self.lr / bias_correction1
        denom = (self.exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
        self.flat.addcdiv_(self.exp_avg, denom, value=-step_size)
