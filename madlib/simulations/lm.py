"""Chapter 5's chain: a small language model trained on its own text, generation after generation.

* :func:`prepare_task` reads the corpus once: tokenizer, training blocks, held-out test blocks, fixed
  held-out prompts, the vocabulary of the training plays, and the n-gram of the same order fitted on
  all the training text (the reference bar and the text verifier).
* :func:`ngram_family` and :func:`transformer_family` make the family the loop refits (the
  transformer fine-tunes one cached pre-trained base every generation, as the study fine-tuned OPT-125m).
* :class:`TextObserver` measures each generation *as it happens*: held-out loss and perplexity, the
  real-word rate of continuations of the fixed prompts, and the statistics of the text the generation
  was trained on (distinct-n, word survival by initial frequency, per-sequence perplexity under the
  generation-0 model). The new blocks come from :class:`NewBlocks`, the curate hook that sees them
  before the workflow mixes them with anything else, so nothing is re-sliced afterwards.
* :func:`simulate_lm` runs the loop with them.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..core.loop import LoopCheckpoint, LoopResult, Observation, run_loop
from ..core.pace import Progress
from ..core.seeding import generator as make_generator
from ..core.sources import PoolSource
from ..core.workflows import WorkflowChoice
from ..data.text import Corpus, text_to_blocks
from ..metrics.text import (continuation_words, distinct_n, distinct_n_at, hill_number, real_word_rate,
                            sequence_perplexity, survival_by_frequency, word_counts, words)
from ..models.decoding import Decoding
from ..models.lm import NGramFamily, TransformerFamily
from ..models.ngram import NGramModel
from ..models.transformer import TrainConfig, token_log_probs
from ..remedies.text import shared_reference
from .lm_base import base_for, make_tokenizer

SURVIVAL_BINS = (1, 2, 3, 5, 9, 17, 33)
TOKENIZERS = ("char", "byte")
# Diversity at a fixed sample size: distinct-n and the Hill numbers grow with the number of words they see, and
# a generation that writes longer (invented) words writes fewer of them. So every generation is measured on the
# same number of words (and of word pairs): this many per training block, far below the 11-12 words of a real
# 64-character block, so that even text of long invented words reaches it.
DIVERSITY_PER_BLOCK = 4
HILL_ORDERS = (0, 1, 2)


def diversity_at(texts: list[str], size: int) -> dict[str, float]:
    """The chain's diversity panel of ``texts`` at a fixed sample ``size``: distinct-1 and distinct-2 over the first
    ``size`` words (word pairs), and the Hill numbers of orders 0, 1 and 2 (the effective vocabulary) of the first
    ``size`` words. NaN where the texts hold fewer."""
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    first: list[str] = []
    for text in texts:
        first.extend(words(text))
        if len(first) >= size:
            break
    counts = Counter(first[:size]) if len(first) >= size else Counter()
    return {"distinct_1_fixed": distinct_n_at(texts, 1, size), "distinct_2_fixed": distinct_n_at(texts, 2, size),
            **{f"hill_{q}": hill_number(counts, q) for q in HILL_ORDERS}}


def real_continuations(task: "TextTask", first_blocks: torch.Tensor) -> torch.Tensor:
    """The true continuation of each real block (the next block of the corpus): what a perfect model of the
    training plays would write from the paper's prompts (``prompt_len <= block_len``: the prompt ends where its
    block ends). ``first_blocks`` are indices into ``task.train_blocks``; the last block continues itself."""
    last = task.train_blocks.shape[0] - 1
    return task.train_blocks[(first_blocks.cpu() + 1).clamp(max=last)]


def speaker_prompts(text: str, prompt_len: int, count: int) -> list[int]:
    """End positions of ``count`` prompts, evenly spread over ``text``, each ending just after a
    speaker's name on its own line (``MACBETH.``): the model then writes that speaker's line."""
    ends = [m.end() for m in re.finditer(r"\n[A-Z][A-Z' ]+\.\n", text) if m.end() >= prompt_len]
    if len(ends) < count:  # a corpus without speaker lines: evenly spaced windows
        return [int(e) for e in np.linspace(prompt_len, len(text) - 1, count).round()]
    return [ends[int(i)] for i in np.linspace(0, len(ends) - 1, count).round()]


def _evenly(blocks: torch.Tensor, count: int) -> torch.Tensor:
    """``count`` blocks evenly spread over ``blocks`` (all of them when there are fewer)."""
    return blocks[np.linspace(0, blocks.shape[0] - 1, min(count, blocks.shape[0])).round().astype(int)]


@dataclass
class TextTask:
    """Everything a chain reads from the corpus, prepared once (see :func:`prepare_task`)."""

    corpus: Corpus
    tokenizer: Any
    train_ids: torch.Tensor  # the training plays as one token stream
    train_blocks: torch.Tensor  # (N, block_len)
    test: torch.Tensor  # (m, prompt_len + block_len + 1): held-out blocks filling the model's context
    eval_prompts: torch.Tensor  # (n_eval, sample_prompt_len): fixed held-out prompts
    eval_prompt_texts: list[str]
    sample_len: int
    vocabulary: set[str]  # the words of the training plays
    reference_ngram: NGramModel  # the same n-gram fitted on ALL the training text
    real_text_word_rate: float = float("nan")  # the real-word rate of the prompts' true continuations: the ceiling

    @property
    def sample_prompt_len(self) -> int:
        return self.eval_prompts.shape[1]


def prepare_task(corpus: Corpus, tokenizer: str = "char", *, block_len: int = 64, prompt_len: int = 64,
                 test_blocks: int = 200, eval_prompts: int = 32, sample_len: int = 96, order: int = 5,
                 smoothing: str = "kneser_ney") -> TextTask:
    """Tokenize ``corpus`` and cut it as the chain needs (the module docstring says what for)."""
    if not 1 <= sample_len <= prompt_len + block_len - 1:
        raise ValueError(f"sample_len must be in [1, {prompt_len + block_len - 1}] (prompt_len + block_len - 1), "
                         f"got {sample_len}")
    tok = make_tokenizer(tokenizer, corpus)
    train_ids = tok.encode(corpus.train)
    # Held-out loss on blocks that fill the model's context (prompt + continuation), evenly spread over
    # the test play; the same blocks for every model and generation.
    test_all = text_to_blocks(tok.encode(corpus.test), prompt_len + block_len + 1)
    if test_blocks > test_all.shape[0]:  # refused, never clamped: the run would measure less than asked
        raise ValueError(f"test_blocks must be at most {test_all.shape[0]} (the held-out blocks of "
                         f"prompt_len + block_len + 1 = {prompt_len + block_len + 1} tokens in this corpus), "
                         f"got {test_blocks}")
    test = _evenly(test_all, test_blocks)
    # Fixed held-out prompts (the test play, just after a speaker's name): samples and the real-word rate.
    # Samples fill the model's context: prompt + sample = prompt_len + block_len.
    sample_prompt_len = prompt_len + block_len - sample_len
    ends = speaker_prompts(corpus.test, sample_prompt_len, eval_prompts)
    texts = [corpus.test[e - sample_prompt_len: e] for e in ends]
    reference = NGramModel(order=order, vocab_size=tok.vocab_size, smoothing=smoothing).fit(train_ids[None, None])
    vocabulary = set(word_counts([corpus.train]))
    # the ceiling of the real-word rate: the play's own continuations of the same prompts, counted the same way
    truth = [corpus.test[e - sample_prompt_len: e + sample_len] for e in ends]
    ceiling = real_word_rate([continuation_words(x, sample_prompt_len) for x in truth if len(x) > sample_prompt_len],
                             vocabulary)
    return TextTask(corpus, tok, train_ids, text_to_blocks(train_ids, block_len), test,
                    torch.stack([tok.encode(t) for t in texts]), texts, sample_len, vocabulary, reference, ceiling)


def ngram_family(task: TextTask, *, order: int, smoothing: str, decoding: Decoding, prompt_len: int,
                 prompt_mode: str) -> tuple[NGramFamily, Callable, dict]:
    """The n-gram family, the verifier's reference scorer (the n-gram of all training text) and summary extras."""
    family = NGramFamily(order=order, vocab_size=task.tokenizer.vocab_size, smoothing=smoothing, decoding=decoding,
                         prompt_len=prompt_len, prompt_mode=prompt_mode)
    return family, shared_reference(task.reference_ngram.token_log_probs), {}


