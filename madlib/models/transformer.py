"""A tiny decoder-only transformer (GPT-style) with a proper training loop and decoding.

Training: random mini-batches of blocks, AdamW, linear warm-up then cosine decay of the
learning rate, validation perplexity, and checkpoints that an interrupted run resumes
from exactly (model, optimizer, schedule and random state). Decoding lives in
:mod:`madlib.models.decoding` and is shared with the n-gram model.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..core.pace import Pace
from ..core.seeding import GLOBAL_RNG, child_seed, generator as make_generator
from ..core.state import register_state_class
from ..core.validation import check_float, check_int
from .decoding import Decoding, generate


@register_state_class
@dataclass(frozen=True)
class TransformerConfig:
    """Sizes of the tiny transformer."""

    vocab_size: int = 256
    context: int = 64
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.0

    def __post_init__(self):
        check_int("vocab_size", self.vocab_size, 2)
        check_int("context", self.context, 2)
        check_int("d_model", self.d_model, 4)
        check_int("n_layers", self.n_layers, 1)
        check_int("n_heads", self.n_heads, 1)
        check_float("dropout", self.dropout, 0.0, 1.0)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")


class _Block(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(),
                                 nn.Linear(4 * cfg.d_model, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """New positions ``x (B, t, d)``; ``past`` keys/values of earlier positions (generation cache)."""
        b, t, d = x.shape
        h = self.cfg.n_heads
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, h, d // h).permute(2, 0, 3, 1, 4)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        if past is None or t > 1:
            # causal among the new positions; with a past, offset the mask so they see all of it
            mask = None if past is None else torch.ones(t, k.shape[2], dtype=torch.bool, device=x.device).tril(
                k.shape[2] - t)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=past is None, attn_mask=mask,
                                                 dropout_p=self.cfg.dropout if self.training else 0.0)
        else:  # one new token attends to everything before it
            att = F.scaled_dot_product_attention(q, k, v)
        x = x + self.drop(self.proj(att.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x))), (k, v)


@register_state_class(args=lambda m: {"cfg": m.cfg})
class TinyTransformer(nn.Module):
    """Decoder-only transformer: token + learned position embeddings, pre-LN blocks, tied output."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.context, cfg.d_model)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.n_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T, V)`` of the next token at every position (T <= context)."""
        return self.forward_cached(tokens)[0]

    def forward_cached(self, tokens: torch.Tensor, past: list | None = None) -> tuple[torch.Tensor, list]:
        """Logits of ``tokens`` that follow the positions held in ``past`` (a key/value cache per layer),
        and the extended cache: generation then costs one position per step, not the whole sequence."""
        start = 0 if past is None else past[0][0].shape[2]
        t = tokens.shape[1]
        if start + t > self.cfg.context:
            raise ValueError(f"sequence length {start + t} exceeds the model context {self.cfg.context}")
        x = self.tok(tokens) + self.pos(torch.arange(start, start + t, device=tokens.device))
        presents = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if past is None else past[i])
            presents.append(kv)
        return self.ln(x) @ self.tok.weight.T, presents

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def build_model(cfg: TransformerConfig, seed: int = 0, device: torch.device | str = "cpu") -> TinyTransformer:
    """A freshly initialised model, deterministic in ``seed``."""
    with GLOBAL_RNG:  # nn.Module init uses the global RNG; restore it afterwards
        gen_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        model = TinyTransformer(cfg)
        torch.random.set_rng_state(gen_state)
    return model.to(device)


# ----------------------------------------------------------------------------- evaluation

