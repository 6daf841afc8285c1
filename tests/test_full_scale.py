"""Issue 32: the papers' sizes that fit in memory, say their cost first, and travel between machines.

* memory: every experiment and sweep point has an estimate; what cannot fit is refused in one line;
  sweeps run as many points at once as fit; a worker the operating system kills is one line;
* mad-phase in replicate blocks: a chunked run (memory forced low) equals an unchunked one exactly, and a
  point of one block is the chain it always was;
* plan: every experiment declares memory= and cost= (this enumerates the registry: a new experiment fails
  here until it declares both), calibration gives seconds per unit, long runs say their estimate;
* results export/import, and the scale note.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from madlib.core import budget
from madlib.core.pace import Pace, reporting
from madlib.core.sweep import point_seed, sweep
from madlib.experiments import get_experiment, list_experiments, load_result, resolve_config, run_experiment
from madlib.experiments import plan as planning
from madlib.experiments.archive import export_results, import_results, provenance
from madlib.simulations import gmm as phase

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


# ---------------------------------------------------------------- memory
def test_memory_cap_parses_sizes_and_refuses_nonsense(monkeypatch):
    for text, expected in (("8G", 8 * 2**30), ("512M", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)), ("2GB", 2 * 10**9),
                           ("1000", 1000)):
        monkeypatch.setenv("MADLIB_MEMORY", text)
        assert budget.memory_cap() == expected
        assert budget.available_memory()[0] <= expected
    for text in ("-1G", "lots", "1Q", "inf", "nan"):
        monkeypatch.setenv("MADLIB_MEMORY", text)
        with pytest.raises(ValueError, match="MADLIB_MEMORY must be an amount"):
            budget.memory_cap()


def test_workers_fit_in_memory():
    assert budget.workers_for(3e9, 8, 10e9) == 3
    assert budget.workers_for(30e9, 8, 10e9) == 1  # alone it is refused elsewhere, never zero workers
    assert budget.workers_for(1e6, 2, 10e9) == 2


def test_every_experiment_declares_memory_and_cost_for_every_preset_and_scale():
    """Enumerates the registry: an experiment added without ``memory=`` and ``cost=`` fails here. Both give
    finite, non-negative numbers for every preset at every scale, and every class of work has a calibration."""
    for name, exp in list_experiments().items():
        assert exp.memory is not None, f"experiment {name!r} declares no memory= (bytes from its config)"
        assert exp.cost is not None, f"experiment {name!r} declares no cost= (work units from its config)"
        classes = set(exp.calibration or {"": {}})
        for scale in ("smoke", "default", "full"):
            for preset in [None, *exp.presets]:
                config = resolve_config(name, None, scale, preset)
                size, _ = budget.describe(exp.memory(dict(config)))
                assert math.isfinite(size) and size > 0, (name, preset, scale, size)
                units = planning.cost_units(name, config)
                assert units and all(math.isfinite(u) and u >= 0 for u in units.values()), (name, preset, units)
                assert set(units) <= classes, f"{name} {preset} {scale}: work of classes {set(units) - classes} " \
                                              "has no calibration configuration"
        for cls, declared in (exp.calibration or {"": {}}).items():
            sizes = [planning.cost_units(name, resolve_config(name, overrides, "smoke")).get(cls)
                     for overrides in (declared if isinstance(declared, list) else [declared])]
            assert all(sizes) and sizes == sorted(sizes), (name, cls, sizes)  # a small size, then a larger one


def test_a_run_that_cannot_fit_is_refused_in_one_line_before_it_starts(cache, monkeypatch):
    monkeypatch.setenv("MADLIB_MEMORY", "100M")
    with pytest.raises(ValueError) as refused:
        run_experiment("mad-phase", scale="full", preset="gaussian")
    message = str(refused.value)
    assert "needs about" in message and "lower dim" in message and "\n" not in message
    assert not any(cache.glob("mad-phase/*/checkpoints")), "nothing ran"


def test_mad_phase_gaussian_at_full_refuses_from_the_command_line_in_one_line_and_seconds(tmp_path):
    """The issue's 'done when': under a memory the preset cannot fit, one line and exit 2 (no traceback)."""
    env = dict(os.environ, MADLIB_CACHE=str(tmp_path), MADLIB_SCALE="full", MADLIB_MEMORY="100M")
    done = subprocess.run([sys.executable, "-m", "madlib", "run", "mad-phase", "--preset", "gaussian"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("madlib: error: experiment 'mad-phase' needs about"), lines


def test_a_sweep_point_that_cannot_fit_is_refused_before_any_point_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_MEMORY", "1G")
    ran = []

    def point(x, seed):
        ran.append(x)
        return x

    with pytest.raises(ValueError, match=r'sweep point \{"x":2\} needs about 5.0 GiB.*lower x'):
        sweep(point, [{"x": x} for x in range(3)], seed=0, backend="inline",
              memory=lambda p: ((0.1 + 2.45 * p["x"]) * 2**30, "lower x"))
    assert ran == []


def _killer(x, seed):
    """A sweep point that kills its own worker at x == 3 (as the out-of-memory killer would) when asked."""
    import os as _os
    import signal as _signal
    import time as _time

    _time.sleep(0.05)
    if x == 3 and _os.environ.get("MADLIB_TEST_KILL") == "1":
        _os.kill(_os.getpid(), _signal.SIGKILL)
    return {"x": x, "seed": seed}


def test_two_calibration_sizes_separate_the_fixed_cost_from_the_rate(monkeypatch):
    """With t = a + b u measured at two sizes, the calibration recovers b and a; an estimate is a + b u."""
    times = iter([3.0 + 2.0 * 10, 3.0 + 2.0 * 40])
    monkeypatch.setattr(planning, "_timed", lambda name, overrides, cls: (next(times), overrides["u"]))
    entry = planning._calibrate_class("x", "", [{"u": 10}, {"u": 40}])
    assert entry["seconds_per_unit"] == pytest.approx(2.0) and entry["overhead_s"] == pytest.approx(3.0)


def test_a_killed_worker_is_one_line_naming_its_point_and_the_finished_points_stay_cached(tmp_path, monkeypatch):
    script = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_full_scale import _killer
from madlib.core.sweep import sweep
print(json.dumps(sweep(_killer, [{{"x": x}} for x in range(8)], seed=5, backend="processes", workers=2,
                       cache_dir={str(tmp_path / 'points')!r}, key="killer", memory=lambda p: 2**20 * (1 + p["x"]))))
"""
    env = dict(os.environ, MADLIB_TEST_KILL="1", MADLIB_SCALE="default")
    killed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode != 0
    last = killed.stderr.strip().splitlines()[-1]
    assert last.startswith("madlib.core.budget.ResourceError: a sweep worker was killed by the operating system "
                           "(SIGKILL, most likely out of memory)"), last
    assert '{"x":3} (estimated 4 MiB)' in last and "MADLIB_WORKERS=1" in last
    cached = list((tmp_path / "points").rglob("*.json"))
    assert 1 <= len(cached) < 8
    resumed = sweep(_killer, [{"x": x} for x in range(8)], seed=5, backend="processes", workers=2,
                    cache_dir=tmp_path / "points", key="killer")  # here, no kill: computes only the rest
    assert resumed == [{"x": x, "seed": point_seed(5, {"x": x})} for x in range(8)]


def test_the_command_line_prints_a_resource_error_as_one_line(monkeypatch, capsys):
    import madlib.cli as cli

    def killed(*args, **kwargs):
        raise budget.ResourceError("a sweep worker was killed by the operating system (SIGKILL)")

    monkeypatch.setattr(cli, "run_experiment", killed)
    assert cli.main(["run", "gaussian"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "madlib: error: a sweep worker was killed by the operating system (SIGKILL)"]


# ---------------------------------------------------------------- mad-phase in replicate blocks
SMALL_PHASE = {"family": "gaussian", "method": "sample", "dim": 2, "n_real": [20], "synthetic_ratio": [1.0, 2.0],
               "sampling_bias": [1.0], "generations": 3, "tail": 2, "replicates": 250, "seed": 4}


def test_a_point_of_one_block_is_the_chain_as_it_always_was():
    """Block 0 runs on the point's own seed: with replicates <= REPLICATE_BLOCK, today's numbers are unchanged."""
    from madlib.core.sources import DistributionSource
    from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler

    seed = point_seed(4, {"n_real": 20, "synthetic_ratio": 1.0, "sampling_bias": 1.0})
    block = phase.phase_block(n_real=20, synthetic_ratio=1.0, sampling_bias=1.0, block=0, seed=seed, family="gaussian",
                              method="sample", dim=2, dataset="blobs", n_test=10, test_seed=0, generations=3, tail=2,
                              replicates=60)
    baseline, final = phase.phase_point(GaussianFamily(ddof=0), DistributionSource(gaussian_source_sampler(dim=2), 60),
                                        phase.gaussian_distance(2), n_real=20, n_synthetic=20, sampling_bias=1.0,
                                        generations=3, tail=2, seed=seed)
    np.testing.assert_array_equal(block["real_only"], baseline)
    np.testing.assert_array_equal(block["loop_end"], final)
    assert phase.replicate_blocks(250) == [100, 100, 50] and phase.block_seed(seed, 0) == seed
    assert phase.block_seed(seed, 1) != phase.block_seed(seed, 2) != seed


@pytest.mark.parametrize("method", ["sample", "exact"])
def test_a_chunked_run_with_memory_forced_low_equals_an_unchunked_one_exactly(method, cache, monkeypatch, capfd):
    """Plenty of memory: the blocks of every point run side by side on two workers. Memory for one block only:
    one after another. In one process, block after block (phase_diagram_point): the same. The tables are
    identical, bit for bit, for the sampled loop and for its exact shortcut."""
    config = {**SMALL_PHASE, "method": method}
    monkeypatch.setenv("MADLIB_WORKERS", "2")
    monkeypatch.setenv("MADLIB_SCALE", "default")  # worker processes (smoke runs sweeps in-process)
    wide = run_experiment("mad-phase", scale="default", use_cache=False, **config)
    block, _ = phase.phase_block_memory(family="gaussian", method=method, dim=2, dataset="blobs", n_real=20,
                                        synthetic_ratio=2.0, replicates=250)
    monkeypatch.setenv("MADLIB_MEMORY", str(int(block * 1.5)))  # room for one block at a time
    capfd.readouterr()
    narrow = run_experiment("mad-phase", scale="default", use_cache=False, **config)
    assert "1 worker instead of 2" in capfd.readouterr().err
    pd.testing.assert_frame_equal(wide.table, narrow.table, check_exact=True)
    assert list(wide.table["replicates"]) == [250, 250]
    fixed = {k: config[k] for k in ("family", "method", "dim", "generations", "tail", "replicates")}
    for row in wide.summary["points"]:
        point = {k: row[k] for k in ("n_real", "synthetic_ratio", "sampling_bias")}
        serial = phase.phase_diagram_point(**point, seed=point_seed(config["seed"], point), dataset="blobs",
                                           n_test=4000, test_seed=0, **fixed)
        # the row the blocks make; the experiment adds n_e read off its real-only curve (the same for both runs)
        assert serial == {k: v for k, v in row.items()
                          if k not in ("n_effective", "effective_sample_ratio", "n_effective_extrapolated")}


def test_the_exact_method_refuses_the_mixture_by_name():
    with pytest.raises(ValueError, match="method='exact' supports family='gaussian' only.*use method='sample'"):
        run_experiment("mad-phase", scale="smoke", family="gmm", method="exact")


def test_the_w2_closed_form_equals_the_general_formula():
    import torch

    from madlib.metrics.frechet import gaussian_w2_squared
    from madlib.simulations.gaussian import w2_to_standard_normal

    rng = np.random.default_rng(1)
    mean, factor = rng.standard_normal((5, 4)), rng.standard_normal((5, 4, 4))
    cov = factor @ factor.transpose(0, 2, 1)
    general = gaussian_w2_squared(torch.tensor(mean), torch.tensor(cov), torch.zeros(5, 4, dtype=torch.float64),
                                  torch.eye(4, dtype=torch.float64).expand(5, 4, 4)).numpy()
    np.testing.assert_allclose(w2_to_standard_normal(mean, cov), general, rtol=1e-10)


def test_bartlett_factors_have_the_wishart_moments():
    """E[W] = k I and Var[W_ij] = k (1 + [i = j]) for W ~ Wishart_d(k, I): the full-rank and singular branches."""
    from madlib.simulations.gaussian import wishart_factor

    rng = np.random.default_rng(0)
    for dof, dim in ((9, 3), (2, 3), (0, 2)):
        factor = wishart_factor(rng, dof, dim, 40_000)
        w = factor @ np.swapaxes(factor, -1, -2)
        np.testing.assert_allclose(w.mean(0), dof * np.eye(dim), atol=0.05 * max(dof, 1))
        np.testing.assert_allclose(w.var(0), dof * (1 + np.eye(dim)), rtol=0.06, atol=1e-12)


# ---------------------------------------------------------------- plan: calibration, estimates, announcements
def test_calibration_measures_seconds_per_unit_and_the_plan_uses_it(cache, capsys):
    stored = planning.calibrate(["cats", "gaussian-sweep"])
    assert stored["device"] == planning.device_key() and planning.calibration_path(stored["device"]).is_file()
    for name in ("cats", "gaussian-sweep"):
        for cls, entry in stored["experiments"][name].items():
            assert entry["seconds"] > 0 and entry["seconds_per_unit"] == pytest.approx(entry["seconds"] / entry["units"], rel=1e-3)
    rows = {(r["experiment"], r["preset"]): r for r in planning.plan_rows("full", ["cats"])}
    config = resolve_config("cats", None, "full", "blue-cats")
    rate = stored["experiments"]["cats"][""]["seconds_per_unit"]
    assert rows["cats", "blue-cats"]["cpu_seconds"] == pytest.approx(planning.cost_units("cats", config)[""] * rate)
    assert rows["cats", "blue-cats"]["cpu_source"] == "this CPU"


def test_plan_lists_every_preset_with_time_and_memory(cache):
    from madlib.cli import main

    out = subprocess.run([sys.executable, "-m", "madlib", "plan", "--scale", "full"], cwd=REPO, capture_output=True,
                         text=True, timeout=120, env=dict(os.environ, MADLIB_CACHE=str(cache)))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for name, exp in list_experiments().items():
        for preset in exp.presets or ["(defaults)"]:
            assert any(line.split()[:2] == [name, preset] and ("GiB" in line or "MiB" in line) for line in lines), \
                (name, preset)
    assert "GPU: not calibrated" in out.stdout and "madlib plan --calibrate" in out.stdout
    del main


def test_a_long_run_says_its_estimate_when_it_starts_and_reports_progress(cache, capsys, monkeypatch):
    fake = {"format": planning.CALIBRATION_FORMAT, "device": planning.device_key(),
            "experiments": {"cats": {"": {"seconds_per_unit": 1.0}}}}
    path = planning.calibration_path(fake["device"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fake))
    run_experiment("cats", scale="smoke", generations=5, replicates=10, trajectories=0)
    err = capsys.readouterr().err
    assert "madlib: note: cats (smoke) is estimated to take about" in err and "on this machine" in err
    fake["experiments"]["cats"][""]["seconds_per_unit"] = 1e-12
    path.write_text(json.dumps(fake))
    run_experiment("cats", scale="smoke", generations=6, replicates=10, trajectories=0)
    assert "estimated" not in capsys.readouterr().err  # a short run says nothing


def test_gmm_grid25_at_full_announces_its_estimate_from_the_reference_calibration(cache):
    config = resolve_config("gmm", None, "full", "grid25")
    line = planning.announcement("gmm", "grid25", config, "cpu", "full")
    assert line is not None and line.startswith("madlib: note: gmm --preset grid25 (full) is estimated to take about")


def test_a_pace_reports_progress_with_the_time_left_when_asked(capsys):
    clock = iter(range(0, 1000, 10))
    with reporting(15):
        pace = Pace("a run", 5, "generation", clock=lambda: next(clock))
        for _ in range(4):
            pace.tick()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("madlib: progress")]
    assert lines and lines[0].startswith("madlib: progress: a run: 2 of 5 generations, about")


def test_a_parallel_sweeps_pace_is_judged_once_its_first_round_of_workers_finished():
    """Two workers finish their first blocks together: one of them after 53 s is not a pace of 53 s a block
    (the first 'on pace' note of mad-phase at full said 11 h instead of about 5.5 h)."""
    import io

    now, out = [0.0], io.StringIO()
    pace = Pace("mad-phase", 750, "point", clock=lambda: now[0], stream=out, threshold=3600, parallel=2)
    now[0] = 53.0
    pace.tick()
    assert out.getvalue() == ""
    pace.tick()
    assert "on pace to take about 5 h 30 min more (2 of 750 points in 53 s)" in out.getvalue(), out.getvalue()


# ---------------------------------------------------------------- results archives and the scale note
def test_results_travel_in_an_archive_and_are_read_back_identical(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "there"))
    first = run_experiment("cats", scale="smoke", generations=5, replicates=20, trajectories=3)
    run_experiment("gaussian", scale="default", generations=5, replicates=20)
    archive = tmp_path / "results.tar.gz"
    assert export_results(archive, scale="smoke") == 1
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert not any("checkpoint" in n or n.endswith(".pt") or "points" in n for n in names)
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "here"))
    assert import_results(archive) == 1 and import_results(archive) == 0  # a finished result is kept
    again = run_experiment("cats", scale="smoke", generations=5, replicates=20, trajectories=3)
    assert again.cached and again.summary == first.summary and again.summary["scale"] == "smoke"
    pd.testing.assert_frame_equal(again.table, first.table)
    assert provenance()["results"] == 1


def test_an_archive_with_anything_else_in_it_is_refused(tmp_path, monkeypatch):
    import io

    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("madlib-results.json", "../outside.json"):
            data = b'{"format": "madlib-results/1"}'
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ValueError, match="not part of a madlib results archive"):
        import_results(archive)
    assert not (tmp_path / "outside.json").exists()


def test_a_damaged_result_in_an_archive_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "there"))
    run_experiment("cats", scale="smoke", generations=5, replicates=20, trajectories=0)
    good = tmp_path / "good.tar.gz"
    export_results(good)
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(good) as src, tarfile.open(bad, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith("summary.json"):
                data = data.replace(b"p_blue_lost", b"p_blue_LOST")
            member.size = len(data)
            import io

            dst.addfile(member, io.BytesIO(data))
    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "here"))
    with pytest.raises(ValueError, match="is damaged"):
        import_results(bad)
    assert not list((tmp_path / "here").glob("cats/*/manifest.json"))


def test_the_scale_note_says_the_scale_and_where_imported_results_came_from(tmp_path, monkeypatch):
    from madlib.plots.glue import scale_line

    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path / "cache"))
    assert scale_line("full").startswith("**Results at the `full` scale**: the papers' sizes.")
    assert "imported" not in scale_line("full")
    (tmp_path / "cache").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache" / "imported-results.json").write_text(json.dumps(
        {"device": "cuda: NVIDIA H100", "created": "2025-01-02T00:00:00+00:00", "scale": "full", "results": 3}))
    assert "Results computed on cuda: NVIDIA H100 (2025-01-02) were imported" in scale_line("full")
    assert "imported" not in scale_line("default")  # an import of full results says nothing on a default page


def test_the_compute_table_in_teaching_is_up_to_date():
    from tools.compute_table import main

    assert main(["--check"]) == 0, "benchmarks/compute-table.md is stale: run python -m tools.compute_table"


def test_on_a_gpu_the_memory_that_counts_is_the_gpus(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (3 * 2**30, 80 * 2**30))
    monkeypatch.delenv("MADLIB_MEMORY", raising=False)
    assert budget.available_memory("cuda") == (3 * 2**30, "GPU memory")
    from madlib.experiments import check_memory

    with pytest.raises(ValueError, match="needs about 4.0 GiB of memory .* 3.0 GiB of GPU memory available: lower n"):
        check_memory("x", (4 * 2**30, "lower n"), "cuda")
