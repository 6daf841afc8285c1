"""Chapter 5 benchmark: the character transformer on the Shakespeare corpus.

Three measurements, each printing JSON lines:

``python benchmarks/bench_lm.py throughput [--threads 2] [--rounds 5] [--steps 40]``
    Training throughput (characters/s) of ``madlib``'s :func:`train` against a bare
    PyTorch loop over the same model, batches, optimizer (AdamW, same parameter groups)
    and gradient clipping, alternating the two run by run; prints each pair and the median
    ratio (the trainer should keep at least 90%). CPU, and CUDA where present.

``python benchmarks/bench_lm.py pretrain --layers 4 --width 128 --context 128 --batch 16 --steps 2000``
    Pre-train a character model on the training plays (random windows of the stream) and
    report the seconds and the loss (nats/char) on the validation and test plays, measured
    on non-overlapping blocks of ``context + 1`` and of 65 characters.

``python benchmarks/bench_lm.py ngram [--order 5]``
    The interpolated Kneser-Ney n-gram over characters on the same split (test loss, nats/char).
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F

from madlib.data.text import load_corpus, text_to_blocks
from madlib.models.ngram import NGramModel
from madlib.models.tokenizer import CharTokenizer
from madlib.models.transformer import (TrainConfig, TransformerConfig, build_model, make_optimizer, mean_loss,
                                       sample_batch, train)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _data():
    corpus = load_corpus("shakespeare")
    tok = CharTokenizer.from_corpus(corpus)
    return tok, tok.encode(corpus.train), tok.encode(corpus.valid), tok.encode(corpus.test)


def bare_loop(model, stream: torch.Tensor, cfg: TrainConfig, seed: int) -> None:
    """The minimal loop of the small GPT trainers: batch, forward, loss, backward, clip, step."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model, cfg)
    device = next(model.parameters()).device
    window = model.cfg.context + 1
    model.train()
    for _ in range(cfg.steps):
        batch = sample_batch(stream, cfg.batch_size, window, generator).to(device, non_blocking=True)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()


def throughput(args) -> None:
    tok, stream, _, _ = _data()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        big = device.type == "cuda"
        mcfg = TransformerConfig(vocab_size=tok.vocab_size, context=256 if big else args.context,
                                 d_model=384 if big else args.width, n_layers=6 if big else args.layers,
                                 n_heads=6 if big else args.heads, dropout=0.0)
        tcfg = TrainConfig(steps=args.steps, batch_size=64 if big else args.batch, lr=1e-3, warmup=5)
        data = stream.to(device)
        chars = tcfg.steps * tcfg.batch_size * mcfg.context

        def run_trainer():
            model = build_model(mcfg, seed=0, device=device)
            _sync(device)
            start, cpu = time.perf_counter(), time.process_time()
            train(model, data, tcfg, seed=1)
            _sync(device)
            return chars / (time.perf_counter() - start), chars / (time.process_time() - cpu)

        def run_bare():
            model = build_model(mcfg, seed=0, device=device)
            _sync(device)
            start, cpu = time.perf_counter(), time.process_time()
            bare_loop(model, data, tcfg, seed=1)
            _sync(device)
            return chars / (time.perf_counter() - start), chars / (time.process_time() - cpu)

        run_trainer(), run_bare()  # warm-up: allocator, kernels, thread pools
        ratios, cpu_ratios = [], []
        for r in range(args.rounds):
            # alternate which goes first, so a slow phase of a shared machine hits both alike
            if r % 2 == 0:
                (t, tc), (b, bc) = run_trainer(), run_bare()
            else:
                (b, bc), (t, tc) = run_bare(), run_trainer()
            ratios.append(t / b)
            cpu_ratios.append(tc / bc)  # per CPU second: less sensitive to neighbours (exact at 1 thread)
            print(json.dumps({"device": str(device), "round": r, "trainer_chars_per_s": round(t),
                              "bare_chars_per_s": round(b), "ratio": round(t / b, 3),
                              "cpu_ratio": round(tc / bc, 3)}), flush=True)
        print(json.dumps({"device": str(device), "threads": torch.get_num_threads(), "model": asdict_short(mcfg),
                          "batch": tcfg.batch_size, "steps_per_run": tcfg.steps,
                          "median_ratio_trainer_over_bare": round(statistics.median(ratios), 3),
                          "median_cpu_ratio_trainer_over_bare": round(statistics.median(cpu_ratios), 3)}),
              flush=True)


