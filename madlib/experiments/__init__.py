"""Named, cached experiments, runnable from notebooks and the command line.

An experiment is a function ``fn(config, ctx) -> ExperimentResult`` registered
with :func:`experiment` under a name, with default parameters that may depend on
the scale (:func:`madlib.core.config.scaled`) and named *presets* (the configurations
the book's figures use, so each figure is one command: ``python -m madlib run NAME
--preset P``). :func:`run_experiment` resolves the config, looks it up in the on-disk
cache and runs it only when needed. The cache key covers everything that changes a
result: the name, the resolved configuration (sizes included), the experiment's
``inputs`` (a fingerprint of the data it reads, e.g. a corpus file's hash) and a
fingerprint of the code that computes it (:func:`madlib.core.cache.code_fingerprint`).
Modules in this package register themselves on import; every module here is imported
on first use.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import warnings
import math
import os
import pkgutil
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import torch

from ..core.cache import (atomic_torch_save, atomic_write_bytes, atomic_write_text, cache_root, code_fingerprint,
                          digest)
from ..core.config import get_device, get_scale, resolve
from ..core.sweep import sweep
from ..core.validation import check_int


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
    use_cache: bool = True  # composite experiments pass it on to the runs they make

    def sweep(self, fn: Callable[..., Any], points: list[dict[str, Any]], *, seed: int, fixed: Mapping[str, Any],
              desc: str, cost: Callable[[dict[str, Any]], float] | None = None, common_seed: bool = False,
              backend: str | None = None) -> list:
        """Map ``fn`` over independent points with :func:`madlib.core.sweep.sweep`, the experiment's way.

        Every local core (``MADLIB_WORKERS``) or a Dask cluster (``MADLIB_DASK_SCHEDULER``) at
        ``default`` and ``full``, in-process at ``smoke`` and on a GPU (whose one device the
        points would share). Each point is cached in this run's folder as it finishes, under
        a key of ``fixed`` (everything besides the coordinates and the seed that changes a
        result), so an interrupted run resumes with its finished points. ``backend="inline"``
        keeps points that take well under a second in this process, where starting workers
        would cost more than it saves.
        """
        return sweep(fn, points, seed=check_int("seed", seed, 0), cache_dir=self.checkpoint_dir / "points",
                     key=digest({desc: dict(fixed)}),
                     backend="inline" if self.device.type == "cuda" else backend,
                     cost=cost, progress=self.progress, desc=desc, common_seed=common_seed)


@dataclass
class Experiment:
    name: str
    fn: Callable[[dict[str, Any], RunContext], ExperimentResult]
    defaults: dict[str, Any]
    choices: dict[str, tuple]
    doc: str
    version: int
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    memory: Callable[[dict[str, Any]], float] | None = None


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def experiment(name: str, *, defaults: Mapping[str, Any], choices: Mapping[str, tuple] | None = None,
               version: int = 1, presets: Mapping[str, Mapping[str, Any]] | None = None,
               inputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
               memory: Callable[[dict[str, Any]], float] | None = None):
    """Register ``fn`` as the experiment ``name``.

    ``presets`` name configurations (overrides of ``defaults``); ``inputs(config)`` returns a
    JSON-able fingerprint of the data the run reads (paths resolved, content hashes), which the
    cache key includes. ``memory(config)`` estimates the bytes a run needs, so a run that
    cannot fit is refused before it allocates anything. The code is fingerprinted
    automatically; ``version`` only needs a bump when a result changes for a reason the code
    fingerprint cannot see.
    """

    def decorate(fn):
        if name in _REGISTRY and _REGISTRY[name].fn.__module__ != fn.__module__:
            raise ValueError(f"experiment {name!r} is registered twice")
        for preset, overrides in (presets or {}).items():
            unknown = set(overrides) - set(defaults)
            if unknown:
                raise ValueError(f"preset {preset!r} of experiment {name!r} sets unknown parameters {sorted(unknown)}")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Experiment(name, fn, dict(defaults), dict(choices or {}), doc[0] if doc else "",
                                     version, {k: dict(v) for k, v in (presets or {}).items()}, inputs, memory)
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
            number = float(text)  # "2.0" is the integer 2, as in the library; "2.5" is refused
            if not number.is_integer():
                raise ValueError
            return int(number)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(type(default).__name__, type(default).__name__)
        raise ValueError(f"{key} must be {kind} for experiment {name!r}, got {value!r}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def resolve_config(name: str, overrides: Mapping[str, Any] | None = None, scale: str | None = None,
                   preset: str | None = None) -> dict:
    """The experiment's defaults at ``scale``, then the ``preset``'s values, then ``overrides``, checked."""
    exp = get_experiment(name)
    scale = scale or get_scale()
    config = {key: resolve(value, scale) for key, value in exp.defaults.items()}
    if preset is not None:
        if preset not in exp.presets:
            known = ", ".join(exp.presets) or "none"
            raise ValueError(f"unknown preset {preset!r} for experiment {name!r}; known: {known}")
        config.update({key: resolve(value, scale) for key, value in exp.presets[preset].items()})
    for key, value in (overrides or {}).items():
        if key not in config:
            raise ValueError(f"unknown parameter {key!r} for experiment {name!r}; valid: {', '.join(config)}")
        config[key] = _coerce(name, key, value, config[key])
    for key, allowed in exp.choices.items():
        if config[key] not in allowed:
            raise ValueError(f"{key} must be one of {allowed} for experiment {name!r}, got {config[key]!r}")
    return config


def cache_key(name: str, config: Mapping[str, Any]) -> str:
    """The key of a result: name, version, resolved configuration, data inputs and code fingerprint."""
    exp = get_experiment(name)
    inputs = exp.inputs(dict(config)) if exp.inputs is not None else None
    return digest({"name": name, "version": exp.version, "config": dict(config), "inputs": inputs,
                   "code": code_fingerprint(exp.fn.__module__)})


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
                   preset: str | None = None, **overrides: Any) -> ExperimentResult:
    """Run (or load from cache) the experiment ``name`` with ``preset`` and parameters ``overrides``.

    ``use_cache=False`` recomputes from scratch (checkpoints included) in a new folder and
    replaces the cached result only when the run succeeds: an interrupted recomputation
    never loses the result that was there.
    """
    exp = get_experiment(name)
    scale = scale or get_scale()
    config = resolve_config(name, overrides, scale, preset)
    if "seed" in config:
        config["seed"] = check_int("seed", config["seed"], 0, 2**63 - 1)
    device = get_device()
    if exp.memory is not None:
        check_memory(name, exp.memory(config))
    key = cache_key(name, config)
    directory = cache_root() / name / key
    if use_cache:
        cached = _load_if_complete(directory, config)
        if cached is not None:
            return cached
        # Another process computing the same result (two chapters of a parallel book build): wait for it
        # and read its result, rather than compute it a second time beside it.
        with _computing(directory):
            cached = _load_if_complete(directory, config)
            if cached is not None:
                return cached
            return _compute(exp, name, config, key, directory, scale, device, use_cache, progress)
    return _compute(exp, name, config, key, directory, scale, device, use_cache, progress)


@contextlib.contextmanager
def _computing(directory: Path):
    """Hold an exclusive lock on ``directory``'s lock file while computing it (POSIX ``flock``; a no-op where
    it is unavailable). The lock dies with its process, so a killed run never blocks the next one."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock; two processes may compute the same result (correctly) twice
        yield
        return
    # beside the results, not among them: a refused run leaves no file in its experiment's folder
    lock = cache_root() / ".locks" / f"{directory.parent.name}-{directory.name}.lock"
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a+")
    except OSError:  # an unwritable cache is reported by the run itself
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # gone before it is released: a waiter then holds a lock on the removed file and finds the
            # result in the cache; a newcomer makes a new lock file and finds it too
            lock.unlink(missing_ok=True)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compute(exp: "Experiment", name: str, config: dict, key: str, directory: Path, scale: str,
             device: torch.device, use_cache: bool, progress: bool | None) -> ExperimentResult:
    # A fresh recomputation works in its own folder; a cached run resumes its checkpoints in place.
    work = directory.with_name(f"{key}.fresh-{uuid.uuid4().hex[:8]}") if not use_cache else directory
    _make_folder(work)
    ctx = RunContext(checkpoint_dir=work / "checkpoints",
                     progress=sys.stderr.isatty() if progress is None else progress,
                     device=device, scale=scale, use_cache=use_cache)
    started = time.perf_counter()
    try:
        result = exp.fn(dict(config), ctx)
    except BaseException:
        if work != directory:
            if (directory / "summary.json").exists():
                shutil.rmtree(work, ignore_errors=True)  # the finished result stays; the partial one goes
            else:
                _swap_in(work, directory)  # nothing finished to lose: keep the checkpoints for a resume
        _remove_if_empty(directory)  # a run refused at once leaves no empty folder behind
        raise
    elapsed = time.perf_counter() - started
    summary = _jsonable({"experiment": name, **result.summary})
    summary.setdefault("elapsed_s", round(elapsed, 3))
    summary.setdefault("device", str(ctx.device))
    result.summary = summary
    atomic_write_text(work / "config.json", json.dumps(_jsonable(config), indent=2, sort_keys=True))
    if result.table is not None:
        buffer = io.BytesIO()
        result.table.to_pickle(buffer)
        atomic_write_bytes(work / "table.pkl", buffer.getvalue())
    if result.extras:
        atomic_torch_save(result.extras, work / "extras.pt")
    atomic_write_text(work / "summary.json", json.dumps(summary, indent=2))  # last: its presence means finished
    if work != directory:
        _swap_in(work, directory)
    result.config, result.cached, result.cache_dir = config, False, directory
    return result


