"""The multi-tensor ("foreach") AdamW that the VAE, the digit classifier and the transformer use on the CPU is a
shortcut: it must give, bit for bit, what torch's per-tensor update gives (the default on the CPU), so no
cached result or glued number depends on which one ran. Each model is trained a few steps both ways from
the same seed and its parameters compared exactly (chapter 4's VAE presets run about a third faster).
"""
from __future__ import annotations

from unittest import mock

import torch

from madlib.models import classifier as classifier_module
from madlib.models import transformer as tf
from madlib.models.vae import VAEFamily

_ADAMW = torch.optim.AdamW


def per_tensor(*args, **kwargs):
    """torch's plain per-tensor AdamW, whatever the library asked for."""
    return _ADAMW(*args, **{**kwargs, "foreach": False, "fused": None})


def both_ways(train):
    """``train()``'s parameters with the library's optimizer and with the per-tensor one."""
    fast = train()
    with mock.patch("torch.optim.AdamW", per_tensor):
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
