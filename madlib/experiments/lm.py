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

Curation (chapter 6): with ``curate='learned-verifier'`` or ``'self-likelihood'`` each generation writes
``n_real / keep_fraction`` candidate blocks and the loop's ``curate`` hook keeps the ``n_real``
with the highest per-character log-likelihood -- under a model of the real training text (the
verifier: the n-gram fitted on all of it, or the pre-trained transformer base) or under the
generator itself (cherry-picking by its own taste).
"""
from __future__ import annotations

import re


import numpy as np
import torch

from ..core.cache import file_digest
from ..core.config import scaled
from ..core.params import KEPT_REAL_FRACTION, SEED, integer, number, ref, text
from ..core.select import n_candidates as candidates_for
from ..core.workflows import WORKFLOWS, workflow_from_config
from ..data.text import CORPORA, corpus_files, load_corpus
from ..models.decoding import Decoding
from ..models.lm import PROMPT_MODES, shipped_bases
from ..models.ngram import SMOOTHINGS
from ..remedies.text import CURATIONS, ContinuationFilter
from ..simulations.lm import (DIVERSITY_PER_BLOCK, HILL_ORDERS, SURVIVAL_BINS, TOKENIZERS, ngram_family,
                              prepare_task, simulate_lm, transformer_family)
from . import ExperimentResult, RunContext, experiment

DIVERSITY_METRICS = ("distinct_1_fixed", "distinct_2_fixed", *(f"hill_{q}" for q in HILL_ORDERS))

# The transformer chains of the chapter: one replicate (a fine-tuned model per replicate is the
# expensive part), fewer generations than the n-gram sweeps.
TRANSFORMER = {"model": "transformer", "replicates": scaled(smoke=1, default=1, full=3),
               "n_real": scaled(smoke=48, default=256, full=2048),
               "generations": scaled(smoke=2, default=5, full=10)}
WORKFLOW_PRESETS = {"": {}, "-keep10": {"kept_real_fraction": 0.1}, "-accumulate": {"workflow": "accumulate"}}
DECODER_PRESETS = {"-t06": {"temperature": 0.6}, "-beam5": {"beams": 5},
                   "-beam5-penalty3": {"beams": 5, "repetition_penalty": 3.0}, "-previous": {"prompt_mode": "previous"}}
# chapter 6's scoreboard rows (with -keep10, -accumulate and the replace loop above): the 5-gram chains
REMEDY_PRESETS = {"-fresh": {"workflow": "fresh"}, "-verifier": {"curate": "learned-verifier"},
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
    # exactly the files load_corpus reads, each a regular file of bounded size, checked before it is hashed
    # (a cached download, or nothing yet: load_corpus will say how to supply it)
    files = corpus_files(name, config.get("corpus_path") or None)
    out = {"corpus": name, "files": {p.name: file_digest(p) for p in files if p.exists()}}
    if config.get("model") == "transformer":  # a retrained shipped base is another result
        out["shipped_bases"] = sorted(b.record["sha256"] for b in shipped_bases())
    return out


def _lm_memory(config: dict) -> float:
    """Bytes: the corpus and its blocks, the n-gram tables (their entries grow with the text), or the
    transformer with its optimiser state and a batch's activations; plus the interpreter and torch (400 MB)."""
    blocks = float(config["n_real"]) / (config["keep_fraction"] if config["curate"] != "none" else 1.0)
    text = 64 * 8 * config["replicates"] * (blocks + config["test_blocks"]) * config["block_len"]
    if config["model"] == "ngram":
        return 400e6 + text + 200 * 8 * config["replicates"] * blocks * config["block_len"] * config["order"]
    d, layers, batch = config["d_model"], config["n_layers"], max(config["base_batch_size"], config["batch_size"])
    context = config["prompt_len"] + config["block_len"]
    weights = 12 * d * d * layers * 4 * 4  # weights, gradients and Adam's two moments, float32
    activations = 20 * 4 * batch * context * d * layers + 4 * 4 * batch * context * context * config["n_heads"] * layers
    if config["dropout"] > 0:
        # dropout keeps a mask and a copy of what it drops from: measured at full (d_model 384, 6 layers, batch 64,
        # dropout 0.1, one CPU thread) a run peaked at 4.3 GiB where the activations above give 2.6 GiB in all
        activations *= 1.9
    return 400e6 + text + weights + activations


