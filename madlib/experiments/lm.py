"""Experiment ``lm``: a small language model trained on its own text (chapter 5).

The recipe of "The Curse of Recursion" (Shumailov et al. 2024), small, on Shakespeare read as
characters: the training plays are cut into blocks of ``block_len`` characters; generation 0
is fitted to ``n_real`` real blocks; every later generation is fitted to blocks its predecessor
wrote: for each block the model reads a ``prompt_len``-character prompt and writes the next
``block_len`` characters, and the new training block is that **continuation only**.
``prompt_mode`` says where the prompts come from (:mod:`madlib.models.lm`):

* ``"original"`` (default; the paper's Methods): the blocks of the original real training
  set, every generation. Real text is only ever the prompt, never a training target.
* ``"previous"`` (the released code): the blocks of the generation's own training set, i.e.
  after generation 0 the previous generation's synthetic text.

``model='transformer'`` fine-tunes the same cached pre-trained character transformer every
generation (the study fine-tuned OPT-125m from the same checkpoint); ``model='ngram'`` refits
an interpolated Kneser-Ney n-gram model (the fast, exact baseline; batched over replicates).

Per generation the summary holds ``test_loss_nats`` (mean negative log-likelihood per
character of the held-out play) and ``test_perplexity`` (its exp), ``real_word_rate`` (share
of the words the model writes from fixed held-out prompts that occur in the training plays),
``samples`` (its continuations of a few fixed prompts, replicate 0), and text statistics of
each generation's training text (distinct-n, word survival, per-sequence perplexity under the
generation-0 model). ``reference_test_loss_nats`` is the same n-gram fitted on ALL the
training text: the bar the transformer's base is compared with.

Curation (chapter 6): with ``curate='verifier'`` or ``'self-likelihood'`` each generation writes
``n_real / keep_fraction`` candidate blocks and the loop's ``curate`` hook keeps the ``n_real``
with the highest per-character log-likelihood -- under a model of the real training text (the
verifier: the n-gram fitted on all of it, or the pre-trained transformer base) or under the
generator itself (cherry-picking by its own taste).
"""
from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core.cache import cache_root, file_digest
from ..core.config import cpu_threads, scaled
from ..core.loop import Observation, run_loop
from ..core.seeding import child_seed
from ..core.select import n_candidates as candidates_for
from ..core.sources import PoolSource
from ..core.validation import check_choice, check_float, check_fraction, check_int
from ..core.workflows import WORKFLOWS
from ..data.text import CORPORA, CORPUS_DIR, FROZEN, SPLITS, load_corpus, text_to_blocks
from ..metrics.text import (continuation_words, distinct_n, real_word_rate, sequence_perplexity,
                            survival_by_frequency, word_counts)
from ..models.decoding import Decoding
from ..models.lm import PROMPT_MODES, NGramFamily, TransformerFamily, shipped_bases
from ..models.ngram import SMOOTHINGS, NGramModel
from ..models.tokenizer import ByteTokenizer, CharTokenizer
from ..models.transformer import TrainConfig, token_log_probs
from ..remedies.text import CURATIONS, ContinuationFilter, shared_reference
from ..simulations.lm_base import base_for
from . import ExperimentResult, RunContext, experiment

SURVIVAL_BINS = (1, 2, 3, 5, 9, 17, 33)
TOKENIZERS = ("char", "byte")

# The transformer chains of the chapter: one replicate (a fine-tuned model per replicate is the
# expensive part), fewer generations than the n-gram sweeps.
TRANSFORMER = {"model": "transformer", "replicates": scaled(smoke=1, default=1, full=3),
               "n_real": scaled(smoke=48, default=256, full=2048),
               "generations": scaled(smoke=2, default=5, full=10)}
WORKFLOW_PRESETS = {"": {}, "-keep10": {"kept_real_fraction": 0.1}, "-accumulate": {"workflow": "accumulate"}}
DECODER_PRESETS = {"-t06": {"temperature": 0.6}, "-beam5": {"beams": 5},
                   "-beam5-penalty3": {"beams": 5, "repetition_penalty": 3.0}, "-previous": {"prompt_mode": "previous"}}
