"""Chapter 5's sentences that depend on a run, built from its numbers (re-exported by :mod:`madlib.plots.lm`).

Every comparative sentence of the chapter is made here from the results, so it says what the run shows at any
scale: the direction, the size and the exceptions. A run too small to compare workflows or decoders (fewer than
:data:`MIN_BLOCKS` real blocks or :data:`MIN_GENERATIONS` generations, the ``smoke`` scale) gets a sentence that
says so instead of a comparison. ``tests/test_lm_prose.py`` builds each from synthetic numbers that go each way.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

MIN_BLOCKS = 100  # real training blocks per chain below which a comparison is not told
MIN_GENERATIONS = 3
STUDY_RISE = (20 / 34, 28 / 34)  # "20 to 28 perplexity points" from about 34 (Shumailov et al. 2024)
STUDY_GENERATIONS = 9  # generations 1-9 after the first fine-tuning
NEAR = 0.005  # relative differences below this are "no change"


def run_size_guard(config: Mapping) -> str | None:
    """``None`` when a run is large enough to compare, else the clause that says why it is not."""
    n, g = int(config["n_real"]), int(config["generations"])
    if n >= MIN_BLOCKS and g >= MIN_GENERATIONS:
        return None
    return (f"this run ({n} real blocks, {g} generation{'s' if g != 1 else ''}) is too small to tell; "
            f"the default scale ({MIN_BLOCKS} blocks and {MIN_GENERATIONS} generations or more) compares them")


def percent(change: float, digits: int | None = None) -> str:
    """A signed relative change as a percentage: ``+26%``, ``−0.3%`` (a true minus), ``no change`` below 0.05%."""
    value = 100 * float(change)
    if not np.isfinite(value):
        return "n/a"
    if abs(value) < 0.05:
        return "no change"
    if digits is None:
        digits = 0 if abs(value) >= 9.5 else 1
    text = f"{abs(value):.{digits}f}%"
    return ("+" if value > 0 else "\u2212") + text


def rise(perplexities: Sequence[float], start: float | None = None) -> float:
    """Relative rise of the last perplexity over ``start`` (default: generation 0)."""
    ppl = np.asarray(perplexities, dtype=float)
    return float(ppl[-1] / (ppl[0] if start is None else start) - 1)


def per_generation(total_rise: float, generations: int) -> float:
    """The compounded rise per generation of a total rise over ``generations``."""
    if generations < 1:
        raise ValueError(f"generations must be >= 1, got {generations}")
    return float((1 + total_rise) ** (1 / generations) - 1)


def _seeds(replicates: int) -> str:
    return "one seed" if replicates == 1 else f"{replicates} seeds (mean)"


# ----------------------------------------------------------------------------- section 1: the two models

def baseline_sentence(base_loss: float, ngram_loss: float) -> str:
    """The pre-trained transformer against the 5-gram counted on all nine plays (losses in nats per character)."""
    if abs(base_loss - ngram_loss) < 0.01:
        return (f"The 5-gram counted on all nine plays reaches {ngram_loss:.2f}, the same as the transformer's base "
                f"({base_loss:.2f}): at this scale neither model of Macbeth is better")
    if ngram_loss < base_loss:
        return (f"The 5-gram counted on all nine plays reaches {ngram_loss:.2f}, lower than the transformer's base "
                f"({base_loss:.2f}): at this data and model size the count model is the better model of Macbeth")
    return (f"The 5-gram counted on all nine plays reaches {ngram_loss:.2f}, higher than the transformer's base "
            f"({base_loss:.2f}): at this size the transformer already beats the count model")


def finetune_sentence(base_ppl: float, gen0_ppl: float, n_real: int, epochs: float) -> str:
    """What fine-tuning on the real blocks did to the base (perplexities on the held-out play)."""
    change = gen0_ppl / base_ppl - 1
    where = f"fine-tuning the base on {n_real:,} real blocks (about {epochs:.0f} passes over them)"
    if abs(change) < NEAR:
        return (f"So {where} hardly moved it on Macbeth (perplexity {base_ppl:.2f} to {gen0_ppl:.2f}): generation 0 "
                f"starts where the base is")
    if change > 0:
        return (f"So {where} made it worse on Macbeth: perplexity {base_ppl:.2f} before, {gen0_ppl:.2f} after "
                f"({percent(change)}). A few hundred blocks, seen several times, pull the model towards those "
                f"blocks and away from the nine plays; in the study fine-tuning improved OPT-125m (perplexity "
                f"about 115 zero-shot, about 34 fine-tuned), so below we give every rise from generation 0 and "
                f"from the base")
    return (f"So {where} improved it on Macbeth: perplexity {base_ppl:.2f} before, {gen0_ppl:.2f} after "
            f"({percent(change)}), as fine-tuning improved OPT-125m in the study (about 115 zero-shot, about 34 "
            f"fine-tuned)")


# ----------------------------------------------------------------------------- section 2: reading the text

def real_words_sentence(rates: Sequence[float], ceiling: float, n_prompts: int, replicates: int = 1) -> str:
    """The share of real words per generation (replace) against the real text's own share (the ceiling)."""
    r = np.asarray(rates, dtype=float)
    last = len(r) - 1
    head = (f"{100 * r[0]:.0f}% of the whole words generation 0 writes from {n_prompts} such prompts occur in the "
            f"training plays, against {100 * ceiling:.0f}% for the play's own continuations of the same prompts "
            f"(the ceiling: Macbeth has names such as Macduff, Banquo and Dunsinane that the nine plays lack)")
    if last < 1:
        return head + "."
    steps = np.diff(r)
    shape = ("falling at every generation" if (steps < 0).all() else
             "rising at every generation" if (steps > 0).all() else
             "not at every step (" + ", ".join(f"{100 * v:.0f}" for v in r) + "%)")
    direction = "falls to" if r[-1] < r[0] else "rises to" if r[-1] > r[0] else "stays at"
    return (f"{head}. By generation {last} the share {direction} {100 * r[-1]:.0f}%, {shape}; "
            f"{_seeds(replicates)}.")


