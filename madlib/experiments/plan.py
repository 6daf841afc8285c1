"""What a run will cost, said before it starts: ``madlib plan [--scale full] [--calibrate]``.

Every experiment declares ``cost(config)``, its work in units (per *class* of work where parts run at
different speeds: the exact Gaussian chain and the sampled one, say) and ``memory(config)``, its peak
bytes. Time is not guessed: ``madlib plan --calibrate`` runs each experiment's small ``calibration``
configuration once per class, measures the seconds per unit on this device and stores them in the cache
folder (``calibration/<device>.json``, keyed by the CPU model and its cores, or the GPU's name). An
estimate is then ``units x seconds per unit`` (divided among the sweep's workers where the run spreads
independent points over them), plus the estimates of the runs it makes of other experiments.

Without a calibration of this device, estimates come from the reference calibration shipped with madlib
(:mod:`madlib.experiments._reference_calibration`, measured on the course's 2-core reference machine) and
say so. A run whose estimate exceeds :data:`ANNOUNCE_S` says it in one line on standard error when it
starts (:func:`announcement`). Estimates are within a factor of about three (checked against measured runs): a shared machine, another CPU,
or sizes far from the calibration's change the seconds per unit.
"""
from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from ..core.budget import available_memory, describe, format_gib, workers_for
from ..core.cache import atomic_write_text, cache_root
from ..core.config import SCALES, get_device
from ..core.pace import format_duration
from ..core.sweep import default_workers
from . import get_experiment, list_experiments, resolve_config, run_experiment

#: A run whose estimate is longer than this (seconds) says so when it starts.
ANNOUNCE_S = 120.0
CALIBRATION_FORMAT = "madlib-calibration/1"

__all__ = ["ANNOUNCE_S", "Estimate", "device_key", "calibration_path", "load_calibrations", "calibrate", "estimate",
           "plan_rows", "format_plan", "announcement", "cost_units"]


# --------------------------------------------------------------------------- devices and their calibrations
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def device_key(device: Any = None) -> str:
    """``cpu: <model>, <n> cores`` or ``cuda: <GPU name>``: what a calibration is keyed by."""
    import torch

    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return f"mps: {platform.machine()}"
    return f"cpu: {_cpu_model()}, {default_workers()} cores"


