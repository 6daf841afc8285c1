"""Experiments of the theory chapter: the three regimes' predictions and the 2024-2026 results, each beside its
closed form (or the paper's number) with its Monte-Carlo error.

* ``contraction``       -- the Gaussian under a kept real share, a web scrape and a corrector: fixed points;
* ``universality``      -- pi^2/6 beyond linear regression: a Poisson rate and a logistic regression;
* ``strong-collapse``   -- a fixed synthetic share in a growing training set: the error plateaus (Dohmatob et al.);
* ``model-size``        -- the same with random projections of growing size: larger models amplify it;
* ``verifier-transition`` -- a verifier's accuracy against the generator's errors: a breakdown point (Feng et al.);
* ``biased-verifier``   -- a verifier with a knowledge center pulls the loop to itself (Yi et al.);
* ``curation``          -- pairwise curation by a reward maximises it and amplifies its bias (Ferbach et al.).

The chains live in :mod:`madlib.simulations.theory`; the closed forms in :mod:`madlib.theory.recursion`,
:mod:`madlib.theory.synthetic_mix` and :mod:`madlib.theory.curation`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.budget import PROCESS_BYTES, loop_items, loop_peak_items
from ..core.config import scaled
from ..core.params import SEED, integer, integers, number, numbers, ref
from ..core.validation import check_float, check_int
from ..models.exponential import logistic_fisher_trace_inverse, unit_truth
from ..simulations import theory as sims
from ..theory import curation as cur
from ..theory import gaussian as gauss
from ..theory import recursion as rec
from ..theory import synthetic_mix as mix
from . import ExperimentResult, RunContext, experiment


def _mean_se(values: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``axis`` and its Monte-Carlo standard error."""
    return values.mean(axis=axis), values.std(axis=axis, ddof=1) / np.sqrt(values.shape[axis])


def contraction_theory(case: str, n: int, generations: int) -> np.ndarray:
    """The closed-form ``E[sigma_t^2]`` (replace, kept share, web scrape) or ``E[sigma_t]`` (corrector) of a case."""
    if case == "replace":
        return gauss.expected_var(n, np.arange(generations + 1))
    if case.startswith("keep "):
        return rec.anchored_variance_path(float(case.split()[1].rstrip("%")) / 100, n, generations)
    if case == "web scrape":  # fresh: n real + 4n synthetic drawn with lambda = 0.8; generation 0 fits n real items
        return rec.anchored_variance_path(0.2, 5 * n, generations, 0.8, start_var=(n - 1) / n, start_mean_sq=1 / n)
    return rec.corrector_std_path(n, float(case.split()[1]), generations)


# Memory (bytes) and work units of each experiment, from its configuration (:mod:`madlib.experiments.plan`):
# rough, float64 arrays times the copies a step makes; units proportional to the arithmetic.
def _contraction_memory(c: dict) -> float:
    return PROCESS_BYTES + 8 * c["replicates"] * (6 * c["n_real"] + 4 * (c["generations"] + 1))


def _contraction_cost(c: dict) -> float:
    return len(sims.CONTRACTION_CASES) * float(c["replicates"]) * c["n_real"] * (c["generations"] + 1)


def _universality_memory(c: dict) -> float:
    peak = loop_peak_items("accumulate", c["n_real"], c["n_real"], c["generations"])
    return PROCESS_BYTES + 4 * 8 * peak * max(c["poisson_replicates"], c["logistic_replicates"] * (c["dim"] + 2))


def _universality_cost(c: dict) -> float:
    items = sum(loop_items(w, c["n_real"], c["n_real"], c["generations"]) for w in ("replace", "accumulate"))
    return items * (c["poisson_replicates"] + 20.0 * c["logistic_replicates"] * c["dim"])  # ~20 Newton steps


def _strong_collapse_memory(c: dict) -> float:
    return (PROCESS_BYTES + 8 * 8 * float(c["replicates"]) * c["dim"] * c["dim"]
            + 8 * float(c["replicates"]) * len(c["shares"]) * c["points"])


def _strong_collapse_cost(c: dict) -> float:
    return len(c["shares"]) * c["points"] * float(c["replicates"]) * (c["dim"] ** 3 + 10 * c["dim"] ** 2)


