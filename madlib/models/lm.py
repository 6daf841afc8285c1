"""Language-model families for the self-consuming loop (:mod:`madlib.core.protocol`).

Data are blocks of token ids ``(R, N_blocks, block_len)``. Sampling follows "The Curse of
Recursion" (Shumailov et al. 2024): the model reads a prompt (the last ``prompt_len`` tokens
of a block; the whole block when ``prompt_len == block_len``) and writes the next
``block_len`` tokens; the new training item is that **continuation only** (the prompt is not
part of it). Where the prompts come from is ``prompt_mode``:

* ``"original"`` (the paper's Methods, the default): every generation prompts with blocks of
  the **original** real training set (the data generation 0 was fitted to). Real text enters
  each generation as the prompt, never as a training target.
* ``"previous"`` (the released code, ``iliaishacked/curse_recurse``): the prompts are the
  blocks of the model's **own training set**, which after generation 0 is the previous
  generation's synthetic text; so from generation 2 on prompt and continuation are both
  model-written.

The decoding options (temperature, top-k, beams, repetition penalty) are the sampling bias;
the loop's ``sampling_bias`` lambda further multiplies the temperature.

* :class:`NGramFamily` -- counts, refitted from scratch each generation (exact and fast).
* :class:`TransformerFamily` -- every generation fine-tunes the SAME pre-trained base
  model on its training blocks, as the study did. The base (:func:`load_or_pretrain_base`) is the one
  shipped with the package (``madlib/models/pretrained/``, safetensors, made by ``python -m madlib
  pretrain``) when the run's recipe matches its record exactly, else pre-trained once and cached.

Curation (chapter 6) is a ``curate`` hook for the loop (:mod:`madlib.remedies.text`): blocks of
weight 0 are dropped by every fit, and with ``prompt_mode="previous"`` a fitted model draws its
prompts only from the blocks it kept.
"""
from __future__ import annotations

import copy
import json
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from ..core.cache import atomic_write_bytes, digest, file_digest, read_cached, tensor_digest
from ..core.config import cpu_threads
from ..core.seeding import child_seed, generator as make_generator, seed_from
from ..core.state import register_state_class
from ..core.validation import check_choice, check_int
from .decoding import Decoding, generate
from .ngram import NGramModel
from .transformer import (TinyTransformer, TrainConfig, TransformerConfig, build_model, continue_text,
                          token_log_probs, train)


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


PROMPT_MODES = ("original", "previous")


