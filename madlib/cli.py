"""``python -m madlib list`` and ``python -m madlib run NAME key=value ... [--no-cache]``."""
from __future__ import annotations

import argparse
import json
import sys

from .experiments import get_experiment, list_experiments, resolve_config, run_experiment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="madlib", description="Model collapse experiments")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="name the experiments and their parameters")
    run = sub.add_parser("run", help="run one experiment and print its JSON summary")
    run.add_argument("name")
    run.add_argument("params", nargs="*", metavar="key=value")
    run.add_argument("--no-cache", action="store_true", help="recompute even when a cached result exists")
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            for name, exp in list_experiments().items():
                config = resolve_config(name)
                params = " ".join(f"{k}={v}" for k, v in config.items())
                print(f"{name:12s} {exp.doc}\n{'':12s} {params}")
            return 0
        get_experiment(args.name)
        overrides = {}
        for item in args.params:
            if "=" not in item:
                raise ValueError(f"parameters are key=value, got {item!r}")
            key, value = item.split("=", 1)
            overrides[key.strip()] = value
        result = run_experiment(args.name, use_cache=not args.no_cache, progress=sys.stderr.isatty(), **overrides)
    except ValueError as error:
        print(f"madlib: error: {error}", file=sys.stderr)
        return 2
    out = dict(result.summary)
    out["config"] = result.config
    out["cached"] = result.cached
    out["cache_dir"] = str(result.cache_dir)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