# ----------------------------------------------------------------------------- section 3: perplexity per generation

def workflow_sentence(ppl: Mapping[str, Sequence[float]], base_ppl: float | None, model: str,
                      guard: str | None = None) -> str:
    """Replace, keep 10% and accumulate (keys ``replace``, ``keep``, ``accumulate``): each rise from generation 0
    (and from the base), the share of the replace rise that keeping real data removed, and where the order of the
    curves differs from the last generation's."""
    g = len(ppl["replace"]) - 1
    rises = {k: rise(v) for k, v in ppl.items()}
    text = (f"the {model}'s perplexity changes by {percent(rises['replace'])} over {g} generations without real data, "
            f"{percent(rises['keep'])} with 10% kept and {percent(rises['accumulate'])} when everything is accumulated")
    if base_ppl is not None:
        from_base = {k: rise(v, base_ppl) for k, v in ppl.items()}
        text += (f" (from the pre-trained base: {percent(from_base['replace'])}, {percent(from_base['keep'])} and "
                 f"{percent(from_base['accumulate'])})")
    if guard:
        return text + f"; {guard}."
    if rises["replace"] > 0:
        removed = 1 - rises["keep"] / rises["replace"]
        text += (f". Keeping 10% real removed {100 * removed:.0f}% of the rise" if removed > 0 else
                 ". Keeping 10% real did not lower the rise at all")
    keep, rep = np.asarray(ppl["keep"], float), np.asarray(ppl["replace"], float)
    worse = [t for t in range(1, g + 1) if keep[t] >= rep[t] * (1 - NEAR)]
    if worse:
        gens = ", ".join(str(t) for t in worse)
        text += (f", yet at generation{'s' if len(worse) > 1 else ''} {gens} the keep-10% curve is not below "
                 f"replace (to within {100 * NEAR:.1f}%)")
    return text + "."


def study_comparison_sentence(transformer_rise: float, transformer_generations: int, beam_rise: float,
                              beam_generations: int, guard: str | None = None) -> str:
    """Our rises per generation against the study's +59% to +82% over nine generations (beam search); with a
    ``guard`` (a run too small to compare) the numbers without the verdict."""
    lo, hi = (per_generation(r, STUDY_GENERATIONS) for r in STUDY_RISE)
    ours = per_generation(transformer_rise, transformer_generations)
    beam = per_generation(beam_rise, beam_generations)
    if guard:
        return (f"Per generation that is {percent(ours, 1)} for our transformer (temperature 1) and "
                f"{percent(beam, 1)} for our 5-gram with 5 beams (the study's decoder), against the study's "
                f"{percent(lo, 1)} to {percent(hi, 1)}; {guard}")
    speed = ("slower than" if ours < lo else "faster than" if ours > hi else "within")
    beam_speed = ("slower than" if beam < lo else "faster than" if beam > hi else "within")
    return (f"Per generation that is {percent(ours, 1)} for our transformer (temperature 1), {speed} the study's "
            f"{percent(lo, 1)} to {percent(hi, 1)}. The study decoded with beam search; our 5-gram with 5 beams rises "
            f"{percent(beam_rise)} over {beam_generations} generations, {percent(beam, 1)} per generation, "
            f"{beam_speed} the study's range")