class _LMModel:
    """Shared ``sample``: continue prompts from the original or the own training blocks (see ``prompt_mode``)."""

    decoding: Decoding
    prompt_len: int
    prompt_mode: str = "original"
    # (R, N) bool: the blocks of the training data with positive weight (None: all)
    kept: torch.Tensor | None = None
    # (R, N0, L): the real blocks generation 0 was fitted to (the paper's prompts)
    original: torch.Tensor | None = None

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def log_prob(self, blocks: torch.Tensor) -> torch.Tensor:
        """log p(block) of ``blocks (R, m, L)`` given each block's first token: ``(R, m)`` (the protocol's scoring)."""
        return self.token_log_probs(blocks).double().sum(-1)

    def _continue(self, prompts: torch.Tensor, n_new: int, decoding: Decoding,
                  generator: torch.Generator | None) -> torch.Tensor:
        raise NotImplementedError

    def continue_prompts(self, prompts: torch.Tensor, n_new: int, *, generator: torch.Generator | None = None,
                         decoding: Decoding | None = None) -> torch.Tensor:
        """``(R, n, T0 + n_new)``: every replicate's model continues the prompts ``(R, n, T0)``."""
        n_new = check_int("n_new", n_new, 0)
        return self._continue(prompts, n_new, decoding or self.decoding, generator)

    def prompt_source(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The blocks prompts are drawn from and which of them may be used (None: all):
        the original real blocks (``"original"``) or the training blocks ``context`` (``"previous"``)."""
        if self.prompt_mode == "original":
            if self.original is None:
                raise ValueError("prompt_mode='original' needs the original blocks: fit generation 0 through the family")
            return self.original.to(context.device), None
        kept = self.kept if self.kept is not None and tuple(self.kept.shape) == tuple(context.shape[:2]) else None
        return context, kept

    def sample(self, n: int, *, sampling_bias: float = 1.0, generator: torch.Generator | None = None,
               context: torch.Tensor | None = None) -> torch.Tensor:
        """``(R, n, L)`` new blocks: the model's ``L``-token continuations of ``n`` prompts, each the last
        ``prompt_len`` tokens of a block of the prompt source (:meth:`prompt_source`); ``context`` is the
        model's training data ``(R, N, L)`` (it sets ``L``). The prompts are not part of the returned blocks.

        With ``prompt_mode="previous"``, when the fit dropped blocks (weight 0), prompts come only
        from the kept blocks: a rejected text never seeds the next one."""
        n = check_int("n", n, 0)
        if context is None:
            raise ValueError("language models sample by continuing prompts: pass context=(R, N, L) blocks")
        L = context.shape[-1]
        source, kept = self.prompt_source(context)
        if not 1 <= self.prompt_len <= source.shape[-1]:
            raise ValueError(f"prompt_len must be in [1, {source.shape[-1]}] for blocks of length "
                             f"{source.shape[-1]}, got {self.prompt_len}")
        if n == 0:
            return context[:, :0]
        decoding = replace(self.decoding, temperature=self.decoding.temperature * sampling_bias)
        chosen = _prompt_blocks(source, n, generator, kept)
        out = self._continue(chosen[..., source.shape[-1] - self.prompt_len:], L, decoding, generator)
        return out[..., self.prompt_len:].to(context.device)


def _original_for(data: torch.Tensor, previous) -> torch.Tensor:
    """The original real blocks: generation 0's data, carried from model to model."""
    original = getattr(previous, "original", None)
    return data if original is None else original


@register_state_class
class NGramLM(_LMModel):
    """R n-gram models plus decoding options."""

    def __init__(self, ngram: NGramModel, decoding: Decoding, prompt_len: int, prompt_mode: str = "original"):
        self.ngram, self.decoding, self.prompt_len, self.prompt_mode = ngram, decoding, prompt_len, prompt_mode

    def _continue(self, prompts, n_new, decoding, generator):
        R, n, T0 = prompts.shape
        replicate = torch.arange(R, device=prompts.device).repeat_interleave(n)
        flat = prompts.reshape(R * n, T0)

        def next_log_probs(tokens: torch.Tensor) -> torch.Tensor:
            # beam search widens the batch: rows of one prompt stay together
            rows = tokens.shape[0]
            return self.ngram.next_log_probs(tokens, replicate.repeat_interleave(rows // (R * n)))

        return generate(next_log_probs, flat, n_new, decoding, generator=generator).view(R, n, T0 + n_new)

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        return self.ngram.token_log_probs(blocks)


class NGramFamily:
    """Fit an n-gram model per replicate (from scratch: counts need no base model)."""

    name = "ngram"

    def __init__(self, order: int = 5, vocab_size: int = 256, smoothing: str = "kneser_ney",
                 decoding: Decoding = Decoding(), prompt_len: int = 32, discount: float = 0.75,
                 add_k: float = 0.01, prompt_mode: str = "original"):
        self.kwargs = dict(order=order, vocab_size=vocab_size, smoothing=smoothing, discount=discount, add_k=add_k)
        NGramModel(**self.kwargs)  # validate now, not in the middle of a run
        self.decoding, self.prompt_len = decoding, check_int("prompt_len", prompt_len, 1)
        self.prompt_mode = check_choice("prompt_mode", prompt_mode, PROMPT_MODES)

    def fit(self, data, *, weights=None, previous=None, generator=None) -> NGramLM:
        """Counts weighted by ``weights (R, N)``; a block of weight 0 adds nothing (it is dropped)."""
        model = NGramLM(NGramModel(**self.kwargs).fit(data, weights), self.decoding, self.prompt_len, self.prompt_mode)
        model.kept = _kept_mask(data, weights)
        model.original = _original_for(data, previous)
        return model


# ----------------------------------------------------------------------------- transformer

@register_state_class
class TransformerLM(_LMModel):
    """R fine-tuned transformers (one per replicate) plus decoding options."""

    def __init__(self, models: list[TinyTransformer], decoding: Decoding, prompt_len: int,
                 history: list[dict] | None = None, prompt_mode: str = "original"):
        self.models, self.decoding, self.prompt_len = models, decoding, prompt_len
        self.prompt_mode = prompt_mode
        self.history = history or []

    def _continue(self, prompts, n_new, decoding, generator):
        context = self.models[0].cfg.context
        if prompts.shape[-1] + n_new > context:
            raise ValueError(f"prompt_len + block_len ({prompts.shape[-1]} + {n_new}) must not exceed the "
                             f"model context ({context})")
        out = [continue_text(m, prompts[r].cpu(), n_new, decoding, generator=_cpu(generator))
               for r, m in enumerate(self.models)]
        return torch.stack(out)

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        return torch.stack([token_log_probs(m, blocks[r].cpu()).double() for r, m in enumerate(self.models)])


def _cpu(generator: torch.Generator | None) -> torch.Generator | None:
    """A CPU generator derived from ``generator`` (decoding draws on the CPU for device-independent text)."""
    if generator is None or generator.device.type == "cpu":
        return generator
    return make_generator(seed_from(generator))


# ----------------------------------------------------------------------------- the pre-trained base

#: Bases shipped with the package (package data): ``NAME.safetensors`` beside ``NAME.json``, the record of
#: the recipe that made it (``python -m madlib pretrain`` writes both).
SHIPPED_DIR = Path(__file__).resolve().parent / "pretrained"
BASE_FORMAT = 3  # 3: safetensors, pre-trained on the token stream (2: a pickled .pt)


def base_recipe(model_cfg: TransformerConfig, train_cfg: TrainConfig, corpus_key: str, seed: int) -> dict:
    """Everything that determines the pre-trained weights, as plain JSON: the model's sizes, the training
    recipe, the corpus and tokenizer (``corpus_key``: a digest of the corpus text and the vocabulary) and
    the seed. Two runs with equal recipes may share a base; any difference means another base."""
    return json.loads(json.dumps({"format": BASE_FORMAT, "model": asdict(model_cfg), "train": asdict(train_cfg),
                                  "corpus": str(corpus_key), "seed": int(seed)}, sort_keys=True))


def base_model_path(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig, corpus_key: str,
                    seed: int) -> Path:
    """Where a base pre-trained by this machine lives in the cache: keyed by its whole recipe."""
    return Path(cache_dir) / "lm_base" / f"{digest(base_recipe(model_cfg, train_cfg, corpus_key, seed))}.safetensors"


def save_base(path: str | Path, model: TinyTransformer, recipe: dict, history: dict) -> Path:
    """Write the weights as safetensors (no code runs when it is read), the recipe and the training history
    in its metadata; atomically, so a kill never leaves half a file."""
    tensors = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}
    blob = safetensors.torch.save(tensors, metadata={"recipe": json.dumps(recipe, sort_keys=True),
                                                     "history": json.dumps(history)})
    return atomic_write_bytes(path, blob)


def read_base(path: str | Path, device: torch.device | str = "cpu") -> tuple[dict[str, torch.Tensor], dict, dict]:
    """``(state_dict, recipe, history)`` of a base written by :func:`save_base` (raises when damaged)."""
    path = Path(path)
    with safetensors.safe_open(str(path), framework="pt", device=str(torch.device(device))) as handle:
        metadata = handle.metadata() or {}
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    if "recipe" not in metadata:
        raise ValueError(f"{path} has no recipe in its metadata: not a base written by madlib")
    return tensors, json.loads(metadata["recipe"]), json.loads(metadata.get("history", "{}"))


def sha256_of(path: str | Path) -> str:
    """The full SHA-256 of a file's bytes (what a shipped base's record holds)."""
    return file_digest(path, length=64)


@dataclass(frozen=True)
class ShippedBase:
    """A base shipped with the package: its weights and the record written beside them."""

    weights: Path
    record: dict

    @property
    def recipe(self) -> dict:
        return self.record["recipe"]


def shipped_bases(folder: str | Path | None = None) -> list[ShippedBase]:
    """Every ``NAME.json`` record in ``folder`` (default :data:`SHIPPED_DIR`) whose weights file exists."""
    folder = Path(folder) if folder is not None else SHIPPED_DIR
    out = []
    for record_path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = json.loads(record_path.read_text())
        weights = record_path.with_name(record.get("weights", record_path.stem + ".safetensors"))
        if "recipe" in record and weights.is_file():
            out.append(ShippedBase(weights, record))
    return out


def find_shipped_base(recipe: dict, folder: str | Path | None = None) -> ShippedBase | None:
    """The shipped base whose recorded recipe equals ``recipe`` exactly, or None."""
    want = json.loads(json.dumps(recipe, sort_keys=True))
    return next((b for b in shipped_bases(folder) if b.recipe == want), None)


@dataclass
class BaseModel:
    """A pre-trained base and where it came from: ``source`` is ``"shipped"`` (the package's file),
    ``"cache"`` (pre-trained on this machine before) or ``"trained"`` (just now); ``seconds`` is the time
    to load or train it, ``path`` and ``nbytes`` the file it lives in."""

    model: TinyTransformer
    history: dict
    source: str
    path: Path
    seconds: float
    nbytes: int


def _load_into(model: TinyTransformer, path: Path, recipe: dict, device) -> dict:
    tensors, stored, history = read_base(path, device)
    if stored != recipe:
        raise ValueError("its recorded recipe differs from the one asked for")
    model.load_state_dict(tensors)  # strict: a missing or unexpected tensor is an error
    return history


def load_or_pretrain_base(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig,
                          tokens: torch.Tensor, corpus_key: str, *, seed: int = 0,
                          device: torch.device | str = "cpu", valid_blocks: torch.Tensor | None = None,
                          threads: int | None = 1, progress: bool = False,
                          shipped_dir: str | Path | None = None) -> BaseModel:
    """The base for this recipe: the shipped one when its recorded recipe matches exactly (and its bytes
    match its recorded SHA-256), else the one cached by an earlier run, else pre-trained now on ``tokens``
    (a stream ``(T,)`` or blocks ``(N, L)``) and cached; an interrupted pre-training resumes from its
    checkpoint. A changed model, corpus, tokenizer, seed or training recipe never loads another's base."""
    recipe = base_recipe(model_cfg, train_cfg, corpus_key, seed)
    model = build_model(model_cfg, seed=seed, device=device)
    started = time.perf_counter()
    shipped = find_shipped_base(recipe, shipped_dir)
    if shipped is not None:
        expected = shipped.record.get("sha256")
        actual = sha256_of(shipped.weights)
        if actual != expected:
            warnings.warn(f"the shipped base {shipped.weights.name} does not match its recorded SHA-256 "
                          f"({actual[:12]}... against {str(expected)[:12]}...): pre-training one instead", stacklevel=2)
        else:
            history = _load_into(model, shipped.weights, recipe, device)
            return BaseModel(model.eval(), history, "shipped", shipped.weights, time.perf_counter() - started,
                             shipped.weights.stat().st_size)
    path = base_model_path(cache_dir, model_cfg, train_cfg, corpus_key, seed)
    history = read_cached(path, lambda p: _load_into(model, p, recipe, device))
    if history is not None:
        return BaseModel(model.eval(), history, "cache", path, time.perf_counter() - started, path.stat().st_size)
    model = build_model(model_cfg, seed=seed, device=device)  # a failed load may have changed some tensors
    partial = path.with_suffix(".partial")
    with cpu_threads(threads or None):
        history = train(model, tokens.to(device), train_cfg, valid_blocks=valid_blocks, seed=seed,
                        checkpoint_path=partial, progress=progress)
    save_base(path, model, recipe, history)
    partial.unlink(missing_ok=True)
    return BaseModel(model.eval(), history, "trained", path, time.perf_counter() - started, path.stat().st_size)


def pretrained_base(cache_dir: Path, model_cfg: TransformerConfig, train_cfg: TrainConfig, tokens: torch.Tensor,
                    corpus_key: str, *, seed: int = 0, device: torch.device | str = "cpu",
                    valid_blocks: torch.Tensor | None = None, threads: int | None = 1,
                    progress: bool = False, shipped_dir: str | Path | None = None) -> tuple[TinyTransformer, dict]:
    """``(model, history)`` of :func:`load_or_pretrain_base`."""
    base = load_or_pretrain_base(cache_dir, model_cfg, train_cfg, tokens, corpus_key, seed=seed, device=device,
                                 valid_blocks=valid_blocks, threads=threads, progress=progress,
                                 shipped_dir=shipped_dir)
    return base.model, base.history


# The last fits from the base in this process (least recently used first), by everything that decides them:
# chains that differ only after generation 0 (replace, keep 10% real, accumulate, the decoders) fine-tune
# their generation 0 once, not once each. A fit is deterministic given these, so a hit is the same model.
_FIRST_FITS: dict[str, tuple[list[dict], list[dict]]] = {}
_FIRST_FITS_KEPT = 8


def _tensor_digest(tensor: torch.Tensor | None) -> str:
    return "none" if tensor is None else tensor_digest(tensor, 64)


class TransformerFamily:
    """Fine-tune a copy of the same base model on each generation's blocks (the study's recipe)."""

    name = "transformer"

    def __init__(self, base: TinyTransformer, finetune: TrainConfig, decoding: Decoding = Decoding(),
                 prompt_len: int = 32, seed: int = 0, prompt_mode: str = "original"):
        self.base_state = {k: v.detach().clone() for k, v in base.state_dict().items()}
        self.cfg = base.cfg
        self.device = next(base.parameters()).device
        self.finetune, self.decoding = finetune, decoding
        self.prompt_len = check_int("prompt_len", prompt_len, 1)
        self.seed = seed
        self.prompt_mode = check_choice("prompt_mode", prompt_mode, PROMPT_MODES)
        self._base_digest = digest({k: _tensor_digest(v) for k, v in self.base_state.items()})

    def fit(self, data, *, weights=None, previous=None, generator=None) -> TransformerLM:
        """Fine-tune the base per replicate; ``weights`` set each block's batch probability (0 never drawn).

        Every fit starts from the base, so one with the same data, weights and seed gives the same models:
        this process fine-tunes such a fit once (the chains of a chapter share their generation 0)."""
        # The fine-tuning seed comes from the loop's generator, so a resumed run trains the same way.
        seed = seed_from(generator) if generator is not None else self.seed
        key = digest({"base": self._base_digest, "cfg": asdict(self.cfg), "finetune": asdict(self.finetune),
                      "data": _tensor_digest(data), "weights": _tensor_digest(weights), "seed": seed,
                      "device": str(self.device)})
        if key in _FIRST_FITS:
            states, histories = _FIRST_FITS[key] = _FIRST_FITS.pop(key)  # the most recently used goes last
            models = []
            for state in states:
                model = build_model(self.cfg, device=self.device)
                model.load_state_dict(state)
                models.append(model.eval())
            out = TransformerLM(models, self.decoding, self.prompt_len, copy.deepcopy(histories), self.prompt_mode)
        else:
            out = self._fit(data, weights, seed)
            _FIRST_FITS[key] = ([{k: v.detach().clone() for k, v in m.state_dict().items()} for m in out.models],
                                copy.deepcopy(out.history))
            while len(_FIRST_FITS) > _FIRST_FITS_KEPT:
                _FIRST_FITS.pop(next(iter(_FIRST_FITS)))
        out.kept = _kept_mask(data, weights)
        out.original = _original_for(data, previous)
        return out

    def _fit(self, data, weights, seed: int) -> TransformerLM:
        models, histories = [], []
        for r in range(data.shape[0]):
            model = build_model(self.cfg, device=self.device)
            model.load_state_dict(copy.deepcopy(self.base_state))
            w = None if weights is None else weights[r]
            histories.append(train(model, data[r].to(self.device), self.finetune, weights=w,
                                   seed=child_seed(seed, "replicate", r)))
            models.append(model.eval())
        return TransformerLM(models, self.decoding, self.prompt_len, histories, self.prompt_mode)
