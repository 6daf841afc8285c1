"""Benchmark: madlib's batched EM against scikit-learn's GaussianMixture, each side at its best.

The job is the chapter's "Curse of Recursion" GMM chain: 2 components, full
covariances, ``--n`` (1,000) points a generation, each chain refitted on its own
samples. scikit-learn fits one chain at a time (as the public notebooks do);
madlib fits all chains of a generation in one batched EM through
:func:`madlib.loop.run_loop`. Throughput is in chain-generations per second
(one fit plus one sample of n points).

An honest comparison:

* **each side at its best setting**: both run with 1 thread and with all
  threads (torch's intra-op threads for madlib; BLAS/OpenMP through
  threadpoolctl for scikit-learn), in alternating order, ``--repeats`` times;
  the best throughput of each setting is kept, and each side's best setting
  is the one compared;
* **the same stopping rule**: both stop when the mean log-likelihood per item
  changes by less than ``--tol`` between EM iterations, or after ``--max-iter``
  iterations, with the same covariance regularisation; the mean number of EM
  iterations per fit is printed for each (initialisations differ: scikit-learn
  runs k-means to convergence, madlib k-means++ and at most 10 Lloyd steps).

    python benchmarks/bench_gmm.py [--chains 200] [--generations 20] [--sklearn-chains 10] [--repeats 2]
    python benchmarks/bench_gmm.py --quick
"""
from __future__ import annotations

import argparse
import os
import time
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
# imported here, before any threadpool_limits: threadpoolctl only limits the BLAS/OpenMP libraries
# already loaded, and scipy's OpenBLAS loaded later would run 2x2 solves on all threads
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from madlib.core.config import get_device
from madlib.data.toy import blobs
from madlib.core.loop import run_loop
from madlib.models.gmm import GMMFamily
from madlib.core.sources import DistributionSource


class _CountingFamily:
    """A GMMFamily that records every chain's EM iteration count (the loop sees the same family)."""

    def __init__(self, family: GMMFamily):
        self.family = family
        self.name = family.name
        self.iterations: list[torch.Tensor] = []

    def fit(self, data, *, weights=None, previous=None, generator=None):
        model = self.family.fit(data, weights=weights, previous=previous, generator=generator)
        self.iterations.append(model.chain_iterations.cpu())
        return model


@contextmanager
def threads(count: int) -> Iterator[None]:
    """``count`` threads for torch and for every BLAS/OpenMP pool threadpoolctl knows; restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count):
            yield
    finally:
        torch.set_num_threads(before)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_madlib(chains: int, generations: int, n: int, tol: float, max_iter: int, reg: float,
                 device: torch.device) -> tuple[float, float]:
    """(chain-generations per second, mean EM iterations per fit) of the batched loop."""
    source = DistributionSource(blobs().sampler, chains, device=device)
    family = _CountingFamily(GMMFamily(2, tol=tol, max_iter=max_iter, reg=reg))
    run_loop(family, source, generations=1, n_real=n, seed=1)  # warm-up
    family.iterations.clear()
    _sync(device)
    start = time.perf_counter()
    run_loop(family, source, generations=generations - 1, n_real=n, seed=0)  # fits generations 0..G-1
    _sync(device)
    elapsed = time.perf_counter() - start
    return chains * generations / elapsed, float(torch.cat(family.iterations).double().mean())


def bench_sklearn(chains: int, generations: int, n: int, tol: float, max_iter: int, reg: float) -> tuple[float, float]:
    """(chain-generations per second, mean EM iterations per fit) of scikit-learn, chain by chain."""
    rng = np.random.default_rng(0)
    warm = blobs().sampler(1, n, torch.Generator().manual_seed(10**6))[0].numpy()
    GaussianMixture(2, covariance_type="full", tol=tol, max_iter=max_iter, reg_covar=reg).fit(warm).sample(n)  # warm-up
    iterations = []
    start = time.perf_counter()
    for chain in range(chains):
        data = blobs().sampler(1, n, torch.Generator().manual_seed(chain))[0].numpy()
        for _ in range(generations):
            # scikit-learn's lower bound for a GaussianMixture is the mean log-likelihood per item,
            # and it stops when that changes by less than tol: the same rule as GMMFamily
            model = GaussianMixture(2, covariance_type="full", tol=tol, max_iter=max_iter, reg_covar=reg,
                                    random_state=int(rng.integers(2**31))).fit(data)
            iterations.append(model.n_iter_)
            data = model.sample(n)[0]
    return chains * generations / (time.perf_counter() - start), float(np.mean(iterations))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=200, help="madlib's batched chains")
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--sklearn-chains", type=int, default=10)
    parser.add_argument("--n", type=int, default=1000, help="points a generation")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument("--tol", type=float, default=GMMFamily().tol, help="both sides' stopping tolerance")
    parser.add_argument("--max-iter", type=int, default=GMMFamily().max_iter, help="both sides' iteration cap")
    parser.add_argument("--device", default=None, help="madlib's device (default: get_device())")
    parser.add_argument("--quick", action="store_true", help="a short run: 50 chains, 5 generations, 3 sklearn chains")
    args = parser.parse_args()
    if args.quick:
        args.chains, args.generations, args.sklearn_chains, args.repeats = 50, 5, 3, 1
    for name in ("chains", "generations", "sklearn_chains", "n", "repeats", "max_iter"):
        if getattr(args, name) < (2 if name == "generations" else 1):
            parser.error(f"--{name.replace('_', '-')} must be at least {2 if name == 'generations' else 1}")
    reg = GMMFamily().reg
    device = get_device(args.device)
    settings = sorted({1, os.cpu_count() or 1})
    ours: dict[int, tuple[float, float]] = {}
    theirs: dict[int, tuple[float, float]] = {}
    for _ in range(args.repeats):  # alternate the sides so that a change in machine load hits both
        for count in settings:
            with threads(count):
                result = bench_madlib(args.chains, args.generations, args.n, args.tol, args.max_iter, reg, device)
            ours[count] = max(ours.get(count, result), result)
            with threads(count):
                result = bench_sklearn(args.sklearn_chains, args.generations, args.n, args.tol, args.max_iter, reg)
            theirs[count] = max(theirs.get(count, result), result)

    print(f"GMM refit chain: K=2, full covariances, n={args.n} per generation, {args.generations} generations; "
          f"stop when |change of mean log-likelihood per item| < {args.tol:g} or after {args.max_iter} iterations")
    print(f"{'side':<44}{'threads':>8}{'chain-gen/s':>14}{'EM iter/fit':>13}")
    for count in settings:
        print(f"{f'madlib batched EM ({args.chains} chains on {device.type})':<44}{count:>8}"
              f"{ours[count][0]:>14.1f}{ours[count][1]:>13.2f}")
    for count in settings:
        print(f"{f'scikit-learn chain by chain ({args.sklearn_chains} chains)':<44}{count:>8}"
              f"{theirs[count][0]:>14.1f}{theirs[count][1]:>13.2f}")
    best_ours = max(settings, key=lambda c: ours[c][0])
    best_theirs = max(settings, key=lambda c: theirs[c][0])
    print(f"madlib best:       {ours[best_ours][0]:10.1f} chain-generations/s ({best_ours} thread(s))")
    print(f"scikit-learn best: {theirs[best_theirs][0]:10.1f} chain-generations/s ({best_theirs} thread(s))")
    print(f"ratio of bests: {ours[best_ours][0] / theirs[best_theirs][0]:.1f}x")


if __name__ == "__main__":
    main()
