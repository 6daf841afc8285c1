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

from ..core.budget import available_memory, describe, refusal
from ..core.cache import (atomic_write_bytes, atomic_write_text, cache_root, code_fingerprint, digest,
                          file_digest)
from ..core.config import cpu_threads, get_device, get_scale, resolve
from ..core.loop import LoopCheckpoint
from ..core.pace import PROGRESS_EVERY_S, Progress, long_run_seconds, reporting
from ..core.params import Param, check_config, choice
from ..core.state import frame_from_parquet, frame_to_parquet, load_state, save_state
from ..core.sweep import sweep
from ..core.validation import check_int
from ..core.workflows import WORKFLOW_OPTIONS, WORKFLOWS, option_param, workflow_from_config


@dataclass
class ExperimentResult:
    """``summary``: JSON-able dict (the CLI prints it); ``table``: tidy frame
    (generation, replicate, metric, value) or any frame (stored as Parquet); ``extras``: tensors,
    arrays, text, frames, numbers, nested in dicts and lists -- anything :mod:`madlib.core.state`
    stores (samples, snapshots)."""

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
    use_cache: bool = True  # composite experiments pass it on to the runs they make
    memory: Any = None  # the run's estimate (bytes, or (bytes, advice)): a sweep point's when it declares none

    def progress_for(self, desc: str) -> Progress:
        """How a chain of this run shows its progress: named ``desc``, a bar when the run shows bars."""
        return Progress(desc, bar=self.progress)

    def loop_checkpoint(self, config: Mapping[str, Any], *part: str) -> LoopCheckpoint:
        """Where a chain of this run saves its finished generations (``part`` names one of several chains),
        fingerprinted by ``config`` so that a folder holding another run is never resumed."""
        return LoopCheckpoint(self.checkpoint_dir.joinpath(*part), dict(config))

    def sweep(self, fn: Callable[..., Any], points: list[dict[str, Any]], *, seed: int, fixed: Mapping[str, Any],
              desc: str, cost: Callable[[dict[str, Any]], float] | None = None, common_seed: bool = False,
              backend: str | None = None, memory: Callable[[dict[str, Any]], Any] | None = None) -> list:
        """Map ``fn`` over independent points with :func:`madlib.core.sweep.sweep`, the experiment's way.

        Every local core (``MADLIB_WORKERS``) or a Dask cluster (``MADLIB_DASK_SCHEDULER``) at
        ``default`` and ``full``, in-process at ``smoke`` and on a GPU (whose one device the
        points would share). Each point is cached in this run's folder as it finishes, under
        a key of ``fixed`` (everything besides the coordinates and the seed that changes a
        result), so an interrupted run resumes with its finished points. ``backend="inline"``
        keeps points that take well under a second in this process, where starting workers
        would cost more than it saves. ``memory(point)`` estimates a point's bytes (default: the whole
        run's estimate, an upper bound): a point that cannot fit is refused before the sweep starts, and
        the workers run only as many points at once as fit.
        """
        if memory is None and self.memory is not None:
            memory = lambda point: self.memory  # noqa: E731 - every point bounded by the run's estimate
        return sweep(fn, points, seed=check_int("seed", seed, 0), cache_dir=self.checkpoint_dir / "points",
                     key=digest({desc: dict(fixed)}),
                     backend="inline" if self.device.type == "cuda" else backend,
                     cost=cost, progress=self.progress, desc=desc, common_seed=common_seed, memory=memory)


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
    params: dict[str, Param] = field(default_factory=dict)
    threads: Callable[[dict[str, Any]], int | None] | None = None
    shortcuts: dict[str, dict[str, str]] = field(default_factory=dict)
    cost: Callable[[dict[str, Any]], Any] | None = None
    calibration: dict[str, Any] = field(default_factory=dict)  # class -> overrides, or [small, larger]
    subruns: Callable[[dict[str, Any]], list] | None = None
    parallel: Callable[[dict[str, Any]], int] | None = None


