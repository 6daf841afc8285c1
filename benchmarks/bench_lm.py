"""Chapter 5 benchmark: training and generation tokens per second of the tiny LMs.

Run: ``python benchmarks/bench_lm.py [--threads N] [--steps S]``. Measures the default-scale
transformer (d_model 64, 2 layers, context 64) on the CPU and, when present, on CUDA, and
the 5-gram model's generation speed on the CPU. Prints one JSON line per measurement.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from madlib.data.text import load_corpus, text_to_blocks
from madlib.models.decoding import Decoding
from madlib.models.ngram import NGramModel
from madlib.models.tokenizer import ByteTokenizer
from madlib.models.transformer import TrainConfig, TransformerConfig, build_model, continue_text, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bench_transformer(device: torch.device, blocks: torch.Tensor, steps: int, d_model: int, n_layers: int,
                      batch_size: int, prompts: int) -> dict:
    cfg = TransformerConfig(context=blocks.shape[1], d_model=d_model, n_layers=n_layers, n_heads=4)
    model = build_model(cfg, device=device)
    train(model, blocks.to(device), TrainConfig(steps=3, batch_size=batch_size))  # warm-up
    _sync(device)
    start = time.perf_counter()
    train(model, blocks.to(device), TrainConfig(steps=steps, batch_size=batch_size))
    _sync(device)
    train_s = time.perf_counter() - start
    prompt = blocks[:prompts, :32]
    start = time.perf_counter()
    continue_text(model, prompt, 32, Decoding(), generator=torch.Generator().manual_seed(0))
    _sync(device)
    gen_s = time.perf_counter() - start
    return {"model": f"transformer d{d_model} L{n_layers} ({model.n_parameters()} params)", "device": str(device),
            "threads": torch.get_num_threads(),
            "train_tokens_per_s": round(steps * batch_size * (blocks.shape[1] - 1) / train_s),
            "generate_tokens_per_s": round(prompts * 32 / gen_s)}


def bench_ngram(blocks: torch.Tensor, prompts: int) -> dict:
    start = time.perf_counter()
    model = NGramModel(order=5).fit(blocks[None])
    fit_s = time.perf_counter() - start
    prompt = blocks[:prompts, :32]
    start = time.perf_counter()
    from madlib.models.decoding import generate

    rep = torch.zeros(prompts, dtype=torch.long)
    generate(lambda t: model.next_log_probs(t, rep), prompt, 32, Decoding(), generator=torch.Generator().manual_seed(0))
    gen_s = time.perf_counter() - start
    return {"model": "5-gram Kneser-Ney", "device": "cpu", "threads": torch.get_num_threads(),
            "fit_tokens_per_s": round(blocks.numel() / fit_s), "generate_tokens_per_s": round(prompts * 32 / gen_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--prompts", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    blocks = text_to_blocks(ByteTokenizer().encode(load_corpus().train), 64)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        print(json.dumps(bench_transformer(device, blocks, args.steps, 64, 2, 32, args.prompts)), flush=True)
        if device.type == "cuda":  # the full-scale model only where it is meant to run
            print(json.dumps(bench_transformer(device, blocks, args.steps, 256, 4, 64, args.prompts)), flush=True)
    print(json.dumps(bench_ngram(blocks, args.prompts)), flush=True)


if __name__ == "__main__":
    main()