def _model_size_memory(c: dict) -> float:
    m = max(c["model_sizes"])
    return PROCESS_BYTES + 8 * float(c["replicates"]) * (2 * c["n_real"] * c["dim"] + 3 * c["dim"] * m
                                                          + 3 * c["n_real"] * m + 2 * min(m, c["n_real"]) ** 2)


def _model_size_cost(c: dict) -> float:
    n, d = c["n_real"], c["dim"]
    return float(c["replicates"]) * sum(n * d * m + 2 * min(n, m) ** 2 * max(n, m) for m in c["model_sizes"])


def _verifier_transition_memory(c: dict) -> float:
    return (PROCESS_BYTES + 2 * 8 * float(c["replicates"]) * len(c["candidates"]) * len(c["accuracies"])
            + 8 * 8 * float(c["replicates"]) * (c["dim"] + 3))


def _verifier_transition_cost(c: dict) -> float:
    return len(c["candidates"]) * len(c["accuracies"]) * float(c["replicates"]) * (c["dim"] + 10)


def _biased_verifier_memory(c: dict) -> float:
    items = max(n for n, _ in VERIFIER_CASES) + c["candidates"]
    return PROCESS_BYTES + 6 * 8 * float(c["replicates"]) * items * (c["dim"] + 1)


def _biased_verifier_cost(c: dict) -> float:
    return sum(float(c["replicates"]) * loop_items("replace", n, c["candidates"], c["generations"]) * (c["dim"] + 1)
               for n, _ in VERIFIER_CASES)


def _curation_items(c: dict, rho: float) -> tuple[float, float]:
    """The n_real and candidates (twice the kept) of one real share, as :func:`sims.simulate_curation` sets them."""
    kept = max(1, round(c["n_real"] * (1 - rho) / rho)) if rho > 0 else c["n_real"]
    return c["n_real"], 2 * kept


def _curation_memory(c: dict) -> float:
    peak = max(sum(_curation_items(c, rho)) for rho in c["real_shares"])
    return PROCESS_BYTES + 6 * 8 * float(c["replicates"]) * peak * len(c["proportions"])


def _curation_cost(c: dict) -> float:
    return sum(float(c["replicates"]) * loop_items("augment" if rho > 0 else "replace", *_curation_items(c, rho),
                                                   c["generations"]) * len(c["proportions"])
               for rho in c["real_shares"])


@experiment(
    "contraction",
    memory=_contraction_memory,
    cost=_contraction_cost,
    defaults={"n_real": 100, "generations": scaled(smoke=20, default=50, full=200),
              "replicates": scaled(smoke=200, default=500, full=5000), "seed": 0},
    params={"n_real": integer(10, 10**6), "generations": integer(1, 10**5), "replicates": integer(2, 10**7),
            "seed": SEED},
    presets={"regimes": {}},
)
def run_contraction(config: dict, ctx: RunContext) -> ExperimentResult:
    """The Gaussian's variance under replace, a kept real share, a web scrape and a corrector, beside its fixed points."""
    n, G = check_int("n_real", config["n_real"], 10), check_int("generations", config["generations"], 1)
    rows, summary = [], {"cases": {}}
    for case in sims.CONTRACTION_CASES:
        chain = sims.simulate_contraction(case, n=n, generations=G, replicates=config["replicates"],
                                          seed=config["seed"], progress=ctx.progress_for(f"contraction: {case}"))
        measure = "std" if case.startswith("corrector") else "var"  # the corrector's closed form is for E[sigma]
        mean, se = _mean_se(chain[measure])
        theory = contraction_theory(case, n, G)
        rows.append(pd.DataFrame({"case": case, "measure": measure, "generation": np.arange(G + 1), "mean": mean,
                                  "se": se, "theory": theory, "median_var": np.median(chain["var"], axis=1)}))
        summary["cases"][case] = {"measure": measure, "final_mean": float(mean[-1]), "final_se": float(se[-1]),
                                  "final_theory": float(theory[-1]),
                                  "z_final": float((mean[-1] - theory[-1]) / se[-1])}
    summary["fixed_points"] = {"keep 5% real": rec.kept_fraction_fixed_point(n, 0.05),
                               "keep 20% real": rec.kept_fraction_fixed_point(n, 0.2),
                               "web scrape": rec.anchored_fixed_point(0.2, 5 * n, 0.8),
                               "web scrape (large n)": rec.web_scrape_fixed_point(0.8, 0.8),
                               "corrector 0.2": rec.corrector_fixed_point(n, 0.2),
                               "corrector 0.5": rec.corrector_fixed_point(n, 0.5)}
    return ExperimentResult(summary=summary, table=pd.concat(rows, ignore_index=True))