_REGISTRY: dict[str, Experiment] = {}
_LOADED = False


def experiment(name: str, *, defaults: Mapping[str, Any], choices: Mapping[str, tuple] | None = None,
               version: int = 1, presets: Mapping[str, Mapping[str, Any]] | None = None,
               inputs: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
               memory: Callable[[dict[str, Any]], float] | None = None,
               params: Mapping[str, Param] | None = None,
               threads: Callable[[dict[str, Any]], int | None] | None = None,
               shortcuts: Mapping[str, Mapping[str, str]] | None = None,
               cost: Callable[[dict[str, Any]], Any] | None = None,
               calibration: Mapping[str, Mapping[str, Any]] | None = None,
               subruns: Callable[[dict[str, Any]], list] | None = None,
               parallel: Callable[[dict[str, Any]], int] | None = None):
    """Register ``fn`` as the experiment ``name``.

    ``params`` declares every parameter's type, range and when it applies
    (:mod:`madlib.core.params`: ``integer(1, 10**6)``, ``number(0, 1, open_minimum=True)``,
    ``choice(...)``, ``integer(1, 50, applies_when={"family": ("mixture",)})``); a name in
    ``choices`` is shorthand for ``choice(...)``. :func:`resolve_config` checks every value against it.
    ``presets`` name configurations (overrides of ``defaults``); ``inputs(config)`` returns a
    JSON-able fingerprint of the data the run reads (paths resolved, content hashes), which the
    cache key includes. ``memory(config)`` estimates the bytes a run needs at its peak (or returns
    ``(bytes, "lower replicates")``, naming what shrinks it), so a run that cannot fit is refused before it
    allocates anything. ``cost(config)`` counts its work in units (a number, or ``{"class": units}`` when
    parts of it run at different speeds); ``calibration`` names, per class, a small configuration (overrides
    of the smoke-scale defaults) that ``madlib plan --calibrate`` times to learn the seconds per unit on this
    device (:mod:`madlib.experiments.plan`); ``subruns(config)`` lists the other experiments' runs it makes,
    as ``(name, overrides)`` or ``(name, preset)``, whose estimates add to its own; ``parallel(config)`` is the number of
    independent sweep points the run spreads over workers (or of chains that train at once, on the CPU). Every experiment declares ``memory`` and
    ``cost`` (``tests/test_full_scale.py`` enumerates this registry). ``threads(config)`` is the run's one thread
    policy: torch's CPU threads while it runs (default 1: the chains are many small tensor ops, which
    threads only slow down, by 10-25x on a busy 2-core machine; ``None`` leaves torch's setting; a
    GPU run is not affected). ``shortcuts`` declares the fast paths: ``{"method": {"exact": "sample"}}``
    says that ``method="exact"`` is a shortcut of ``method="sample"`` (the plain loop); every shortcut is
    tested against its reference for every workflow and option it accepts, and must refuse by name what it
    does not implement (``tests/test_fast_paths.py`` enumerates this registry). The code is fingerprinted
    automatically; ``version`` only needs a bump when a result changes for a reason the code
    fingerprint cannot see.
    """

    defaults = {**dict(defaults), **workflow_option_defaults(defaults, choices)}

    def decorate(fn):
        if name in _REGISTRY and _REGISTRY[name].fn.__module__ != fn.__module__:
            raise ValueError(f"experiment {name!r} is registered twice")
        for preset, overrides in (presets or {}).items():
            unknown = set(overrides) - set(defaults)
            if unknown:
                raise ValueError(f"preset {preset!r} of experiment {name!r} sets unknown parameters {sorted(unknown)}")
        specs = {key: choice(values) for key, values in (choices or {}).items()}
        specs.update(workflow_option_params(defaults, choices))
        specs.update(params or {})
        unknown = set(specs) - set(defaults)
        if unknown:
            raise ValueError(f"experiment {name!r} declares specs of unknown parameters {sorted(unknown)}")
        for key, spec in specs.items():
            for condition, _ in spec.applies_when:
                if condition not in defaults:
                    raise ValueError(f"parameter {key!r} of experiment {name!r} applies_when names the unknown "
                                     f"parameter {condition!r}")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = Experiment(name, fn, dict(defaults), dict(choices or {}), doc[0] if doc else "",
                                     version, {k: dict(v) for k, v in (presets or {}).items()}, inputs, memory,
                                     {key: specs[key] for key in defaults if key in specs}, threads,
                                     {k: dict(v) for k, v in (shortcuts or {}).items()}, cost,
                                     {k: ([dict(c) for c in v] if isinstance(v, (list, tuple)) else dict(v))
                                      for k, v in (calibration or {}).items()}, subruns, parallel)
        return fn

    return decorate


