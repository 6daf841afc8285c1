"""Figures and computed sentences of chapters 6 (keeping real data) and 7 (filtering and provenance; its
module :mod:`madlib.plots.filtering` re-exports what it uses from here)."""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..remedies import remedy_label
from ..remedies.registry import WEB_SCRAPE_BIAS, WEB_SCRAPE_RATIO
from ..theory import gaussian as theory
from ..theory import recursion
from .style import LINESTYLES, PALETTE, THEORY_STYLE

REMEDY_COLOURS = {  # by remedy key (madlib.remedies.registry)
    "none": PALETTE["grey"],
    "keep-real": PALETTE["sky"],
    "accumulate": PALETTE["orange"],
    "fresh": PALETTE["green"],
    "verifier": PALETTE["black"],
    "learned-verifier": PALETTE["blue"],
    "accumulate-subsample": PALETTE["yellow"],
    "reset": PALETTE["purple"],
    "self-likelihood": PALETTE["vermillion"],
    "tail-reweighting": PALETTE["purple"],
    "web-scrape": PALETTE["black"],
    "web-scrape-detector": PALETTE["blue"],
    "corrector": PALETTE["green"],
}


def plot_remedy_curves(curves: pd.DataFrame, family: str, *, remedies: Sequence[str] | None = None,
                       threshold: float = 0.75, ax=None, title: str | None = None, ylabel: str = "relative quality",
                       fixed_points: dict[str, float] | None = None):
    """Relative quality per generation, one line per remedy, with the collapse threshold.

    Where ``curves`` has ``low``/``high`` columns (the VAE's and the language model's seeds) the range over
    seeds is shaded; ``fixed_points`` (remedy key -> relative value) draws the theory's fixed point of that
    remedy as a dashed line in its colour."""
    data = curves[curves["family"] == family]
    if data.empty:
        raise ValueError(f"no curves for family {family!r}; it has {sorted(set(curves['family']))}")
    remedies = list(remedies) if remedies is not None else list(dict.fromkeys(data["remedy"]))
    if ax is None:
        _, ax = plt.subplots()
    for i, remedy in enumerate(remedies):
        part = data[data["remedy"] == remedy]
        colour = REMEDY_COLOURS.get(remedy, None)
        ax.plot(part["generation"], part["relative_quality"], label=remedy_label(remedy),
                color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)],
                marker="o" if len(part) <= 12 else None, markersize=4)
        if {"low", "high"} <= set(part.columns) and np.isfinite(part["low"].to_numpy(dtype=float)).any():
            ax.fill_between(part["generation"], part["low"].astype(float), part["high"].astype(float),
                            color=colour, alpha=0.15, linewidth=0)
        if fixed_points and remedy in fixed_points:
            ax.axhline(fixed_points[remedy], **{**THEORY_STYLE, "color": colour or PALETTE["black"]},
                       label=f"{remedy_label(remedy)}: theory's fixed point")
    ax.axhline(threshold, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
    ax.annotate(f"collapse threshold {threshold:g}", (ax.get_xlim()[0], threshold), xytext=(4, 4),
                textcoords="offset points", fontsize=8.5, color=PALETTE["grey"])
    ax.set(xlabel="generation", ylabel=ylabel, title=title or family)
    return ax.figure


def plot_scoreboard(table: pd.DataFrame, *, threshold: float = 0.75):
    """Families x remedies: colour = final relative quality (cividis, colour-blind safe); the text is the
    verdict (:func:`madlib.remedies.collapse_verdict`): held, settles at a level (a bounded loss), falls
    (still declining at the horizon; the generation it crossed the threshold) or lost (near zero)."""
    remedies = list(dict.fromkeys(table["remedy"]))
    families = list(dict.fromkeys(table["family"]))
    quality = np.full((len(families), len(remedies)), np.nan)
    text = np.full((len(families), len(remedies)), "not run", dtype=object)
    for row in table.itertuples():
        i, j = families.index(row.family), remedies.index(row.remedy)
        quality[i, j] = row.final_relative_quality
        text[i, j] = _cell_label(row)
    fig, ax = plt.subplots(figsize=(1.25 * len(remedies) + 2.5, 0.8 * len(families) + 2.4))
    cmap = plt.get_cmap("cividis").copy()
    cmap.set_bad(PALETTE["grey"], alpha=0.25)  # remedies not run for a family
    image = ax.imshow(np.ma.masked_invalid(np.clip(quality, 0, 1.2)), cmap=cmap, vmin=0, vmax=1.2, aspect="auto")
    for i in range(len(families)):
        for j in range(len(remedies)):
            value = quality[i, j]
            colour = "black" if np.isnan(value) or value >= 0.6 else "white"
            label = text[i, j] if np.isnan(value) or text[i, j].startswith("settles") else f"{text[i, j]}\n{value:.2f}"
            ax.text(j, i, label.replace(" (", "\n("), ha="center", va="center", fontsize=8, color=colour,
                    style="italic" if np.isnan(value) else "normal")
    ax.set_xticks(range(len(remedies)), [_wrap(remedy_label(r)) for r in remedies], rotation=0, fontsize=8.5)
    ax.set_yticks(range(len(families)), families)
    ax.grid(False)
    fig.colorbar(image, ax=ax, label="final quality relative to generation 0", shrink=0.8)
    ax.set_title(f"Scoreboard: held, settles (a bounded loss), falls or lost (below {threshold:g} at the generation "
                 "shown); final quality")
    return fig


def _cell_label(row) -> str:
    """The scoreboard's text for one row: its verdict label, or the bare generation of older tables."""
    label = getattr(row, "verdict_label", None)
    if isinstance(label, str):
        return label
    g = row.generations_to_collapse
    return "held" if g is None or (isinstance(g, float) and np.isnan(g)) else f"gen {int(g)}"


SWEEP_COLOURS = {"gaussian": PALETTE["blue"], "cats": PALETTE["orange"], "mixture": PALETTE["green"]}


def plot_sweeps(table: pd.DataFrame, *, n_real: int = 100, generations: int | None = None,
                sweeps: Sequence[str] | None = None):
    """The remedy sweeps (all, or those named in ``sweeps``), one panel each, a line per family, with the
    Gaussian's theory where it exists:

    * kept real fraction: the fixed point of E[sigma^2] from chapter 8's recursion (about 2fn/(2fn+1)),
      iterated over the run's generations;
    * detector miss rate: (1-s)/(1-s lambda) with s the synthetic share the detector lets through;
    * tail reweighting: the median run if reweighting inflated each fit by exactly 1/(1-beta) (large n).

    The tail panel is on a symmetric-log scale, so a blue share of exactly 0 stays on the figure (marked)."""
    sweeps = list(sweeps) if sweeps is not None else list(dict.fromkeys(table["sweep"]))
    missing = [s for s in sweeps if s not in set(table["sweep"])]
    if missing:
        raise ValueError(f"sweeps {missing} are not in the table; it has {sorted(set(table['sweep']))}")
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.9 * len(sweeps), 4.2), squeeze=False)
    markers = {"gaussian": "o", "cats": "s", "mixture": "^"}
    for ax, sweep in zip(axes[0], sweeps):
        part = table[table["sweep"] == sweep]
        for family, rows in part.groupby("family", sort=False):
            ax.plot(rows["value"], rows["final_relative_quality"], marker=markers.get(family, "o"),
                    color=SWEEP_COLOURS.get(family), label=family)
            zeros = rows[rows["final_relative_quality"] <= 0]
            if sweep == "tail reweighting strength" and len(zeros):
                ax.plot(zeros["value"], zeros["final_relative_quality"], linestyle="none", marker="x", markersize=9,
                        color=SWEEP_COLOURS.get(family), label=f"{family}: 0 (lost)")
        lo, hi = float(part["value"].min()), float(part["value"].max())
        if sweep == "kept real fraction" and generations:
            grid = np.linspace(max(lo, 0.005), hi, 200)
            ax.plot(grid, kept_fraction_theory(grid, n_real, generations), **THEORY_STYLE,
                    label="Gaussian theory (E$[\\sigma^2]$)")
        if sweep == "detector miss rate":
            grid = np.linspace(lo, hi, 200)
            ax.plot(grid, detector_theory(grid), **THEORY_STYLE, label="Gaussian theory, $(1-s)/(1-s\\lambda)$")
        if sweep == "tail reweighting strength":
            if generations:
                grid = np.linspace(lo, hi, 200)
                ax.plot(grid, tail_reweighting_theory(grid, n_real, generations), **THEORY_STYLE,
                        label="Gaussian theory (median)")
            ax.axvline(2 / n_real, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
            ax.set_yscale("symlog", linthresh=0.1)
            ax.annotate("2/n", (2 / n_real, 0), xytext=(3, 6), textcoords="offset points", fontsize=9)
        ax.axhline(1.0, color=PALETTE["grey"], linewidth=0.8)
        ax.set(xlabel=sweep, ylabel="final quality relative to generation 0", title=sweep.capitalize())
        ax.legend(fontsize=8.5)
    fig.tight_layout()
    return fig


def kept_fraction_theory(fractions, n_real: int, generations: int) -> np.ndarray:
    """Relative sigma after ``generations`` with a kept real fraction f: sqrt(E[sigma_T^2] / E[sigma_0^2]) from
    :func:`madlib.theory.recursion.anchored_variance_path` (the mean re-drawn from generation 0's own data)."""
    out = []
    for f in np.atleast_1d(np.asarray(fractions, dtype=float)):
        path = recursion.anchored_variance_path(float(f), n_real, generations)
        out.append(np.sqrt(path[-1] / path[0]))
    return np.asarray(out)


def detector_theory(miss_rates, ratio: float = WEB_SCRAPE_RATIO, sampling_bias: float = WEB_SCRAPE_BIAS) -> np.ndarray:
    """sqrt((1-s)/(1-s lambda)) for each miss rate m, with s = ratio m / (1 + ratio m) the synthetic share left."""
    m = np.atleast_1d(np.asarray(miss_rates, dtype=float))
    share = ratio * m / (1 + ratio * m)
    return np.sqrt([recursion.web_scrape_fixed_point(s, sampling_bias) for s in share])


def tail_reweighting_theory(strengths, n_real: int, generations: int) -> np.ndarray:
    """Relative median sigma after ``generations`` fits if reweighting by p^(-beta) inflated each maximum-likelihood
    variance by exactly 1/(1-beta): exp(T/2 (E ln(chi2_{n-1}/n) - ln(1-beta))). Large-sample: the self-normalised
    weights of n items fall a little short of it."""
    beta = np.atleast_1d(np.asarray(strengths, dtype=float))
    step = theory.log_var_step_mean(n_real, 0)
    return np.exp(0.5 * generations * (step - np.log1p(-beta)))


def _wrap(label: str, width: int = 12) -> str:
    """Break a tick label into lines of about ``width`` characters."""
    lines, line = [], ""
    for word in label.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def scoreboard_table(table: pd.DataFrame) -> pd.DataFrame:
    """Remedies x families: the verdict (held, settles at a level, falls or lost, with the generation the quality
    first fell below the threshold), or 'not run'."""
    labels = table.assign(result=[_cell_label(row) for row in table.itertuples()])
    out = labels.pivot(index="remedy", columns="family", values="result")
    out = out.reindex(index=list(dict.fromkeys(table["remedy"])), columns=list(dict.fromkeys(table["family"])))
    out.index = [remedy_label(r) for r in out.index]
    return out.fillna("not run")


REGRESSION_COLOURS = {"replace": PALETTE["vermillion"], "accumulate": PALETTE["blue"],
                      "accumulate-subsample": PALETTE["orange"]}


def plot_regression(summaries: dict[str, dict], *, ax=None, pi2_over_6: float = np.pi**2 / 6):
    """Test error relative to generation 0's, per workflow (mean +- 2 standard errors), with the closed
    forms (dashed) where the ``regression`` experiment has them and the pi^2/6 bound of accumulate.

    Without ``ax``: two panels, everything on the left and a zoom on the bounded curves on the right."""
    if not summaries:
        raise ValueError("summaries must map at least one workflow to a regression summary")
    if ax is not None:
        _draw_regression(ax, summaries, pi2_over_6)
        return ax.figure
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.3))
    _draw_regression(left, summaries, pi2_over_6)
    _draw_regression(right, summaries, pi2_over_6, legend=False)
    bounded = [np.asarray(s["ratio_to_generation0"]) for w, s in summaries.items() if w != "replace"]
    top = max([pi2_over_6] + [float(b.max()) for b in bounded]) * 1.15
    right.set_ylim(0.9, top)
    right.set_title("zoom: the bounded curves")
    fig.tight_layout()
    return fig


