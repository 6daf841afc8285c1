"""Language-model families for the self-consuming loop (:mod:`madlib.protocol`).

Data are blocks of token ids ``(R, N_blocks, block_len)``. Sampling follows "The Curse
of Recursion": a piece of each training block is the prompt and the model writes the
rest of a new block of the same length. ``prompt_mode='first'`` takes the block's first
``prompt_len`` tokens, the study's literal recipe: the first half of every block then stays
the original human text forever (prompts act as kept real data). ``prompt_mode='rolling'``
(default) takes the block's *last* ``prompt_len`` tokens, so the new block is the
predecessor's own words followed by the model's: from generation 2 on every token is
model-written (fully synthetic). The decoding options (temperature, top-k, beams, repetition penalty) are the
sampling bias; the loop's ``sampling_bias`` lambda further multiplies the temperature.

* :class:`NGramFamily` -- counts, refitted from scratch each generation (exact and fast).
* :class:`TransformerFamily` -- every generation fine-tunes the SAME pre-trained base
  model (cached on disk, trained once) on its training blocks, as the study did.

Curation (chapter 6) is a ``curate`` hook for the loop: :class:`ContinuationFilter`
scores each candidate block by the per-byte log-likelihood of its continuation, under a
reference model that knows real text (``"verifier"``) or under the generator itself
(``"self-likelihood"``), and keeps the best. Blocks of weight 0 are dropped by every
fit, and a fitted model draws its prompts only from the blocks it kept.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..core.cache import atomic_torch_save, digest, read_cached
from ..core.config import cpu_threads
from ..core.validation import check_choice, check_int
from .decoding import Decoding, generate
from .ngram import NGramModel
from .transformer import (TinyTransformer, TrainConfig, TransformerConfig, build_model, continue_text, token_log_probs,
                          train)


def _prompt_blocks(context: torch.Tensor, n: int, generator: torch.Generator | None,
                   kept: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` blocks per replicate from ``context (R, N, L)``: all of them in order when n == N,
    otherwise a random choice (without replacement while n <= N, cycling through all when n > N).

    ``kept (R, N)`` (bool) restricts the choice to the kept blocks (curation dropped the others):
    they come first in random order, and the first ``n`` of them cycled are taken."""
    R, N, _ = context.shape
    if kept is None and n == N:
        return context
    gen_device = generator.device if generator is not None else torch.device("cpu")
    keys = torch.rand(R, N, generator=generator, device=gen_device).to(context.device)
    positions = torch.arange(n, device=context.device)
    if kept is None:
        index = keys.argsort(dim=1)[:, positions % N]
    else:
        kept = kept.to(context.device)
        n_kept = kept.sum(dim=1)
        if bool((n_kept == 0).any()):
            raise ValueError("every replicate needs at least one kept block to prompt from")
        order = (keys + (~kept) * 2.0).argsort(dim=1)  # kept blocks first, in random order
        index = order.gather(1, positions[None] % n_kept[:, None])
    return context[torch.arange(R, device=context.device)[:, None], index]


