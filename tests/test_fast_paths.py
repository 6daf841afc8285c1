"""Every shortcut agrees with the plain path it replaces, or refuses by name (no silent other answer).

The cases are enumerated from the registries, never listed by hand: the experiments' declared
``shortcuts`` (:func:`madlib.experiments.experiment`), every workflow of
:data:`madlib.core.workflows.WORKFLOW_TABLE` with its options, every value of every choice parameter and
every field of :class:`madlib.models.decoding.Decoding`. A workflow, a method, a parameter or a decoding
option added without a place here makes a test fail.
"""
from __future__ import annotations

import importlib
import inspect
import itertools
import pkgutil
import re
from dataclasses import fields

import numpy as np
import pytest
import torch
from scipy import stats

import madlib.core.loop as loop_module
import madlib.widgets
from madlib.core.workflows import WORKFLOW_OPTIONS, WORKFLOW_TABLE, WORKFLOWS, configure
from madlib.experiments import get_experiment, list_experiments, resolve_config, run_experiment
from madlib.models.decoding import Decoding
from madlib.models.gmm import GMMFamily, GMMModel
from madlib.models.transformer import TransformerConfig, build_model, continue_text
from madlib.simulations.gaussian import EXACT_WORKFLOWS, simulate_exact

# ---------------------------------------------------------------- the shortcut registry

#: Sizes held fixed in the comparisons (they set the cost, not the path taken).
SIZES = {"gaussian": {"n_real": 20, "generations": 10, "replicates": 8000, "points": 3, "seed": 0},
         "mad-phase": {"n_real": [25], "synthetic_ratio": [1.0], "sampling_bias": [1.0], "generations": 4, "tail": 2,
                       "replicates": 8000, "seed": 0}}
#: For each parameter that is neither a size nor a choice: a second value besides its default.
ALTERNATIVES = {"gaussian": {"sampling_bias": 0.8, "n_synthetic": 30, "dim": 2},
                # 0.1: two synthetic items (a singular Wishart scatter); dim 8: the Bartlett factors in d dimensions
                # curve_span, curve_replicates: the real-only curve n_e is read off (sampled fits, or under the
                # exact method each fit's sufficient statistics: compared size by size below)
                "mad-phase": {"sampling_bias": [0.6], "synthetic_ratio": [0.1], "dim": 8, "dataset": "grid25",
                              "n_test": 100, "curve_span": 2.0, "curve_replicates": 1}}
#: A non-default value of each workflow option.
OPTION_ALTERNATIVES = {"kept_real_fraction": 0.2, "mix_original": 0.3, "mix_previous": 0.2, "reset_every": 3}


def shortcut_registry() -> list[tuple[str, str, str, str]]:
    """(experiment, parameter, shortcut value, reference value) for every declared shortcut."""
    return [(name, param, fast, reference) for name, exp in list_experiments().items()
            for param, mapping in exp.shortcuts.items() for fast, reference in mapping.items()]


def test_every_method_is_a_declared_shortcut_or_the_reference_it_replaces():
    """A new value of an experiment's ``method`` fails here until it is declared (and so tested below)."""
    for name, exp in list_experiments().items():
        for param, values in exp.choices.items():
            if param != "method" and param not in exp.shortcuts:
                continue
            mapping = exp.shortcuts.get(param, {})
            assert mapping, f"{name}: {param} has values {values} but declares no shortcuts"
            for value in values:
                assert value in mapping or value in mapping.values(), \
                    f"{name}: {param}={value!r} is neither a declared shortcut nor a reference"
            assert set(mapping.values()) <= set(values)


def test_every_option_of_an_experiment_with_a_shortcut_has_a_case():
    """Each parameter is a size, a choice (all values tried), a workflow option or has an alternative value."""
    for name, param, _, _ in shortcut_registry():
        exp = get_experiment(name)
        assert name in SIZES and name in ALTERNATIVES, f"no comparison cases for {name}'s shortcut {param}"
        for key in exp.defaults:
            covered = (key in SIZES[name] or key in exp.choices or key in WORKFLOW_OPTIONS
                       or key in ALTERNATIVES[name])
            assert covered, f"{name}: parameter {key!r} has no case in the shortcut tests"
        for option in WORKFLOW_OPTIONS:
            assert option in OPTION_ALTERNATIVES