def transformer_family(task: TextTask, config: Mapping[str, Any], *, decoding: Decoding, seed: int,
                       device: torch.device, progress: bool = False) -> tuple[TransformerFamily, Callable, dict]:
    """The transformer family: fine-tune the pre-trained base on each generation's blocks. The base is the
    one shipped with the package when the run's recipe matches its record exactly, else cached or
    pre-trained once (:func:`madlib.simulations.lm_base.base_for`). ``config`` holds the experiment's model,
    pre-training and fine-tuning keys (``finetune_steps``, ``batch_size``, ``finetune_lr``, ``prompt_len``,
    ``prompt_mode``, ``n_real`` and those of :data:`madlib.simulations.lm_base.BASE_KEYS`)."""
    based = base_for({**config, "seed": seed}, device=device, progress=progress, corpus=task.corpus,
                     tokenizer=task.tokenizer)
    base = based.model
    finetune = TrainConfig(steps=config["finetune_steps"], batch_size=config["batch_size"], lr=config["finetune_lr"],
                           warmup=max(config["finetune_steps"] // 10, 1), weight_decay=config["weight_decay"])
    family = TransformerFamily(base, finetune, decoding, config["prompt_len"], seed=seed,
                               prompt_mode=config["prompt_mode"])
    extras = {"base_test_loss_nats": float(-token_log_probs(base, task.test.to(device)).double().mean()),
              "n_parameters": base.n_parameters(), "base_history": based.history,
              "base_source": based.source, "base_seconds": based.seconds, "base_file_bytes": based.nbytes,
              "finetune_epochs": config["finetune_steps"] * config["batch_size"] / config["n_real"]}
    return family, shared_reference(lambda b: token_log_probs(base, b[0]).double()[None]), extras


class NewBlocks:
    """A curate hook that keeps each generation's new blocks (those an ``inner`` filter kept, if any) for the
    observer: the text a generation wrote, before a workflow mixes it with real or older blocks."""

    def __init__(self, inner: Callable | None = None):
        self.inner, self.blocks = inner, None

    def __call__(self, synthetic: torch.Tensor, generation: int, generator: torch.Generator, model):
        weights = None if self.inner is None else self.inner(synthetic, generation, generator, model)
        kept = synthetic if weights is None else synthetic[weights > 0].view(synthetic.shape[0], -1,
                                                                              synthetic.shape[-1])
        self.blocks = kept.detach()
        return weights


class TextObserver:
    """Measures a language-model chain at every generation (see the module docstring).

    Generation 0's model and word counts are kept as artefacts; :meth:`restore` takes them back from a
    checkpoint, so a resumed run measures its later generations against the same generation 0.
    """

    def __init__(self, task: TextTask, new_blocks: NewBlocks, *, replicates: int, n_sample_texts: int,
                 device: torch.device, real_next: torch.Tensor | None = None):
        self.task, self.new_blocks, self.replicates = task, new_blocks, replicates
        self.n_sample_texts, self.device, self.real_next = n_sample_texts, device, real_next
        self.gen0 = self.initial_counts = None

    def _real_baseline(self, counts: list[dict], size: int) -> dict[str, Any]:
        """Generation 0's real-text yardstick: the true continuations of its blocks (``real_next``), measured as
        every generation's text is: word survival by initial count, overall, and the diversity panel."""
        texts = [[self.task.tokenizer.decode(row) for row in self.real_next[r]] for r in range(self.replicates)]
        later = [word_counts(texts[r]) for r in range(self.replicates)]
        survival = [survival_by_frequency(counts[r], later[r], SURVIVAL_BINS)["survival"] for r in range(self.replicates)]
        panels = [diversity_at(texts[r], size) for r in range(self.replicates)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {"real_next_survival": np.nanmean(np.stack(survival), axis=0),
                    "real_next_word_survival": float(np.mean([np.mean([w in later[r] for w in counts[r]])
                                                              for r in range(self.replicates)])),
                    "real_next_diversity": {k: float(np.nanmean([p[k] for p in panels])) for k in panels[0]}}

    def restore(self, artefacts: Mapping[int, Mapping[str, Any]]) -> None:
        self.gen0, self.initial_counts = artefacts[0]["model"], [dict(c) for c in artefacts[0]["initial_counts"]]

    def __call__(self, model, data: torch.Tensor, t: int, generator: torch.Generator) -> Observation:
        task, R = self.task, self.replicates
        loss = -model.token_log_probs(task.test.to(self.device)[None].expand(R, -1, -1)).double().mean(dim=(1, 2))
        # the model writes from the same held-out prompts every generation
        out = model.continue_prompts(task.eval_prompts.to(self.device)[None].expand(R, -1, -1), task.sample_len,
                                     generator=generator)
        written = [[task.tokenizer.decode(row) for row in out[r].cpu()] for r in range(R)]
        rates = [real_word_rate([continuation_words(x, task.sample_prompt_len) for x in written[r]], task.vocabulary)
                 for r in range(R)]
        artefacts: dict[str, Any] = {"texts": [x[task.sample_prompt_len:] for x in written[0][:self.n_sample_texts]]}
        if t == 0:
            self.gen0 = model  # scores every generation's text
        new = data if t == 0 else self.new_blocks.blocks.to(data.device)
        ppl = sequence_perplexity(self.gen0.token_log_probs(new)).cpu().numpy()  # (R, n)
        texts = [[task.tokenizer.decode(row) for row in new[r].cpu()] for r in range(R)]
        counts = [dict(word_counts(texts[r])) for r in range(R)]
        size = DIVERSITY_PER_BLOCK * new.shape[1]
        if t == 0:
            self.initial_counts = counts
            artefacts.update(model=model, initial_counts=counts)
            if self.real_next is not None:
                artefacts.update(self._real_baseline(counts, size))
        panels = [diversity_at(texts[r], size) for r in range(R)]
        survival = [survival_by_frequency(self.initial_counts[r], counts[r], SURVIVAL_BINS) for r in range(R)]
        with warnings.catch_warnings():  # a count bin without words is NaN in every replicate
            warnings.simplefilter("ignore", RuntimeWarning)
            artefacts["survival"] = np.nanmean(np.stack([s["survival"] for s in survival]), axis=0)
        artefacts.update(survival_words=survival[0]["words"], seq_ppl=ppl.reshape(-1))
        metrics = {"test_loss_nats": loss, "test_perplexity": torch.exp(loss), "real_word_rate": rates,
                   **{f"distinct_{n}": [distinct_n(texts[r], n) for r in range(R)] for n in (1, 2, 3)},
                   "word_survival": [np.mean([w in counts[r] for w in self.initial_counts[r]]) for r in range(R)],
                   "seq_ppl_median": np.median(ppl, axis=1),
                   **{k: [p[k] for p in panels] for k in panels[0]}}
        return Observation(metrics=metrics, artefacts=artefacts)


def simulate_lm(family, task: TextTask, *, replicates: int, generations: int, n_real: int,
                n_synthetic: int | None = None, workflow: str | WorkflowChoice = "replace", curate=None,
                n_sample_texts: int = 4, seed: int = 0, device: torch.device | str = "cpu",
                checkpoint: LoopCheckpoint | None = None, progress: Progress | None = None) -> LoopResult:
    """The loop over ``replicates`` chains, each dealt ``n_real`` real training blocks from the corpus;
    ``n_synthetic`` (default ``n_real``) new blocks are written per generation (``curate`` keeps some)."""
    device = torch.device(device)
    new_blocks = NewBlocks(curate)
    pool = PoolSource(task.train_blocks.to(device), replicates, generator=make_generator(seed, "pool"))
    # generation 0 draws the first n_real blocks of each replicate's order: their true continuations are the
    # real-text yardstick of the word-survival and diversity measures
    real_next = real_continuations(task, pool.order[:, :n_real])
    observer = TextObserver(task, new_blocks, replicates=replicates, n_sample_texts=n_sample_texts, device=device,
                            real_next=real_next)
    return run_loop(family, pool, generations=generations, n_real=n_real, n_synthetic=n_synthetic, workflow=workflow,
                    seed=seed, observe=observer, curate=new_blocks, checkpoint=checkpoint,
                    progress=progress or Progress("lm"))
