"""``python -m madlib list``, ``python -m madlib run NAME [--preset P] key=value ... [--no-cache]`` and
``python -m madlib pretrain [--scale S] [--out DIR] key=value ...`` (chapter 5's pre-trained base).

A user or environment error (a bad parameter, missing data, an unusable device or cache folder,
Ctrl-C) is printed as one line ``madlib: error: ...`` with exit status 2 (130 for Ctrl-C);
an internal bug still shows its traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .core.config import SCALES, get_device, get_scale
from .core.sweep import default_workers
from .experiments import get_experiment, list_experiments, resolve_config, run_experiment
from .simulations.lm_base import BASE_KEYS, pretrain

USER_ERRORS = (ValueError, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError)


def _parse_params(items: list[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"parameters are key=value, got {item!r}")
        key, value = (part.strip() for part in item.split("=", 1))
        if key in overrides:
            raise ValueError(f"parameter {key!r} is given twice ({key}={overrides[key]} and {key}={value})")
        overrides[key] = value
    return overrides


def _coerce_workers(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"workers must be an integer >= 1, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madlib", description="Model collapse experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name the experiments, their parameters and presets")
    run = sub.add_parser("run", help="run one experiment and print its JSON summary")
    run.add_argument("name")
    run.add_argument("params", nargs="*", metavar="key=value")
    run.add_argument("--preset", default=None, help="a named configuration of the experiment (see `list`)")
    run.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")
    base = sub.add_parser("pretrain", help="pre-train chapter 5's base transformer from scratch and write it "
                          "(safetensors) with its recipe; the shipped base is `pretrain --scale default`")
    base.add_argument("params", nargs="*", metavar="key=value",
                      help=f"lm parameters that decide the base: {', '.join(BASE_KEYS)}, base_threads")
    base.add_argument("--scale", default=None, choices=SCALES, help="the sizes (default: MADLIB_SCALE, else default)")
    base.add_argument("--out", default=None, help="the folder (default: the package's madlib/models/pretrained/)")
    base.add_argument("--name", default=None, help="the files' name (default: lm-base-SCALE)")
    args, extra = parser.parse_known_args(argv)  # key=value parameters may also follow an option
    unknown = [item for item in extra if item.startswith("-") or args.command not in ("run", "pretrain")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    params = list(getattr(args, "params", [])) + extra

    try:
        if args.command == "list":
            for name, exp in list_experiments().items():
                config = resolve_config(name)
                params = " ".join(f"{k}={v}" for k, v in config.items())
                presets = f"\n{'':12s} presets: {', '.join(exp.presets)}" if exp.presets else ""
                print(f"{name:12s} {exp.doc}\n{'':12s} {params}{presets}")
            return 0
        if args.command == "pretrain":
            return _pretrain(args, params)
        get_experiment(args.name)
        overrides = _parse_params(params)
        if "workers" in overrides:
            # local worker processes for sweeps (madlib.core.sweep): not a parameter of the result,
            # so it stays out of the configuration and the cache key
            os.environ["MADLIB_WORKERS"] = str(default_workers(_coerce_workers(overrides.pop("workers"))))
        result = run_experiment(args.name, use_cache=not args.no_cache, progress=sys.stderr.isatty(),
                                preset=args.preset, **overrides)
    except KeyboardInterrupt:
        print("madlib: interrupted; finished generations are kept and a rerun resumes from them", file=sys.stderr)
        return 130
    except USER_ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"madlib: error: {message}", file=sys.stderr)
        return 2
    out = dict(result.summary)
    out["config"] = result.config
    out["cached"] = result.cached
    out["cache_dir"] = str(result.cache_dir)
    print(json.dumps(out))
    return 0


def _pretrain(args: argparse.Namespace, params: list[str]) -> int:
    """Pre-train the base with the lm experiment's recipe at a scale; print its record as JSON."""
    overrides = _parse_params(params)
    allowed = set(BASE_KEYS) | {"base_threads"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise ValueError(f"pretrain takes only the parameters that decide the base ({', '.join(sorted(allowed))}); "
                         f"got {', '.join(unknown)}")
    scale = args.scale or get_scale()
    config = resolve_config("lm", {**overrides, "model": "transformer"}, scale)
    name = args.name or f"lm-base-{scale}"
    command = " ".join(["python -m madlib pretrain", f"--scale {scale}", *params,
                        *([f"--name {args.name}"] if args.name else [])])
    device = get_device()
    record = pretrain(config, args.out, name=name, command=command, device=device, progress=sys.stderr.isatty())
    print(json.dumps(record))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