def _draw_regression(ax, summaries: dict[str, dict], pi2_over_6: float, legend: bool = True) -> None:
    for i, (workflow, s) in enumerate(summaries.items()):
        g = np.asarray(s["generation"])
        mean, se = np.asarray(s["test_error"]), np.asarray(s["test_error_se"])
        first = mean[0]
        colour = REGRESSION_COLOURS.get(workflow)
        ax.plot(g, mean / first, color=colour, linestyle=LINESTYLES[i % len(LINESTYLES)], marker="o", markersize=3,
                label=f"{workflow} (simulated)")
        ax.fill_between(g, (mean - 2 * se) / first, (mean + 2 * se) / first, color=colour, alpha=0.2, linewidth=0)
        if s.get("theory_test_error") is not None:
            ax.plot(g, np.asarray(s["theory_test_error"]) / first, **{**THEORY_STYLE, "color": PALETTE["black"]},
                    label=f"{workflow}: closed form")
    ax.axhline(pi2_over_6, color=PALETTE["grey"], linestyle=":", linewidth=1.2)
    ax.annotate(r"$\pi^2/6$", (0, pi2_over_6), xytext=(2, 4), textcoords="offset points", fontsize=9,
                color=PALETTE["grey"])
    ax.set(xlabel="generation", ylabel="test error / generation 0's", title="Linear regression on its own labels")
    if legend:
        ax.legend(fontsize=8.5)


