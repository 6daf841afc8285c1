"""Experiment ``lm``: a tiny language model trained on its own text (chapter 5).

The recipe of "The Curse of Recursion" (Shumailov et al. 2024), small: the training
text is cut into blocks; generation 0 is fitted to real blocks; every later generation
is fitted to blocks made by its predecessor: a prompt from each training block (its last
half by default, ``prompt_mode='rolling'``, so text becomes fully synthetic; its first half
with ``prompt_mode='first'``, the study's literal recipe) continued by the model. ``model='transformer'`` fine-tunes the same
cached pre-trained base every generation; ``model='ngram'`` refits a Kneser-Ney n-gram
model (the fast exact baseline, batched over replicates).

Curation (chapter 6): with ``curate='verifier'`` or ``'self-likelihood'`` each generation writes
``n_real / keep_fraction`` candidate blocks and the loop's ``curate`` hook keeps the ``n_real``
whose continuations score the highest per-byte log-likelihood -- under a model of the real
training text (the verifier: an n-gram fitted on all of it, or the pre-trained transformer base)
or under the generator itself (cherry-picking by its own taste).
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import torch

from ..core.cache import cache_root
from ..core.config import cpu_threads, scaled
from ..core.loop import Observation, run_loop
from ..core.select import n_candidates as candidates_for
from ..core.sources import PoolSource
from ..core.validation import check_float, check_fraction, check_int
from ..core.workflows import WORKFLOWS
from ..data.text import CORPORA, load_corpus, text_to_blocks
from ..metrics.text import distinct_n, sequence_perplexity, survival_by_frequency, word_counts
from ..models.decoding import Decoding
from ..models.lm import PROMPT_MODES, NGramFamily, TransformerFamily, pretrained_base
from ..models.ngram import SMOOTHINGS, NGramModel
from ..models.tokenizer import ByteTokenizer
from ..models.transformer import TrainConfig, TransformerConfig, perplexity, token_log_probs
from ..remedies.text import CURATIONS, ContinuationFilter, shared_reference
from . import ExperimentResult, RunContext, experiment

SURVIVAL_BINS = (1, 2, 3, 5, 9, 17, 33)


@experiment(
    "lm",
    defaults={
        "model": "ngram",
        "workflow": "replace",
        "generations": scaled(smoke=3, default=8, full=10),
        "kept_real_fraction": 0.0,
        "temperature": 1.0,
        "top_k": 0,
        "beams": 1,
        "repetition_penalty": 1.0,
        "seed": 0,
        "replicates": scaled(smoke=2, default=3, full=5),
        "n_real": scaled(smoke=80, default=400, full=3000),  # real training blocks
        "block_len": 64,
        "prompt_len": 32,
        "prompt_mode": "rolling",
        "corpus": "pydoc",
        "corpus_path": "",
        "test_blocks": scaled(smoke=40, default=170, full=170),
        "order": 5,
        "smoothing": "kneser_ney",
        "d_model": scaled(smoke=32, default=64, full=256),
        "n_layers": scaled(smoke=1, default=2, full=4),
        "n_heads": 4,
        "base_steps": scaled(smoke=30, default=400, full=6000),
        "finetune_steps": scaled(smoke=10, default=40, full=600),
        "batch_size": scaled(smoke=16, default=32, full=64),
        "lr": 3e-3,
        "finetune_lr": 1e-3,
        "threads": 1,
        "n_sample_texts": 6,
        "curate": "none",
        "keep_fraction": 0.5,
    },
    choices={"model": ("transformer", "ngram"), "workflow": WORKFLOWS, "corpus": CORPORA,
             "smoothing": SMOOTHINGS, "prompt_mode": PROMPT_MODES, "curate": CURATIONS},
    version=2,  # 2: key/value cache in transformer decoding
)
def run_lm(config: dict, ctx: RunContext) -> ExperimentResult:
    """A tiny LM (transformer or n-gram) trained generation after generation on its own continuations of text blocks."""
    # Small tensors: one CPU thread is as fast, and on a shared machine much faster (no spinning threads).
    with cpu_threads(check_int("threads", config["threads"], 0) or None):
        return _run_lm(config, ctx)


def _run_lm(config: dict, ctx: RunContext) -> ExperimentResult:
    generations = check_int("generations", config["generations"], 0)
    kept = check_fraction("kept_real_fraction", config["kept_real_fraction"])
    replicates = check_int("replicates", config["replicates"], 1)
    n_blocks = check_int("n_real", config["n_real"], 1)
    block_len = check_int("block_len", config["block_len"], 4)
    prompt_len = check_int("prompt_len", config["prompt_len"], 1, block_len - 1)
    test_blocks = check_int("test_blocks", config["test_blocks"], 1)
    n_sample_texts = check_int("n_sample_texts", config["n_sample_texts"], 0)
    check_float("temperature", config["temperature"], 0.0)
    decoding = Decoding(temperature=float(config["temperature"]), top_k=int(config["top_k"]),
                        beams=int(config["beams"]), repetition_penalty=float(config["repetition_penalty"]))
    seed = check_int("seed", config["seed"], 0)
    curate = config["curate"]
    if curate not in CURATIONS:
        raise ValueError(f"curate must be one of {CURATIONS}, got {curate!r}")
    keep_fraction = check_float("keep_fraction", config["keep_fraction"], 0.0, 1.0, open_minimum=True)
    curating = curate != "none"
    if curating and kept > 0:
        raise ValueError("curate applies to fully synthetic or growing training sets: use kept_real_fraction=0 "
                         f"with curate={curate!r}")
    # candidates written per generation; the filter keeps n_blocks of them
    n_candidates = candidates_for(n_blocks, keep_fraction) if curating else n_blocks
    is_transformer = config["model"] == "transformer"
    # Transformers run on the accelerator when there is one; counts are cheap on the CPU.
    device = ctx.device if (is_transformer and ctx.device.type == "cuda") else torch.device("cpu")

    tokenizer = ByteTokenizer()
    corpus = load_corpus(config["corpus"], config["corpus_path"] or None)
    train_blocks = text_to_blocks(tokenizer.encode(corpus.train), block_len)
    valid_all = text_to_blocks(tokenizer.encode(corpus.valid), block_len)
    test_all = text_to_blocks(tokenizer.encode(corpus.test), block_len)
    test = test_all[:test_blocks]
    if n_blocks > train_blocks.shape[0]:
        raise ValueError(f"n_real ({n_blocks}) exceeds the {train_blocks.shape[0]} training blocks of the corpus")
    corpus_key = hashlib.sha256(corpus.train.encode()).hexdigest()[:16]

    summary_extra: dict = {}
    base_history = None
    if is_transformer:
        model_cfg = TransformerConfig(vocab_size=tokenizer.vocab_size, context=block_len,
                                      d_model=int(config["d_model"]), n_layers=int(config["n_layers"]),
                                      n_heads=int(config["n_heads"]))
        base_cfg = TrainConfig(steps=int(config["base_steps"]), batch_size=int(config["batch_size"]),
                               lr=float(config["lr"]), warmup=max(int(config["base_steps"]) // 20, 1),
                               eval_every=max(int(config["base_steps"]) // 10, 1),
                               checkpoint_every=max(int(config["base_steps"]) // 10, 1))
        base, base_history = pretrained_base(cache_root(), model_cfg, base_cfg, train_blocks, corpus_key, seed=seed,
                                             device=device, valid_blocks=valid_all, threads=config["threads"],
                                             progress=ctx.progress)
        finetune_cfg = TrainConfig(steps=int(config["finetune_steps"]), batch_size=int(config["batch_size"]),
                                   lr=float(config["finetune_lr"]), warmup=max(int(config["finetune_steps"]) // 10, 1))
        family = TransformerFamily(base, finetune_cfg, decoding, prompt_len, seed=seed, threads=config["threads"],
                                   prompt_mode=config["prompt_mode"])
        summary_extra["base_test_perplexity"] = perplexity(base, test.to(device))
        reference = shared_reference(lambda b: token_log_probs(base, b[0]).double()[None])
        summary_extra["n_parameters"] = base.n_parameters()
    else:
        family = NGramFamily(order=int(config["order"]), vocab_size=tokenizer.vocab_size,
                             smoothing=config["smoothing"], decoding=decoding, prompt_len=prompt_len,
                             prompt_mode=config["prompt_mode"])
        # the verifier knows real text: an n-gram of the same kind fitted on ALL the training text, once
        reference = shared_reference(NGramModel(**family.kwargs).fit(train_blocks[None].to(device)).token_log_probs)
    hook = ContinuationFilter(curate, n_blocks, prompt_len, reference) if curating else None

    pool = PoolSource(train_blocks.to(device), replicates, generator=torch.Generator().manual_seed(seed))
    test_r = test.to(device)[None].expand(replicates, -1, -1)
    sample_prompts = test_all[-max(n_sample_texts, 1):, :prompt_len].to(device)  # fixed held-out prompts

    def observe(model, data, t, generator):
        lp = model.token_log_probs(test_r)
        metrics = {"test_perplexity": torch.exp(-lp.double().mean(dim=(1, 2)))}
        # the training data and which blocks the curation filter kept, for the text metrics below
        artefacts = {"data": data.detach().cpu(), "kept": model.kept}
        if t == 0:
            artefacts["model"] = model  # generation 0 scores every generation's text
        if n_sample_texts:
            # The same held-out prompts continued by every generation (replicate 0), for reading side by side.
            prompts = sample_prompts[None].expand(model_replicates(model), -1, -1)
            out = model._continue(prompts, block_len - prompt_len, model.decoding, generator)
            artefacts["texts"] = [tokenizer.decode(row[prompt_len:]) for row in out[0][:n_sample_texts].cpu()]
        return Observation(metrics=metrics, artefacts=artefacts)

    n_kept = int(round(kept * n_blocks)) if config["workflow"] == "replace" else 0
    result = run_loop(family, pool, generations=generations, n_real=n_blocks, n_synthetic=n_candidates,
                      workflow=config["workflow"], kept_real_fraction=kept, seed=seed, observe=observe, curate=hook,
                      checkpoint_dir=ctx.checkpoint_dir, config=dict(config), progress=ctx.progress,
                      desc=f"lm ({config['model']})")

    # ---- text of each generation: the newest synthetic blocks (all real blocks at generation 0)
    gen0_model = result.artefacts[0]["model"]
    rows = []
    vocabulary = set(word_counts([corpus.train]))
    per_gen: dict[str, list] = {k: [] for k in ("distinct_1", "distinct_2", "distinct_3", "word_survival", "real_word_share",
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
        ppl = sequence_perplexity(lp, start=prompt_len - 1).cpu().numpy()  # continuation tokens only
        seq_ppl[g] = ppl.reshape(-1)
        texts = [[tokenizer.decode(row[prompt_len:]) for row in new[r].cpu()] for r in range(replicates)]
        d = {n: np.array([distinct_n(texts[r], n) for r in range(replicates)]) for n in (1, 2, 3)}
        counts = [word_counts(texts[r]) for r in range(replicates)]
        if g == 0:
            initial_counts = counts
        surv = [survival_by_frequency(initial_counts[r], counts[r], SURVIVAL_BINS) for r in range(replicates)]
        survival[g] = np.nanmean(np.stack([s["survival"] for s in surv]), axis=0)
        bins_words = surv[0]["words"]
        present = np.array([np.mean([w in counts[r] for w in initial_counts[r]]) for r in range(replicates)])
        # share of word tokens that are words of the human corpus (byte models also invent words)
        real_share = np.array([sum(k for w, k in counts[r].items() if w in vocabulary) / max(sum(counts[r].values()), 1)
                               for r in range(replicates)])
        for r in range(replicates):
            rows += [(g, r, f"distinct_{n}", float(d[n][r])) for n in (1, 2, 3)]
            rows.append((g, r, "word_survival", float(present[r])))
            rows.append((g, r, "real_word_share", float(real_share[r])))
            rows.append((g, r, "seq_ppl_median", float(np.median(ppl[r]))))
        for n in (1, 2, 3):
            per_gen[f"distinct_{n}"].append(float(d[n].mean()))
        per_gen["word_survival"].append(float(present.mean()))
        per_gen["real_word_share"].append(float(real_share.mean()))
        per_gen["seq_ppl_median"].append(float(np.median(seq_ppl[g])))
        per_gen["seq_ppl_q05"].append(float(np.quantile(seq_ppl[g], 0.05)))
        per_gen["seq_ppl_q95"].append(float(np.quantile(seq_ppl[g], 0.95)))
        per_gen["seq_ppl_mean"].append(float(np.mean(seq_ppl[g])))
    table = pd.concat([result.table, pd.DataFrame(rows, columns=["generation", "replicate", "metric", "value"])],
                      ignore_index=True)
    test_ppl = result.table[result.table.metric == "test_perplexity"].groupby("generation")["value"]
    sample_texts = [result.artefacts[g].get("texts", []) for g in range(generations + 1)]
    summary = {
        "model": config["model"],
        "workflow": config["workflow"],
        "curate": curate,
        "keep_fraction": keep_fraction if curating else 1.0,
        "n_candidates": n_candidates,
        "generations": generations,
        "test_perplexity": test_ppl.mean().tolist(),
        "test_perplexity_sd": test_ppl.std(ddof=0).tolist(),
        **per_gen,
        "resumed_from": result.resumed_from,
        **summary_extra,
    }
    extras = {
        "sample_prompts": [tokenizer.decode(p) for p in sample_prompts[:n_sample_texts].cpu()],
        "sample_texts": sample_texts,
        "seq_ppl": seq_ppl,
        "survival": survival,
        "survival_bins": np.array(SURVIVAL_BINS),
        "survival_words": bins_words,
        "base_history": base_history,
    }
    return ExperimentResult(summary=summary, table=table, extras=extras)


def model_replicates(model) -> int:
    """Number of replicate models a fitted LM holds."""
    return len(model.models) if hasattr(model, "models") else model.ngram.replicates