def workflow_settings(accepted) -> list[dict]:
    """Every accepted workflow, with its options at their defaults and, one at a time, at an alternative."""
    out = []
    for workflow in accepted:
        out.append({"workflow": workflow})
        out += [{"workflow": workflow, option.name: OPTION_ALTERNATIVES[option.name]}
                for option in WORKFLOW_TABLE[workflow].options]
    return out


def shortcut_cases() -> list[tuple[str, str, str, str, dict]]:
    cases = []
    for name, param, fast, reference in shortcut_registry():
        exp = get_experiment(name)
        choices = {k: v for k, v in exp.choices.items() if k not in ("workflow", param)}
        grid = [dict(zip(choices, values)) for values in itertools.product(*choices.values())]
        alternatives = [{}] + [{k: v} for k, v in ALTERNATIVES[name].items()]
        # an experiment without a workflow parameter (mad-phase runs the fresh-data loop) has one setting
        settings = workflow_settings(exp.choices.get("workflow", WORKFLOWS)) if "workflow" in exp.defaults else [{}]
        for setting in settings:
            for choice in grid:
                for alternative in alternatives:
                    cases.append((name, param, fast, reference, {**setting, **choice, **alternative}))
    return cases


def _final(result, metric: str, generation: int) -> np.ndarray:
    table = result.table
    rows = table[(table.metric == metric) & (table.generation == generation)]
    return rows.sort_values("replicate")["value"].to_numpy()


@pytest.mark.parametrize("name, param, fast, reference, overrides", shortcut_cases(),
                         ids=lambda x: x if isinstance(x, str) else ",".join(f"{k}={v}" for k, v in x.items()))
def test_shortcut_agrees_with_the_plain_loop_or_refuses_by_name(name, param, fast, reference, overrides, tmp_path,
                                                                monkeypatch):
    """Same law (:data:`COMPARISONS`): for the Gaussian, at every recorded generation, mean of ln sigma and of
    the mean (z-tests) and the KS test of ln sigma; for the phase diagram, every point's mean distances. With
    enough replicates that a 5% difference would stand at more than 4.5 standard errors (asserted, so the
    test cannot quietly lose its power)."""
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    config = {**SIZES[name], **overrides}
    try:
        shortcut = run_experiment(name, **config, **{param: fast})
    except ValueError as error:
        message = str(error)
        if f"{param}={fast!r}" not in message:  # a setting nothing accepts: the plain loop refuses it too
            with pytest.raises(ValueError):
                run_experiment(name, **config, **{param: reference})
            return
        assert f"use {param}={reference!r}" in message and "\n" not in message, message
        return
    plain = run_experiment(name, **config, **{param: reference})
    COMPARISONS[name](plain, shortcut)


def _compare_gaussian(plain, shortcut) -> None:
    for generation in sorted(set(plain.table.generation)):
        a, b = np.log(_final(plain, "std", generation)), np.log(_final(shortcut, "std", generation))
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert 4.5 * se < np.log(1.05) or se == 0, f"too few replicates to see a 5% difference (se {se:.3g})"
        assert abs(a.mean() - b.mean()) <= 4.5 * se + 1e-12, (generation, a.mean(), b.mean(), se)
        if se > 0:
            assert stats.ks_2samp(a, b).pvalue > 1e-4, generation
        m1, m2 = _final(plain, "mean", generation), _final(shortcut, "mean", generation)
        se_mean = np.sqrt(m1.var(ddof=1) / m1.size + m2.var(ddof=1) / m2.size)
        assert abs(m1.mean() - m2.mean()) <= 4.5 * se_mean + 1e-12