def check_memory(name: str, needed_bytes: float) -> None:
    """Refuse a run whose estimated memory exceeds what this machine has available (a ValueError
    with both numbers), before anything is allocated."""
    import psutil

    available = psutil.virtual_memory().available
    if needed_bytes > available:
        raise ValueError(f"experiment {name!r} needs about {needed_bytes / 2**30:.1f} GiB of memory with this "
                         f"configuration, but this machine has {available / 2**30:.1f} GiB available: lower "
                         "replicates, n_real or generations")


def _make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise ValueError(f"the cache folder {cache_root()} is not a folder ({error.strerror}): "
                         "set MADLIB_CACHE to a writable folder") from None
    except PermissionError:
        raise ValueError(f"the cache folder {cache_root()} is not writable: set MADLIB_CACHE to a writable "
                         "folder") from None


def _remove_if_empty(directory: Path) -> None:
    """Remove ``directory`` (and empty parents up to the cache root) when it holds no files."""
    try:
        if directory.exists() and not any(p.is_file() for p in directory.rglob("*")):
            shutil.rmtree(directory, ignore_errors=True)
    except OSError:  # pragma: no cover - best effort
        pass


def _swap_in(work: Path, directory: Path) -> None:
    """Replace ``directory`` by the finished ``work`` folder (the old one is removed only now)."""
    old = directory.with_name(f"{directory.name}.old-{uuid.uuid4().hex[:8]}")
    if directory.exists():
        os.replace(directory, old)
    os.replace(work, directory)
    shutil.rmtree(old, ignore_errors=True)


def _load_if_complete(directory: Path, config: Mapping[str, Any]) -> ExperimentResult | None:
    """The cached result in ``directory``, or None when it is missing, unfinished or unreadable."""
    if not (directory / "summary.json").exists():
        return None
    try:
        return load_result(directory, config)
    except Exception as error:  # noqa: BLE001 - a damaged cached result is recomputed, never trusted
        warnings.warn(f"ignoring unreadable cached result in {directory} ({type(error).__name__}: {error}); "
                      "recomputing", stacklevel=3)
        return None


def load_result(directory: Path, config: Mapping[str, Any] | None = None) -> ExperimentResult:
    """Read a finished result folder (raises when a file is damaged)."""
    directory = Path(directory)
    summary = json.loads((directory / "summary.json").read_text())
    table = pd.read_pickle(directory / "table.pkl") if (directory / "table.pkl").exists() else None
    extras = torch.load(directory / "extras.pt", weights_only=False) if (directory / "extras.pt").exists() else {}
    if config is None:
        config = json.loads((directory / "config.json").read_text())
    return ExperimentResult(summary, table, extras, dict(config), cached=True, cache_dir=directory)