def workflow_option_defaults(defaults: Mapping[str, Any], choices: Mapping[str, tuple] | None) -> dict[str, Any]:
    """An experiment with a ``workflow`` parameter takes the options of every workflow it accepts
    (``kept_real_fraction``, ``mix_original``, ``mix_previous``, ``reset_every``: see
    :data:`madlib.core.workflows.WORKFLOW_TABLE`) as parameters, at their defaults."""
    if "workflow" not in defaults:
        return {}
    accepted = (choices or {}).get("workflow", WORKFLOWS)
    return {option: spec.default for option, (owner, spec) in WORKFLOW_OPTIONS.items()
            if owner in accepted and option not in defaults}


def workflow_option_params(defaults: Mapping[str, Any], choices: Mapping[str, tuple] | None) -> dict[str, Param]:
    """The specs of those options: each option's range, applying only under its own workflow (so
    ``workflow=replace reset_every=3`` is refused, never ignored)."""
    if "workflow" not in defaults:
        return {}
    accepted = (choices or {}).get("workflow", WORKFLOWS)
    return {name: option_param(name) for name, (owner, _) in WORKFLOW_OPTIONS.items() if owner in accepted}


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
    """Give CLI text the type of the default (for a parameter without a spec)."""
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def resolve_config(name: str, overrides: Mapping[str, Any] | None = None, scale: str | None = None,
                   preset: str | None = None) -> dict:
    """The experiment's defaults at ``scale``, then the ``preset``'s values, then ``overrides``, each
    parsed and checked against the experiment's parameter specs (:func:`madlib.core.params.check_config`):
    a value of the wrong type, out of range, non-finite, or set for a parameter that does not apply
    under the other settings is a ``ValueError`` naming the parameter and its valid range."""
    exp = get_experiment(name)
    scale = scale or get_scale()
    defaults = {key: resolve(value, scale) for key, value in exp.defaults.items()}
    given: dict[str, Any] = {}
    if preset is not None:
        if preset not in exp.presets:
            known = ", ".join(exp.presets) or "none"
            raise ValueError(f"unknown preset {preset!r} for experiment {name!r}; known: {known}")
        given.update({key: resolve(value, scale) for key, value in exp.presets[preset].items()})
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError(f"unknown parameter {key!r} for experiment {name!r}; valid: {', '.join(defaults)}")
        given[key] = value if key in exp.params else _coerce(name, key, value, defaults[key])
    try:
        config = check_config(name, exp.params, defaults, given)
        if "workflow" in config:  # the options' joint constraints (mix shares) as the loop will check them
            workflow_from_config(config)
    except ValueError as error:
        raise ValueError(f"{error} (experiment {name!r})" if f"experiment {name!r}" not in str(error) else error) \
            from None
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
    long_run_seconds()  # an unparsable MADLIB_LONG_RUN_S is refused now, not when (or if) a run first keeps pace
    if "seed" in config:
        config["seed"] = check_int("seed", config["seed"], 0, 2**63 - 1)
    device = get_device()
    estimate = exp.memory(config) if exp.memory is not None else None
    if estimate is not None:
        check_memory(name, estimate, device)
    key = cache_key(name, config)
    directory = cache_root() / name / key
    if use_cache:
        cached = _load_if_complete(directory, config)
        if cached is not None:
            return cached
        # Another process computing the same result (two chapters of a parallel book build): wait for it
        # and read its result, rather than compute it a second time beside it.
        with _computing(directory):
            # the second look, under the lock: what the other process finished (a damaged result was
            # already reported above: look again quietly)
            cached = _load_if_complete(directory, config, warn=False)
            if cached is not None:
                return cached
            return _compute(exp, name, config, key, directory, scale, device, use_cache, progress, preset, estimate)
    return _compute(exp, name, config, key, directory, scale, device, use_cache, progress, preset, estimate)


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
             device: torch.device, use_cache: bool, progress: bool | None, preset: str | None,
             estimate: Any) -> ExperimentResult:
    # A fresh recomputation works in its own folder; a cached run resumes its checkpoints in place.
    work = directory.with_name(f"{key}.fresh-{uuid.uuid4().hex[:8]}") if not use_cache else directory
    _make_folder(work)
    ctx = RunContext(checkpoint_dir=work / "checkpoints",
                     progress=sys.stderr.isatty() if progress is None else progress,
                     device=device, use_cache=use_cache, memory=estimate)
    announced = _announcement(name, preset, config, device, scale)
    threads = exp.threads(config) if exp.threads is not None else 1
    started = time.perf_counter()
    try:
        # a long run without a progress bar (a log, a notebook built in the background) reports its pace
        with cpu_threads(threads, device=device), \
                reporting(PROGRESS_EVERY_S if announced and not ctx.progress else None, announced):
            result = exp.fn(dict(config), ctx)
    except BaseException:
        if work != directory:
            if (directory / MANIFEST).exists():
                shutil.rmtree(work, ignore_errors=True)  # the finished result stays; the partial one goes
            else:
                _swap_in(work, directory)  # nothing finished to lose: keep the checkpoints for a resume
        _remove_if_empty(directory)  # a run refused at once leaves no empty folder behind
        raise
    elapsed = time.perf_counter() - started
    summary = _jsonable({"experiment": name, **result.summary})
    summary.setdefault("elapsed_s", round(elapsed, 3))
    summary.setdefault("device", str(ctx.device))
    summary.setdefault("scale", scale)  # which scale computed it (an exported result carries it along)
    result.summary = summary
    # the table as stored (Parquet: None in a float column reads back as NaN): a fresh result and a cached
    # one are the same frame
    result.table = _write_result(work, config, summary, result.table, result.extras)
    if work != directory:
        _swap_in(work, directory)
    result.config, result.cached, result.cache_dir = config, False, directory
    return result