# ----------------------------------------------------------------------------- section 4: the two faces

def faces_sentence(faces: Mapping[str, tuple[float, float]], generation: int, threshold: float = 0.05) -> str:
    """``faces[label] = (below, above)``: the shares of generation ``generation``'s text that the generation-0
    model finds more probable than 99% of its real blocks (below their 1st percentile of perplexity) and less
    probable than 99% of them (above the 99th). A face is shown when its share exceeds ``threshold``."""
    parts, both = [], []
    for label, (below, above) in faces.items():
        shown = [name for name, share in (("sharpening", below), ("a tail of errors", above)) if share > threshold]
        parts.append(f"{label}: {100 * below:.0f}% of generation {generation}'s text lies left of the real blocks "
                     f"(below their 1st percentile) and {100 * above:.0f}% right of them (above their 99th)"
                     + (f", so it shows {' and '.join(shown)}" if shown else ", so it shows neither face"))
        if len(shown) == 2:
            both.append(label)
    verdict = (f"Only {', '.join(both)} shows both faces at once, as the study's beam-search run did" if both else
               "Each decoder shows one face at most; the study's beam-search run showed both at once, and ours does "
               "not reproduce that")
    return "; ".join(parts) + f". {verdict}."


# ----------------------------------------------------------------------------- section 5: rare words

def survival_sentence(model_survival: Sequence[float], real_survival: Sequence[float], bins: Sequence[int],
                      generation: int = 1, tolerance: float = 0.05) -> str:
    """Word survival by initial-count bin at ``generation`` against the true continuations of the same blocks."""
    m, r = np.asarray(model_survival, float), np.asarray(real_survival, float)
    low = list(bins)
    names = [(f"k = {lo}" if (i + 1 < len(low) and low[i + 1] == lo + 1) else
              f"k = {lo}-{low[i + 1] - 1}" if i + 1 < len(low) else f"k >= {lo}") for i, lo in enumerate(low)]
    ok = np.isfinite(m) & np.isfinite(r)
    below = [i for i in range(len(m)) if ok[i] and m[i] < r[i] - tolerance]
    above = [i for i in range(len(m)) if ok[i] and m[i] > r[i] + tolerance]
    listing = "; ".join(f"{names[i]}: {m[i]:.2f} against {r[i]:.2f}" for i in range(len(m)) if ok[i] and r[i] < 0.995)
    text = (f"Real text loses rare words too: the true continuations of the same blocks keep only "
            f"{100 * r[0]:.0f}% of the words seen once. At generation {generation} the 5-gram's text against real text, by count in generation-0 text: {listing}")
    if not below and not above:
        return text + f". Within {tolerance:.2f} in every bin: so far the model loses words as real text does."
    out = []
    if below:
        out.append(f"it loses more than real text in {', '.join(names[i] for i in below)}")
    if above:
        out.append(f"it keeps more than real text in {', '.join(names[i] for i in above)}")
    rest = len([i for i in range(len(m)) if ok[i]]) - len(below) - len(above)
    tail = f", and is within {tolerance:.2f} of it in the other {rest} bin{'s' if rest != 1 else ''}" if rest else ""
    return text + ". So " + " and ".join(out) + tail + "."


def vocabulary_sentence(model_kept: float, real_kept: float, generation: int) -> str:
    """The share of generation 0's words still used at ``generation`` against a real continuation of the same size."""
    cmp = "fewer than" if model_kept < real_kept - 0.01 else "more than" if model_kept > real_kept + 0.01 else "as many as"
    return (f"By generation {generation} the 5-gram's training text uses {100 * model_kept:.0f}% of the words of the "
            f"real blocks, {cmp} the {100 * real_kept:.0f}% that the next stretch of real text of the same size uses")


# ----------------------------------------------------------------------------- diversity (issue 28)