def calibration_path(key: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-").lower()[:100] or "device"
    return cache_root() / "calibration" / f"{slug}.json"


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT or not isinstance(data.get("device"), str) \
            or not isinstance(data.get("experiments"), dict):
        return None
    return data


def load_calibrations() -> dict[str, dict]:
    """Every calibration in the cache folder (this machine's and any imported with ``madlib results import``),
    by device key."""
    folder = cache_root() / "calibration"
    found = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = _read(path)
        if data is not None:
            found[data["device"]] = data
    return found


def reference_calibration() -> dict:
    """The calibration shipped with madlib (the reference machine's)."""
    from ._reference_calibration import REFERENCE_CALIBRATION

    return REFERENCE_CALIBRATION


# --------------------------------------------------------------------------- units
def cost_units(name: str, config: dict) -> dict[str, float]:
    """The experiment's declared work, ``{class: units}`` (a plain number is the class ``""``)."""
    exp = get_experiment(name)
    if exp.cost is None:
        raise ValueError(f"experiment {name!r} declares no cost(config)")
    units = exp.cost(dict(config))
    if not isinstance(units, dict):
        units = {"": units}
    return {str(k): float(v) for k, v in units.items()}


def _calibration_configs(name: str) -> dict[str, dict]:
    exp = get_experiment(name)
    return exp.calibration or {"": {}}


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _timed(name: str, overrides: dict, cls: str) -> tuple[float, float]:
    """``(seconds, units of cls)`` of one run of ``overrides`` at the smoke scale's defaults, computed afresh."""
    config = resolve_config(name, overrides, "smoke")
    units = cost_units(name, config).get(cls)
    if not units:
        raise ValueError(f"its calibration configuration {overrides} has no units of class {cls!r}")
    started = time.perf_counter()
    run_experiment(name, scale="smoke", use_cache=False, progress=False, **overrides)
    return time.perf_counter() - started, units


def _calibrate_class(name: str, cls: str, declared: Any) -> dict:
    """One class of an experiment's work. A configuration gives seconds per unit; two (a small and a larger
    one) give the seconds per unit from their difference and the run's fixed cost (loading data, training a
    classifier, starting up) from what is left, so that extrapolating far beyond them stays sound."""
    configs = list(declared) if isinstance(declared, (list, tuple)) else [declared]
    runs = [_timed(name, dict(overrides), cls) for overrides in configs]
    (seconds, units), entry = runs[-1], {"config": configs[-1] if len(configs) == 1 else configs}
    rate, overhead = seconds / units, 0.0
    if len(runs) == 2 and runs[1][1] > runs[0][1]:
        slope = (runs[1][0] - runs[0][0]) / (runs[1][1] - runs[0][1])
        if slope > 0:  # else the difference drowned in noise: the single-point rate (an upper bound) stays
            rate, overhead = slope, max(0.0, runs[0][0] - slope * runs[0][1])
    entry.update({"seconds": round(seconds, 3), "units": units, "seconds_per_unit": rate,
                  "overhead_s": round(overhead, 3)})
    return entry


def calibrate(names: list[str] | None = None, *, echo: Callable[[str], None] | None = None) -> dict:
    """Time each experiment's calibration configurations on this device (small: seconds each, at the smoke
    scale's defaults, one worker, in a temporary cache so nothing is reused) and store the seconds per unit
    (and each run's fixed cost, where two sizes are declared) in ``calibration/<device>.json`` of the cache
    folder. Returns the stored calibration."""
    key = device_key()
    path = calibration_path(key)
    stored = _read(path) or {"format": CALIBRATION_FORMAT, "device": key, "experiments": {}}
    names = list(names) if names else list(list_experiments())
    for name in names:
        get_experiment(name)
    load_before = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="madlib-calibration-") as scratch, \
            _environment(MADLIB_CACHE=scratch, MADLIB_SCALE="smoke", MADLIB_WORKERS="1",
                         MADLIB_LONG_RUN_S="inf", MADLIB_ANNOUNCE="0"):
        for name in names:
            entry = {}
            for cls, declared in _calibration_configs(name).items():
                try:
                    entry[cls] = _calibrate_class(name, cls, declared)
                except Exception as error:  # noqa: BLE001 - one experiment that cannot run here (no data) is noted
                    entry[cls] = {"error": " ".join(f"{type(error).__name__}: {error}".split())[:300]}
                if echo is not None:
                    done = entry[cls]
                    echo(f"calibrated {name}{' (' + cls + ')' if cls else ''}: "
                         + (f"{done['seconds']:.1f} s" if "seconds" in done else done["error"]))
            stored["experiments"][name] = entry
    stored.update({"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   "load_average": load_before, "cores": default_workers()})
    atomic_write_text(path, json.dumps(stored, indent=1, sort_keys=True))
    return stored


# --------------------------------------------------------------------------- estimates
@dataclass
class Estimate:
    """``seconds`` (None where a class of its work is not calibrated), peak ``memory`` bytes per process,
    the ``workers`` its points spread over, and what is missing."""

    seconds: float | None
    memory: float
    workers: int = 1
    missing: list[str] = field(default_factory=list)


def estimate(name: str, config: dict, calibration: dict, *, scale: str, cpu: bool = True, cores: int | None = None,
             available: float | None = None) -> Estimate:
    """The run's time on the device of ``calibration`` and its peak memory, from the declared units; a sweep's
    points spread over ``cores`` workers (default: this machine's) as far as ``available`` memory allows
    (default: this machine's)."""
    exp = get_experiment(name)
    units = cost_units(name, config)
    measured = calibration.get("experiments", {}).get(name, {})
    seconds, missing = 0.0, []
    for cls, amount in units.items():
        rate = measured.get(cls, {}).get("seconds_per_unit")
        if rate is None:
            missing.append(f"{name}{' (' + cls + ')' if cls else ''}")
        elif amount > 0:
            seconds += amount * rate + measured[cls].get("overhead_s", 0.0)
    memory = describe(exp.memory(dict(config)))[0] if exp.memory is not None else 0.0
    workers = 1
    if exp.parallel is not None and cpu and scale != "smoke":  # smoke sweeps run in-process
        room = available_memory()[0] if available is None else available
        workers = max(1, min(cores or default_workers(), int(exp.parallel(dict(config))),
                             workers_for(memory, 10**6, room)))
    seconds /= workers
    for sub, overrides in (exp.subruns(dict(config)) if exp.subruns is not None else []):
        preset = overrides if isinstance(overrides, str) else None  # a preset's name, or overrides
        sub_config = resolve_config(sub, None if preset else overrides, scale, preset=preset)
        part = estimate(sub, sub_config, calibration, scale=scale, cpu=cpu, cores=cores, available=available)
        seconds += part.seconds or 0.0
        missing += part.missing
        memory = max(memory, part.memory)
    return Estimate(None if missing else seconds, memory, workers, sorted(set(missing)))


def _rows_for(scale: str, names: list[str] | None) -> list[tuple[str, str | None, dict]]:
    rows = []
    for name, exp in list_experiments().items():
        if names and name not in names:
            continue
        for preset in (list(exp.presets) or [None]):
            rows.append((name, preset, resolve_config(name, None, scale, preset)))
    return rows


def plan_rows(scale: str, names: list[str] | None = None) -> list[dict]:
    """For every preset of every experiment (its defaults where it has none) at ``scale``: the estimated time
    on this machine's CPU (its calibration, else the reference one), the peak memory, and the time on each
    calibrated GPU."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    calibrations = load_calibrations()
    here = device_key("cpu")
    cpu = calibrations.get(here)
    reference = reference_calibration()
    cpu_source = "this CPU" if cpu is not None else (
        "this CPU (the reference calibration)" if reference.get("device") == here
        else f"the reference CPU ({reference['device']}; `madlib plan --calibrate` measures this one)")
    cpu = cpu or reference
    gpus = {key: data for key, data in calibrations.items() if key.startswith("cuda")}
    rows = []
    for name, preset, config in _rows_for(scale, names):
        on_cpu = estimate(name, config, cpu, scale=scale)
        row = {"experiment": name, "preset": preset, "scale": scale, "cpu_seconds": on_cpu.seconds,
               "cpu_workers": on_cpu.workers, "memory_bytes": on_cpu.memory, "cpu_source": cpu_source,
               "missing": on_cpu.missing, "gpu": {}}
        for key, data in gpus.items():
            row["gpu"][key] = estimate(name, config, data, scale=scale, cpu=False).seconds
        rows.append(row)
    return rows


def _time(seconds: float | None) -> str:
    return "not calibrated" if seconds is None else ("< 1 s" if seconds < 1 else "~" + format_duration(seconds))


def format_plan(rows: list[dict]) -> str:
    """The plan as a text table, with a line on where the figures come from."""
    if not rows:
        return "no experiments"
    gpu_keys = sorted({key for row in rows for key in row["gpu"]})
    lines = [f"scale {rows[0]['scale']}: time on {rows[0]['cpu_source']} (sweeps on its workers), peak memory per "
             "process; estimates within a factor of about 3"]
    header = f"{'experiment':15s} {'preset':32s} {'CPU time':>22s} {'memory':>10s}  GPU"
    lines += [header, "-" * len(header)]
    for row in rows:
        workers = f" ({row['cpu_workers']} workers)" if row["cpu_workers"] > 1 else ""
        gpu = "; ".join(f"{_time(row['gpu'][key])} on {key[6:]}" for key in gpu_keys) if gpu_keys else \
            "not calibrated"
        lines.append(f"{row['experiment']:15s} {row['preset'] or '(defaults)':32s} "
                     f"{_time(row['cpu_seconds']) + workers:>22s} {format_gib(row['memory_bytes']):>10s}  {gpu}")
    if not gpu_keys:
        lines.append("GPU: not calibrated. On a GPU machine run `madlib plan --calibrate` (a few minutes), then "
                     "`madlib results export` there and `madlib results import` here to see its figures.")
    return "\n".join(lines)


def announcement(name: str, preset: str | None, config: dict, device: Any, scale: str) -> str | None:
    """The one line a long run prints when it starts (None for a run estimated under :data:`ANNOUNCE_S`, or
    with no estimate on this device). ``MADLIB_ANNOUNCE=0`` silences it."""
    if os.environ.get("MADLIB_ANNOUNCE", "").strip() == "0":
        return None
    key = device_key(device)
    calibration = load_calibrations().get(key)
    where = "this machine"
    if calibration is None:
        if not key.startswith("cpu"):
            return None
        calibration = reference_calibration()
        where = ("this CPU (the reference calibration)" if calibration.get("device") == key
                 else "the reference CPU (`madlib plan --calibrate` measures this one)")
    found = estimate(name, config, calibration, scale=scale, cpu=key.startswith("cpu"))
    if found.seconds is None or found.seconds < ANNOUNCE_S:
        return None
    run = f"{name}{' --preset ' + preset if preset else ''}"
    workers = f" on {found.workers} workers" if found.workers > 1 else ""
    return (f"madlib: note: {run} ({scale}) is estimated to take about {format_duration(found.seconds)}{workers} "
            f"and {format_gib(found.memory)} of memory on {where}; its progress follows, with the time left")
