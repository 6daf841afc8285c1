"""Named, cached experiments, runnable from notebooks and the command line.

An experiment is a function ``fn(config, ctx) -> ExperimentResult`` registered
with :func:`experiment` under a name, with default parameters that may depend on
the scale (:func:`madlib.config.scaled`). :func:`run_experiment` resolves the
config, looks it up in the on-disk cache (keyed by name, version and the
resolved config) and runs it only when needed. Modules in this package register
themselves on import; every module here is imported on first use.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import pkgutil
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import torch

from ..config import get_device, get_scale, resolve


@dataclass
class ExperimentResult:
    """``summary``: JSON-able dict (the CLI prints it); ``table``: tidy frame
    (generation, replicate, metric, value) or any frame; ``extras``: tensors, arrays,
    text -- anything torch.save can store (samples, snapshots)."""

    summary: dict[str, Any]
    table: pd.DataFrame | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    cache_dir: Path | None = None


@dataclass
class RunContext:
    """What an experiment function gets besides its config."""

    checkpoint_dir: Path
    progress: bool
    device: torch.device
    scale: str


@dataclass
class Experiment:
    name: str
    fn: Callable[[dict[str, Any], RunContext], ExperimentResult]
    defaults: dict[str, Any]
    choices: dict[str, tuple]
    doc: str
    version: int


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def experiment(name: str, *, defaults: Mapping[str, Any], choices: Mapping[str, tuple] | None = None,
               version: int = 1):
    """Register ``fn`` as the experiment ``name``. Bump ``version`` when its results change."""

    def decorate(fn):
        if name in _REGISTRY and _REGISTRY[name].fn.__module__ != fn.__module__:
            raise ValueError(f"experiment {name!r} is registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Experiment(name, fn, dict(defaults), dict(choices or {}), doc[0] if doc else "",
                                     version)
        return fn

    return decorate


def _load_all() -> None:
    global _LOADED
    if _LOADED:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _LOADED = True


def list_experiments() -> dict[str, Experiment]:
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def get_experiment(name: str) -> Experiment:
    experiments = list_experiments()
    if name not in experiments:
        raise ValueError(f"unknown experiment name {name!r}; known: {', '.join(experiments)}")
    return experiments[name]


def cache_root() -> Path:
    """``MADLIB_CACHE`` if set, else ``.madlib_cache`` in the repository, else ``~/.cache/madlib``."""
    env = os.environ.get("MADLIB_CACHE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
        return repo / ".madlib_cache"
    return Path.home() / ".cache" / "madlib"


def _coerce(name: str, key: str, value: Any, default: Any) -> Any:
    """Give CLI strings the type of the default."""
    if not isinstance(value, str) or isinstance(default, str):
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    text = value.strip()
    try:
        if isinstance(default, bool):
            if text.lower() in ("true", "1", "yes"):
                return True
            if text.lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ValueError(f"{key} must be a {type(default).__name__} for experiment {name!r}, got {value!r}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def resolve_config(name: str, overrides: Mapping[str, Any] | None = None, scale: str | None = None) -> dict:
    """The experiment's defaults at ``scale`` with ``overrides`` applied and checked."""
    exp = get_experiment(name)
    scale = scale or get_scale()
    config = {key: resolve(value, scale) for key, value in exp.defaults.items()}
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ValueError(f"unknown parameter {key!r} for experiment {name!r}; valid: {', '.join(config)}")
        config[key] = _coerce(name, key, value, config[key])
    for key, allowed in exp.choices.items():
        if config[key] not in allowed:
            raise ValueError(f"{key} must be one of {allowed} for experiment {name!r}, got {config[key]!r}")
    return config


def cache_key(name: str, config: Mapping[str, Any]) -> str:
    exp = get_experiment(name)
    blob = json.dumps({"name": name, "version": exp.version, "config": config}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.detach().cpu().tolist())
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _jsonable(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    return str(value)


def run_experiment(name: str, *, use_cache: bool = True, progress: bool | None = None, scale: str | None = None,
                   **overrides: Any) -> ExperimentResult:
    """Run (or load from cache) the experiment ``name`` with parameters ``overrides``.

    ``use_cache=False`` recomputes from scratch (checkpoints included) and refreshes the cache.
    """
    exp = get_experiment(name)
    scale = scale or get_scale()
    config = resolve_config(name, overrides, scale)
    key = cache_key(name, config)
    directory = cache_root() / name / key
    if use_cache and (directory / "summary.json").exists():
        return load_result(directory, config)
    if not use_cache and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(checkpoint_dir=directory / "checkpoints",
                     progress=sys.stderr.isatty() if progress is None else progress,
                     device=get_device(), scale=scale)
    started = time.perf_counter()
    result = exp.fn(dict(config), ctx)
    elapsed = time.perf_counter() - started
    summary = _jsonable({"experiment": name, **result.summary})
    summary.setdefault("elapsed_s", round(elapsed, 3))
    summary.setdefault("device", str(ctx.device))
    result.summary = summary
    (directory / "config.json").write_text(json.dumps(_jsonable(config), indent=2, sort_keys=True))
    if result.table is not None:
        result.table.to_pickle(directory / "table.pkl")
    if result.extras:
        torch.save(result.extras, directory / "extras.pt")
    tmp = directory / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, directory / "summary.json")  # written last: its presence means the run finished
    result.config, result.cached, result.cache_dir = config, False, directory
    return result


def load_result(directory: Path, config: Mapping[str, Any] | None = None) -> ExperimentResult:
    directory = Path(directory)
    summary = json.loads((directory / "summary.json").read_text())
    table = pd.read_pickle(directory / "table.pkl") if (directory / "table.pkl").exists() else None
    extras = torch.load(directory / "extras.pt", weights_only=False) if (directory / "extras.pt").exists() else {}
    if config is None:
        config = json.loads((directory / "config.json").read_text())
    return ExperimentResult(summary, table, extras, dict(config), cached=True, cache_dir=directory)