# chapter 6's scoreboard rows (with -keep10, -accumulate and the replace loop above): the 5-gram chains
REMEDY_PRESETS = {"-fresh": {"workflow": "fresh"}, "-verifier": {"curate": "verifier"},
                  "-self-likelihood": {"curate": "self-likelihood"}}
PRESETS = {**{f"ngram{k}": v for k, v in {**WORKFLOW_PRESETS, **DECODER_PRESETS, **REMEDY_PRESETS}.items()},
           **{f"transformer{k}": {**TRANSFORMER, **v} for k, v in WORKFLOW_PRESETS.items()},
           "transformer-previous": {**TRANSFORMER, "prompt_mode": "previous"},
           # the generation-0 model with the paper's decoder and the released code's (samples, real-word rate)
           "transformer-gen0-beam5": {**TRANSFORMER, "generations": 0, "beams": 5},
           "transformer-gen0-beam5-penalty3": {**TRANSFORMER, "generations": 0, "beams": 5, "repetition_penalty": 3.0}}


def corpus_inputs(config: dict) -> dict:
    """The cache's data fingerprint: the content of the corpus files the run reads, so an edited
    corpus misses the cache (and the cached pre-trained base, keyed by the text itself)."""
    name = config["corpus"]
    if name in FROZEN:
        files = [CORPUS_DIR / name / f"{s}.txt" for s in SPLITS]
    elif config.get("corpus_path"):
        path = Path(config["corpus_path"])
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    else:  # a cached download (or nothing yet: load_corpus will say how to supply it)
        folder = cache_root() / "corpora"
        files = sorted(folder.glob(f"{name}*.txt")) if folder.exists() else []
    out = {"corpus": name, "files": {p.name: file_digest(p) for p in files if p.exists()}}
    if config.get("model") == "transformer":  # a retrained shipped base is another result
        out["shipped_bases"] = sorted(b.record["sha256"] for b in shipped_bases())
    return out


@experiment(
    "lm",
    defaults={
        "model": "ngram",
        "workflow": "replace",
        "generations": scaled(smoke=3, default=6, full=10),
        "kept_real_fraction": 0.0,
        "temperature": 1.0,
        "top_k": 0,
        "beams": 1,
        "repetition_penalty": 1.0,
        "prompt_mode": "original",
        "seed": 0,
        "replicates": scaled(smoke=2, default=3, full=5),  # the n-gram chains (batched); chapter 6 wants >= 3 seeds
        "n_real": scaled(smoke=60, default=300, full=3000),  # real training blocks
        "block_len": 64,
        "prompt_len": 64,
        "corpus": "shakespeare",
        "corpus_path": "",
        "tokenizer": "char",
        "test_blocks": scaled(smoke=24, default=200, full=800),
        "eval_prompts": scaled(smoke=6, default=32, full=64),
        "sample_len": 96,
        "n_sample_texts": 4,
        "order": 5,
        "smoothing": "kneser_ney",
        # the transformer: pre-trained once on the training plays (a stream of random windows), cached
        "d_model": scaled(smoke=32, default=128, full=384),
        "n_layers": scaled(smoke=1, default=4, full=6),
        "n_heads": scaled(smoke=4, default=4, full=6),
        "dropout": scaled(smoke=0.0, default=0.0, full=0.1),
        "base_steps": scaled(smoke=40, default=3000, full=5000),
        "base_batch_size": scaled(smoke=8, default=8, full=64),
        "lr": 2e-3,
        "weight_decay": 0.1,
        # fine-tuning of each generation, from the base: about 5 passes over n_real blocks at default
        "finetune_steps": scaled(smoke=6, default=80, full=640),
        "batch_size": 16,
        "finetune_lr": 5e-4,
        "threads": 1,  # the chains: small tensors, one thread is as fast and far faster on a busy machine
        # pre-training threads (when no shipped base matches: smoke, full, a changed recipe): one, as the book
        # build executes chapters side by side and on a busy machine 2 threads were about 5x slower per step
        "base_threads": 1,
        "curate": "none",
        "keep_fraction": 0.5,
    },
    choices={"model": ("transformer", "ngram"), "workflow": WORKFLOWS, "corpus": CORPORA,
             "smoothing": SMOOTHINGS, "prompt_mode": PROMPT_MODES, "curate": CURATIONS, "tokenizer": TOKENIZERS},
    presets=PRESETS,
    inputs=corpus_inputs,
    version=3,  # 3: Shakespeare characters, continuations only, prompts from the original or previous blocks
)
def run_lm(config: dict, ctx: RunContext) -> ExperimentResult:
    """A small LM (transformer or n-gram) trained generation after generation on its own continuations."""
    with cpu_threads(check_int("threads", config["threads"], 0) or None):
        return _run_lm(config, ctx)


