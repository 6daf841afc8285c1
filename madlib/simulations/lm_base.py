"""Chapter 5's pre-trained base: from an ``lm`` configuration to the base model, and the shipped file.

The study fine-tuned OPT-125m, pre-trained once, generation after generation. Here the base is a small
character transformer pre-trained on the training plays with the library's own recipe:
:func:`base_setup` turns an ``lm`` experiment configuration (sizes, ``base_steps``, corpus, tokenizer,
seed) into that recipe, :func:`base_for` gives the base a run fine-tunes (the shipped file when the
recipe matches its record exactly, else a cached or freshly pre-trained one), and :func:`pretrain`
(``python -m madlib pretrain``) pre-trains a base from scratch and writes it with its record: that is
how the shipped ``madlib/models/pretrained/lm-base-default.safetensors`` was made.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from ..core.cache import atomic_write_text, bytes_digest, cache_root, digest
from ..core.config import cpu_threads
from ..data.text import Corpus, load_corpus, text_to_blocks
from ..models.lm import SHIPPED_DIR, BaseModel, base_recipe, load_or_pretrain_base, save_base, sha256_of
from ..models.tokenizer import ByteTokenizer, CharTokenizer
from ..models.transformer import TrainConfig, TransformerConfig, build_model, mean_loss, train

#: The configuration keys of ``lm`` that decide the base (everything else is fine-tuning or measuring).
BASE_KEYS = ("corpus", "corpus_path", "tokenizer", "seed", "block_len", "prompt_len", "d_model", "n_layers",
             "n_heads", "dropout", "base_steps", "base_batch_size", "lr", "weight_decay")
VALID_BLOCKS = 200  # validation windows, evenly spread over the validation play


def corpus_key(corpus: Corpus, tokenizer) -> str:
    """A digest of the corpus text (all splits) and the tokenizer's vocabulary: part of the base's recipe."""
    return bytes_digest((corpus.text + "".join(getattr(tokenizer, "chars", []))).encode())


def make_tokenizer(kind: str, corpus: Corpus):
    """The ``lm`` experiment's tokenizer: ``"char"`` (the corpus's characters) or ``"byte"``."""
    if kind not in ("char", "byte"):
        raise ValueError(f"tokenizer must be 'char' or 'byte', got {kind!r}")
    return CharTokenizer.from_corpus(corpus) if kind == "char" else ByteTokenizer()


@dataclass
class BaseSetup:
    """What pre-training a base needs: the two configurations, the training stream, validation windows."""

    model_cfg: TransformerConfig
    train_cfg: TrainConfig
    tokens: torch.Tensor
    valid: torch.Tensor
    corpus_key: str
    seed: int

    @property
    def recipe(self) -> dict:
        return base_recipe(self.model_cfg, self.train_cfg, self.corpus_key, self.seed)


def base_setup(config: Mapping, corpus: Corpus | None = None, tokenizer=None) -> BaseSetup:
    """The base's recipe from an ``lm`` configuration (the keys in :data:`BASE_KEYS`); ``corpus`` and
    ``tokenizer`` when the caller has them already."""
    corpus = corpus if corpus is not None else load_corpus(config["corpus"], config.get("corpus_path") or None)
    tokenizer = tokenizer if tokenizer is not None else make_tokenizer(config["tokenizer"], corpus)
    context = int(config["prompt_len"]) + int(config["block_len"])
    model_cfg = TransformerConfig(vocab_size=tokenizer.vocab_size, context=context, d_model=int(config["d_model"]),
                                  n_layers=int(config["n_layers"]), n_heads=int(config["n_heads"]),
                                  dropout=float(config["dropout"]))
    steps = int(config["base_steps"])
    train_cfg = TrainConfig(steps=steps, batch_size=int(config["base_batch_size"]), lr=float(config["lr"]),
                            warmup=max(min(steps // 20, 100), 1), weight_decay=float(config["weight_decay"]),
                            eval_every=max(steps // 10, 1), checkpoint_every=max(steps // 10, 1))
    valid = text_to_blocks(tokenizer.encode(corpus.valid), context + 1)
    valid = valid[np.linspace(0, valid.shape[0] - 1, min(VALID_BLOCKS, valid.shape[0])).round().astype(int)]
    return BaseSetup(model_cfg, train_cfg, tokenizer.encode(corpus.train), valid, corpus_key(corpus, tokenizer),
                     int(config["seed"]))


def base_for(config: Mapping, *, device: torch.device | str = "cpu", progress: bool = False,
             corpus: Corpus | None = None, tokenizer=None, shipped_dir: str | Path | None = None) -> BaseModel:
    """The base an ``lm`` run fine-tunes: shipped, cached or pre-trained now (see
    :func:`madlib.models.lm.load_or_pretrain_base`), with ``base_threads`` threads when it trains."""
    setup = base_setup(config, corpus, tokenizer)
    return load_or_pretrain_base(cache_root(), setup.model_cfg, setup.train_cfg, setup.tokens, setup.corpus_key,
                                 seed=setup.seed, device=device, valid_blocks=setup.valid.to(device),
                                 threads=config.get("base_threads", 1), progress=progress, shipped_dir=shipped_dir)


def pretrain(config: Mapping, out_dir: str | Path | None = None, *, name: str, command: str,
             device: torch.device | str = "cpu", progress: bool = False) -> dict:
    """Pre-train a base from scratch with ``config``'s recipe and write ``NAME.safetensors`` and its record
    ``NAME.json`` into ``out_dir`` (default: the package's shipped folder); return the record.

    Never reads a shipped or cached base: it trains (resuming its own checkpoint ``NAME.partial`` after an
    interruption). The record holds the recipe (what :func:`madlib.models.lm.find_shipped_base` matches),
    the file's SHA-256 and size, the ``command`` that regenerates it, the ``lm`` configuration it came
    from, the final validation loss and how long it took where.
    """
    out = Path(out_dir) if out_dir is not None else SHIPPED_DIR
    corpus = load_corpus(config["corpus"], config.get("corpus_path") or None)
    tokenizer = make_tokenizer(config["tokenizer"], corpus)
    setup = base_setup(config, corpus, tokenizer)
    model = build_model(setup.model_cfg, seed=setup.seed, device=device)
    partial = out / f"{name}.partial"
    threads = int(config.get("base_threads", 1)) or None
    started = time.perf_counter()
    with cpu_threads(threads):
        history = train(model, setup.tokens.to(device), setup.train_cfg, valid_blocks=setup.valid.to(device),
                        seed=setup.seed, checkpoint_path=partial, progress=progress)
        valid_loss = mean_loss(model, setup.valid.to(device))
    seconds = time.perf_counter() - started
    weights = out / f"{name}.safetensors"
    save_base(weights, model, setup.recipe, history)
    partial.unlink(missing_ok=True)
    record = {
        "name": name,
        "weights": weights.name,
        "sha256": sha256_of(weights),
        "bytes": weights.stat().st_size,
        "command": command,
        "recipe": setup.recipe,
        "recipe_key": digest(setup.recipe),
        "lm_config": {k: config[k] for k in BASE_KEYS if k in config},
        "corpus": {"name": config["corpus"], "train_characters": len(corpus.train)},
        "tokenizer": {"kind": config["tokenizer"], "vocab_size": tokenizer.vocab_size},
        "n_parameters": model.n_parameters(),
        "valid_loss_nats": round(float(valid_loss), 6),
        "trained_on": {"device": str(torch.device(device)), "threads": threads, "seconds": round(seconds, 1),
                       "torch": torch.__version__, "python": platform.python_version(),
                       "machine": platform.machine()},
    }
    atomic_write_text(out / f"{name}.json", json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def describe(record: Mapping) -> dict:
    """The numbers a reader sees about a base record (for the chapter's prose)."""
    return {"name": record["name"], "megabytes": record["bytes"] / 1e6, "n_parameters": record["n_parameters"],
            "steps": record["recipe"]["train"]["steps"], "valid_loss_nats": record["valid_loss_nats"],
            "train_minutes": record["trained_on"]["seconds"] / 60, "command": record["command"],
            "model": dict(record["recipe"]["model"])}


__all__ = ["BASE_KEYS", "BaseSetup", "base_for", "base_setup", "corpus_key", "describe", "make_tokenizer",
           "pretrain"]