# ----------------------------------------------------------------------------- computed sentences
# Every comparative sentence of chapters 6 and 7 that depends on a run is built here from the results, so it
# stays true at every scale (tests/test_remedies_sentences.py builds each from results that go each way).

FAMILY_NAMES = {"gaussian": "the Gaussian", "cats": "the cats", "mixture": "the mixture", "vae": "the VAE",
                "lm": "the language model"}
TOY = ("gaussian", "cats", "mixture")


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _cell(families: dict, family: str, remedy: str) -> dict | None:
    return families.get(family, {}).get(remedy)


def verdict_phrase(cell: dict) -> str:
    """What one scoreboard cell (``summary['families'][family][remedy]``) did, as a verb phrase."""
    kind, final = cell.get("verdict"), cell.get("final_relative_quality")
    crossed, horizon = cell.get("generations_to_collapse"), cell.get("horizon")
    if kind == "held":
        return f"held (never below the threshold in {horizon} generations)"
    if kind == "settled":
        return (f"lost part of its quality for good and settled at {cell['settled_level']:.2f} (a bounded loss, "
                "not a collapse)")
    if kind == "falling":
        return f"fell below the threshold at generation {crossed} and was still falling ({final:.2f} at the end)"
    if kind == "lost":
        return f"collapsed (below the threshold at generation {crossed}, {final:.2f} at the end)"
    if kind == "too short":
        return (f"fell below the threshold at generation {crossed}; {horizon} generations are too few to tell a "
                "level from a decline")
    return "could not be measured at this scale"