def diversity_sentence(hill: Mapping[int, Sequence[float]], real: Mapping[int, float], distinct_2: Sequence[float],
                       distinct_2_real: float, model: str, size: int, guard: str | None = None) -> str:
    """The effective vocabulary (Hill numbers of orders 0, 1, 2) and distinct-2 at a fixed size: first and last
    generation against real text, and which order moved most."""
    g = len(distinct_2) - 1
    ratios = {q: float(np.asarray(v, float)[-1] / real[q]) for q, v in hill.items()}
    parts = ", ".join(f"order {q}: {np.asarray(v, float)[-1]:.0f} ({100 * ratios[q]:.0f}% of real text's "
                      f"{real[q]:.0f})" for q, v in hill.items())
    text = (f"On {size:,} words per generation, the {model}'s text at generation {g} has an effective vocabulary of "
            f"{parts}; distinct-2 is {distinct_2[-1]:.2f} against real text's {distinct_2_real:.2f}")
    if guard:
        return text + f"; {guard}."
    fell = [q for q in hill if ratios[q] < 0.95]
    rose = [q for q in hill if ratios[q] > 1.05]
    if not fell and not rose:
        return text + ". Within 5% of real text at every order: no loss of diversity is visible on this measure."
    low = min(ratios, key=ratios.get)
    if fell:
        verdict = (f". The vocabulary narrowed, most at order {low} (the "
                   + ("rare words" if low == 0 else "common words" if low == 2 else "typical words") + ")")
    else:
        verdict = ". Every order grew: the text uses more distinct words than real text, invented ones included"
    if fell and rose:
        verdict += f", while order{'s' if len(rose) > 1 else ''} {' and '.join(map(str, rose))} grew"
    return text + verdict + "."


# ----------------------------------------------------------------------------- section 6: decoders

def same_opening(texts: Sequence[str]) -> str | None:
    """The first line shared by every text (stripped), or None when they differ or there is one text."""
    firsts = {t.strip().split("\n")[0].strip() for t in texts}
    return firsts.pop() if len(texts) > 1 and len(firsts) == 1 and "" not in firsts else None


def beam_sentence(beam_texts: Sequence[str], penalty_texts: Sequence[str], rates: Mapping[str, float]) -> str:
    """The generation-0 model's beam-search continuations: real-word shares and whether they ignore the prompt."""
    text = (f"Beam search writes the highest-scoring of its 5 beams ({100 * rates['beam']:.0f}% real words, against "
            f"{100 * rates['sampling']:.0f}% for sampling; {100 * rates['penalty']:.0f}% with the penalty)")
    openings = {label: same_opening(texts) for label, texts in
                (("beam search", beam_texts), ("beam search with the penalty", penalty_texts))}
    if not any(openings.values()):
        return text + "; with and without the penalty it opens the prompts shown with different lines"
    for label, shared in openings.items():
        text += (f"; {label} opens every prompt shown with the same line, \u201c{shared}\u201d, whatever the prompt"
                 if shared else f"; {label} opens the prompts shown with different lines")
    return text


def decoder_sentence(seq_ppl_first: Mapping[str, float], real_ppl: float, distinct_2_last: Mapping[str, float],
                     test_ppl_last: Mapping[str, float], guard: str | None = None) -> str:
    """Order the decoders by how probable their first synthetic text is to generation 0, by diversity and by the
    last generation's fit to real text, and say whether the three orders agree."""
    by_prob = sorted(seq_ppl_first, key=seq_ppl_first.get)
    listing = ", ".join(f"{k} {seq_ppl_first[k]:.2f}" for k in by_prob)
    below = [k for k in by_prob if seq_ppl_first[k] < real_ppl]
    text = (f"From most to least mode-seeking, the median perplexity of the first synthetic text under the "
            f"generation-0 model: {listing}, against {real_ppl:.2f} for the real blocks it was fitted to (in-sample)")
    text += (f"; {' and '.join(below)} write{'s' if len(below) == 1 else ''} text more probable to it than real text"
             if below else "; no decoder writes text more probable to it than real text")
    if guard:
        return text + f". Whether narrower text fits real text worse: {guard}."
    by_div = sorted(distinct_2_last, key=distinct_2_last.get)
    by_fit = sorted(test_ppl_last, key=test_ppl_last.get, reverse=True)
    text += (". Last distinct-2: " + ", ".join(f"{k} {distinct_2_last[k]:.2f}" for k in by_div)
             + "; last perplexity on Macbeth: " + ", ".join(f"{k} {test_ppl_last[k]:.1f}" for k in by_fit))
    if by_prob == by_div == by_fit:
        return text + (". The three orders agree: the more mode-seeking the decoder, the narrower the text and the "
                       "worse its successors fit real text.")
    return text + (". The orders differ, so mode-seeking alone does not rank the decoders here: "
                   "read each panel on its own.")


