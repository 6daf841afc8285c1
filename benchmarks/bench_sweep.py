"""Benchmark: chapter 3's phase diagram (``mad-phase``, Gaussian family) mapped by madlib.sweep on 2 workers against 1.

Each point of the grid n_real x synthetic_ratio x sampling_bias is one
:func:`madlib.experiments.gmm.phase_point` run (a fresh-data loop of
``replicates`` batched chains), built the way ``_run_mad_phase`` builds it. The
grid and sizes are the experiment's defaults at ``--scale`` (``default``: 60
points). ``workers=1`` runs inline, one point after another, as the book does
today; ``workers=2`` runs on two loky worker processes, their start-up included
(the pool is shut down before each timed run; ``--warm`` starts it before).
The two settings alternate
``--repeats`` times, so a load change on the shared machine hits both; the
results of every run must be identical, and the ratio of the medians is printed.
Each run also prints its CPU seconds (loky workers included) and how busy its
workers were, CPU / (workers x wall): well below 1 means they waited for a core
that other processes held, so the wall-time ratio says more about the machine's
load than about the sweep. (On Linux with ``sched_autogroup_enabled=1``, as on the
course's shared 2-core machine, the CPU is split fairly between *sessions*: while
other sessions keep the cores busy, the parent and its workers share one session's
slice, and no number of workers can make the sweep faster.)

    python benchmarks/bench_sweep.py [--scale default] [--repeats 2] [--workers 2] [--points 0]
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import statistics
import time

import numpy as np

from madlib.experiments import resolve_config
from madlib.simulations.gmm import gaussian_distance as _gaussian_distance, phase_point
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.core.sources import DistributionSource
from madlib.core.sweep import sweep


def mad_phase_point(*, n_real: int, synthetic_ratio: float, sampling_bias: float, seed: int, dim: int,
                    generations: int, tail: int, replicates: int) -> dict:
    """One Gaussian point of the phase diagram, built as ``_run_mad_phase`` builds it; returns its table row."""
    family, sampler = GaussianFamily(ddof=0), gaussian_source_sampler(dim=dim)
    source = DistributionSource(sampler, replicates, device="cpu")
    n_synthetic = int(round(synthetic_ratio * n_real))
    baseline, final = phase_point(family, source, _gaussian_distance(dim), n_real=n_real, n_synthetic=n_synthetic,
                                  sampling_bias=sampling_bias, generations=generations, tail=tail, seed=seed)
    return {"n_real": n_real, "synthetic_ratio": synthetic_ratio, "n_synthetic": n_synthetic,
            "sampling_bias": sampling_bias, "real_only": float(np.mean(baseline)),
            "loop_end": float(np.mean(final)), "log10_ratio": float(np.log10(np.mean(final) / np.mean(baseline))),
            "share_better": float(np.mean(final < baseline))}


def phase_grid(scale: str) -> tuple[dict, list[dict]]:
    """The ``mad-phase`` defaults at ``scale`` (Gaussian family): fixed arguments and the grid's points."""
    config = resolve_config("mad-phase", {"family": "gaussian"}, scale=scale)
    fixed = {k: config[k] for k in ("dim", "generations", "tail", "replicates")}
    points = [{"n_real": int(n), "synthetic_ratio": float(r), "sampling_bias": float(lam)}
              for n in config["n_real"] for r in config["synthetic_ratio"] for lam in config["sampling_bias"]]
    return fixed | {"seed": config["seed"]}, points


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished (reaped) children, such as shut-down loky workers."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def point_cost(point: dict) -> float:
    """A point's run time is about proportional to the items it fits each generation."""
    return point["n_real"] * (1.0 + point["synthetic_ratio"])


def timed_sweep(fn, points: list[dict], seed: int, workers: int, warm: bool) -> tuple[float, float, list]:
    """Wall and CPU seconds of one sweep (the CPU of the loky workers included: they are reaped after it).

    Cold (``warm=False``): the workers start inside the timing, as in a fresh kernel.
    Warm: they were started (and imported madlib) before, as for a second sweep in one kernel.
    """
    from joblib.externals.loky import get_reusable_executor

    backend = "inline" if workers == 1 else "processes"
    if workers > 1:
        get_reusable_executor().shutdown(wait=True)
        if warm:
            sweep(fn, points[:workers], seed=seed + 1, workers=workers, backend=backend)
    cpu, start = _cpu_seconds(), time.perf_counter()
    results = sweep(fn, points, seed=seed, workers=workers, backend=backend, cost=point_cost)
    wall = time.perf_counter() - start
    if workers > 1:
        get_reusable_executor().shutdown(wait=True)
    return wall, _cpu_seconds() - cpu, results


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="default", choices=("smoke", "default", "full"))
    parser.add_argument("--repeats", type=int, default=2, help="alternations of 1 and N workers")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=0, help="only the first P points (0: the whole grid)")
    parser.add_argument("--warm", action="store_true", help="start the workers before timing (default: cold)")
    args = parser.parse_args()

    fixed, points = phase_grid(args.scale)
    points = points[:args.points] if args.points else points
    seed = fixed.pop("seed")
    fn = functools.partial(mad_phase_point, **fixed)
    print(f"mad-phase gaussian at {args.scale}: {len(points)} points, {json.dumps(fixed)}, "
          f"workers {'warm' if args.warm else 'cold'}, costliest points first", flush=True)
    times: dict[int, list[float]] = {1: [], args.workers: []}
    reference = None
    for repeat in range(args.repeats):
        for workers in (1, args.workers):
            before = _load()
            elapsed, cpu, results = timed_sweep(fn, points, seed, workers, args.warm)
            reference = reference if reference is not None else results
            if json.dumps(results) != json.dumps(reference):
                raise SystemExit(f"results differ with workers={workers}: the sweep is not backend-independent")
            times[workers].append(elapsed)
            # CPU / (workers x wall) near 1: the workers were busy; well below: they waited for a core
            print(f"repeat {repeat + 1}  workers={workers}  wall {elapsed:7.1f} s  cpu {cpu:7.1f} s  "
                  f"busy {cpu / (workers * elapsed):4.2f}  ({before} -> {_load()})", flush=True)
    one, many = statistics.median(times[1]), statistics.median(times[args.workers])
    print(f"workers=1: {', '.join(f'{t:.1f}' for t in times[1])} s (median {one:.1f})")
    print(f"workers={args.workers}: {', '.join(f'{t:.1f}' for t in times[args.workers])} s (median {many:.1f})")
    print(f"speed-up {args.workers} workers / 1: {one / many:.2f}x (per repeat: "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(times[1], times[args.workers]))}); results identical")
    print(f"share of the grid where synthetic data helps: "
          f"{np.mean([r['log10_ratio'] < 0 for r in reference]):.2f}")


if __name__ == "__main__":
    main()