def held_sentence(families: dict, remedies: Sequence[str], names: dict[str, str], *,
                  over: Sequence[str] = TOY) -> str:
    """Which of the ``over`` families each remedy held; the others with what they did instead. Remedies that
    held all of them share one clause."""
    full, parts = [], []
    for remedy in remedies:
        cells = {f: _cell(families, f, remedy) for f in over if _cell(families, f, remedy) is not None}
        if not cells:
            continue
        held = [f for f, c in cells.items() if c["verdict"] == "held"]
        if len(held) == len(cells):
            full.append((remedy, tuple(cells)))
            continue
        rest = "; ".join(f"{FAMILY_NAMES[f]} {verdict_phrase(c)}" for f, c in cells.items() if f not in held)
        lead = (f"{names[remedy]} held {_join(FAMILY_NAMES[f] for f in held)}" if held
                else f"{names[remedy]} held none of them")
        parts.append(f"{lead}, but {rest}" if held else f"{lead}: {rest}")
    if full:
        scope = {fams for _, fams in full}
        target = ("every toy family" if scope == {tuple(TOY)} else
                  _join(FAMILY_NAMES[f] for f in full[0][1]) if len(scope) == 1 else "every family it ran on")
        parts.insert(0, f"{_join(names[r] for r, _ in full)} held {target}")
    if not parts:
        return "These remedies were not run at this scale."
    return ". ".join(p[0].upper() + p[1:] for p in parts) + "."