def _kept_mask(data: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor | None:
    """Which blocks of ``data (R, N, L)`` a fit trained on: None when all of them."""
    if weights is None:
        return None
    if weights.shape != data.shape[:2]:
        raise ValueError(f"weights must have shape {tuple(data.shape[:2])}, got {tuple(weights.shape)}")
    kept = weights > 0
    return None if bool(kept.all()) else kept.detach().cpu()


PROMPT_MODES = ("rolling", "first")


class _LMModel:
    """Shared ``sample``: continue ``prompt_len`` tokens of context blocks (see ``prompt_mode``)."""

    decoding: Decoding
    prompt_len: int
    prompt_mode: str = "rolling"
    # (R, N) bool: the blocks of the training data with positive weight (None: all)
    kept: torch.Tensor | None = None

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, blocks: torch.Tensor) -> torch.Tensor:
        """log p(block) of ``blocks (R, m, L)`` given each block's first token: ``(R, m)`` (the protocol's scoring)."""
        return self.token_log_probs(blocks).double().sum(-1)

    def _continue(self, prompts: torch.Tensor, n_new: int, decoding: Decoding,
                  generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``(R, n, L)`` blocks: a ``prompt_len``-token prompt from each of ``n`` context blocks
        (its last tokens when ``prompt_mode='rolling'``, its first when ``'first'``), the rest generated.

        When ``context`` is the model's own training data and the fit dropped blocks (weight 0),
        prompts come only from the kept blocks: a rejected text never seeds the next one."""
        n = check_int("n", n, 0)
        if context is None:
            raise ValueError("language models sample by continuing prompts: pass context=(R, N, L) blocks")
        R, _, L = context.shape
        if not 1 <= self.prompt_len < L:
            raise ValueError(f"prompt_len must be in [1, {L - 1}] for blocks of length {L}, got {self.prompt_len}")
        if n == 0:
            return context[:, :0]
        decoding = replace(self.decoding, temperature=self.decoding.temperature * sampling_bias)
        kept = self.kept if self.kept is not None and tuple(self.kept.shape) == tuple(context.shape[:2]) else None
        chosen = _prompt_blocks(context, n, generator, kept)
        prompts = chosen[..., L - self.prompt_len :] if self.prompt_mode == "rolling" else chosen[..., : self.prompt_len]
        out = self._continue(prompts, L - self.prompt_len, decoding, generator)
        return out.to(context.device)


class NGramLM(_LMModel):
    """R n-gram models plus decoding options."""

    def __init__(self, ngram: NGramModel, decoding: Decoding, prompt_len: int, prompt_mode: str = "rolling"):
        self.ngram, self.decoding, self.prompt_len, self.prompt_mode = ngram, decoding, prompt_len, prompt_mode

    def _continue(self, prompts, n_new, decoding, generator):
        R, n, T0 = prompts.shape
        replicate = torch.arange(R, device=prompts.device).repeat_interleave(n)
        flat = prompts.reshape(R * n, T0)
        reps = {"index": replicate}

        def next_log_probs(tokens: torch.Tensor) -> torch.Tensor:
            # beam search widens the batch: rows of one prompt stay together
            rows = tokens.shape[0]
            return self.ngram.next_log_probs(tokens, reps["index"].repeat_interleave(rows // (R * n)))

        return generate(next_log_probs, flat, n_new, decoding, generator=generator).view(R, n, T0 + n_new)

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        return self.ngram.token_log_probs(blocks)


class NGramFamily:
    """Fit an n-gram model per replicate (from scratch: counts need no base model)."""

    name = "ngram"

    def __init__(self, order: int = 5, vocab_size: int = 256, smoothing: str = "kneser_ney",
                 decoding: Decoding = Decoding(), prompt_len: int = 32, discount: float = 0.75,
                 add_k: float = 0.01, prompt_mode: str = "rolling"):
        self.kwargs = dict(order=order, vocab_size=vocab_size, smoothing=smoothing, discount=discount, add_k=add_k)
        NGramModel(**self.kwargs)  # validate now, not in the middle of a run
        self.decoding, self.prompt_len = decoding, check_int("prompt_len", prompt_len, 1)
        self.prompt_mode = check_choice("prompt_mode", prompt_mode, PROMPT_MODES)

    def fit(self, data, *, weights=None, previous=None, generator=None) -> NGramLM:
        """Counts weighted by ``weights (R, N)``; a block of weight 0 adds nothing (it is dropped)."""
        model = NGramLM(NGramModel(**self.kwargs).fit(data, weights), self.decoding, self.prompt_len, self.prompt_mode)
        model.kept = _kept_mask(data, weights)
        return model


# ----------------------------------------------------------------------------- transformer

class TransformerLM(_LMModel):
    """R fine-tuned transformers (one per replicate) plus decoding options."""

    def __init__(self, models: list[TinyTransformer], decoding: Decoding, prompt_len: int, threads: int | None,
                 history: list[dict] | None = None, prompt_mode: str = "rolling"):
        self.models, self.decoding, self.prompt_len, self.threads = models, decoding, prompt_len, threads
        self.prompt_mode = prompt_mode
        self.history = history or []

    def _continue(self, prompts, n_new, decoding, generator):
        with cpu_threads(self.threads or None):
            out = [continue_text(m, prompts[r].cpu(), n_new, decoding, generator=_cpu(generator))
                   for r, m in enumerate(self.models)]
        return torch.stack(out)

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        with cpu_threads(self.threads or None):
            return torch.stack([token_log_probs(m, blocks[r].cpu()).double() for r, m in enumerate(self.models)])


def _cpu(generator: torch.Generator | None) -> torch.Generator | None:
    """A CPU generator derived from ``generator`` (decoding draws on the CPU for device-independent text)."""
    if generator is None or generator.device.type == "cpu":
        return generator
    seed = int(torch.randint(2**62, (1,), generator=generator, device=generator.device))
    return torch.Generator().manual_seed(seed)


def base_model_path(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig, corpus_key: str,
                    seed: int) -> Path:
    """Where the pre-trained base lives: keyed by everything that determines it."""
    key = digest({"model": asdict(model_cfg), "train": asdict(train_cfg), "corpus": corpus_key, "seed": seed})
    return Path(cache_dir) / "lm_base" / f"{key}.pt"


def pretrained_base(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig, blocks: torch.Tensor,
                    corpus_key: str, *, seed: int = 0, device: torch.device | str = "cpu",
                    valid_blocks: torch.Tensor | None = None, threads: int | None = 1,
                    progress: bool = False) -> tuple[TinyTransformer, dict]:
    """Pre-train the base model once and cache it (an interrupted pre-training resumes)."""
    path = base_model_path(cache_dir, model_cfg, train_cfg, corpus_key, seed)
    model = build_model(model_cfg, seed=seed, device=device)
    state = read_cached(path, lambda p: torch.load(p, map_location=device, weights_only=False))
    if state is not None:
        model.load_state_dict(state["model"])
        return model.eval(), state["history"]
    with cpu_threads(threads or None):
        history = train(model, blocks, train_cfg, valid_blocks=valid_blocks, seed=seed,
                        checkpoint_path=path.with_suffix(".partial"), progress=progress)
    atomic_torch_save({"model": model.state_dict(), "history": history}, path)  # a kill never leaves half a file
    path.with_suffix(".partial").unlink(missing_ok=True)
    return model.eval(), history


class TransformerFamily:
    """Fine-tune a copy of the same base model on each generation's blocks (the study's recipe)."""

    name = "transformer"

    def __init__(self, base: TinyTransformer, finetune: TrainConfig, decoding: Decoding = Decoding(),
                 prompt_len: int = 32, seed: int = 0, threads: int | None = 1, prompt_mode: str = "rolling"):
        self.base_state = {k: v.detach().clone() for k, v in base.state_dict().items()}
        self.cfg = base.cfg
        self.device = next(base.parameters()).device
        self.finetune, self.decoding = finetune, decoding
        self.prompt_len = check_int("prompt_len", prompt_len, 1)
        self.seed, self.threads = seed, threads
        self.prompt_mode = check_choice("prompt_mode", prompt_mode, PROMPT_MODES)

    def fit(self, data, *, weights=None, previous=None, generator=None) -> TransformerLM:
        """Fine-tune the base per replicate; ``weights`` set each block's batch probability (0 never drawn)."""
        models, histories = [], []
        # The fine-tuning seed comes from the loop's generator, so a resumed run trains the same way.
        seed = int(torch.randint(2**31, (1,), generator=generator, device=generator.device)) if generator is not None \
            else self.seed
        with cpu_threads(self.threads or None):
            for r in range(data.shape[0]):
                model = build_model(self.cfg, device=self.device)
                model.load_state_dict(copy.deepcopy(self.base_state))
                w = None if weights is None else weights[r]
                histories.append(train(model, data[r].to(self.device), self.finetune, weights=w, seed=seed + r))
                models.append(model.eval())
        out = TransformerLM(models, self.decoding, self.prompt_len, self.threads, histories, self.prompt_mode)
        out.kept = _kept_mask(data, weights)
        return out