# ----------------------------------------------------------------------------- exercises and summary

def prompts_sentence(original: Sequence[float], previous: Sequence[float], close: float = 0.05) -> str:
    """The 5-gram's test perplexity with the paper's prompts against the code's: how close the curves stay."""
    a, b = np.asarray(original, float), np.asarray(previous, float)
    gap = np.abs(a - b) / np.minimum(a, b)
    g = int(np.argmax(gap))
    where = (f"largest gap {abs(a[g] - b[g]):.2f} at generation {g}; last generation {a[-1]:.2f} with the paper's "
             f"prompts, {b[-1]:.2f} with the code's")
    if gap.max() < close:
        return f"The two curves stay close ({where})"
    faster = "the code's" if b[-1] > a[-1] else "the paper's"
    return f"The two curves part ({where}): {faster} prompts drift faster"


def summary_sentence(rises: Mapping[str, Mapping[str, Sequence[float]]], guard: str | None = None) -> str:
    """``rises[model][workflow]``: per-generation perplexities; does keep-10% slow the drift and accumulate slow it
    most, for every model, at the last generation (and at every generation)?"""
    if guard:
        return f"Whether keeping 10% of the real blocks or accumulating slows the drift: {guard}."
    verdicts = []
    for model, ppl in rises.items():
        r = {k: rise(v) for k, v in ppl.items()}
        order = r["accumulate"] < r["keep"] < r["replace"]
        keep, rep = np.asarray(ppl["keep"], float), np.asarray(ppl["replace"], float)
        always = all(keep[t] < rep[t] for t in range(1, len(rep)))
        if order:
            verdicts.append(f"for the {model}, keeping 10% of the real blocks slows the drift and accumulating slows "
                            f"it most at the last generation" + ("" if always else
                                                                  " (not at every generation before it)"))
        else:
            verdicts.append(f"for the {model} the last generation orders the workflows differently (replace "
                            f"{percent(r['replace'])}, keep 10% {percent(r['keep'])}, accumulate "
                            f"{percent(r['accumulate'])})")
    text = "; ".join(verdicts)
    return text[0].upper() + text[1:] + "."


def losses_sentence(real_word_rates: Sequence[float], word_survival_last: float, word_survival_real: float,
                    rises: Mapping[str, float], guard: str | None = None) -> str:
    """The summary's findings, each stated the way the runs went: the real-word share written (first and last
    generation), the share of the real blocks' words still used at the last generation against new real text of the
    same size, and the rise of the perplexity on real text per model (``rises[model]``, replace)."""
    r = np.asarray(real_word_rates, dtype=float)
    clauses = []
    clauses.append(("wrote fewer real words" if r[-1] < r[0] else "wrote no fewer real words")
                   + f" ({100 * r[0]:.0f}% to {100 * r[-1]:.0f}%, the transformer)")
    clauses.append(("used fewer of the real blocks' words than new real text does" if word_survival_last <
                    word_survival_real else "used as many of the real blocks' words as new real text does")
                   + f" ({100 * word_survival_last:.0f}% against {100 * word_survival_real:.0f}%, the 5-gram)")
    worse = [m for m, v in rises.items() if v > 0]
    listing = ", ".join(f"the {m} {percent(v)}" for m, v in rises.items())
    clauses.append(("fit real text worse" if len(worse) == len(rises) else
                     "did not fit real text worse in every model") + f" ({listing})")
    text = ("Trained on its own continuations, every prompt real text as in the paper's recipe, the language model "
            + ", ".join(clauses[:-1]) + " and " + clauses[-1])
    if guard:
        return text + f"; {guard}."
    return text + "."


def analysis_gap_sentence(gap_first: float, gap_last: float, last: int) -> str:
    """The analysis exercise: how many more of the words seen once real text keeps than generation 1 and than the
    last generation, and whether the gap grows."""
    text = (f"For words seen once, the share real text keeps minus the share the model keeps is {gap_first:+.2f} at "
            f"generation 1 and {gap_last:+.2f} at generation {last}")
    if gap_last > gap_first + 0.02:
        return text + (": the losses compound generation after generation, while real text, written once, loses "
                       "them only once")
    if gap_last < gap_first - 0.02:
        return text + ": the gap shrinks, so in this run the later generations lose no more than the first"
    return text + ": the gap hardly moves, so in this run the losses do not compound"