def check_memory(name: str, needed: Any, device: Any = None) -> None:
    """Refuse a run whose estimated memory (bytes, or ``(bytes, what to lower)``) exceeds what this machine
    has available (RAM; a CUDA device's free memory; ``MADLIB_MEMORY`` caps both): one ``ValueError`` line
    with the estimate, what is available and the parameter to lower, before anything is allocated."""
    needed_bytes, advice = describe(needed)
    available, kind = available_memory(device)
    if needed_bytes > available:
        raise ValueError(refusal(f"experiment {name!r}", needed_bytes, available, kind, advice))


def _announcement(name: str, preset: str | None, config: dict, device: Any, scale: str) -> str | None:
    """The line that says a run's estimated time and memory when it will take minutes
    (:func:`madlib.experiments.plan.announcement`); printed when its work starts. Never fails a run."""
    from .plan import announcement

    try:
        return announcement(name, preset, config, device, scale)
    except Exception:  # noqa: BLE001 - an estimate is a courtesy: a broken calibration file must not stop a run
        return None


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


# ----------------------------------------------------------------------------- the files of a result
#: Written last: its presence means the result is finished; it holds a SHA-256 of every other file.
MANIFEST = "manifest.json"
RESULT_FORMAT = "madlib-result/1"
SUMMARY, CONFIG, TABLE, EXTRAS = "summary.json", "config.json", "table.parquet", "extras.safetensors"