def compare_phrase(a: float, b: float, *, margin: float = 0.02) -> str:
    """'more', 'less' or 'about as much': ``a`` against ``b``, within ``margin``."""
    if not (np.isfinite(a) and np.isfinite(b)):
        return "an unmeasured share"
    return "more" if a > b + margin else "less" if a < b - margin else "about as much"


def mix_sentence(points: Sequence[dict], threshold: float = 0.75) -> str:
    """What Shumailov's shares did to the Gaussian (``mix-grid`` points: alpha, beta, relative_sigma): whether
    carried-over previous data alone kept the spread above the threshold, and whether original data did."""
    no_original = sorted((p for p in points if p["alpha"] == 0), key=lambda p: p["beta"])
    with_original = [p for p in points if p["alpha"] > 0]
    parts = []
    if no_original:
        values = [p["relative_sigma"] for p in no_original]
        slows = all(b >= a - 0.01 for a, b in zip(values, values[1:])) and values[-1] > values[0] + 0.01
        above = [p for p in no_original if p["relative_sigma"] >= threshold]
        lead = "a larger share of previous data slows the collapse" if slows else "previous data do not slow the collapse"
        stop = ("but does not stop it: without original data every point ends below the threshold"
                if not above else f"and at beta = {above[-1]['beta']:g} it stays above the threshold over this horizon")
        parts.append(f"{lead} ({', '.join(f'{v:.2f}' for v in values)} for beta = "
                     f"{', '.join(format(p['beta'], 'g') for p in no_original)}), {stop}")
    if with_original:
        low = min(p["relative_sigma"] for p in with_original)
        parts.append(("any share of original data we tried kept it" if low >= threshold else
                      "original data alone did not keep it") + f" (lowest {low:.2f})")
    text = "; ".join(parts)
    return (text[0].upper() + text[1:] + ".") if text else "The mixing grid was not run."


def too_small(cell: dict | None, *, min_generations: int = 3, min_seeds: int = 2) -> bool:
    """Whether an expensive family's cell is too small a run to compare remedies on (smoke scale)."""
    if cell is None or cell.get("verdict") == "unmeasured":
        return True
    final = cell.get("final_relative_quality")
    seeds = cell.get("seeds") or 1
    return (final is None or not np.isfinite(final) or cell.get("horizon", 0) < min_generations
            or seeds < min_seeds)


def expensive_sentence(families: dict, family: str, remedies: Sequence[str], names: dict[str, str]) -> str:
    """The VAE's or the language model's final relative quality under each remedy (mean over seeds), and which
    held; or, for a run too small to tell, a sentence that says so."""
    cells = {r: _cell(families, family, r) for r in remedies}
    if any(too_small(c) for c in cells.values()):
        return (f"At this scale the runs of {FAMILY_NAMES[family]} are too small to tell the remedies apart (build at "
                "`default` for the comparison).")
    horizon = max(c["horizon"] for c in cells.values())
    seeds = min(c["seeds"] for c in cells.values())
    values = _join(f"{c['final_relative_quality']:.2f} {names[r]}" for r, c in cells.items())
    held = [r for r, c in cells.items() if c["verdict"] == "held"]
    if not held:
        verdict = "none of them held it above the threshold"
    elif len(held) == len(cells):
        verdict = "every one of them held it above the threshold"
    else:
        verdict = f"only {_join(names[r] for r in held)} held it above the threshold"
    return (f"After {horizon} generations (mean of {seeds} seeds), {FAMILY_NAMES[family]} keeps {values}; "
            f"{verdict} over this horizon.")


