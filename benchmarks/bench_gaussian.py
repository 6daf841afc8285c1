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

from madlib.loop import run_loop
from madlib.models.gaussian import GaussianFamily, gaussian_source_sampler, simulate_exact
from madlib.sources import DistributionSource


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
    source = DistributionSource(gaussian_source_sampler(), replicates=runs)
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
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--generations", type=int, default=1000)
    args = parser.parse_args()
    n, T, R = args.n, args.generations, args.runs
    print(f"grid: n={n}, runs={R}, generations={T}; torch threads={torch.get_num_threads()}")
    rows = []
    for name, fn in (("magazine per-run loop", magazine_loop), ("madlib batched sampling", batched_sampling),
                     ("madlib exact", exact)):
        seconds, finals = timed(fn, n, T, R)
        rows.append((name, seconds, finals))
        print(f"{name:26s} {seconds:9.3f} s   mean final std {finals.mean():.3f}  median {np.median(finals):.3f}")
    base = rows[0][1]
    print("speed-up over the per-run loop: " + ", ".join(f"{name}: {base / s:,.1f}x" for name, s, _ in rows[1:]))
    print(f"exact over batched sampling: {rows[1][1] / rows[2][1]:,.0f}x")
    seconds, finals = timed(exact, 1000, 10_000, 1000)
    print(f"madlib exact, 1,000 runs x 10,000 generations (n=1000): {seconds:.2f} s, mean final std {finals.mean():.2e}")


if __name__ == "__main__":
    main()