def _compare_phase_points(plain, shortcut) -> None:
    """Per point of the phase diagram: the real-only fit's and the loop end's mean distance (z-tests on the
    rows' standard errors, with the power to see a 5% difference asserted) and the share of replicates the
    loop leaves better off (its binomial standard error)."""
    assert len(plain.summary["points"]) == len(shortcut.summary["points"])
    for a, b in zip(plain.summary["points"], shortcut.summary["points"]):
        assert {k: a[k] for k in ("n_real", "synthetic_ratio", "sampling_bias", "replicates")} == \
            {k: b[k] for k in ("n_real", "synthetic_ratio", "sampling_bias", "replicates")}
        for column in ("real_only", "loop_end"):
            se = np.hypot(a[f"{column}_se"], b[f"{column}_se"])
            assert 4.5 * se < 0.05 * a[column], f"too few replicates to see a 5% difference in {column} (se {se:.3g})"
            assert abs(a[column] - b[column]) <= 4.5 * se, (a, b, column)
        p = (a["share_better"] + b["share_better"]) / 2
        se = np.sqrt(2 * p * (1 - p) / a["replicates"])
        assert abs(a["share_better"] - b["share_better"]) <= 4.5 * se + 1e-12, (a, b)
    # the real-only curve MAD's n_e is read off: the exact method draws its fits' sufficient statistics
    curve_a, curve_b = plain.summary["real_only_curve"], shortcut.summary["real_only_curve"]
    assert curve_a["n_real"] == curve_b["n_real"]
    for i, n in enumerate(curve_a["n_real"]):
        se = np.hypot(curve_a["standard_error"][i], curve_b["standard_error"][i])
        assert 4.5 * se < 0.05 * curve_a["distance"][i], f"too few fits to see a 5% difference at n={n} (se {se:.3g})"
        assert abs(curve_a["distance"][i] - curve_b["distance"][i]) <= 4.5 * se, (n, curve_a, curve_b)


#: How each experiment's shortcut is compared with its reference (a new shortcut fails until it has one).
COMPARISONS = {"gaussian": _compare_gaussian, "mad-phase": _compare_phase_points}


def test_every_shortcut_has_a_comparison():
    assert {name for name, *_ in shortcut_registry()} <= set(COMPARISONS)


def test_the_exact_chain_implements_exactly_its_declared_workflows():
    """simulate_exact runs each workflow of EXACT_WORKFLOWS and refuses every other by name."""
    for workflow in WORKFLOWS:
        if workflow in EXACT_WORKFLOWS:
            simulate_exact(10, 3, 5, workflow=workflow)
        else:
            with pytest.raises(ValueError, match=f"not '{workflow}'; use method='sample'"):
                simulate_exact(10, 3, 5, workflow=workflow)
    with pytest.raises(ValueError, match="kept_real_fraction"):
        simulate_exact(10, 3, 5, workflow=configure("replace", kept_real_fraction=0.1))


def test_a_catch_all_branch_would_be_caught():
    """The check above has teeth: reset implemented as fresh (the old catch-all) differs from the loop."""
    reset = simulate_exact(20, 10, 8000, workflow=configure("reset", reset_every=3), record=[10], seed=1).log_var[-1]
    fresh = simulate_exact(20, 10, 8000, workflow="fresh", record=[10], seed=1).log_var[-1]
    se = np.sqrt(reset.var() / reset.size + fresh.var() / fresh.size)
    assert abs(reset.mean() - fresh.mean()) > 10 * se


# ---------------------------------------------------------------- workflow options reach the loop

#: Small sizes per experiment for the pass-through test (the loop is stopped before it runs).
TINY = {
    "gaussian": {"method": "sample", "n_real": 20, "generations": 3, "replicates": 4},
    "cats": {"generations": 3, "replicates": 4},
    "cat-hues": {"generations": 3, "replicates": 4},
    "zipf-survival": {"generations": 3, "replicates": 2, "vocabulary": 50, "n_real": 500},
    "gmm": {"generations": 3, "replicates": 2, "n_real": 60, "n_eval": 60, "eval_points": 2},
    "regression": {"generations": 3, "replicates": 4},
    "lm": {"generations": 2, "replicates": 1, "n_real": 20, "test_blocks": 4, "eval_prompts": 2,
           "n_sample_texts": 1},
    "vae": {"generations": 2, "n_real": 50, "n_eval": 20, "n_embed": 10, "epochs": 1, "classifier_train_size": 500,
            "classifier_epochs": 1},
}


