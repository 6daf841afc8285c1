"""The course's measuring stick for digits: a small CNN trained once on real MNIST.

Its logits say which digit a sample looks like (which digits die out over generations); its
penultimate layer is the feature space for the MNIST FID and for precision/recall, as the MAD
study used LeNet features. The trained weights are cached on disk, keyed by data source and size.
"""
from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..core.cache import atomic_torch_save, cache_root, digest, read_cached, tensor_digest
from ..core.config import get_device
from ..core.seeding import GLOBAL_RNG, generator as make_generator
from ..core.validation import check_int

logger = logging.getLogger(__name__)
FEATURE_DIM = 64
_VERSION = 2  # bump when the architecture or training changes: old checkpoints are then ignored


class DigitClassifier(nn.Module):
    """LeNet-like: two conv + pool blocks, a 64-unit feature layer, 10 logits."""

    def __init__(self, feature_dim: int = FEATURE_DIM):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 49, feature_dim), nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, 10)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features ``(n, feature_dim)``."""
        return self.body(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(images))

    @torch.no_grad()
    def embed(self, images: torch.Tensor, batch_size: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
        """Features and logits for images ``(n, 1, 28, 28)`` (or ``(1, n, 1, 28, 28)``), in batches."""
        if images.ndim == 5:
            images = images.reshape(-1, *images.shape[2:])
        self.eval()
        device = next(self.parameters()).device
        feats, logits = [], []
        for start in range(0, images.shape[0], batch_size):
            f = self.body(images[start : start + batch_size].to(device, torch.float32))
            feats.append(f)
            logits.append(self.head(f))
        return torch.cat(feats), torch.cat(logits)

    @torch.no_grad()
    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        _, logits = self.embed(images)
        return float((logits.argmax(1).cpu() == labels.cpu()).float().mean())


def train_classifier(images: torch.Tensor, labels: torch.Tensor, *, epochs: int = 6, batch_size: int = 64,
                     seed: int = 0, device: torch.device | str | None = None,
                     progress: bool = False) -> DigitClassifier:
    """Train a :class:`DigitClassifier` with AdamW, a light random shift as augmentation."""
    epochs = check_int("epochs", epochs, 1)
    device = torch.device(device) if device is not None else get_device()
    generator = make_generator(seed, device=device)
    with GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DigitClassifier().to(device)
    images, labels = images.to(device, torch.float32), labels.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4, foreach=True)  # as madlib.models.vae
    loop = range(epochs)
    if progress:
        from tqdm.auto import tqdm

        loop = tqdm(loop, desc="digit classifier", leave=False)
    model.train()
    for _ in loop:
        order = torch.randperm(images.shape[0], generator=generator, device=device)
        for start in range(0, images.shape[0], batch_size):
            index = order[start : start + batch_size]
            batch = images[index]
            # shift by up to 2 pixels so the classifier is robust to the VAE's slight misplacements
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=generator, device=device))
            batch = torch.roll(batch, shifts=(dy, dx), dims=(2, 3))
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def _cache_dir() -> Path:
    return cache_root() / "classifier"


def get_classifier(images: torch.Tensor, labels: torch.Tensor, *, source: str, epochs: int = 6, seed: int = 0,
                   device: torch.device | str | None = None, progress: bool = False,
                   cache: bool = True) -> DigitClassifier:
    """The classifier for this training set, loaded from the cache or trained once and cached.

    The cache key holds the data source, the number of images, a fingerprint of the data, the
    epochs, the seed and the code version, so a different training set never reuses a checkpoint.
    """
    device = torch.device(device) if device is not None else get_device()
    fingerprint = digest({"source": source, "images": tensor_digest(images), "labels": tensor_digest(labels),
                          "epochs": epochs, "seed": seed, "version": _VERSION}, length=12)
    name = source.split(":", 1)[0]
    path = _cache_dir() / f"{name}_{images.shape[0]}_{fingerprint}.pt"
    state = read_cached(path, lambda p: torch.load(p, map_location="cpu", weights_only=True)) if cache else None
    if state is not None:
        model = DigitClassifier()
        model.load_state_dict(state)
        logger.info("digit classifier loaded from %s", path)
        return model.to(device).eval()

    model = train_classifier(images, labels, epochs=epochs, seed=seed, device=device, progress=progress)
    if cache:
        atomic_torch_save({k: v.cpu() for k, v in model.state_dict().items()}, path)
        logger.info("digit classifier trained and cached at %s", path)
    return model
