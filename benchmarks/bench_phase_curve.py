"""Benchmark: the real-only curve of chapter 3's phase diagram at `full`, sampled fits against the exact method.

MAD's effective sample size is read off a curve: the mean W2^2 to the truth N(0, I) of a Gaussian fitted to n
real items, for n on a log grid (:func:`madlib.simulations.gmm.real_only_sizes`: 12 sizes from d + 1 to
``curve_span`` times the largest n_real, 10,000 at `full`). ``method="sample"`` draws the n items of every fit
and fits them (O(n d^2) a fit); ``method="exact"`` draws each fit's sufficient statistics, the sample mean
(normal) and the scatter matrix (Wishart, by the Bartlett decomposition), O(d^3) a fit whatever n. Both give
the same law (``tests/test_fast_paths.py`` compares them size by size). The sampled side runs fewer fits
(``--sample-fits``) and is reported per fit, as is the exact one; each side is timed ``--repeats`` times and
its best kept, with this process's default threads for both (numpy's BLAS for the exact method, torch's for
the sampled fits).

    python benchmarks/bench_phase_curve.py [--dim 100] [--largest 10000] [--exact-fits 800] [--sample-fits 200]
"""
from __future__ import annotations

import argparse
import json
import time

from madlib.simulations.gmm import real_only_point, real_only_sizes


def time_curve(method: str, sizes: list[int], fits: int, dim: int, repeats: int) -> float:
    """Best seconds over ``repeats`` for the whole curve (``fits`` fits at each size)."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        for n in sizes:
            real_only_point(n_real=n, seed=1, family="gaussian", dim=dim, dataset="blobs", n_test=10, test_seed=0,
                            replicates=fits, method=method)
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--largest", type=int, default=10_000, help="the curve's largest n (full: 4 x 2,500)")
    parser.add_argument("--exact-fits", type=int, default=800, help="fits a size (full: 4 x 200 replicates)")
    parser.add_argument("--sample-fits", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sizes = real_only_sizes(args.dim + 1, args.largest)
    exact = time_curve("exact", sizes, args.exact_fits, args.dim, args.repeats)
    sample = time_curve("sample", sizes, args.sample_fits, args.dim, args.repeats)
    per_exact, per_sample = exact / (args.exact_fits * len(sizes)), sample / (args.sample_fits * len(sizes))
    print(f"curve of {len(sizes)} sizes from {sizes[0]} to {sizes[-1]}, d = {args.dim}")
    print(f"  exact:   {exact:7.2f} s for {args.exact_fits} fits a size  ({per_exact * 1e3:.3f} ms a fit)")
    print(f"  sampled: {sample:7.2f} s for {args.sample_fits} fits a size  ({per_sample * 1e3:.3f} ms a fit)")
    print(f"  exact is {per_sample / per_exact:.1f}x faster a fit; the sampled curve at {args.exact_fits} fits a "
          f"size would take about {per_sample * args.exact_fits * len(sizes):.0f} s")
    print(json.dumps({"sizes": sizes, "dim": args.dim, "exact_s": exact, "sample_s": sample,
                      "exact_fits": args.exact_fits, "sample_fits": args.sample_fits,
                      "speedup_per_fit": per_sample / per_exact}))


if __name__ == "__main__":
    main()