@experiment(
    "universality",
    memory=_universality_memory,
    cost=_universality_cost,
    defaults={"n_real": 200, "rate": 4.0, "dim": 2,
              "generations": scaled(smoke=6, default=20, full=100),
              "poisson_replicates": scaled(smoke=500, default=4000, full=20000),
              "logistic_replicates": scaled(smoke=60, default=300, full=2000), "seed": 0},
    params={"n_real": integer(10, 10**6), "rate": number(0, 10**6, open_minimum=True, doc="the Poisson mean"),
            "dim": integer(1, 100, doc="logistic regression's dimension"), "generations": integer(1, 10**4),
            "poisson_replicates": integer(2, 10**7), "logistic_replicates": integer(2, 10**6), "seed": SEED},
    presets={"pi2-over-6": {}},
)
def run_universality(config: dict, ctx: RunContext) -> ExperimentResult:
    """pi^2/6 beyond linear regression: a Poisson rate and a logistic regression, replace against accumulate."""
    n, G = check_int("n_real", config["n_real"], 10), check_int("generations", config["generations"], 1)
    t = np.arange(G + 1)
    first = {"poisson": check_float("rate", config["rate"], 0.0, open_minimum=True) / n,
             "logistic": logistic_fisher_trace_inverse(unit_truth(config["dim"])) / n}
    rows, summary = [], {}
    for family in sims.UNIVERSALITY_FAMILIES:
        for workflow in ("replace", "accumulate"):
            errors = sims.simulate_universality(family, workflow, n=n, generations=G, rate=config["rate"],
                                                dim=config["dim"], replicates=config[f"{family}_replicates"],
                                                seed=config["seed"],
                                                progress=ctx.progress_for(f"universality: {family} {workflow}"))
            mean, se = _mean_se(errors)
            ratio = rec.accumulate_error_ratio(t) if workflow == "accumulate" else rec.replace_error_ratio(t)
            rows.append(pd.DataFrame({"family": family, "workflow": workflow, "generation": t, "mean": mean, "se": se,
                                      "theory": first[family] * ratio, "ratio": mean / mean[0],
                                      "median_ratio": np.median(errors, axis=1) / np.median(errors[0])}))
            summary[f"{family}_{workflow}"] = {"final_ratio": float(mean[-1] / mean[0]), "theory_ratio": float(ratio[-1]),
                                               "final_median_ratio": float(np.median(errors[-1]) / np.median(errors[0])),
                                               "final_mean": float(mean[-1]), "final_se": float(se[-1]),
                                               "theory_final": float(first[family] * ratio[-1])}
    summary["pi2_over_6"] = rec.PI2_OVER_6
    summary["logistic_asymptotic_first_error"] = first["logistic"]
    return ExperimentResult(summary=summary, table=pd.concat(rows, ignore_index=True))


