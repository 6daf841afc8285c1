"""Widgets of chapter 5: browse each generation's text, and the interactive explorer."""
from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import HTML, display
from matplotlib.ticker import MaxNLocator

from ..experiments import run_experiment
from ..plots.style import PALETTE, band_plot


def explorer_figure(model: str = "ngram", workflow: str = "replace", temperature: float = 1.0, beams: int = 1,
                  repetition_penalty: float = 1.0, kept_real_fraction: float = 0.0, generations: int | None = None):
    """Run (cached) experiment ``lm`` with these settings and draw test perplexity and distinct-2."""
    overrides = dict(model=model, workflow=workflow, temperature=float(temperature), beams=int(beams),
                     repetition_penalty=float(repetition_penalty))
    if kept_real_fraction:  # an option of the replace workflow: refused with any other, never ignored
        overrides["kept_real_fraction"] = float(kept_real_fraction)
    if generations is not None:
        overrides["generations"] = int(generations)
    if model == "transformer":
        overrides["replicates"] = 1
    result = run_experiment("lm", progress=False, **overrides)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    band_plot(axes[0], result.table, "test_perplexity", color=PALETTE["blue"])
    axes[0].set_ylabel("test perplexity (per character)")
    axes[0].set_title("Perplexity on real test text")
    band_plot(axes[1], result.table, "distinct_2_fixed", color=PALETTE["orange"], linestyle="--")
    axes[1].set_ylabel(f"distinct-2 ({result.summary['diversity_size']:,} word pairs)")
    axes[1].set_title("Diversity of the training text")
    band_plot(axes[2], result.table, "word_survival", color=PALETTE["green"], linestyle="-.")
    axes[2].axhline(result.summary["word_survival_real_text"], color=PALETTE["black"], linestyle=":",
                    label="the next real text")
    axes[2].legend(fontsize="small")
    axes[2].set_ylabel("share of generation-0 words used")
    axes[2].set_title("Vocabulary kept")
    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"{model}, {workflow}, T={temperature}, beams={beams}, penalty={repetition_penalty}")
    fig.tight_layout()
    return fig


def generation_text_html(result, generation: int, prompt: int = 0) -> str:
    """HTML of one held-out prompt (grey) and the continuation written by ``generation`` (bold)."""
    texts = result.extras["sample_texts"]
    if not 0 <= generation < len(texts):
        raise ValueError(f"generation must be in [0, {len(texts) - 1}], got {generation}")
    if not 0 <= prompt < len(texts[generation]):
        raise ValueError(f"prompt must be in [0, {len(texts[generation]) - 1}], got {prompt}")
    head = html.escape(result.extras["sample_prompts"][prompt])
    tail = html.escape(texts[generation][prompt])
    ppl = result.summary["test_perplexity"][generation]
    return (f"<div style='font-family:monospace;white-space:pre-wrap;max-width:52em'>"
            f"<span style='color:#666'>{head}</span><b style='color:#0072B2'>{tail}</b></div>"
            f"<div style='color:#444'>generation {generation}: test perplexity {ppl:.2f}</div>")


def browse_generations(result) -> widgets.Widget:
    """A slider over generations and a prompt picker showing the model's continuation."""
    texts = result.extras["sample_texts"]
    generation = widgets.IntSlider(value=0, min=0, max=len(texts) - 1, description="generation")
    prompt = widgets.Dropdown(options=list(range(len(texts[0]))), value=0, description="prompt")
    out = widgets.Output()

    def show(*_):
        out.clear_output(wait=True)
        with out:
            display(HTML(generation_text_html(result, generation.value, prompt.value)))

    generation.observe(show, "value")
    prompt.observe(show, "value")
    show()
    return widgets.VBox([widgets.HBox([generation, prompt]), out])


#: The workflows the explorer offers (the lm experiment runs each through the loop).
WORKFLOW_MENU = ("replace", "accumulate", "augment")


def text_explorer() -> widgets.Widget:
    """``interact`` over the n-gram loop's settings (each setting runs once, then it is cached)."""
    return widgets.interactive(
        explorer_figure,
        {"manual": True, "manual_name": "run"},
        model=widgets.fixed("ngram"),
        workflow=widgets.Dropdown(options=list(WORKFLOW_MENU), value="replace"),
        temperature=widgets.FloatSlider(value=1.0, min=0.0, max=1.5, step=0.1),
        beams=widgets.IntSlider(value=1, min=1, max=5),
        repetition_penalty=widgets.FloatSlider(value=1.0, min=1.0, max=3.0, step=0.1),
        kept_real_fraction=widgets.FloatSlider(value=0.0, min=0.0, max=0.5, step=0.05),
        generations=widgets.fixed(None),
    )
