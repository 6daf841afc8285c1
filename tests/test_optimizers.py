"""The optimizers' shortcuts must give, bit for bit, what torch's per-tensor AdamW update gives (the default on
the CPU), so no cached result or glued number depends on which one ran: the multi-tensor ("foreach") AdamW
of the digit classifier and the transformer, and the VAE's FlatAdamW (madlib.models.flat_adamw), which
updates one flat buffer. Each model is trained a few steps both ways from the same seed and its parameters
compared exactly.
"""
from __future__ import annotations

from unittest import mock

import torch

import pytest

from madlib.models import classifier as classifier_module
from madlib.models import transformer as tf
from madlib.models import vae as vae_module
from madlib.models.flat_adamw import FlatAdamW
from madlib.models.vae import VAEFamily

_ADAMW = torch.optim.AdamW


def per_tensor(*args, **kwargs):
    """torch's plain per-tensor AdamW, whatever the library asked for."""
    return _ADAMW(*args, **{**kwargs, "foreach": False, "fused": None})


class PerTensorFlatSignature(torch.optim.AdamW):
    """torch's per-tensor AdamW behind FlatAdamW's call signature (what the VAE's optimizer replaces)."""

    def __init__(self, params, *, lr, weight_decay):
        super().__init__(params, lr=lr, weight_decay=weight_decay, foreach=False, fused=None)

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=True)


def both_ways(train):
    """``train()``'s parameters with the library's optimizer and with the per-tensor one."""
    fast = train()
    with mock.patch("torch.optim.AdamW", per_tensor), mock.patch.object(vae_module, "FlatAdamW", PerTensorFlatSignature):
        plain = train()
    return fast, plain


def assert_identical(fast: dict, plain: dict) -> None:
    assert fast.keys() == plain.keys()
    different = [name for name in fast if not torch.equal(fast[name], plain[name])]
    assert not different, f"foreach and per-tensor AdamW disagree on {different}"


def test_the_vae_fits_the_same_with_either_adamw() -> None:
    images = torch.rand(1, 64, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    # warm-started fits: a fit from scratch is memoised by its data and seed (madlib.models.vae), and a
    # memoised network would make both ways agree whatever the optimizer did
    start = VAEFamily(epochs=1, batch_size=16, channels=4, hidden=32, device="cpu").fit(
        images, generator=torch.Generator().manual_seed(2))
    family = VAEFamily(epochs=1, warm_start_epochs=3, batch_size=16, channels=4, hidden=32, device="cpu")

    def train():
        model = family.fit(images, previous=start, generator=torch.Generator().manual_seed(5))
        return {k: v.clone() for k, v in model.network.state_dict().items()}

    assert_identical(*both_ways(train))


def test_the_classifier_trains_the_same_with_either_adamw() -> None:
    images = torch.rand(96, 1, 28, 28, generator=torch.Generator().manual_seed(3))
    labels = torch.arange(96) % 10

    def train():
        model = classifier_module.train_classifier(images, labels, epochs=2, seed=0, device="cpu")
        return {k: v.clone() for k, v in model.state_dict().items()}

    assert_identical(*both_ways(train))


def test_the_transformer_trains_the_same_with_either_adamw() -> None:
    cfg = tf.TransformerConfig(vocab_size=20, context=16, d_model=16, n_layers=1, n_heads=2)
    blocks = torch.randint(0, 20, (32, 17), generator=torch.Generator().manual_seed(4))

    def train():
        torch.manual_seed(0)
        model = tf.TinyTransformer(cfg)
        tf.train(model, blocks, tf.TrainConfig(steps=12, batch_size=8, warmup=2), seed=0)
        return {k: v.clone() for k, v in model.state_dict().items()}

    fast, plain = both_ways(train)
    assert_identical(fast, plain)
    # and the CPU really takes the multi-tensor path (the shortcut under test)
    optimizer = tf.make_optimizer(tf.TinyTransformer(cfg), tf.TrainConfig())
    assert optimizer.defaults["foreach"] is True and not optimizer.defaults["fused"]


def test_the_vae_trains_with_flat_adamw():
    """The VAE's shortcut is in use (else the comparison above would compare torch with itself)."""
    images = torch.rand(1, 32, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    with mock.patch.object(vae_module, "FlatAdamW", wraps=FlatAdamW) as spy:
        VAEFamily(epochs=1, batch_size=16, channels=4, hidden=32, device="cpu").fit(
            images, generator=torch.Generator().manual_seed(7))
    assert spy.call_count == 1


@pytest.mark.parametrize("options", [
    {"lr": 2e-3, "weight_decay": 1e-4},
    {"lr": 0.05, "weight_decay": 0.0, "betas": (0.5, 0.9), "eps": 1e-6},
    {"lr": 1e-4, "weight_decay": 0.3, "betas": (0.0, 0.0)},
    {},  # AdamW's defaults
])
def test_flat_adamw_is_torchs_adamw_bit_for_bit(options):
    """Every option FlatAdamW accepts, on tensors of many shapes (odd sizes, scalars) over many steps."""
    def model():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(7, 13), torch.nn.Tanh(), torch.nn.Linear(13, 1),
                                   torch.nn.Conv1d(1, 3, 3), torch.nn.Flatten(), torch.nn.LayerNorm(3 * 1))

    x = torch.randn(64, 7, generator=torch.Generator().manual_seed(1))
    flat_net, torch_net = model(), model()  # the same initial weights (model() seeds itself)
    flat = FlatAdamW(flat_net.parameters(), **options)
    plain = torch.optim.AdamW(torch_net.parameters(), **options, foreach=False)

    def loss(net, step):
        out = net[:3](x[step % 8 :: 8])[:, None, :]
        return net[3:](torch.nn.functional.pad(out, (1, 1))).pow(2).mean()

    for step in range(200):
        flat.zero_grad()
        loss(flat_net, step).backward()
        flat.step()
        plain.zero_grad()
        loss(torch_net, step).backward()
        plain.step()
    assert_identical(flat_net.state_dict(), torch_net.state_dict())


def test_flat_adamw_refuses_what_it_does_not_implement():
    net = torch.nn.Linear(3, 2)
    with pytest.raises(ValueError, match="lr"):
        FlatAdamW(net.parameters(), lr=-1.0)
    with pytest.raises(ValueError, match="betas"):
        FlatAdamW(net.parameters(), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="weight_decay"):
        FlatAdamW(net.parameters(), weight_decay=-0.1)
    with pytest.raises(ValueError, match="params"):
        FlatAdamW([])
    with pytest.raises(ValueError, match="dtype"):
        FlatAdamW([torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))])
    optimizer = FlatAdamW(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    net.weight.grad = None  # torch's zero_grad(set_to_none=True) would do this: the buffer no longer sees it
    net(torch.ones(1, 3)).sum().backward()
    with pytest.raises(RuntimeError, match="zero_grad"):
        optimizer.step()
