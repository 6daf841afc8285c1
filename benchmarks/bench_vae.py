"""Training throughput of the chapter-4 VAE (images per second), on the CPU and on CUDA when present.

    python benchmarks/bench_vae.py [--images 2000] [--epochs 2]

Sizes are those of the ``vae`` experiment at each scale (channels, hidden width, batch size).
Prints one JSON line per (device, scale).
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from madlib.data.mnist import load_mnist
from madlib.models.vae import VAEFamily

SIZES = {"smoke": (4, 32, 16), "default": (8, 128, 16), "full": (32, 256, 128)}


def throughput(device: torch.device, images: torch.Tensor, epochs: int, channels: int, hidden: int,
               batch_size: int) -> float:
    family = VAEFamily(epochs=epochs, batch_size=batch_size, channels=channels, hidden=hidden, device=device)
    data = images[None].to(device)
    family.fit(data[:, : 4 * batch_size], generator=torch.Generator(device=device).manual_seed(0))  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    family.fit(data, generator=torch.Generator(device=device).manual_seed(1))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return images.shape[0] * epochs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    mnist = load_mnist("auto")
    images = mnist.images[: args.images]
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        for scale, (channels, hidden, batch_size) in SIZES.items():
            rate = throughput(device, images, args.epochs, channels, hidden, batch_size)
            print(json.dumps({"device": str(device), "scale": scale, "channels": channels, "hidden": hidden,
                              "batch_size": batch_size, "threads": torch.get_num_threads(),
                              "images_per_s": round(rate, 1), "data": mnist.source}), flush=True)


if __name__ == "__main__":
    main()