def speaker_prompts(text: str, prompt_len: int, count: int) -> list[int]:
    """End positions of ``count`` prompts, evenly spread over ``text``, each ending just after a
    speaker's name on its own line (``MACBETH.``): the model then writes that speaker's line."""
    ends = [m.end() for m in re.finditer(r"\n[A-Z][A-Z' ]+\.\n", text) if m.end() >= prompt_len]
    if len(ends) < count:  # a corpus without speaker lines: evenly spaced windows
        return [int(e) for e in np.linspace(prompt_len, len(text) - 1, count).round()]
    return [ends[int(i)] for i in np.linspace(0, len(ends) - 1, count).round()]


def _run_lm(config: dict, ctx: RunContext) -> ExperimentResult:
    generations = check_int("generations", config["generations"], 0)
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    replicates = check_int("replicates", config["replicates"], 1)
    n_blocks = check_int("n_real", config["n_real"], 1)
    block_len = check_int("block_len", config["block_len"], 4)
    prompt_len = check_int("prompt_len", config["prompt_len"], 1, block_len)
    test_blocks = check_int("test_blocks", config["test_blocks"], 1)
    n_eval = check_int("eval_prompts", config["eval_prompts"], 1)
    n_sample_texts = check_int("n_sample_texts", config["n_sample_texts"], 0, n_eval)
    sample_len = check_int("sample_len", config["sample_len"], 1, prompt_len + block_len - 1)
    sample_prompt_len = prompt_len + block_len - sample_len  # samples fill the model's context
    check_float("temperature", config["temperature"], 0.0)
    decoding = Decoding(temperature=float(config["temperature"]), top_k=int(config["top_k"]),
                        beams=int(config["beams"]), repetition_penalty=float(config["repetition_penalty"]))
    seed = check_int("seed", config["seed"], 0)
    curate = check_choice("curate", config["curate"], CURATIONS)
    keep_fraction = check_float("keep_fraction", config["keep_fraction"], 0.0, 1.0, open_minimum=True)
    curating = curate != "none"
    if curating and kept > 0:
        raise ValueError("curate applies to fully synthetic or growing training sets: use kept_real_fraction=0 "
                         f"with curate={curate!r}")
    n_candidates = candidates_for(n_blocks, keep_fraction) if curating else n_blocks
    is_transformer = config["model"] == "transformer"
    device = ctx.device if (is_transformer and ctx.device.type == "cuda") else torch.device("cpu")

    corpus = load_corpus(config["corpus"], config["corpus_path"] or None)
    tokenizer = CharTokenizer.from_corpus(corpus) if config["tokenizer"] == "char" else ByteTokenizer()
    train_ids = tokenizer.encode(corpus.train)
    train_blocks = text_to_blocks(train_ids, block_len)
    if n_blocks > train_blocks.shape[0]:
        raise ValueError(f"n_real ({n_blocks}) exceeds the {train_blocks.shape[0]} training blocks of the corpus")
    # Held-out loss on blocks that fill the model's context (prompt + continuation), evenly spread
    # over the test play; the same blocks for every model and generation.
    test_all = text_to_blocks(tokenizer.encode(corpus.test), prompt_len + block_len + 1)
    test = test_all[np.linspace(0, test_all.shape[0] - 1, min(test_blocks, test_all.shape[0])).round().astype(int)]
    # Fixed held-out prompts (the test play, just after a speaker's name) for samples and the real-word rate.
    ends = speaker_prompts(corpus.test, sample_prompt_len, n_eval)
    eval_prompt_texts = [corpus.test[e - sample_prompt_len : e] for e in ends]
    eval_prompts = torch.stack([tokenizer.encode(t) for t in eval_prompt_texts]).to(device)
    vocabulary = set(word_counts([corpus.train]))

    # The n-gram of the same order fitted on ALL the training text: the reference bar, and the verifier.
    kwargs = dict(order=int(config["order"]), vocab_size=tokenizer.vocab_size, smoothing=config["smoothing"])
    reference_ngram = NGramModel(**kwargs).fit(train_ids[None, None])
    summary_extra: dict = {
        "reference_test_loss_nats": float(-reference_ngram.token_log_probs(test[None]).double().mean()),
        "vocab_size": tokenizer.vocab_size}
    base_history = None
    if is_transformer:
        # the shipped base when the recipe matches its record exactly, else cached or pre-trained once
        based = base_for(config, device=device, progress=ctx.progress, corpus=corpus, tokenizer=tokenizer)
        base, base_history = based.model, based.history
        summary_extra.update(base_source=based.source, base_seconds=based.seconds, base_file_bytes=based.nbytes)
        finetune_steps = check_int("finetune_steps", config["finetune_steps"], 1)
        finetune_cfg = TrainConfig(steps=finetune_steps, batch_size=int(config["batch_size"]),
                                   lr=float(config["finetune_lr"]), warmup=max(finetune_steps // 10, 1),
                                   weight_decay=float(config["weight_decay"]))
        family = TransformerFamily(base, finetune_cfg, decoding, prompt_len, seed=seed, threads=config["threads"],
                                   prompt_mode=config["prompt_mode"])
        base_lp = token_log_probs(base, test.to(device)).double()
        summary_extra.update(base_test_loss_nats=float(-base_lp.mean()), n_parameters=base.n_parameters(),
                             finetune_epochs=finetune_steps * int(config["batch_size"]) / n_blocks)
        reference = shared_reference(lambda b: token_log_probs(base, b[0]).double()[None])
    else:
        family = NGramFamily(**kwargs, decoding=decoding, prompt_len=prompt_len, prompt_mode=config["prompt_mode"])
        reference = shared_reference(reference_ngram.token_log_probs)
    # the items are continuations: the filter judges every token after the first
    hook = ContinuationFilter(curate, n_blocks, 1, reference) if curating else None

    pool = PoolSource(train_blocks.to(device), replicates, generator=torch.Generator().manual_seed(child_seed(seed, "pool")))
    test_r = test.to(device)[None].expand(replicates, -1, -1)

    def observe(model, data, t, generator):
        loss = -model.token_log_probs(test_r).double().mean(dim=(1, 2))
        # the model writes from the same held-out prompts every generation
        out = model.continue_prompts(eval_prompts[None].expand(replicates, -1, -1), sample_len, generator=generator)
        texts = [[tokenizer.decode(row) for row in out[r].cpu()] for r in range(replicates)]
        rates = [real_word_rate([continuation_words(x, sample_prompt_len) for x in texts[r]], vocabulary)
                 for r in range(replicates)]
        metrics = {"test_loss_nats": loss, "test_perplexity": torch.exp(loss), "real_word_rate": rates}
        artefacts = {"data": data.detach().cpu(), "kept": model.kept,
                     "texts": [x[sample_prompt_len:] for x in texts[0][:n_sample_texts]]}
        if t == 0:
            artefacts["model"] = model  # generation 0 scores every generation's text
        return Observation(metrics=metrics, artefacts=artefacts)

    n_kept = int(round(kept * n_blocks)) if config["workflow"] == "replace" else 0
    result = run_loop(family, pool, generations=generations, n_real=n_blocks, n_synthetic=n_candidates,
                      workflow=config["workflow"], kept_real_fraction=kept, seed=seed, observe=observe, curate=hook,
                      checkpoint_dir=ctx.checkpoint_dir, config=dict(config), progress=ctx.progress,
                      desc=f"lm ({config['model']})")

    # ---- text of each generation's training set: the newest synthetic blocks (the real blocks at generation 0)
    gen0_model = result.artefacts[0]["model"]
    rows = []
    per_gen: dict[str, list] = {k: [] for k in ("distinct_1", "distinct_2", "distinct_3", "word_survival",
                                                "seq_ppl_median", "seq_ppl_q05", "seq_ppl_q95", "seq_ppl_mean")}
    seq_ppl: dict[int, np.ndarray] = {}
    survival = np.full((generations + 1, len(SURVIVAL_BINS)), np.nan)
    initial_counts = None
    bins_words = None
    for g in range(generations + 1):
        data = result.artefacts[g]["data"].to(device)
        new = data if g == 0 else data[:, data.shape[1] - (n_candidates - n_kept):]
        if curating and g > 0:  # the candidates the filter kept (n_blocks per replicate)
            mask = result.artefacts[g]["kept"]
            if mask is not None:
                mask = mask[:, mask.shape[1] - new.shape[1]:].to(new.device)
                new = new[mask].view(replicates, -1, new.shape[-1])
        lp = gen0_model.token_log_probs(new)  # (R, n, L-1), scored by the generation-0 model
        ppl = sequence_perplexity(lp).cpu().numpy()
        seq_ppl[g] = ppl.reshape(-1)
        texts = [[tokenizer.decode(row) for row in new[r].cpu()] for r in range(replicates)]
        d = {n: np.array([distinct_n(texts[r], n) for r in range(replicates)]) for n in (1, 2, 3)}
        counts = [word_counts(texts[r]) for r in range(replicates)]
        if g == 0:
            initial_counts = counts
        surv = [survival_by_frequency(initial_counts[r], counts[r], SURVIVAL_BINS) for r in range(replicates)]
        with warnings.catch_warnings():  # a count bin without words is NaN in every replicate
            warnings.simplefilter("ignore", RuntimeWarning)
            survival[g] = np.nanmean(np.stack([s["survival"] for s in surv]), axis=0)
        bins_words = surv[0]["words"]
        present = np.array([np.mean([w in counts[r] for w in initial_counts[r]]) for r in range(replicates)])
        for r in range(replicates):
            rows += [(g, r, f"distinct_{n}", float(d[n][r])) for n in (1, 2, 3)]
            rows.append((g, r, "word_survival", float(present[r])))
            rows.append((g, r, "seq_ppl_median", float(np.median(ppl[r]))))
        for n in (1, 2, 3):
            per_gen[f"distinct_{n}"].append(float(d[n].mean()))
        per_gen["word_survival"].append(float(present.mean()))
        per_gen["seq_ppl_median"].append(float(np.median(seq_ppl[g])))
        per_gen["seq_ppl_q05"].append(float(np.quantile(seq_ppl[g], 0.05)))
        per_gen["seq_ppl_q95"].append(float(np.quantile(seq_ppl[g], 0.95)))
        per_gen["seq_ppl_mean"].append(float(np.mean(seq_ppl[g])))
    table = pd.concat([result.table, pd.DataFrame(rows, columns=["generation", "replicate", "metric", "value"])],
                      ignore_index=True)

    def per_generation(metric: str):
        return result.table[result.table.metric == metric].groupby("generation")["value"]

    samples = [result.artefacts[g]["texts"] for g in range(generations + 1)]
    summary = {
        "model": config["model"],
        "workflow": config["workflow"],
        "prompt_mode": config["prompt_mode"],
        "curate": curate,
        "keep_fraction": keep_fraction if curating else 1.0,
        "n_candidates": n_candidates,
        "generations": generations,
        "test_loss_nats": per_generation("test_loss_nats").mean().tolist(),
        "test_perplexity": per_generation("test_perplexity").mean().tolist(),
        "test_perplexity_sd": per_generation("test_perplexity").std(ddof=0).fillna(0.0).tolist(),
        "real_word_rate": per_generation("real_word_rate").mean().tolist(),
        **per_gen,
        "sample_prompts": eval_prompt_texts[:n_sample_texts],
        "samples": samples,
        "resumed_from": result.resumed_from,
        **summary_extra,
    }
    extras = {
        "sample_prompts": eval_prompt_texts[:n_sample_texts],
        "sample_texts": samples,
        "seq_ppl": seq_ppl,
        "survival": survival,
        "survival_bins": np.array(SURVIVAL_BINS),
        "survival_words": bins_words,
        "base_history": base_history,
        "vocabulary_size": len(vocabulary),
    }
    return ExperimentResult(summary=summary, table=table, extras=extras)


def perplexity_points(summary: dict) -> float:
    """Rise of test perplexity from generation 0 to the last generation (the study's "points")."""
    ppl = summary["test_perplexity"]
    return float(ppl[-1] - ppl[0]) if ppl and math.isfinite(ppl[-1]) else float("nan")