@torch.no_grad()
def token_log_probs(model: TinyTransformer, blocks: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """log p(x_t | x_<t) for t >= 1 of every block ``(N, L)``, ``L <= context + 1``: returns ``(N, L - 1)``."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, blocks.shape[0], batch_size):
        batch = blocks[start : start + batch_size].to(device)
        # the last token is only ever a target: causal attention makes its input position superfluous
        log_probs = torch.log_softmax(model(batch[:, :-1]).float(), dim=-1)
        out.append(log_probs.gather(-1, batch[:, 1:, None]).squeeze(-1).cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, blocks.shape[1] - 1)


def perplexity(model: TinyTransformer, blocks: torch.Tensor, batch_size: int = 256) -> float:
    """exp of the mean negative log-likelihood per predicted token over ``blocks``."""
    return float(torch.exp(-token_log_probs(model, blocks, batch_size).double().mean()))


def next_log_probs_fn(model: TinyTransformer, *, cache: bool = True) -> Callable[[torch.Tensor], torch.Tensor]:
    """``tokens (B, T) -> (B, V)``: log-probabilities of the next token (the last ``context`` tokens used).

    With ``cache`` (the default) a call reuses the key/value cache of the previous one whenever every row
    extends a row of the previous call by one token -- also when beam search reorders and duplicates rows
    (the cache rows are gathered), so a beam costs what sampling costs. Without it every call recomputes
    the whole prefix: the plain reference the cached path is tested against for every decoding option.
    Longer than the context: a sliding window, recomputed."""
    device = next(model.parameters()).device

    @torch.no_grad()
    def plain(tokens: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(model(tokens.to(device)[:, -model.cfg.context:])[:, -1].float(), dim=-1)

    if not cache:
        return plain
    # integer hash weights: products stay below 2**47 and sums below 2**55, so the hash is exact
    # (no rounding that could differ between calls); a match is verified before its cache is used
    weights = torch.randint(1, 2**31, (model.cfg.context,), generator=make_generator(0))
    state: dict = {"tokens": None, "cache": None, "hash": None}

    def row_hash(tokens: torch.Tensor) -> torch.Tensor:
        return ((tokens.long() + 1) * weights[: tokens.shape[1]].to(tokens.device)).sum(-1)

    @torch.no_grad()
    def cached(tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.to(device)
        if tokens.shape[1] > model.cfg.context:
            state["tokens"] = state["cache"] = None
            return plain(tokens)
        prev, index = state["tokens"], None
        if prev is not None and prev.shape[1] == tokens.shape[1] - 1:
            prefix = tokens[:, :-1]
            order = state["hash"].argsort()
            pos = torch.searchsorted(state["hash"][order], row_hash(prefix)).clamp_max(prev.shape[0] - 1)
            index = order[pos]
            if not torch.equal(prev[index], prefix):  # a row that extends no earlier row: recompute
                index = None
        if index is not None:
            identity = index.shape[0] == prev.shape[0] and bool((index == torch.arange(index.shape[0],
                                                                                        device=index.device)).all())
            # plain sampling keeps every row in place: reuse the cache as it is (no copy of it per step)
            past = state["cache"] if identity else [(k[index], v[index]) for k, v in state["cache"]]
            logits, kv = model.forward_cached(tokens[:, -1:], past)
        else:
            logits, kv = model.forward_cached(tokens)
        state["tokens"], state["cache"], state["hash"] = tokens, kv, row_hash(tokens)
        return torch.log_softmax(logits[:, -1].float(), dim=-1)

    return cached


@torch.no_grad()
def continue_text(model: TinyTransformer, prompt: torch.Tensor, n_new: int, decoding: Decoding = Decoding(), *,
                  generator: torch.Generator | None = None, batch_size: int = 256, cache: bool = True) -> torch.Tensor:
    """Continue prompts ``(B, T0)`` by ``n_new`` tokens with ``decoding``; returns ``(B, T0 + n_new)`` on the CPU.
    ``cache=False`` recomputes every prefix (the slow reference of :func:`next_log_probs_fn`)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    outs = [generate(next_log_probs_fn(model, cache=cache), prompt[start: start + batch_size].to(device), n_new,
                     decoding, generator=generator).cpu() for start in range(0, prompt.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(outs) if outs else prompt[:, :0].new_zeros(0, prompt.shape[1] + n_new)


# ----------------------------------------------------------------------------- training

@register_state_class
@dataclass(frozen=True)
class TrainConfig:
    """How to train: ``steps`` optimizer steps of ``batch_size`` sequences, AdamW, warm-up + cosine.

    ``weight_decay`` applies to the weight matrices and embeddings only (not to biases and
    layer-norm gains), as the small GPT trainers do. ``eval_every`` and ``checkpoint_every``
    (0: only at the end) count optimizer steps.
    """

    steps: int = 200
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1
    warmup: int = 20
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_every: int = 0
    checkpoint_every: int = 0

    def __post_init__(self):
        check_int("steps", self.steps, 0)
        check_int("batch_size", self.batch_size, 1)
        check_float("lr", self.lr, 0.0, open_minimum=True)
        check_float("min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)
        check_int("warmup", self.warmup, 0)
        check_float("weight_decay", self.weight_decay, 0.0)
        check_float("grad_clip", self.grad_clip, 0.0)
        check_int("eval_every", self.eval_every, 0)
        check_int("checkpoint_every", self.checkpoint_every, 0)


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then cosine down to ``min_lr_ratio``."""
    if cfg.warmup and step < cfg.warmup:
        return (step + 1) / cfg.warmup
    span = max(cfg.steps - cfg.warmup, 1)
    progress = min((step - cfg.warmup) / span, 1.0)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class Interrupted(RuntimeError):
    """Raised by :func:`train` when ``stop_after`` steps are done (simulates a killed run in tests)."""


def mean_loss(model: TinyTransformer, blocks: torch.Tensor, batch_size: int = 256) -> float:
    """Mean negative log-likelihood (nats per predicted token) over ``blocks (N, L)``."""
    return float(-token_log_probs(model, blocks, batch_size).double().mean())


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings only; fused kernels on CUDA, and on the CPU the
    multi-tensor ("foreach") update, bit-identical to torch's per-tensor default there and faster
    (tests/test_optimizers.py)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.95), fused=fused or None, foreach=None if fused else True)


def sample_batch(data: torch.Tensor, batch_size: int, window: int, generator: torch.Generator,
                 probs: torch.Tensor | None = None) -> torch.Tensor:
    """One batch ``(batch_size, L)`` of token sequences, drawn with the CPU ``generator``.

    ``data (N, L)``: whole blocks (with probabilities ``probs (N,)`` or uniformly). ``data (T,)``:
    a token stream; windows of ``window`` tokens start at uniform random offsets, as the small
    GPT trainers draw them (every offset is a fresh example: far more variety than fixed blocks).
    """
    if data.ndim == 2:
        if probs is None:
            index = torch.randint(data.shape[0], (batch_size,), generator=generator)
        else:
            index = torch.multinomial(probs, batch_size, replacement=True, generator=generator)
        return data[index.to(data.device)]
    starts = torch.randint(data.numel() - window + 1, (batch_size,), generator=generator)
    return data[(starts[:, None] + torch.arange(window)).to(data.device)]


def train(model: TinyTransformer, blocks: torch.Tensor, cfg: TrainConfig, *, weights: torch.Tensor | None = None,
          valid_blocks: torch.Tensor | None = None, seed: int = 0, checkpoint_path: str | Path | None = None,
          stop_after: int | None = None, progress: bool = False) -> dict[str, list[float]]:
    """Train ``model`` in place by next-token cross-entropy on ``blocks``.

    ``blocks (N, L)``: a batch is ``batch_size`` whole blocks, drawn uniformly or, with
    ``weights (N,)``, with chance proportional to a block's weight (0 drops it).
    ``blocks (T,)``: a token stream; a batch is ``batch_size`` windows of ``context + 1``
    tokens at random offsets (pre-training on a corpus).

    With ``checkpoint_path`` the full training state (model, optimizer, batch generator, the
    random state that dropout draws from, history) is saved atomically every
    ``cfg.checkpoint_every`` steps and at the end; a call with an existing checkpoint resumes
    from it and gives the same result as an uninterrupted run. The caller's global random
    state is left as it was. Returns the history: ``step``, ``train_loss``, ``lr`` and (with
    ``valid_blocks``) ``valid_step``, ``valid_loss`` (nats/token), ``valid_perplexity``.
    """
    window = model.cfg.context + 1
    if blocks.ndim == 2:
        if blocks.shape[1] < 2:
            raise ValueError(f"blocks must have shape (N, L) with L >= 2, got {tuple(blocks.shape)}")
    elif blocks.ndim == 1:
        if blocks.numel() < window:
            raise ValueError(f"a token stream must hold at least context + 1 = {window} tokens, got {blocks.numel()}")
        if weights is not None:
            raise ValueError("weights need blocks of shape (N, L), not a token stream")
    else:
        raise ValueError(f"blocks must have shape (N, L) or (T,), got {tuple(blocks.shape)}")
    probs = None
    if weights is not None:
        probs = weights.detach().double().cpu().clamp_min(0)
        if probs.shape != (blocks.shape[0],) or probs.sum() <= 0:
            raise ValueError("weights must have shape (N,), be non-negative and not all zero")
    device = next(model.parameters()).device
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    # Dropout draws from the global random state: fork it, seed it, and checkpoint it, so a
    # resumed run draws the same masks, and the caller's random state is not disturbed. The whole training
    # holds GLOBAL_RNG: a run in another thread must not draw from that state meanwhile (madlib.core.chains).
    with GLOBAL_RNG, torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(child_seed(seed, "dropout"))
        for index in cuda:
            torch.cuda.default_generators[index].manual_seed(child_seed(seed, "dropout"))
        return _train_loop(model, blocks, cfg, probs, valid_blocks, seed, checkpoint_path, stop_after, progress,
                           window, device, cuda)


def _train_loop(model, blocks, cfg, probs, valid_blocks, seed, checkpoint_path, stop_after, progress, window, device,
                cuda) -> dict[str, list[float]]:
    generator = make_generator(seed)  # batches drawn on the CPU: identical on every device
    optimizer = make_optimizer(model, cfg)
    history: dict[str, list[float]] = {"step": [], "train_loss": [], "lr": [], "valid_step": [], "valid_loss": [],
                                       "valid_perplexity": []}
    start = 0
    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and path.exists():
        state = torch.load(path, map_location=device, weights_only=True)  # tensors, numbers and dicts only
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["rng_cpu"])
        for index, rng in zip(cuda, state.get("rng_cuda", [])):
            torch.cuda.set_rng_state(rng, index)
        history, start = state["history"], state["step"]
    iterator = range(start, cfg.steps)
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(iterator, total=cfg.steps, initial=start, desc="train", leave=False)
    pending: list[torch.Tensor] = []  # losses stay on the device until needed: no sync every step
    pace = Pace("transformer training", cfg.steps - start, "step", resumable=path is not None)

    def flush() -> None:
        if pending:
            history["train_loss"].extend(torch.stack(pending).tolist())
            pending.clear()

    model.train()
    for step in iterator:
        if stop_after is not None and step >= stop_after:
            raise Interrupted(f"stopped after {stop_after} steps")
        lr = cfg.lr * lr_factor(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        batch = sample_batch(blocks, cfg.batch_size, window, generator, probs).to(device, non_blocking=True)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        pending.append(loss.detach())
        history["step"].append(step)
        history["lr"].append(lr)
        last = step == cfg.steps - 1
        if valid_blocks is not None and ((cfg.eval_every and (step + 1) % cfg.eval_every == 0) or last):
            flush()
            valid = mean_loss(model, valid_blocks)
            model.train()
            history["valid_step"].append(step + 1)
            history["valid_loss"].append(valid)
            history["valid_perplexity"].append(math.exp(valid))
            if progress:
                iterator.set_postfix(train=f"{history['train_loss'][-1]:.3f}", valid=f"{valid:.3f}")
        if path is not None and ((cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0) or last):
            flush()
            _save(path, model, optimizer, generator, history, step + 1, cuda)
        pace.tick()
    flush()
    model.eval()
    return history


def _save(path: Path, model, optimizer, generator, history, step: int, cuda: list[int] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a temporary name unique to this process: two runs saving side by side never mix their files
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                "rng_cpu": torch.get_rng_state(), "rng_cuda": [torch.cuda.get_rng_state(i) for i in cuda],
                "history": history, "step": step}, tmp)
    os.replace(tmp, path)  # atomic: a kill never leaves half a checkpoint
