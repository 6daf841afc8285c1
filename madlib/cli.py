"""``python -m madlib list``, ``python -m madlib run NAME [--preset P] key=value ... [--no-cache]``,
``python -m madlib plan [--scale S] [--calibrate] [NAME ...]``, ``python -m madlib cache info|clean``,
``python -m madlib results export|import ARCHIVE`` and
``python -m madlib pretrain [--scale S] [--out DIR] key=value ...`` (chapter 5's pre-trained base).

A user or environment error (a bad parameter, missing data, an unusable device or cache folder,
a full disk, a file name too long, an unreachable Dask scheduler) is printed as one line
``madlib: error: ...`` with exit status 2 (Ctrl-C: one line, 130); a warning is one line
``madlib: warning: ...``; an internal bug still shows its traceback.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import warnings

from .core.budget import ResourceError
from .core.cache import CACHEDIR_TAG, cache_info, cache_root, clean_cache, format_bytes
from .core.config import SCALES, get_device, get_scale
from .core.params import parse_int
from .core.sweep import default_workers
from .experiments import get_experiment, list_experiments, resolve_config, run_experiment
from .simulations.lm_base import BASE_KEYS, pretrain

#: ValueError: a refused argument or file; OSError: the environment (a missing or unwritable file, a full disk);
#: ResourceError: the machine ran out (a sweep worker killed by the operating system).
USER_ERRORS = (ValueError, OSError, ResourceError)
_HINTS = {errno.ENOSPC: "free some space, or set MADLIB_CACHE to a folder on another disk",
          errno.EDQUOT: "free some space, or set MADLIB_CACHE to a folder on another disk",
          errno.EROFS: "set MADLIB_CACHE to a writable folder",
          errno.EACCES: "set MADLIB_CACHE to a writable folder of your own",
          errno.ENAMETOOLONG: "use a shorter path"}


def _one_line(text: str, limit: int = 600) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_message(error: BaseException) -> str:
    """The one line a user or environment error prints as (an OSError of the system gets a hint)."""
    if isinstance(error, OSError) and error.errno is not None and error.strerror:
        name = f" ({errno.errorcode.get(error.errno, error.errno)})"
        where = f": {_one_line(str(error.filename), 120)}" if error.filename else ""
        hint = f"; {_HINTS[error.errno]}" if error.errno in _HINTS else ""
        return f"{error.strerror}{name}{where}{hint}"
    text = str(error).strip()
    return _one_line(text.splitlines()[0]) if text else type(error).__name__


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as ``madlib: warning: ...``: one line, no Python source line under it."""
    print(f"madlib: warning: {_one_line(str(message))}", file=sys.stderr)


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
        return parse_int("workers", text)
    except ValueError:
        raise ValueError(f"workers must be an integer >= 1, got {text!r}") from None


def _cache_command(action: str) -> int:
    """``madlib cache info``: where the cache is, its size and what it holds; ``madlib cache clean``: delete it
    (only a folder madlib created and tagged, see :func:`madlib.core.cache.clean_cache`)."""
    if action == "clean":
        folder, size = clean_cache()
        print(f"no cache at {folder}" if size is None else f"removed the cache {folder} ({format_bytes(size)})")
        return 0
    info = cache_info()
    if not info["exists"]:
        print(f"no cache at {info['path']} (set MADLIB_CACHE to use another folder)")
        return 0
    notes = ["tagged" if info["tagged"] else f"no {CACHEDIR_TAG}: not created by madlib, `cache clean` refuses it"]
    if not info.get("owner_is_you", True):
        notes.append("belongs to another user: madlib refuses it")
    print(f"{info['path']} ({'; '.join(notes)})")
    print(f"  {format_bytes(info['size_bytes'])} in {info['files']} files")
    for name, entry in sorted(info["entries"].items(), key=lambda item: -item[1]["size_bytes"]):
        print(f"  {name:24s} {format_bytes(entry['size_bytes']):>10s}  {entry['results']} folders, {entry['files']} files")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madlib", description="Model collapse experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name the experiments, their parameters and presets")
    run = sub.add_parser("run", help="run one experiment and print its JSON summary")
    run.add_argument("name")
    run.add_argument("params", nargs="*", metavar="key=value")
    run.add_argument("--preset", default=None, help="a named configuration of the experiment (see `list`)")
    run.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")
    cache = sub.add_parser("cache", help="what the cache holds (info), or delete it (clean)")
    cache.add_argument("action", choices=("info", "clean"))
    plan = sub.add_parser("plan", help="the estimated time and memory of every preset at a scale")
    plan.add_argument("names", nargs="*", metavar="NAME", help="only these experiments")
    plan.add_argument("--scale", default=None, choices=SCALES,
                      help="the scale to plan (default: MADLIB_SCALE, else default)")
    plan.add_argument("--calibrate", action="store_true",
                      help="first time each experiment's small calibration run on this device (a few minutes)")
    results = sub.add_parser("results", help="move finished results between machines (summaries and tables)")
    results.add_argument("action", choices=("export", "import"))
    results.add_argument("archive", help="the .tar.gz to write (export) or read (import)")
    results.add_argument("--scale", default=None, choices=SCALES,
                         help="export only the results of this scale")
    base = sub.add_parser("pretrain", help="pre-train chapter 5's base transformer from scratch and write it "
                          "(safetensors) with its recipe; the shipped base is `pretrain --scale default`")
    base.add_argument("params", nargs="*", metavar="key=value",
                      help=f"lm parameters that decide the base: {', '.join(BASE_KEYS)}, base_threads")
    base.add_argument("--scale", default=None, choices=SCALES, help="the sizes (default: MADLIB_SCALE, else default)")
    base.add_argument("--out", default=None, help="the folder (default: the package's madlib/models/pretrained/)")
    base.add_argument("--name", default=None, help="the files' name (default: lm-base-SCALE)")
    args, extra = parser.parse_known_args(argv)  # key=value parameters may also follow an option
    unknown = [item for item in extra if item.startswith("-") or args.command not in ("run", "pretrain")]
    if args.command == "plan":
        for name in args.names:
            if name not in list_experiments():
                parser.error(f"unknown experiment {name!r}; known: {', '.join(list_experiments())}")
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    params = list(getattr(args, "params", [])) + extra
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        return _main(args, params)


def _main(args: argparse.Namespace, params: list[str]) -> int:
    try:
        if args.command == "list":
            for name, exp in list_experiments().items():
                config = resolve_config(name)
                print(f"{name:14s} {exp.doc}")
                for key, value in config.items():
                    shown = json.dumps(value) if not isinstance(value, str) else value
                    spec = exp.params.get(key)
                    print(f"{'':14s} {key + '=' + shown:<34s} {spec.describe() if spec else ''}".rstrip())
                if exp.presets:
                    print(f"{'':14s} presets: {', '.join(exp.presets)}")
            return 0
        if args.command == "cache":
            return _cache_command(args.action)
        if args.command == "plan":
            from .experiments.plan import calibrate, format_plan, plan_rows

            if args.calibrate:
                calibrate(args.names or None, echo=lambda line: print(line, file=sys.stderr, flush=True))
            print(format_plan(plan_rows(args.scale or get_scale(), args.names or None)))
            return 0
        if args.command == "results":
            from .experiments.archive import export_results, import_results

            if args.action == "export":
                count = export_results(args.archive, scale=args.scale)
                print(f"wrote {count} results to {args.archive}")
            else:
                count = import_results(args.archive)
                print(f"imported {count} results from {args.archive} into {cache_root()}")
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
        print(f"madlib: error: {error_message(error)}", file=sys.stderr)
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