def slowed_phrase(families: dict, family: str, remedy: str, names: dict[str, str]) -> str:
    """How ``remedy`` compares with replace ('none') on one expensive family: held it, slowed its decline
    (final above replace's and outside the seeds' overlap) or made no clear difference."""
    cell, base = _cell(families, family, remedy), _cell(families, family, "none")
    if too_small(cell) or too_small(base):
        return f"was too small a run on {FAMILY_NAMES[family]} to tell"
    if cell["verdict"] == "held":
        return f"held {FAMILY_NAMES[family]}"
    ahead = cell["final_relative_quality"] - base["final_relative_quality"]
    if ahead > 0:
        return (f"slowed the decline of {FAMILY_NAMES[family]} ({cell['final_relative_quality']:.2f} of its quality after "
                f"{cell['horizon']} generations, against {base['final_relative_quality']:.2f} under replace) without "
                "holding it")
    return (f"did not slow the decline of {FAMILY_NAMES[family]} ({cell['final_relative_quality']:.2f} against "
            f"{base['final_relative_quality']:.2f} under replace)")


def keeping_conclusion(families: dict, names: dict[str, str]) -> str:
    """The summary's first finding: what fresh data and accumulation did to every family, computed."""
    parts = []
    for remedy in ("fresh", "accumulate"):
        toy_cells = [_cell(families, f, remedy) for f in TOY if _cell(families, f, remedy) is not None]
        toy_held = bool(toy_cells) and all(c["verdict"] == "held" for c in toy_cells)
        toy = "held every toy family" if toy_held else "did not hold every toy family"
        big = [slowed_phrase(families, f, remedy, names) for f in ("lm", "vae") if f in families]
        parts.append(f"{names[remedy]} {toy}" + (f" and {_join(big)}" if big else ""))
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def faster_than_none(families: dict, family: str, remedy: str) -> bool | None:
    """Whether ``remedy`` made ``family`` collapse faster than no remedy: it crossed the threshold earlier, or
    at the same generation (or neither did) and ends lower by more than 0.02. None when it is not run."""
    cell, base = _cell(families, family, remedy), _cell(families, family, "none")
    if cell is None or base is None or too_small(cell, min_seeds=1) or too_small(base, min_seeds=1):
        return None
    inf = float("inf")
    g = cell["generations_to_collapse"] if cell["generations_to_collapse"] is not None else inf
    g0 = base["generations_to_collapse"] if base["generations_to_collapse"] is not None else inf
    if g != g0:
        return g < g0
    return cell["final_relative_quality"] < base["final_relative_quality"] - 0.02


def self_likelihood_sentence(families: dict) -> str:
    """Where filtering by the generator's own likelihood made collapse faster than no filter, computed."""
    toy = {f: faster_than_none(families, f, "self-likelihood") for f in TOY}
    toy = {f: v for f, v in toy.items() if v is not None}
    faster = [f for f, v in toy.items() if v]
    if toy and len(faster) == len(toy):
        text = "Filtering by the generator's own likelihood made collapse faster in every toy family"
    elif faster:
        text = f"Filtering by the generator's own likelihood made collapse faster for {_join(FAMILY_NAMES[f] for f in faster)}, not for {_join(FAMILY_NAMES[f] for f in toy if f not in faster)}"
    else:
        text = "Filtering by the generator's own likelihood did not make any toy family collapse faster"
    big = []
    for family in ("vae", "lm"):
        cell, base = _cell(families, family, "self-likelihood"), _cell(families, family, "none")
        if cell is None or base is None:
            continue
        if too_small(cell) or too_small(base):
            big.append(f"{FAMILY_NAMES[family]} was too small a run to tell")
            continue
        a, b = cell["final_relative_quality"], base["final_relative_quality"]
        how = "lower" if a < b - 0.02 else "higher" if a > b + 0.02 else "about the same"
        big.append(f"{FAMILY_NAMES[family]} ended {how} ({a:.2f} against {b:.2f} unfiltered)")
    return text + (f"; {_join(big)}." if big else ".")


