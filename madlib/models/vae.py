"""A convolutional VAE on 28x28 digits, as a model family of :mod:`madlib.core.protocol` (R = 1).

Latent size 20 as in "The Curse of Recursion" (Shumailov et al.). The decoder outputs Bernoulli
means; sampling draws ``z ~ N(0, lambda I)`` (latent truncation: lambda < 1 keeps samples near the
centre of the latent space, the VAE's version of a GAN's truncation trick) and decodes.
"""
from __future__ import annotations

import copy
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..core.cache import atomic_write_bytes, cache_root, code_fingerprint, digest, read_cached, tensor_digest
from ..core.config import get_device
from ..core.seeding import GLOBAL_RNG, generator as make_generator, seed_from
from ..core.state import register_state_class
from ..core.validation import check_float, check_int
from .flat_adamw import FlatAdamW

LATENT_DIM = 20
_COLD_FITS: "OrderedDict[tuple, tuple[dict, float]]" = OrderedDict()  # memo of from-scratch fits, see VAEFamily
_COLD_FITS_KEPT = 4
_COLD_FITS_LOCK = threading.Lock()  # chains in threads (madlib.core.chains) share the memo


def _cold_fit_path(memo_key: tuple):
    """Where a from-scratch fit is kept between processes: keyed by its memo key and this module's code."""
    return cache_root() / "vae_fits" / f"{digest([memo_key, code_fingerprint(__name__), torch.__version__], 24)}.safetensors"


def _write_cold_fit(path, state: dict, loss_value: float) -> None:
    import safetensors.torch

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    atomic_write_bytes(path, safetensors.torch.save(tensors, metadata={"final_loss": repr(float(loss_value))}))


def _read_cold_fit(path) -> tuple[dict, float]:
    import safetensors

    with safetensors.safe_open(str(path), framework="pt") as handle:
        state = {k: handle.get_tensor(k) for k in handle.keys()}
        loss_value = float(handle.metadata()["final_loss"])
    return state, loss_value