def _lm_cost(config: dict) -> dict[str, float]:
    """Work units. The n-gram: every character of every generation's training, generated and test text, times
    the order (and beams). The transformer: the multiply-adds of pre-training, fine-tuning (6 x weights x
    tokens each) and decoding (2 x weights per token, times beams)."""
    generations, R = config["generations"] + 1, float(config["replicates"])
    blocks = float(config["n_real"]) / (config["keep_fraction"] if config["curate"] != "none" else 1.0)
    if config["model"] == "ngram":
        chars = (blocks * 2 + config["test_blocks"] + config["eval_prompts"]) * config["block_len"]
        return {"ngram": R * generations * chars * config["order"] * config["beams"]}
    weights = 12.0 * config["d_model"] ** 2 * config["n_layers"]
    context = config["prompt_len"] + config["block_len"]
    training = 6 * weights * context * (config["base_steps"] * config["base_batch_size"]
                                        + R * generations * config["finetune_steps"] * config["batch_size"])
    decoding = 2 * weights * R * generations * (blocks + config["eval_prompts"]) * config["block_len"] * config["beams"]
    evaluation = 2 * weights * R * generations * config["test_blocks"] * context
    return {"transformer": training + decoding + evaluation}


@experiment(
    "lm",
    memory=_lm_memory,
    cost=_lm_cost,
    # two sizes each: the difference is the model's work, what is left the run's fixed cost (the corpus, the
    # reference n-gram, the text statistics)
    calibration={"ngram": [{"model": "ngram", "generations": 1, "n_real": 100},
                           {"model": "ngram", "generations": 3, "n_real": 300}],
                 "transformer": [{"model": "transformer", "generations": 1, "replicates": 1, "base_steps": 30,
                                  "base_batch_size": 8, "finetune_steps": 5, "d_model": 128, "n_layers": 2,
                                  "base_threads": 1},
                                 {"model": "transformer", "generations": 1, "replicates": 1, "base_steps": 150,
                                  "base_batch_size": 8, "finetune_steps": 25, "d_model": 128, "n_layers": 2,
                                  "base_threads": 1}]},
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
    params={
        "generations": integer(0, 1000), "kept_real_fraction": KEPT_REAL_FRACTION,
        "temperature": number(0, 100, doc="0: greedy"), "top_k": integer(0, 10**6, doc="0: every token"),
        "beams": integer(1, 64), "repetition_penalty": number(1, 100), "seed": SEED, "replicates": integer(1, 1000),
        "n_real": integer(1, 10**7, doc="real training blocks (at most the corpus's)"), "block_len": integer(4, 4096),
        "prompt_len": integer(1, ref("block_len")),
        "corpus_path": text(1024, applies_when={"corpus": ("file", "wikitext2", "tinyshakespeare")},
                            doc="a local text file or folder of the corpus"),
        "test_blocks": integer(1, 10**5, doc="held-out blocks (at most the corpus's)"),
        "eval_prompts": integer(1, 10_000), "sample_len": integer(1, 8191, doc="at most prompt_len + block_len - 1"),
        "n_sample_texts": integer(0, ref("eval_prompts")), "order": integer(1, 8),
        # the transformer's
        "d_model": integer(8, 4096, applies_when={"model": ("transformer",)}), "n_layers": integer(1, 64, applies_when={"model": ("transformer",)}),
        "n_heads": integer(1, 64, applies_when={"model": ("transformer",)}),
        "dropout": number(0, 1, open_maximum=True, applies_when={"model": ("transformer",)}),
        "base_steps": integer(1, 10**7, applies_when={"model": ("transformer",)}),
        "base_batch_size": integer(1, 65_536, applies_when={"model": ("transformer",)}),
        "lr": number(0, 10, open_minimum=True, applies_when={"model": ("transformer",)}),
        "weight_decay": number(0, 100, applies_when={"model": ("transformer",)}),
        "finetune_steps": integer(1, 10**7, applies_when={"model": ("transformer",)}),
        "batch_size": integer(1, 65_536, applies_when={"model": ("transformer",)}),
        "finetune_lr": number(0, 10, open_minimum=True, applies_when={"model": ("transformer",)}),
        "threads": integer(0, 1024, doc="0: torch's own setting"),
        "base_threads": integer(0, 1024, applies_when={"model": ("transformer",)}),
        "keep_fraction": number(0, 1, open_minimum=True,
                                applies_when={"curate": tuple(c for c in CURATIONS if c != "none")}),
    },
    presets=PRESETS,
    inputs=corpus_inputs,
    # the run's thread policy: the chains' small tensors are as fast on one thread and far faster on a busy
    # machine; pre-training sets its own (base_threads)
    threads=lambda config: config["threads"] or None,
    version=3,  # 3: Shakespeare characters, continuations only, prompts from the original or previous blocks
)
def run_lm(config: dict, ctx: RunContext) -> ExperimentResult:
    """A small LM (transformer or n-gram) trained generation after generation on its own continuations."""
    workflow, curate = workflow_from_config(config), config["curate"]
    if curate != "none" and workflow.options.get("kept_real_fraction", 0) > 0:
        raise ValueError("curate applies to fully synthetic or growing training sets: use kept_real_fraction=0 "
                         f"with curate={curate!r}")
    if config["prompt_len"] > config["block_len"]:
        raise ValueError(f"prompt_len must be <= block_len ({config['block_len']}), got {config['prompt_len']}")
    is_transformer = config["model"] == "transformer"
    device = ctx.device if (is_transformer and ctx.device.type == "cuda") else torch.device("cpu")
    task = prepare_task(load_corpus(config["corpus"], config["corpus_path"] or None), config["tokenizer"],
                        block_len=config["block_len"], prompt_len=config["prompt_len"],
                        test_blocks=config["test_blocks"], eval_prompts=config["eval_prompts"],
                        sample_len=config["sample_len"], order=config["order"], smoothing=config["smoothing"])
    if config["n_real"] > task.train_blocks.shape[0]:
        raise ValueError(f"n_real ({config['n_real']}) exceeds the {task.train_blocks.shape[0]} training blocks "
                         "of the corpus")
    decoding = Decoding(temperature=float(config["temperature"]), top_k=config["top_k"], beams=config["beams"],
                        repetition_penalty=float(config["repetition_penalty"]))
    if is_transformer:
        family, reference, extra = transformer_family(task, config, decoding=decoding, seed=config["seed"],
                                                      device=device, progress=ctx.progress)
    else:
        family, reference, extra = ngram_family(task, order=config["order"], smoothing=config["smoothing"],
                                                decoding=decoding, prompt_len=config["prompt_len"],
                                                prompt_mode=config["prompt_mode"])
    n_drawn = config["n_real"] if curate == "none" else candidates_for(config["n_real"], config["keep_fraction"])
    # the items are continuations: the filter judges every token after the first
    hook = ContinuationFilter(curate, config["n_real"], 1, reference) if curate != "none" else None
    result = simulate_lm(family, task, replicates=config["replicates"], generations=config["generations"],
                         n_real=config["n_real"], n_synthetic=n_drawn, workflow=workflow, curate=hook,
                         n_sample_texts=min(config["n_sample_texts"], config["eval_prompts"]), seed=config["seed"],
                         device=device, checkpoint=ctx.loop_checkpoint(config),
                         progress=ctx.progress_for(f"lm ({config['model']})"))
    summary = lm_summary(result, task, config, n_drawn, extra)
    extras = {"sample_prompts": summary["sample_prompts"], "sample_texts": summary["samples"],
              "excerpt": task.corpus.train[2000:2400],
              "seq_ppl": result.artefact("seq_ppl"), "survival": result.stacked("survival"),
              "survival_bins": np.array(SURVIVAL_BINS),
              "real_survival": np.asarray(result.artefacts[0].get("real_next_survival",
                                                                  np.full(len(SURVIVAL_BINS), np.nan))),
              "survival_words": result.artefacts[0]["survival_words"],
              "base_history": extra.pop("base_history", None), "vocabulary_size": len(task.vocabulary)}
    return ExperimentResult(summary={**summary, **extra}, table=result.table, extras=extras)