def verifier_sentence(families: dict) -> str:
    """The oracle against the learned verifier on the toy families: where the learned one came within 0.05 of the
    oracle, and where it ended nearer to no filter."""
    close, above, partway, failed = [], [], [], []
    for family in TOY:
        oracle, learned, none = (_cell(families, family, r) for r in ("verifier", "learned-verifier", "none"))
        if oracle is None or learned is None or none is None:
            continue
        o, l_, n0 = (c["final_relative_quality"] for c in (oracle, learned, none))
        if abs(o - l_) <= 0.05:
            close.append(f"{FAMILY_NAMES[family]} ({l_:.2f} against the oracle's {o:.2f})")
        elif l_ > o:
            above.append(f"{FAMILY_NAMES[family]} ({l_:.2f} against the oracle's {o:.2f})")
        elif abs(l_ - n0) < abs(l_ - o):
            failed.append(f"{FAMILY_NAMES[family]} ({l_:.2f}, nearer no filter's {n0:.2f} than the oracle's {o:.2f})")
        else:
            partway.append(f"{FAMILY_NAMES[family]} ({l_:.2f} against the oracle's {o:.2f} and no filter's {n0:.2f})")
    parts = []
    if close:
        parts.append(f"the learned verifier came close to the oracle on {_join(close)}")
    if above:
        parts.append(f"it ended above the oracle on {_join(above)}")
    if partway:
        parts.append(f"it went only part of the way on {_join(partway)}")
    if failed:
        parts.append(f"it failed on {_join(failed)}")
    if not parts:
        return "The verifiers were not run on the toy families."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def between_sentence(replace: float, accumulate: float, middle: float, name: str = "accumulate on a fixed budget") -> str:
    """Where a third workflow's final error ratio lies against replace's and accumulate's (regression)."""
    lo, hi = sorted((replace, accumulate))
    if not lo <= middle <= hi:
        side = "above both" if middle > hi else "below both"
        return f"*{name}* ends {side} ({middle:.2f}, against {accumulate:.2f} and {replace:.2f})"
    nearer = "accumulate" if abs(middle - accumulate) < abs(middle - replace) else "replace"
    return (f"*{name}* ends between the two ({middle:.2f}, against {accumulate:.2f} for accumulate and "
            f"{replace:.2f} for replace), nearer {nearer} over this horizon")


def order_sentence(values: dict[str, float], *, lower_is_better: bool, unit: str = "") -> str:
    """Names ordered from best to worst by their values: 'a (1.0) < b (2.0) < c (3.0)'."""
    items = sorted(values.items(), key=lambda kv: kv[1], reverse=not lower_is_better)
    if any(not np.isfinite(v) for v in values.values()):
        return "not measured at this scale"
    sep = " < " if lower_is_better else " > "
    return sep.join(f"{name} ({value:.0f}{unit})" if abs(value) >= 10 else f"{name} ({value:.2f}{unit})"
                    for name, value in items)


def verdict_overview(table: pd.DataFrame) -> str:
    """How many of the scoreboard's curves held, settled at a bounded loss, were still falling or were lost."""
    counts = table["verdict"].value_counts().to_dict()
    words = {"held": "held", "settled": "settled at a bounded loss", "falling": "were still falling at their horizon",
             "lost": "were lost (near zero)", "too short": "fell below the threshold too near their horizon to tell",
             "unmeasured": "could not be measured at this scale"}
    parts = [f"{counts[k]} {words[k]}" for k in words if counts.get(k)]
    return f"Of the {len(table)} curves, {_join(parts)}."


def settled_sentence(table: pd.DataFrame, fixed_points: dict[str, dict], family: str = "gaussian") -> str:
    """The settled curves of one family, each beside the theory's fixed point where chapter 8 has one."""
    rows = table[(table["family"] == family) & (table["verdict"] == "settled")]
    if rows.empty:
        return f"No curve of {FAMILY_NAMES[family]} settled below the threshold at this scale."
    parts = []
    for row in rows.itertuples():
        theory_value = fixed_points.get(row.remedy, {}).get("relative_sigma")
        extra = f" (theory's fixed point {theory_value:.3f})" if theory_value is not None else ""
        parts.append(f"*{row.label}* at {row.settled_level:.3f}{extra}")
    return f"For {FAMILY_NAMES[family]}, {_join(parts)} settled: a permanent but bounded loss."


def shortfall_sentence(simulated: float, theory_value: float, *, margin: float = 0.03) -> str:
    """Where the simulated tail-reweighted Gaussian ends against the exact-inflation line, and why (computed)."""
    if not (np.isfinite(simulated) and np.isfinite(theory_value)):
        return "was not measured at this scale"
    if simulated < theory_value - margin:
        return ("ends below that line: the self-normalised weights of a finite sample inflate a little less than "
                "1/(1-beta), and the small shortfall compounds")
    if simulated > theory_value + margin:
        return ("ends above that line over this horizon: the median of a random walk this short still wanders by more "
                "than the small shortfall of the self-normalised weights")
    return "ends on that line over this horizon"
