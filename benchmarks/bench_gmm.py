"""Benchmark: madlib's batched EM against scikit-learn's GaussianMixture refit chain by chain.

The job is the "Curse of Recursion" GMM chain: 2 components, full covariances,
1,000 points a generation, each generation refitted on the previous one's
samples. scikit-learn fits one chain at a time (as the public notebooks do);
madlib fits all chains of a generation in one batched EM through the loop.
Throughput is in chain-generations per second; the ratio is printed.

    python benchmarks/bench_gmm.py [--chains 200] [--generations 20] [--sklearn-chains 10] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from madlib.core.config import get_device
from madlib.data.toy import blobs
from madlib.core.loop import run_loop
from madlib.models.gmm import GMMFamily
from madlib.core.sources import DistributionSource


def bench_madlib(chains: int, generations: int, n: int, device: torch.device) -> float:
    source = DistributionSource(blobs().sampler, chains, device=device)
    run_loop(GMMFamily(2), source, generations=1, n_real=n, seed=1)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run_loop(GMMFamily(2), source, generations=generations - 1, n_real=n, seed=0)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return chains * generations / (time.perf_counter() - start)


def bench_sklearn(chains: int, generations: int, n: int) -> float:
    from sklearn.mixture import GaussianMixture

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for chain in range(chains):
        data = blobs().sampler(1, n, torch.Generator().manual_seed(chain))[0].numpy()
        for _ in range(generations):
            model = GaussianMixture(2, covariance_type="full", random_state=int(rng.integers(2**31))).fit(data)
            data = model.sample(n)[0]
    return chains * generations / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=200)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--sklearn-chains", type=int, default=10)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for both (0: library default)")
    parser.add_argument("--device", default=None, help="madlib's device (default: get_device())")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    device = get_device(args.device)
    ours = bench_madlib(args.chains, args.generations, args.n, device)
    theirs = bench_sklearn(args.sklearn_chains, args.generations, args.n)
    print(f"GMM refit chain, K=2, full covariances, n={args.n} per generation, threads={args.threads or 'default'}")
    print(f"madlib batched EM ({args.chains} chains on {device}): {ours:10.1f} chain-generations/s")
    print(f"scikit-learn, chain by chain ({args.sklearn_chains} chains): {theirs:10.1f} chain-generations/s")
    print(f"ratio: {ours / theirs:.1f}x")


if __name__ == "__main__":
    main()