def _faces(seq_ppl: dict) -> dict:
    """Per generation, the shares of sequence perplexities below generation 0's 1st percentile and above its 99th."""
    if 0 not in seq_ppl:
        return {}
    low, high = np.quantile(seq_ppl[0], [0.01, 0.99])
    return {"seq_ppl_below_real": [float(np.mean(v < low)) for v in seq_ppl.values()],
            "seq_ppl_above_real": [float(np.mean(v > high)) for v in seq_ppl.values()]}


def lm_summary(result, task, config: dict, n_drawn: int, extra: dict) -> dict:
    """Per-generation lists (mean over replicates) of the chain's measures, the samples and the reference bar."""
    per_generation = result.table.groupby(["metric", "generation"])["value"]
    mean, sd = per_generation.mean(), per_generation.std(ddof=0).fillna(0.0)
    seq_ppl = result.artefact("seq_ppl")
    gen0 = result.artefacts.get(0, {})
    curating = config["curate"] != "none"
    return {
        "model": config["model"], "workflow": config["workflow"], "prompt_mode": config["prompt_mode"],
        "curate": config["curate"], "keep_fraction": config["keep_fraction"] if curating else 1.0,
        "n_candidates": n_drawn, "generations": config["generations"],
        **{m: mean[m].tolist() for m in ("test_loss_nats", "test_perplexity", "real_word_rate", "distinct_1",
                                         "distinct_2", "distinct_3", "word_survival", *DIVERSITY_METRICS)},
        # the real-text yardsticks: the true continuations of the held-out prompts (real-word rate) and of
        # generation 0's blocks (word survival, diversity at the same fixed size)
        "real_word_rate_real_text": task.real_text_word_rate,
        "word_survival_real_text": float(gen0.get("real_next_word_survival", float("nan"))),
        **{f"{k}_real_text": float(v) for k, v in gen0.get("real_next_diversity", {}).items()},
        "diversity_size": DIVERSITY_PER_BLOCK * config["n_real"],
        "sample_prompt_len": task.sample_prompt_len, "sample_len": task.sample_len,
        "eval_prompts": int(task.eval_prompts.shape[0]),
        "test_perplexity_sd": sd["test_perplexity"].tolist(),
        "seq_ppl_median": [float(np.median(v)) for v in seq_ppl.values()],
        "seq_ppl_q05": [float(np.quantile(v, 0.05)) for v in seq_ppl.values()],
        "seq_ppl_q95": [float(np.quantile(v, 0.95)) for v in seq_ppl.values()],
        "seq_ppl_mean": [float(np.mean(v)) for v in seq_ppl.values()],
        # the two faces of the study's histogram: the share of each generation's text that the generation-0 model
        # finds more probable than all but 1% of its own (real) training blocks, and less probable than all but 1%
        **_faces(seq_ppl),
        "sample_prompts": task.eval_prompt_texts[:config["n_sample_texts"]],
        "samples": list(result.artefact("texts").values()),
        "resumed_from": result.resumed_from,
        "reference_test_loss_nats": float(-task.reference_ngram.token_log_probs(task.test[None]).double().mean()),
        "vocab_size": task.tokenizer.vocab_size,
        # the corpus the run read: its size, and characters per word of the held-out play (per-word perplexity)
        "train_chars": len(task.corpus.train), "test_chars": len(task.corpus.test),
        "test_chars_per_word": len(task.corpus.test) / max(1, len(re.findall(r"\w+", task.corpus.test))),
    }