def asdict_short(cfg: TransformerConfig) -> str:
    return f"L{cfg.n_layers} H{cfg.n_heads} d{cfg.d_model} ctx{cfg.context} drop{cfg.dropout}"


def pretrain(args) -> None:
    tok, stream, valid, test = _data()
    device = torch.device(args.device)
    mcfg = TransformerConfig(vocab_size=tok.vocab_size, context=args.context, d_model=args.width,
                             n_layers=args.layers, n_heads=args.heads, dropout=args.dropout)
    tcfg = TrainConfig(steps=args.steps, batch_size=args.batch, lr=args.lr, warmup=args.warmup,
                       min_lr_ratio=args.min_lr_ratio, weight_decay=args.weight_decay,
                       eval_every=args.eval_every)
    model = build_model(mcfg, seed=args.seed, device=device)
    valid_blocks = text_to_blocks(valid, mcfg.context + 1).to(device)
    _sync(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = train(model, stream.to(device), tcfg, valid_blocks=valid_blocks, seed=args.seed)
    _sync(device)
    # on a shared machine wall time depends on the neighbours; CPU time (all threads) does much less
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    out = {"device": str(device), "threads": torch.get_num_threads(), "model": asdict_short(mcfg),
           "params": model.n_parameters(), "steps": tcfg.steps, "batch": tcfg.batch_size, "lr": tcfg.lr,
           "warmup": tcfg.warmup, "weight_decay": tcfg.weight_decay, "seconds": round(seconds, 1),
           "cpu_seconds": round(cpu_seconds, 1),
           "train_loss_last100": round(statistics.mean(history["train_loss"][-100:]), 4),
           "valid_curve": [(s, round(v, 4)) for s, v in zip(history["valid_step"], history["valid_loss"])]}
    for name, ids in (("valid", valid), ("test", test)):
        out[f"{name}_loss"] = round(mean_loss(model, text_to_blocks(ids, mcfg.context + 1).to(device)), 4)
        out[f"{name}_loss_blocks65"] = round(mean_loss(model, text_to_blocks(ids, 65).to(device)), 4)
    print(json.dumps(out), flush=True)
    if args.save:
        torch.save({"model": model.state_dict(), "config": mcfg.__dict__, "chars": tok.chars}, args.save)


def ngram(args) -> None:
    tok, stream, valid, test = _data()
    start = time.perf_counter()
    model = NGramModel(order=args.order, vocab_size=tok.vocab_size, smoothing="kneser_ney").fit(stream[None, None])
    fit_s = time.perf_counter() - start
    out = {"model": f"{args.order}-gram interpolated Kneser-Ney (discount 0.75)", "fit_seconds": round(fit_s, 1)}
    for name, ids in (("valid", valid), ("test", test)):
        out[f"{name}_loss"] = round(float(-model.token_log_probs(ids[None, None]).mean()), 4)
        out[f"{name}_loss_blocks65"] = round(float(-model.token_log_probs(text_to_blocks(ids, 65)[None]).mean()), 4)
    out["test_perplexity"] = round(math.exp(out["test_loss"]), 3)
    print(json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("throughput", "pretrain"):
        p = sub.add_parser(name)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--layers", type=int, default=4)
        p.add_argument("--heads", type=int, default=4)
        p.add_argument("--width", type=int, default=128)
        p.add_argument("--context", type=int, default=128)
        p.add_argument("--batch", type=int, default=16)
        p.add_argument("--steps", type=int, default=40 if name == "throughput" else 2000)
        if name == "throughput":
            p.add_argument("--rounds", type=int, default=5)
        else:
            p.add_argument("--lr", type=float, default=2e-3)
            p.add_argument("--warmup", type=int, default=100)
            p.add_argument("--min-lr-ratio", type=float, default=0.1)
            p.add_argument("--weight-decay", type=float, default=0.1)
            p.add_argument("--dropout", type=float, default=0.0)
            p.add_argument("--eval-every", type=int, default=500)
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
            p.add_argument("--save", default="", help="write the trained weights here")
    p = sub.add_parser("ngram")
    p.add_argument("--order", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"throughput": throughput, "pretrain": pretrain, "ngram": ngram}[args.command](args)


if __name__ == "__main__":
    main()
