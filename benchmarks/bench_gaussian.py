"""Chapter 1 benchmark: three ways to run the mean/std recursion on the same grid.

1. the magazine's way: one Python loop per run, numpy draws n samples, mean and std;
2. madlib's batched sampling: all runs at once through the generic loop (torch);
3. madlib's exact method: chi-square/normal draws of the sufficient statistics.

Prints wall times and speed ratios. Run: ``python benchmarks/bench_gaussian.py [--runs R --generations T]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from madlib.core.config import cpu_threads
from madlib.core.loop import run_loop
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler
from madlib.simulations.gaussian import simulate_exact
from madlib.core.sources import DistributionSource


def magazine_loop(n: int, generations: int, runs: int, seed: int = 0) -> np.ndarray:
    """The essay's experiment, as written there: a plain Python loop per run."""
    rng = np.random.default_rng(seed)
    finals = np.empty(runs)
    for run in range(runs):
        mean, std = 0.0, 1.0
        for _ in range(generations):
            sample = rng.normal(mean, std, n)
            mean, std = sample.mean(), sample.std()
        finals[run] = std
    return finals


def batched_sampling(n: int, generations: int, runs: int, seed: int = 0) -> np.ndarray:
    """All runs at once through the generic loop, on one CPU thread like the numpy loop."""
    source = DistributionSource(gaussian_source_sampler(), replicates=runs)
    with cpu_threads(1):
        result = run_loop(GaussianFamily(ddof=0), source, generations=generations - 1, n_real=n, seed=seed)
    return result.model.std.numpy()


def exact(n: int, generations: int, runs: int, seed: int = 0) -> np.ndarray:
    return simulate_exact(n, generations, runs, record=[generations], seed=seed).std[-1]


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 100, 1000], help="samples per generation (a grid)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--generations", type=int, default=1000)
    args = parser.parse_args()
    T, R = args.generations, args.runs
    print(f"runs={R}, generations={T}; one CPU thread for both sampling methods")
    print(f"{'n':>6} {'per-run loop':>13} {'batched':>9} {'exact':>8} {'batched/loop':>13} {'exact/loop':>11}")
    for n in args.n:
        times = {}
        for name, fn in (("loop", magazine_loop), ("batched", batched_sampling), ("exact", exact)):
            times[name], _ = timed(fn, n, T, R)
        print(f"{n:>6} {times['loop']:>12.2f}s {times['batched']:>8.2f}s {times['exact']:>7.3f}s "
              f"{times['loop'] / times['batched']:>12.1f}x {times['loop'] / times['exact']:>10.0f}x")
    seconds, finals = timed(exact, 1000, 10_000, 1000)
    print(f"madlib exact, 1,000 runs x 10,000 generations (n=1000): {seconds:.2f} s, mean final std {finals.mean():.2e}")


if __name__ == "__main__":
    main()