@experiment(
    "strong-collapse",
    memory=_strong_collapse_memory,
    cost=_strong_collapse_cost,
    defaults={"dim": 10, "shift_sq": 10.0, "smallest": 100, "largest": scaled(smoke=10**6, default=10**8),
              "points": scaled(smoke=6, default=13), "shares": [0.0, 0.001, 0.01, 0.1],
              "replicates": scaled(smoke=300, default=2000, full=10000), "seed": 0},
    params={"dim": integer(1, 1000), "shift_sq": number(0, 10**6, doc="||Delta||^2 of the synthetic labels' shift"),
            "smallest": integer(ref("dim", 2), 10**10), "largest": integer(ref("smallest"), 10**12),
            "points": integer(2, 1000), "shares": numbers(0, 1), "replicates": integer(2, 10**7), "seed": SEED},
    presets={"plateau": {}},
)
def run_strong_collapse(config: dict, ctx: RunContext) -> ExperimentResult:
    """A fixed synthetic share in a growing training set: the test error levels off at p^2 ||Delta||^2."""
    dim, shift = check_int("dim", config["dim"], 1), check_float("shift_sq", config["shift_sq"], 0.0)
    smallest = check_int("smallest", config["smallest"], dim + 2)
    sizes = np.unique(np.geomspace(smallest, check_int("largest", config["largest"], smallest),
                                   check_int("points", config["points"], 2)).round().astype(np.int64))
    shares = [check_float("shares", p, 0.0, 1.0) for p in config["shares"]]
    errors = sims.simulate_strong_collapse(sizes, shares, dim=dim, shift_sq=shift, replicates=config["replicates"],
                                           seed=config["seed"])
    mean, se = _mean_se(errors)
    rows = [pd.DataFrame({"share": p, "n": sizes, "mean": mean[i], "se": se[i],
                          "theory": mix.mixed_ols_test_error(sizes, p, dim, shift)}) for i, p in enumerate(shares)]
    table = pd.concat(rows, ignore_index=True)
    last = sizes >= min(sizes[-1] / 10, sizes[-2])  # the last decade of n (at least two sizes)
    slopes = {str(p): float(np.polyfit(np.log10(sizes[last]), np.log10(mean[i][last]), 1)[0]) for i, p in enumerate(shares)}
    summary = {"sizes": sizes.tolist(), "plateaus": {str(p): mix.collapse_plateau(p, shift) for p in shares},
               "plateau_sizes": {str(p): mix.plateau_size(p, dim, shift) for p in shares},
               "last_decade_slope": slopes,
               "final_over_clean": {str(p): float(mean[i][-1] / mean[0][-1]) for i, p in enumerate(shares)},
               "max_abs_z": float(np.nanmax(np.abs((table["mean"] - table["theory"]) / table["se"])[table["n"] >= 20 * dim]))}
    return ExperimentResult(summary=summary, table=table)