class _Stop(Exception):
    pass


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


def passthrough_cases() -> list[tuple[str, dict]]:
    return [(name, setting) for name, exp in list_experiments().items() if "workflow" in exp.defaults
            for setting in workflow_settings(exp.choices.get("workflow", WORKFLOWS))]


def test_every_experiment_with_a_workflow_has_a_pass_through_case():
    assert {name for name, _ in passthrough_cases()} <= set(TINY)


@pytest.mark.parametrize("name, setting", passthrough_cases(),
                         ids=lambda x: x if isinstance(x, str) else ",".join(f"{k}={v}" for k, v in x.items()))
def test_workflow_and_its_options_reach_the_loop(name, setting, shared_cache, monkeypatch):
    """``madlib run NAME workflow=W option=V`` runs the loop with workflow W and option V, never another."""
    monkeypatch.setenv("MADLIB_CACHE", str(shared_cache))  # shared: the VAE's classifier is trained once
    seen = []
    original = loop_module._settings

    def spy(workflow, *args):
        seen.append(configure(workflow))
        raise _Stop

    monkeypatch.setattr(loop_module, "_settings", spy)
    with pytest.raises(_Stop):
        run_experiment(name, **TINY[name], **setting)
    expected = configure(setting["workflow"], **{k: v for k, v in setting.items() if k != "workflow"})
    assert seen and seen[0] == expected
    del original


@pytest.mark.parametrize("option", sorted(WORKFLOW_OPTIONS))
def test_an_option_of_another_workflow_is_refused_not_ignored(option):
    owner = WORKFLOW_OPTIONS[option][0]
    other = next(w for w in WORKFLOWS if w != owner)
    with pytest.raises(ValueError, match=f"{option} applies only when workflow is {owner}"):
        resolve_config("gmm", {"workflow": other, option: OPTION_ALTERNATIVES[option]})
    assert resolve_config("gmm", {"workflow": owner, option: OPTION_ALTERNATIVES[option]})[option] \
        == OPTION_ALTERNATIVES[option]


# ---------------------------------------------------------------- explorers offer what they compute

def widget_modules():
    return [importlib.import_module(f"madlib.widgets.{m.name}") for m in pkgutil.iter_modules(madlib.widgets.__path__)]


def test_every_workflow_menu_offers_only_what_its_backend_computes():
    backends = {"gaussian": EXACT_WORKFLOWS}  # the live Gaussian explorer runs the exact chain
    for module in widget_modules():
        key = module.__name__.rsplit(".", 1)[1]
        source = inspect.getsource(module)
        # a menu of workflows to compute (not of cached runs to browse) must be declared, to be checked
        if re.search(r"WORKFLOWS|value=\"replace\"", source):
            assert hasattr(module, "WORKFLOW_MENU"), f"{module.__name__} has a workflow menu but no WORKFLOW_MENU"
        if hasattr(module, "WORKFLOW_MENU"):
            computed = backends.get(key) or get_experiment(key).choices.get("workflow", WORKFLOWS)
            assert set(module.WORKFLOW_MENU) <= set(computed), module.__name__


def test_the_gaussian_explorer_refuses_what_the_exact_chain_refuses():
    from madlib.widgets.gaussian import explorer_figure

    with pytest.raises(ValueError, match="use method='sample'"):
        explorer_figure(workflow="mix", generations=5, runs=5)


# ---------------------------------------------------------------- the cached decoder

#: Values of every Decoding field (the default first); a new field fails until it has some here.
DECODING_VALUES = {"temperature": (1.0, 0.0, 0.7), "top_k": (0, 3), "beams": (1, 3), "repetition_penalty": (1.0, 2.0)}