def reparameterise(mean: torch.Tensor, log_var: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """A draw z = mean + sigma * noise from q(z|x) = N(mean, exp(log_var)), differentiable in mean and log_var
    (Kingma and Welling's reparameterisation trick); ``noise`` ~ N(0, I), all ``(n, latent_dim)``."""
    return mean + (0.5 * log_var).exp() * noise  # sigma = exp(log_var / 2): the encoder outputs log-variances


def kl_to_prior(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, in nats: 0.5 * sum(mean^2 + var - 1 - log var), ``(n,)``."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)


def bernoulli_reconstruction(images: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image under independent Bernoulli pixels with ``logits``, summed over pixels, ``(n,)``."""
    return F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1)


def negative_elbo(images: torch.Tensor, logits: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor,
                  kl_weight: float = 1.0) -> torch.Tensor:
    """The negative evidence lower bound per image (nats), ``(n,)``: reconstruction + KL to the prior.

    ``logits`` decode a reparameterised draw from q(z|x) = N(mean, exp(log_var)); ``kl_weight`` < 1 is the
    KL warm-up of training (1 gives the ELBO itself)."""
    return bernoulli_reconstruction(images, logits) + kl_weight * kl_to_prior(mean, log_var)


@register_state_class(args=lambda m: {"latent_dim": m.latent_dim, "channels": m.channels, "hidden": m.hidden})
class ConvVAE(nn.Module):
    """Encoder: two stride-2 convolutions (28 -> 14 -> 7) and a dense layer; decoder mirrors it."""

    def __init__(self, latent_dim: int = LATENT_DIM, channels: int = 32, hidden: int = 256):
        super().__init__()
        self.latent_dim, self.channels, self.hidden = latent_dim, channels, hidden
        c = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * c * 49, hidden), nn.ReLU(),
        )
        self.to_mean = nn.Linear(hidden, latent_dim)
        self.to_log_var = nn.Linear(hidden, latent_dim)
        self.decoder_input = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * c * 49), nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(images)
        return self.to_mean(h), self.to_log_var(h).clamp(-12.0, 8.0)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_input(z).view(-1, 2 * self.channels, 7, 7)
        return self.decoder(h)

    def loss(self, images: torch.Tensor, noise: torch.Tensor, weights: torch.Tensor | None = None,
             kl_weight: float = 1.0) -> torch.Tensor:
        """Negative ELBO per image (summed over pixels), averaged with ``weights``; ``noise`` ~ N(0, I).

        ``kl_weight`` < 1 during warm-up lets the decoder learn to use the latent before the prior pulls
        it in; without it a VAE trained for few steps collapses to drawing the average digit."""
        mean, log_var = self.encode(images)
        logits = self.decode_logits(reparameterise(mean, log_var, noise))
        per_image = negative_elbo(images, logits, mean, log_var, kl_weight=kl_weight)
        if weights is None:
            return per_image.mean()
        return (per_image * weights).sum() / weights.sum().clamp_min(1e-12)


@register_state_class
@dataclass
class VAEModel:
    """One trained VAE (R = 1) and how it was trained."""

    network: ConvVAE
    binarize: bool = False
    final_loss: float = float("nan")

    @property
    def replicates(self) -> int:
        return 1

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Bernoulli means ``(n, 1, 28, 28)`` for latents ``(n, latent_dim)``."""
        self.network.eval()
        out = []
        for start in range(0, z.shape[0], 2048):
            out.append(torch.sigmoid(self.network.decode_logits(z[start : start + 2048])))
        return torch.cat(out) if out else z.new_zeros(0, 1, 28, 28)

    @torch.no_grad()
    def elbo(self, images: torch.Tensor, *, samples: int = 4, seed: int = 0) -> torch.Tensor:
        """Evidence lower bound on log p(x) per image (nats), ``(R, n)`` for images ``(R, n, 1, 28, 28)``.

        The same negative ELBO the fit minimises (Bernoulli reconstruction + KL to the prior), averaged
        over ``samples`` reparameterised draws from a generator seeded with ``seed``: the same images
        always get the same score, and a higher score means the model finds the image more likely."""
        samples = check_int("samples", samples, 1)
        if images.ndim != 5 or tuple(images.shape[2:]) != (1, 28, 28):
            raise ValueError(f"images must have shape (R, n, 1, 28, 28), got {tuple(images.shape)}")
        self.network.eval()
        device = next(self.network.parameters()).device
        flat = images.reshape(-1, 1, 28, 28).to(device, torch.float32)
        local = make_generator(seed, device=device)
        out = []
        for start in range(0, flat.shape[0], 1024):
            batch = flat[start : start + 1024]
            mean, log_var = self.network.encode(batch)
            kl = kl_to_prior(mean, log_var)
            reconstruction = torch.zeros_like(kl)
            for _ in range(samples):
                noise = torch.randn(mean.shape, generator=local, device=device)
                logits = self.network.decode_logits(reparameterise(mean, log_var, noise))
                reconstruction += bernoulli_reconstruction(batch, logits)
            out.append(-(reconstruction / samples + kl))
        scores = torch.cat(out) if out else flat.new_zeros(0)
        return scores.reshape(images.shape[:2])

    def log_prob(self, images: torch.Tensor) -> torch.Tensor:
        """The ELBO (:meth:`elbo`), a lower bound on log p(x): what likelihood-based remedies rank by."""
        return self.elbo(images)

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``(1, n, 1, 28, 28)`` digits decoded from ``z ~ N(0, sampling_bias * I)``."""
        n = check_int("n", n, 0)
        sampling_bias = check_float("sampling_bias", sampling_bias, 0.0, 1.0, open_minimum=True)
        device = next(self.network.parameters()).device
        z = torch.randn(n, self.network.latent_dim, generator=generator, device=device) * math.sqrt(sampling_bias)
        images = self.decode(z)
        if self.binarize:
            images = torch.bernoulli(images, generator=generator)
        return images[None]


class VAEFamily:
    """Train a fresh :class:`ConvVAE` on each generation's data with AdamW.

    ``epochs`` passes over the data in mini-batches of ``batch_size``; the data is ``(1, N, 1, 28, 28)``.
    With ``warm_start_epochs > 0`` a later generation starts from a copy of the previous generation's
    network (``previous``) and trains only that many epochs: fine-tuning, as the Nature study's
    language models did, and much cheaper on a CPU. ``0`` trains every generation from scratch.
    All randomness (initial weights, shuffling, reparameterisation noise) comes from ``generator``,
    so the same loop seed gives the same models.
    """

    name = "vae"

    def __init__(self, *, epochs: int = 10, batch_size: int = 128, learning_rate: float = 2e-3,
                 channels: int = 32, hidden: int = 256, latent_dim: int = LATENT_DIM, binarize: bool = False,
                 weight_decay: float = 1e-4, kl_warmup: float = 0.5, warm_start_epochs: int = 0, progress: bool = False, device: torch.device | str | None = None):
        self.epochs = check_int("epochs", epochs, 1)
        self.batch_size = check_int("batch_size", batch_size, 1)
        self.learning_rate = check_float("learning_rate", learning_rate, 0.0, open_minimum=True)
        self.channels = check_int("channels", channels, 1)
        self.hidden = check_int("hidden", hidden, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.weight_decay = check_float("weight_decay", weight_decay, 0.0)
        self.binarize = bool(binarize)
        self.kl_warmup = check_float("kl_warmup", kl_warmup, 0.0, 1.0)
        self.warm_start_epochs = check_int("warm_start_epochs", warm_start_epochs, 0)
        self.progress = bool(progress)
        self.device = torch.device(device) if device is not None else get_device()

    def fit(self, data: torch.Tensor, *, weights: torch.Tensor | None = None, previous=None,
            generator: torch.Generator | None = None) -> VAEModel:
        """Train on ``data`` (1, N, 1, 28, 28); torch's thread setting is the run's (one thread for these
        small networks: see :func:`madlib.experiments.experiment`)."""
        if data.ndim != 5 or data.shape[0] != 1 or tuple(data.shape[2:]) != (1, 28, 28):
            raise ValueError(f"data must have shape (1, N, 1, 28, 28), got {tuple(data.shape)}")
        images = data[0].to(self.device, torch.float32)
        item_weights = None if weights is None else weights[0].to(self.device, torch.float32)
        if item_weights is not None:
            # Weight 0 drops an item (curation): train on the kept items only, so a filtered set costs and
            # trains like a set of that size; equal weights on what is left are no weights at all.
            keep = item_weights > 0
            images, item_weights = images[keep], item_weights[keep]
            if item_weights.numel() and bool((item_weights == item_weights[0]).all()):
                item_weights = None
        n = images.shape[0]
        if n == 0:
            raise ValueError("data must hold at least one image")
        # One seed from the loop's stream drives everything here, so fits are reproducible.
        seed = seed_from(generator) if generator is not None else 0
        local = make_generator(seed, device=self.device)
        warm = self.warm_start_epochs > 0 and isinstance(previous, VAEModel)
        memo_key = None if warm else self._memo_key(images, item_weights, seed)
        memo = self._recall(memo_key)
        if memo is not None:
            # Same data, same seed, same settings: the fit would be bit-for-bit the same network, so reuse
            # it. The chapter's workflows share generation 0 (same real digits, same loop seed); this
            # trains it once per session instead of once per workflow, and once per machine (the file
            # under the cache, e.g. chapter 6's curated runs reuse chapter 4's generation 0).
            state, loss_value = memo
            network = ConvVAE(self.latent_dim, self.channels, self.hidden).to(self.device)
            network.load_state_dict(state)
            network.eval()
            return VAEModel(network, binarize=self.binarize, final_loss=loss_value)
        if warm:
            network = copy.deepcopy(previous.network).to(self.device)
        else:
            with GLOBAL_RNG, torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                network = ConvVAE(self.latent_dim, self.channels, self.hidden).to(self.device)
        # AdamW on one flat buffer: torch's update bit for bit, in a few kernels a step instead of ~8 per tensor
        # (madlib.models.flat_adamw; tests/test_optimizers.py)
        optimizer = FlatAdamW(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        epochs = range(self.warm_start_epochs if warm else self.epochs)
        if self.progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=f"VAE fit ({n} digits)", leave=False)
        network.train()
        loss_value = float("nan")
        steps_per_epoch = -(-n // self.batch_size)
        warmup_steps = max(1, int(self.kl_warmup * len(epochs) * steps_per_epoch))
        step = 0
        for _ in epochs:
            order = torch.randperm(n, generator=local, device=self.device)
            total, seen = 0.0, 0
            for start in range(0, n, self.batch_size):
                index = order[start : start + self.batch_size]
                batch = images[index]
                noise = torch.randn(batch.shape[0], self.latent_dim, generator=local, device=self.device)
                kl_weight = 1.0 if warm else min(1.0, (step + 1) / warmup_steps)
                step += 1
                loss = network.loss(batch, noise, None if item_weights is None else item_weights[index], kl_weight)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * batch.shape[0]
                seen += batch.shape[0]
            loss_value = total / seen
            if self.progress:
                epochs.set_postfix(loss=f"{loss_value:.1f}")
        network.eval()
        if memo_key is not None:
            fitted = ({k: v.detach().clone() for k, v in network.state_dict().items()}, loss_value)
            _write_cold_fit(_cold_fit_path(memo_key), *fitted)
            self._remember(memo_key, fitted)
        return VAEModel(network, binarize=self.binarize, final_loss=loss_value)

    @staticmethod
    def _recall(memo_key: tuple | None) -> tuple[dict, float] | None:
        """The memoised from-scratch fit of ``memo_key`` (this session's, else the cache folder's), or None."""
        if memo_key is None:
            return None
        with _COLD_FITS_LOCK:
            if memo_key in _COLD_FITS:
                return _COLD_FITS[memo_key]
        stored = read_cached(_cold_fit_path(memo_key), _read_cold_fit)
        if stored is not None:
            VAEFamily._remember(memo_key, stored)
        return stored

    @staticmethod
    def _remember(memo_key: tuple, fitted: tuple[dict, float]) -> None:
        """Keep ``fitted`` in this session's memo (the last few only)."""
        with _COLD_FITS_LOCK:
            _COLD_FITS[memo_key] = fitted
            while len(_COLD_FITS) > _COLD_FITS_KEPT:
                _COLD_FITS.popitem(last=False)

    def _memo_key(self, images: torch.Tensor, weights: torch.Tensor | None, seed: int) -> tuple:
        """What determines a from-scratch fit: the data's bytes, the weights, the seed and the settings."""
        settings = (self.epochs, self.batch_size, self.learning_rate, self.channels, self.hidden, self.latent_dim,
                    self.weight_decay, self.kl_warmup, str(self.device))
        return (tensor_digest(images, 32), None if weights is None else tensor_digest(weights, 32), seed, settings)
