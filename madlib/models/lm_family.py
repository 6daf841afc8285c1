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
"""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import torch

from ..config import cpu_threads
from ..validation import check_choice, check_int
from .decoding import Decoding, generate
from .ngram import NGramModel
from .transformer import TinyTransformer, TrainConfig, TransformerConfig, build_model, continue_text, train


def _prompt_blocks(context: torch.Tensor, n: int, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` blocks per replicate from ``context (R, N, L)``: all of them in order when n == N,
    otherwise a random choice (without replacement while n <= N)."""
    R, N, _ = context.shape
    if n == N:
        return context
    gen_device = generator.device if generator is not None else torch.device("cpu")
    keys = torch.rand(R, N, generator=generator, device=gen_device)
    order = keys.argsort(dim=1).to(context.device)
    index = order[:, torch.arange(n, device=context.device) % N]
    return context[torch.arange(R, device=context.device)[:, None], index]


PROMPT_MODES = ("rolling", "first")


class _LMModel:
    """Shared ``sample``: continue ``prompt_len`` tokens of context blocks (see ``prompt_mode``)."""

    decoding: Decoding
    prompt_len: int
    prompt_mode: str = "rolling"

    def _continue(self, prompts: torch.Tensor, n_new: int, decoding: Decoding,
                  generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``(R, n, L)`` blocks: a ``prompt_len``-token prompt from each of ``n`` context blocks
        (its last tokens when ``prompt_mode='rolling'``, its first when ``'first'``), the rest generated."""
        n = check_int("n", n, 0)
        if context is None:
            raise ValueError("language models sample by continuing prompts: pass context=(R, N, L) blocks")
        R, _, L = context.shape
        if not 1 <= self.prompt_len < L:
            raise ValueError(f"prompt_len must be in [1, {L - 1}] for blocks of length {L}, got {self.prompt_len}")
        if n == 0:
            return context[:, :0]
        decoding = replace(self.decoding, temperature=self.decoding.temperature * sampling_bias)
        chosen = _prompt_blocks(context, n, generator)
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
        return NGramLM(NGramModel(**self.kwargs).fit(data, weights), self.decoding, self.prompt_len, self.prompt_mode)


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
        from .transformer import token_log_probs

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
    blob = json.dumps({"model": asdict(model_cfg), "train": asdict(train_cfg), "corpus": corpus_key, "seed": seed},
                      sort_keys=True)
    return Path(cache_dir) / "lm_base" / f"{hashlib.sha256(blob.encode()).hexdigest()[:16]}.pt"


def pretrained_base(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig, blocks: torch.Tensor,
                    corpus_key: str, *, seed: int = 0, device: torch.device | str = "cpu",
                    valid_blocks: torch.Tensor | None = None, threads: int | None = 1,
                    progress: bool = False) -> tuple[TinyTransformer, dict]:
    """Pre-train the base model once and cache it (an interrupted pre-training resumes)."""
    path = base_model_path(cache_dir, model_cfg, train_cfg, corpus_key, seed)
    model = build_model(model_cfg, seed=seed, device=device)
    if path.exists():
        state = torch.load(path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        return model.eval(), state["history"]
    with cpu_threads(threads or None):
        history = train(model, blocks, train_cfg, valid_blocks=valid_blocks, seed=seed,
                        checkpoint_path=path.with_suffix(".partial"), progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "history": history}, path)
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
        return TransformerLM(models, self.decoding, self.prompt_len, self.threads, histories, self.prompt_mode)
