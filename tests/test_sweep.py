"""madlib.core.sweep: same results on every backend, per-point seeds, a resumable per-point cache, clear errors."""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from madlib.core.sweep import _PointCache, default_backend, default_workers, point_seed, sweep

GRID = [{"n": n, "scale": s} for n in (3, 5, 8) for s in (0.5, 2.0)]


def noisy_stat(*, n: int, scale: float, seed: int) -> dict:
    """A small seeded torch computation whose floats would differ with another seed or thread count."""
    generator = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(n, 64, generator=generator, dtype=torch.float64)
    gram = x @ x.T
    return {"seed": seed, "trace": float(gram.trace()), "sum": float(gram.sum()),
            "numpy": float(np.random.default_rng(seed).normal()), "threads": torch.get_num_threads()}


def counted(*, x: int, seed: int, log_dir: str, fail_on: int | None = None) -> int:
    """Leaves a file per call (workers are processes, so a counter in memory would not do); fails on one point."""
    Path(log_dir, f"x{x}-{os.getpid()}-{os.urandom(6).hex()}").touch()
    if fail_on is not None and x == fail_on:
        raise RuntimeError(f"point x={x} fails")
    return x * x + seed % 7


def calls(log_dir: Path) -> dict[int, int]:
    counts: dict[int, int] = {}
    for path in log_dir.iterdir():
        x = int(path.name.split("-")[0][1:])
        counts[x] = counts.get(x, 0) + 1
    return counts


def as_json(results) -> str:
    return json.dumps(results, sort_keys=True)