@experiment(
    "model-size",
    memory=_model_size_memory,
    cost=_model_size_cost,
    defaults={"n_real": 100, "dim": 200, "share": 0.2, "shift_sq": 4.0,
              "model_sizes": [5, 10, 20, 40, 60, 80, 90, 95, 105, 120, 150, 200],
              "replicates": scaled(smoke=40, default=300, full=2000), "seed": 0},
    params={"n_real": integer(4, 10**5), "dim": integer(1, 10**4), "share": number(0, 1),
            "shift_sq": number(0, 10**6), "model_sizes": integers(1, ref("dim")), "replicates": integer(2, 10**6),
            "seed": SEED},
    presets={"random-projections": {}},
)
def run_model_size(config: dict, ctx: RunContext) -> ExperimentResult:
    """Random projections of growing size m on n mixed items: the collapse term grows with m up to m = n."""
    n, dim = check_int("n_real", config["n_real"], 4), check_int("dim", config["dim"], 1)
    sizes = [check_int("model_sizes", m, 1, dim) for m in config["model_sizes"]]
    out = sims.simulate_random_projections(sizes, n=n, dim=dim, share=config["share"], shift_sq=config["shift_sq"],
                                           replicates=config["replicates"], seed=config["seed"])
    rows = []
    for name in ("clean", "mixed"):
        mean, se = _mean_se(out[name])
        share = config["share"] if name == "mixed" else 0.0
        theory = [mix.random_projection_test_error(n, m, dim, share, config["shift_sq"]) if m <= n - 2 else np.nan
                  for m in sizes]
        rows.append(pd.DataFrame({"data": name, "model_size": sizes, "mean": mean, "se": se, "theory": theory}))
    table = pd.concat(rows, ignore_index=True)
    excess, excess_se = _mean_se(out["mixed"] - out["clean"])  # paired: the same data, projections and noise
    table_excess = pd.DataFrame({"model_size": sizes, "collapse_term": excess, "collapse_term_se": excess_se})
    under = [i for i, m in enumerate(sizes) if m <= n // 2]
    summary = {"collapse_term": excess.tolist(), "collapse_term_se": excess_se.tolist(), "model_sizes": sizes,
               "grows_below_threshold": bool(np.all(np.diff(excess[[i for i, m in enumerate(sizes) if m < n]]) > 0)),
               "max_abs_z_underparameterised": float(np.max(np.abs(
                   (table["mean"] - table["theory"]) / table["se"])[table["model_size"].isin([sizes[i] for i in under])]))}
    return ExperimentResult(summary=summary, table=table, extras={"collapse_term": table_excess})


@experiment(
    "verifier-transition",
    memory=_verifier_transition_memory,
    cost=_verifier_transition_cost,
    defaults={"label_error": 0.6, "dim": 10, "signal": 1.0,
              "accuracies": [round(0.4 + 0.02 * i, 2) for i in range(21)],
              "candidates": scaled(smoke=[100, 10000], default=[100, 1000, 10000, 100000]),
              "replicates": scaled(smoke=200, default=1000, full=5000), "seed": 0},
    params={"label_error": number(0, 1), "dim": integer(1, 1000), "signal": number(0, 10**3, open_minimum=True),
            "accuracies": numbers(0, 1), "candidates": integers(1, 10**8), "replicates": integer(2, 10**7),
            "seed": SEED},
    presets={"breakdown": {}},
)
def run_verifier_transition(config: dict, ctx: RunContext) -> ExperimentResult:
    """Synthetic labels wrong 60% of the time, a verifier of accuracy q: the trained classifier's accuracy jumps at q = 0.6."""
    p, s, dim = config["label_error"], config["signal"], check_int("dim", config["dim"], 1)
    accuracies = [check_float("accuracies", q, 0.0, 1.0) for q in config["accuracies"]]
    out = sims.simulate_verifier_transition(accuracies, config["candidates"], label_error=p, dim=dim, signal=s,
                                            replicates=config["replicates"], seed=config["seed"])
    rows = []
    for i, count in enumerate(config["candidates"]):
        mean, se = _mean_se(out["accuracy"][i])
        kept = out["kept"][i].mean(axis=1)
        theory = [cur.verifier_accuracy(p, 1 - q, s, dim, max(1, int(round(k))), true_accept=q)
                  for q, k in zip(accuracies, kept)]
        rows.append(pd.DataFrame({"candidates": count, "accuracy_of_verifier": accuracies, "mean": mean, "se": se,
                                  "kept": kept, "theory": theory,
                                  "limit": [cur.limit_accuracy(p, 1 - q, s, true_accept=q) for q in accuracies]}))
    table = pd.concat(rows, ignore_index=True)
    largest = table[table["candidates"] == max(config["candidates"])]
    summary = {"breakdown_accuracy": float(p), "optimal_accuracy": cur.optimal_accuracy(s),
               "max_abs_z": float(np.max(np.abs((table["mean"] - table["theory"]) / table["se"].clip(lower=1e-12)))),
               "largest_below": float(largest[largest["accuracy_of_verifier"] < p - 0.05]["mean"].max()),
               "largest_above": float(largest[largest["accuracy_of_verifier"] > p + 0.05]["mean"].min())}
    return ExperimentResult(summary=summary, table=table)


#: The biased-verifier cases: (real items at generation 0, distance of the verifier's center from the truth).
VERIFIER_CASES = ((20, 0.0), (20, 0.3), (400, 0.3))


@experiment(
    "biased-verifier",
    memory=_biased_verifier_memory,
    cost=_biased_verifier_cost,
    defaults={"dim": 5, "n_keep": 200, "candidates": 800, "tolerance": 1.0,
              "generations": scaled(smoke=6, default=20, full=50),
              "replicates": scaled(smoke=60, default=300, full=2000), "seed": 0},
    params={"dim": integer(1, 1000), "n_keep": integer(1, 10**6), "candidates": integer(ref("n_keep"), 10**7),
            "tolerance": number(0, 10**6, open_minimum=True), "generations": integer(1, 10**4),
            "replicates": integer(2, 10**6), "seed": SEED},
    presets={"knowledge-center": {}},
)
def run_biased_verifier(config: dict, ctx: RunContext) -> ExperimentResult:
    """Regression retrained on verified synthetic labels: it converges to the verifier's knowledge center."""
    G = check_int("generations", config["generations"], 1)
    rows, summary = [], {}
    for n_real, shift in VERIFIER_CASES:
        out = sims.simulate_biased_verifier(shift, dim=config["dim"], n_real=n_real, n_keep=config["n_keep"],
                                            candidates=config["candidates"], tolerance=config["tolerance"],
                                            generations=G, replicates=config["replicates"], seed=config["seed"],
                                            progress=ctx.progress_for(f"biased verifier n={n_real} shift={shift}"))
        truth, truth_se = _mean_se(out["to_truth"])
        center, center_se = _mean_se(out["to_center"])
        start = float(np.sqrt(np.mean(out["to_center"][0] ** 2)))
        path = cur.band_verifier_path(start, config["tolerance"], G)
        label = f"n_real={n_real}, shift={shift}"
        rows.append(pd.DataFrame({"case": label, "n_real": n_real, "shift": shift, "generation": np.arange(G + 1),
                                  "to_truth": truth, "to_truth_se": truth_se, "to_center": center,
                                  "to_center_se": center_se, "to_center_limit": path,
                                  "to_center_floor": cur.band_verifier_floor(config["tolerance"], config["dim"],
                                                                             config["n_keep"]),
                                  "knowledge_center_error": shift**2}))
        summary[label] = {"first_to_truth": float(truth[0]), "final_to_truth": float(truth[-1]),
                          "final_to_truth_se": float(truth_se[-1]), "knowledge_center_error": shift**2,
                          "final_to_center": float(center[-1]), "final_to_center_se": float(center_se[-1]),
                          "floor": cur.band_verifier_floor(config["tolerance"], config["dim"], config["n_keep"]),
                          "contraction_near_center":
                              cur.band_verifier_contraction(0.0, config["tolerance"])}
    return ExperimentResult(summary=summary, table=pd.concat(rows, ignore_index=True))


@experiment(
    "curation",
    memory=_curation_memory,
    cost=_curation_cost,
    defaults={"proportions": [0.6, 0.3, 0.1], "reward": [0.0, 0.3, 0.6], "real_shares": [0.0, 0.2, 0.5],
              "n_real": scaled(smoke=300, default=1000), "generations": scaled(smoke=8, default=30, full=60),
              "replicates": scaled(smoke=40, default=200, full=1000), "seed": 0},
    params={"proportions": numbers(0, 1), "reward": numbers(-100, 100), "real_shares": numbers(0, 1),
            "n_real": integer(2, 10**7), "generations": integer(1, 10**4), "replicates": integer(2, 10**6),
            "seed": SEED},
    presets={"reward": {}},
)
def run_curation(config: dict, ctx: RunContext) -> ExperimentResult:
    """Pairwise curation by a reward: the rewarded category takes over (replace), a real share holds a fixed point."""
    q, r = np.asarray(config["proportions"], float), np.asarray(config["reward"], float)
    G = check_int("generations", config["generations"], 1)
    rows, summary = [], {}
    for rho in config["real_shares"]:
        shares = sims.simulate_curation(q, r, n_real=config["n_real"], n_kept=config["n_real"], generations=G,
                                        replicates=config["replicates"], real_share=rho, seed=config["seed"],
                                        progress=ctx.progress_for(f"curation: real share {rho}"))
        mean, se = _mean_se(shares, axis=1)  # (G+1, K)
        theory = cur.curation_path(q, r, G, real_share=rho)
        for k in range(q.size):
            rows.append(pd.DataFrame({"real_share": rho, "category": k, "generation": np.arange(G + 1),
                                      "mean": mean[:, k], "se": se[:, k], "theory": theory[:, k]}))
        reward = shares @ r
        summary[f"real_share_{rho}"] = {"final_top_share": float(mean[-1, -1]), "theory_top_share": float(theory[-1, -1]),
                                        "final_reward": float(reward[-1].mean()),
                                        "theory_reward": float(cur.expected_reward(theory[-1], r)),
                                        "reward_rises_every_generation": bool(np.all(np.diff(reward.mean(axis=1)) > -3 *
                                                                                     reward.std(axis=1).max() /
                                                                                     np.sqrt(reward.shape[1])))}
    summary["start_reward"] = float(cur.expected_reward(q, r))
    return ExperimentResult(summary=summary, table=pd.concat(rows, ignore_index=True))