def _write_result(folder: Path, config: Mapping[str, Any], summary: dict, table: pd.DataFrame | None,
                  extras: Mapping[str, Any]) -> pd.DataFrame | None:
    """A result's files, each written atomically, no pickle among them: the summary and the
    configuration as JSON, the table as Parquet, the extras as safetensors (:mod:`madlib.core.state`);
    then the manifest with a checksum of each, so a read can tell a damaged or edited file.
    Returns the table as a read will give it back."""
    atomic_write_text(folder / CONFIG, json.dumps(_jsonable(config), indent=2, sort_keys=True))
    atomic_write_text(folder / SUMMARY, json.dumps(summary, indent=2))
    if table is not None:
        blob = frame_to_parquet(table)
        atomic_write_bytes(folder / TABLE, blob)
        table = frame_from_parquet(blob)
    if extras:
        save_state(folder / EXTRAS, dict(extras))
    files = [name for name in (CONFIG, SUMMARY, TABLE, EXTRAS) if (folder / name).exists()]
    manifest = {"format": RESULT_FORMAT, "sha256": {name: file_digest(folder / name, 64) for name in files}}
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=2))  # last: its presence means finished
    return table


def _load_if_complete(directory: Path, config: Mapping[str, Any], warn: bool = True) -> ExperimentResult | None:
    """The cached result in ``directory``, or None when it is missing, unfinished, damaged or edited
    (then with a one-line warning: it is recomputed, never trusted)."""
    if not (directory / MANIFEST).exists():
        return None
    try:
        return load_result(directory, config)
    except Exception as error:  # noqa: BLE001 - a damaged cached result is recomputed, never trusted
        if warn:
                warnings.warn(f"ignoring unreadable cached result in {directory} ({type(error).__name__}: {error}); "
                          "recomputing", stacklevel=3)
        return None


def load_result(directory: Path, config: Mapping[str, Any] | None = None) -> ExperimentResult:
    """Read a finished result folder; raises (``ValueError``, ``OSError``) when a file is missing,
    damaged, of the wrong shape or does not match its checksum in the manifest."""
    directory = Path(directory)
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    if not isinstance(manifest, dict) or manifest.get("format") != RESULT_FORMAT \
            or not isinstance(manifest.get("sha256"), dict) or SUMMARY not in manifest["sha256"]:
        raise ValueError(f"{MANIFEST} is not a {RESULT_FORMAT} manifest")
    for name, expected in manifest["sha256"].items():
        if name not in (CONFIG, SUMMARY, TABLE, EXTRAS):
            raise ValueError(f"{MANIFEST} names an unknown file {name!r}")
        if not (directory / name).is_file():
            raise ValueError(f"{name} is missing")
        if file_digest(directory / name, 64) != expected:
            raise ValueError(f"{name} does not match its checksum (damaged or edited)")
    summary = json.loads((directory / SUMMARY).read_text(encoding="utf-8"))
    if not isinstance(summary, dict):
        raise ValueError(f"{SUMMARY} holds {type(summary).__name__}, not an object")
    table = frame_from_parquet((directory / TABLE).read_bytes()) if TABLE in manifest["sha256"] else None
    extras = load_state(directory / EXTRAS) if EXTRAS in manifest["sha256"] else {}
    if not isinstance(extras, dict):
        raise ValueError(f"{EXTRAS} holds {type(extras).__name__}, not a dict")
    if config is None:
        config = json.loads((directory / CONFIG).read_text(encoding="utf-8"))
        if not isinstance(config, dict):
            raise ValueError(f"{CONFIG} holds {type(config).__name__}, not an object")
    return ExperimentResult(summary, table, extras, dict(config), cached=True, cache_dir=directory)