def test_identical_inline_processes_and_dask():
    from dask.distributed import Client, LocalCluster

    inline = sweep(noisy_stat, GRID, seed=11, backend="inline")
    processes = sweep(noisy_stat, GRID, seed=11, backend="processes", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        on_dask = sweep(noisy_stat, GRID, seed=11, client=client)
        dask_pids = set(client.run(os.getpid).values())
    assert as_json(inline) == as_json(processes) == as_json(on_dask)
    assert len(dask_pids) == 2 and os.getpid() not in dask_pids
    # each result is the point's own computation, in point order, on one thread
    for point, result in zip(GRID, inline):
        assert result == noisy_stat(**point, seed=point_seed(11, point)) | {"threads": 1}
        assert result["threads"] == 1


def test_processes_really_use_other_processes(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    sweep(functools.partial(counted, log_dir=str(log)), [{"x": x} for x in range(6)], seed=0,
          backend="processes", workers=2)
    pids = {path.name.split("-")[1] for path in log.iterdir()}
    assert str(os.getpid()) not in pids and 1 <= len(pids) <= 2


def test_inline_restores_torch_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert sweep(noisy_stat, GRID[:2], seed=0, backend="inline")[0]["threads"] == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_seeds_differ_across_points_and_are_stable():
    points = [{"n": n, "scale": s, "remedy": r} for n in range(20) for s in (0.1, 1.0) for r in ("none", "filter")]
    seeds = [point_seed(3, p) for p in points]
    assert len(set(seeds)) == len(points)
    assert all(0 <= s < 2**63 for s in seeds)
    # the order of keys, of the points or of the run does not matter; the sweep seed does
    assert point_seed(3, {"scale": 0.1, "n": 0, "remedy": "none"}) == seeds[0]
    assert point_seed(4, points[0]) != seeds[0]
    # pinned values: a change here (e.g. Python's randomised hash()) silently changes every published number
    assert point_seed(0, {"x": 1}) == 8278758227740748238
    assert point_seed(0, {"x": 1, "y": "a"}) == 452542891001943310
    assert point_seed(1, {"x": 1}) == 6900751214359197593
    # the sweep hands fn exactly these seeds
    results = sweep(noisy_stat, GRID, seed=3, backend="inline")
    assert [r["seed"] for r in results] == [point_seed(3, p) for p in GRID]


def counted_interrupt(*, x: int, seed: int, log_dir: str) -> int:
    """Like Ctrl-C (or a killed job) at the point x=5: not an error the sweep may catch."""
    if x == 5:
        raise KeyboardInterrupt
    return counted(x=x, seed=seed, log_dir=log_dir)


@pytest.mark.parametrize("backend", ["inline", "processes"])
def test_failed_sweep_resumes_without_recomputing(tmp_path, backend):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    points = [{"x": x} for x in range(8)]
    failing = functools.partial(counted, log_dir=str(log), fail_on=5)
    with pytest.raises(RuntimeError, match="x=5 fails") as raised:
        sweep(failing, points, seed=1, backend=backend, workers=2, cache_dir=cache, key="counted")
    assert "1 of 8 points failed" in "\n".join(raised.value.__notes__)
    store = _PointCache(cache, "counted", 1)
    # one failing point does not stop the others: each ran once and is cached
    assert calls(log) == {x: 1 for x in range(8)}
    assert {p["x"] for p in points if store.path(p).exists()} == set(range(8)) - {5}
    assert not list(cache.rglob("*.tmp"))  # atomic writes leave no temp file behind

    fixed = functools.partial(counted, log_dir=str(log))
    results = sweep(fixed, points, seed=1, backend=backend, workers=2, cache_dir=cache, key="counted")
    assert results == [x * x + point_seed(1, {"x": x}) % 7 for x in range(8)]
    assert calls(log) == {x: 1 + (x == 5) for x in range(8)}  # only the failed point was computed again

    # a third run computes nothing; another seed or key is another cache entry
    assert sweep(fixed, points, seed=1, backend="inline", cache_dir=cache, key="counted") == results
    assert sum(calls(log).values()) == 9
    sweep(fixed, points[:2], seed=2, backend="inline", cache_dir=cache, key="counted")
    sweep(fixed, points[:2], seed=1, backend="inline", cache_dir=cache, key="counted-v2")
    assert sum(calls(log).values()) == 13


def test_interrupted_sweep_keeps_the_points_finished_before(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    points = [{"x": x} for x in range(8)]
    with pytest.raises(KeyboardInterrupt):
        sweep(functools.partial(counted_interrupt, log_dir=str(log)), points, seed=1, backend="inline",
              cache_dir=cache, key="counted")
    assert calls(log) == {x: 1 for x in range(5)}  # stopped at once
    results = sweep(functools.partial(counted, log_dir=str(log)), points, seed=1, backend="inline",
                    cache_dir=cache, key="counted")
    assert calls(log) == {x: 1 for x in range(8)}  # each point written as it finished: 0-4 were not redone
    assert results == [x * x + point_seed(1, {"x": x}) % 7 for x in range(8)]


def test_damaged_cache_entry_is_recomputed(tmp_path):
    log, cache = tmp_path / "log", tmp_path / "cache"
    log.mkdir()
    fn = functools.partial(counted, log_dir=str(log))
    points = [{"x": 1}, {"x": 2}]
    sweep(fn, points, seed=0, backend="inline", cache_dir=cache, key="k")
    _PointCache(cache, "k", 0).path(points[0]).write_bytes(b"\x80truncated")
    assert sweep(fn, points, seed=0, backend="inline", cache_dir=cache, key="k") == \
        [1 + point_seed(0, points[0]) % 7, 4 + point_seed(0, points[1]) % 7]
    assert calls(log) == {1: 2, 2: 1}


def recorded(*, x: int, seed: int, order: list) -> int:
    order.append(x)  # inline only: the same list object in this process
    return x + seed % 5


def test_cost_orders_the_runs_not_the_results():
    points = [{"x": x} for x in range(6)]
    order: list[int] = []
    fn = functools.partial(recorded, order=order)
    results = sweep(fn, points, seed=0, backend="inline", cost=lambda p: (p["x"] - 2) ** 2)
    assert order == [5, 0, 4, 1, 3, 2]  # costliest first, ties in the points' order
    assert results == sweep(fn, points, seed=0, backend="inline") == [x + point_seed(0, p) % 5
                                                                      for x, p in enumerate(points)]
    with pytest.raises(ValueError, match=r"cost\(point\) must be >= 0.0"):
        sweep(fn, points, seed=0, backend="inline", cost=lambda p: -1)
    with pytest.raises(ValueError, match="cost must be a callable"):
        sweep(fn, points, seed=0, backend="inline", cost=3)


def test_default_key_is_the_function_name(tmp_path):
    first = sweep(noisy_stat, GRID[:2], seed=0, backend="inline", cache_dir=tmp_path)
    (entry,) = [p for p in tmp_path.iterdir() if p.name != "CACHEDIR.TAG"]  # the folder is tagged as a cache
    assert entry.name.startswith(f"{noisy_stat.__module__}.noisy_stat-") and len(list(entry.iterdir())) == 2
    assert sweep(noisy_stat, GRID[:2], seed=0, backend="inline", cache_dir=tmp_path) == first


def test_defaults_from_environment(monkeypatch):
    monkeypatch.delenv("MADLIB_DASK_SCHEDULER", raising=False)
    monkeypatch.setenv("MADLIB_WORKERS", "3")
    assert default_workers() == 3 and default_workers(5) == 5
    monkeypatch.delenv("MADLIB_WORKERS")
    assert default_workers() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("MADLIB_SCALE", "smoke")
    assert default_backend(4) == "inline"
    monkeypatch.setenv("MADLIB_SCALE", "default")
    assert default_backend(4) == "processes" and default_backend(1) == "inline"
    monkeypatch.setenv("MADLIB_DASK_SCHEDULER", "tcp://127.0.0.1:8786")
    assert default_backend(4) == "dask"


def test_fresh_interpreter_same_seeds_and_no_dask():
    """Another process with another PYTHONHASHSEED derives the same seeds, and an inline sweep imports no Dask."""
    code = ("import sys; from madlib.core.sweep import sweep, point_seed; from tests.test_sweep import noisy_stat, GRID; "
            "sweep(noisy_stat, GRID[:1], seed=0, backend='inline'); "
            "print(point_seed(0, {'x': 1})); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split("\n")[:2] == ["8278758227740748238", "[]"]


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers must be >= 1"),
    ({"workers": 1.5}, "workers must be an integer"),
    ({"seed": -1}, "seed must be >= 0"),
    ({"seed": "0"}, "seed must be an integer"),
    ({"backend": "threads"}, "backend must be one of"),
    ({"points": [{"x": 1}, {"x": 1}]}, "points must be distinct"),
    ({"points": [{"x": 1, "seed": 2}]}, "must not have a 'seed' coordinate"),
    ({"points": [{"x": float("nan")}]}, r"points\[0\] coordinates must be JSON"),
    ({"points": [{"x": object()}]}, r"points\[0\] coordinates must be JSON"),
    ({"points": [{"not valid": 1}]}, "coordinate names must be identifiers"),
    ({"points": [3]}, r"points\[0\] must be a dict"),
    ({"points": {"x": 1}}, "points must be a sequence"),
    ({"fn": 3}, "fn must be a callable"),
    ({"fn": functools.partial(counted, log_dir="."), "cache_dir": "unused"}, "key must be given with cache_dir"),
    ({"cache_dir": "unused", "key": ""}, "key must be a non-empty string"),
    ({"backend": "inline", "client": object()}, "client is only used with backend='dask'"),
    ({"backend": "dask"}, "MADLIB_DASK_SCHEDULER"),
])
def test_bad_arguments_name_themselves(kwargs, message, monkeypatch):
    monkeypatch.delenv("MADLIB_DASK_SCHEDULER", raising=False)
    args = {"fn": noisy_stat, "points": GRID[:1], "seed": 0} | kwargs
    fn, points = args.pop("fn"), args.pop("points")
    with pytest.raises(ValueError, match=message):
        sweep(fn, points, **args)


def test_bad_worker_environment(monkeypatch):
    monkeypatch.setenv("MADLIB_WORKERS", "many")
    with pytest.raises(ValueError, match="MADLIB_WORKERS must be an integer >= 1"):
        sweep(noisy_stat, GRID[:1], seed=0)
    monkeypatch.setenv("MADLIB_WORKERS", "0")
    with pytest.raises(ValueError, match="MADLIB_WORKERS must be"):
        sweep(noisy_stat, GRID[:1], seed=0)


def test_common_seed_gives_every_point_the_sweeps_seed():
    results = sweep(noisy_stat, GRID, seed=11, backend="inline", common_seed=True)
    assert [r["seed"] for r in results] == [11] * len(GRID)
    # the same draws, scaled: points differ by their coordinates only (common random numbers)
    same_n = [r for p, r in zip(GRID, results) if p["n"] == 3]
    assert same_n[1]["trace"] == pytest.approx(same_n[0]["trace"] * 16)
    assert as_json(sweep(noisy_stat, GRID, seed=11, backend="processes", workers=2, common_seed=True)) == as_json(results)
    with pytest.raises(ValueError, match="common_seed"):
        sweep(noisy_stat, GRID, seed=11, common_seed="yes")


def _without_timings(summary):
    return {k: v for k, v in summary.items() if k != "elapsed_s"}


@pytest.mark.parametrize("name, overrides", [
    ("remedy-sweeps", {"generations": 4, "replicates": 10}),
    ("scoreboard", {"families": "gaussian,cats", "generations": 4, "replicates": 10}),
    ("mad-phase", {"replicates": 4, "generations": 3, "tail": 2}),
])
def test_swept_experiments_give_the_same_json_on_worker_processes(name, overrides, monkeypatch, tmp_path):
    """The experiments that map over points (ctx.sweep) give the same summary in-process and on 2 workers."""
    import madlib.core.sweep as sweep_module
    from madlib import run_experiment

    monkeypatch.setenv("MADLIB_CACHE", str(tmp_path))
    inline = run_experiment(name, use_cache=False, scale="smoke", **overrides).summary
    monkeypatch.setattr(sweep_module, "get_scale", lambda: "default")  # the default backend at default scale
    monkeypatch.setenv("MADLIB_WORKERS", "2")
    assert sweep_module.default_backend(2) == "processes"
    on_workers = run_experiment(name, use_cache=False, scale="smoke", **overrides).summary
    assert json.dumps(_without_timings(inline), sort_keys=True) == json.dumps(_without_timings(on_workers),
                                                                              sort_keys=True)