def test_every_decoding_option_has_values():
    assert {f.name for f in fields(Decoding)} == set(DECODING_VALUES)


@pytest.fixture(scope="module")
def random_transformer():
    model = build_model(TransformerConfig(vocab_size=30, context=40, d_model=16, n_layers=2, n_heads=2), seed=3)
    with torch.no_grad():  # sharpen the random model so that decoding choices matter
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.5)
    return model


@pytest.mark.parametrize("values", list(itertools.product(*DECODING_VALUES.values())),
                         ids=lambda v: ",".join(map(str, v)))
def test_the_key_value_cache_decodes_exactly_as_recomputing(values, random_transformer):
    decoding = Decoding(**dict(zip(DECODING_VALUES, values)))
    prompt = torch.randint(30, (4, 6), generator=torch.Generator().manual_seed(0))
    cached = continue_text(random_transformer, prompt, 16, decoding, generator=torch.Generator().manual_seed(1))
    plain = continue_text(random_transformer, prompt, 16, decoding, generator=torch.Generator().manual_seed(1),
                          cache=False)
    assert torch.equal(cached, plain)


# ---------------------------------------------------------------- batched EM

@pytest.mark.parametrize("dataset, components", [("blobs", 2), ("grid25", 25)])
def test_batched_em_equals_fitting_each_chain_alone(dataset, components):
    """R chains fitted in one batch (per-chain stopping, compaction) equal R fits of one chain each, from the
    same warm start (no random initialisation), to float precision."""
    from madlib.data.toy import get_toy

    toy = get_toy(dataset)
    data = toy.sampler(6, 300, torch.Generator().manual_seed(2))
    start = GMMFamily(components, max_iter=1, kmeans_iterations=1).fit(data, generator=torch.Generator().manual_seed(3))
    # no random re-seeding either; a tight tol makes the chains run long and stop apart
    family = GMMFamily(components, init="previous", dead="drop", tol=1e-10, max_iter=300)
    batched = family.fit(data, previous=start)
    assert len(set(batched.chain_iterations.tolist())) > 1  # chains stopped at different iterations
    for r in range(data.shape[0]):
        one = GMMModel(start.weights[r:r + 1], start.means[r:r + 1], start.covs[r:r + 1])
        alone = family.fit(data[r:r + 1], previous=one)
        assert torch.allclose(alone.means[0], batched.means[r], atol=1e-8)
        assert torch.allclose(alone.weights[0], batched.weights[r], atol=1e-10)
        assert int(alone.chain_iterations[0]) == int(batched.chain_iterations[r])


# ---------------------------------------------------------------- closed forms reported as results

#: Where each experiment's closed forms hold; its theory fields must appear there only (and agree there).
CLOSED_FORMS = {
    "gaussian": ({"method": "sample", "n_real": 20, "generations": 6, "replicates": 3000, "points": 2},
                 lambda s: s.get("theory_std_median"), {("replace", ())}),
    "cats": ({"generations": 20, "replicates": 300, "trajectories": 0},
             lambda s: s.get("theory_p_blue_lost"), {("replace", ())}),
    "regression": ({"generations": 4, "replicates": 400},
                   lambda s: s.get("theory_test_error"), {("replace", ()), ("accumulate", ())}),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_closed_forms_are_reported_only_where_they_hold(name, tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    sizes, theory_of, valid = CLOSED_FORMS[name]
    for setting in workflow_settings(get_experiment(name).choices.get("workflow", WORKFLOWS)):
        key = (setting["workflow"], tuple(k for k in setting if k != "workflow"))
        summary = run_experiment(name, **sizes, **setting).summary
        assert (theory_of(summary) is not None) == (key in valid), (name, setting)
    gaussian = run_experiment("gaussian", **CLOSED_FORMS["gaussian"][0]).summary
    assert gaussian["final_std_median"] == pytest.approx(gaussian["theory_std_median"], rel=0.03)
