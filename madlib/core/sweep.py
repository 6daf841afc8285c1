"""Map a function over independent sweep points: in-process, on every local core, or on a Dask cluster.

A sweep is a list of *points*, each a dict of JSON-able coordinates (a grid cell,
a seed index, a remedy name). :func:`sweep` calls ``fn(**point, seed=s)`` once per
point and returns the results in point order. Three guarantees make a sweep
safe to spread over processes and machines:

* **Same result whatever the backend.** Each point gets its own seed ``s``,
  derived from the sweep's seed and a SHA-256 of the point's canonical JSON
  (:func:`point_seed`, i.e. :func:`madlib.core.seeding.child_seed`), never from its position or from Python's ``hash()``, and
  runs with one intra-op torch thread (and one BLAS thread), so inline, 2 local
  processes and a 50-worker cluster give bit-identical results (given the same
  package versions and CPU type everywhere: floating point is not portable beyond).
* **Resumable.** With ``cache_dir`` every finished point is written at once
  (atomically) to its own file; a rerun loads those and computes only the rest,
  so an interrupted sweep resumes where it stopped.
* **No home-made machinery.** Local processes are joblib's ``loky`` executor;
  clusters are ``dask.distributed``, imported only when asked for.
* **Fits in memory.** With ``memory`` (bytes per point, estimated from its coordinates), a point
  that cannot fit in the memory available (:func:`madlib.core.budget.available_memory`) is refused
  before anything runs, in one line with its estimate; local workers start a point only while the
  points running beside it leave room for it, so a sweep of large points runs fewer at once. A
  worker killed by the operating system (out of memory) is one :class:`madlib.core.budget.ResourceError`
  naming the points it was running and their estimates; the finished points stay cached.

Backends (``backend=None`` picks one):

* ``"inline"``: in this process, one point after another. The default at
  ``MADLIB_SCALE=smoke`` (the test suite) and whenever only one worker is asked for.
* ``"processes"``: joblib/loky worker processes on this machine; the default at
  ``default`` and ``full``. ``workers`` (else ``MADLIB_WORKERS``, else every core) sets how many.
* ``"dask"``: a ``dask.distributed`` cluster: the ``client`` passed in, else a
  client connected to ``MADLIB_DASK_SCHEDULER`` (e.g. ``tls://host:8786``, with the TLS
  files from Dask's configuration: :func:`connect_dask`); the default whenever either is given. ``fn`` must be importable on the workers
  (install madlib there); results come back to this process, which alone
  writes the cache, so workers need no shared file system.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import traceback
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence


from .budget import ResourceError, available_memory, describe, format_gib, refusal, workers_for
from .cache import atomic_write_text, cache_root, digest, prepare_cache_folder, read_cached
from .config import get_scale
from .pace import Pace, quiet
from .seeding import canonical_json, child_seed, key_digest
from .state import dumps_json, loads_json
from .validation import check_choice, check_float, check_int

BACKENDS = ("inline", "processes", "dask")

__all__ = ["BACKENDS", "ResourceError", "sweep", "point_seed", "point_digest", "default_workers", "default_backend", "connect_dask",
           "dask_security"]


# --------------------------------------------------------------------------- coordinates and seeds
def point_digest(point: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the point's canonical JSON (:func:`madlib.core.seeding.key_digest`)."""
    return key_digest(dict(point))


def point_seed(seed: int, point: Mapping[str, Any]) -> int:
    """The seed of one point: :func:`madlib.core.seeding.child_seed` keyed by the point's coordinates.

    It depends only on ``seed`` and the point's coordinates (not on the order of the
    points, the backend, the worker or the process), and differs between points.
    """
    return child_seed(seed, dict(point))


def _check_points(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(points, (str, bytes, Mapping)) or not hasattr(points, "__iter__"):
        raise ValueError(f"points must be a sequence of dicts of coordinates, got {type(points).__name__}")
    checked, seen = [], {}
    for index, point in enumerate(points):
        if not isinstance(point, Mapping):
            raise ValueError(f"points[{index}] must be a dict of coordinates, got {point!r}")
        for name in point:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"points[{index}] coordinate names must be identifiers (they become keyword "
                                 f"arguments of fn), got {name!r}")
        if "seed" in point:
            raise ValueError(f"points[{index}] must not have a 'seed' coordinate: sweep derives each point's seed "
                             f"(name a replicate axis e.g. 'replicate')")
        try:
            text = canonical_json(point)
        except (TypeError, ValueError) as error:
            raise ValueError(f"points[{index}] coordinates must be JSON numbers, strings, booleans, None, "
                             f"lists or dicts (finite), got {point!r}: {error}") from None
        if text in seen:
            raise ValueError(f"points must be distinct (they would share a seed and a cache entry): "
                             f"points[{seen[text]}] and points[{index}] are both {text}")
        seen[text] = index
        checked.append(dict(point))
    return checked


# --------------------------------------------------------------------------- workers and backend
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this process may use (containers, taskset)
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def default_workers(workers: int | None = None) -> int:
    """``workers`` if given, else ``MADLIB_WORKERS``, else every core this process may use."""
    if workers is not None:
        return check_int("workers", workers, 1)
    env = os.environ.get("MADLIB_WORKERS", "").strip()
    if env:
        try:
            return check_int("MADLIB_WORKERS", int(env), 1)
        except ValueError:
            raise ValueError(f"MADLIB_WORKERS must be an integer >= 1, got {env!r}") from None
    return _cores()


def default_backend(workers: int, client: Any = None) -> str:
    """``dask`` with a client or ``MADLIB_DASK_SCHEDULER``; else ``inline`` at smoke scale or for one worker;
    else ``processes``."""
    if client is not None or os.environ.get("MADLIB_DASK_SCHEDULER", "").strip():
        return "dask"
    if workers == 1 or get_scale() == "smoke":
        return "inline"
    return "processes"


# --------------------------------------------------------------------------- one point, one thread
_THREADS_LOCK = threading.Lock()
_THREADS_USERS = 0
_THREADS_SAVED: tuple[int, Any] | None = None


@contextmanager
def _one_thread() -> Iterator[None]:
    """One torch intra-op thread and one BLAS/OpenMP thread while a point runs, then the settings as before.

    Why: these points are small tensor ops; splitting each across threads costs
    more than it brings when every core already runs a point, and a fixed thread
    count keeps reductions bit-identical across backends. The setting is
    process-wide, so it is reference-counted: a Dask worker running several points
    in threads keeps one thread until the last point leaves, then restores.
    """
    global _THREADS_USERS, _THREADS_SAVED
    import torch
    from threadpoolctl import threadpool_limits

    with _THREADS_LOCK:
        if _THREADS_USERS == 0:
            before = torch.get_num_threads()
            limits = threadpool_limits(limits=1)
            torch.set_num_threads(1)
            _THREADS_SAVED = (before, limits)
        _THREADS_USERS += 1
    try:
        yield
    finally:
        with _THREADS_LOCK:
            _THREADS_USERS -= 1
            if _THREADS_USERS == 0 and _THREADS_SAVED is not None:
                before, limits = _THREADS_SAVED
                _THREADS_SAVED = None
                limits.restore_original_limits()
                torch.set_num_threads(before)


def _run_point(fn: Callable[..., Any], index: int, point: dict[str, Any], seed: int,
               remote: bool = True) -> tuple[int, bool, Any]:
    """What a worker runs: ``fn(**point, seed=seed)`` on one thread.

    Returns ``(index, True, result)``, or ``(index, False, error)`` when ``fn`` raised:
    the error travels back as a value, so one failing point neither kills the
    worker pool nor loses the points still running beside it.
    """
    with _one_thread(), quiet():  # the sweep keeps the pace of its points, not their inner loops
        try:
            return index, True, fn(**point, seed=seed)
        except Exception as error:  # not BaseException: Ctrl-C still stops everything at once
            # a worker's traceback is lost on the way back (only the exception pickles): keep it as text
            worker_traceback = "; worker traceback:\n" + "".join(traceback.format_exception(error)).rstrip()
            error.add_note(f"in sweep point {point} (seed={seed})" + (worker_traceback if remote else ""))
            return index, False, error


# --------------------------------------------------------------------------- per-point cache
def _slug(key: str) -> str:
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:60].strip("._") or "sweep"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


class _PointCache:
    """One JSON file per finished point under ``cache_dir/<key>/``, named by a digest of (key, seed, point).

    Plain data, never a pickle (:func:`madlib.core.state.dumps_json`: the result's tensors and
    arrays ride along as base64 safetensors bytes), written with the library's atomic writer and
    read with its reader: an unreadable or foreign entry is a miss (one warning), recomputed."""

    def __init__(self, cache_dir: Path, key: str, seed: int):
        self.root = Path(cache_dir)
        self.directory = self.root / _slug(key)
        self.key, self.seed = key, seed
        self.prepared = False

    def path(self, point: dict[str, Any]) -> Path:
        return self.directory / f"{digest({'key': self.key, 'seed': self.seed, 'point': canonical_json(point)}, 32)}.json"

    def load(self, point: dict[str, Any], seed: int) -> tuple[bool, Any]:
        """``(True, result)`` for a readable entry of this very point, else ``(False, None)``."""
        entry = read_cached(self.path(point), lambda p: loads_json(p.read_text(encoding="utf-8")))
        if not isinstance(entry, dict) or entry.get("key") != self.key or entry.get("point") != canonical_json(point) \
                or entry.get("seed") != seed or "result" not in entry:
            return False, None
        return True, entry["result"]

    def store(self, point: dict[str, Any], seed: int, result: Any) -> None:
        """Write atomically (a temporary name unique to this process and thread, then a rename)."""
        if not self.prepared:  # a folder of this user's, created private and tagged (see prepare_cache_folder)
            prepare_cache_folder(self.root, "cache_dir")
            self.prepared = True
        atomic_write_text(self.path(point), dumps_json({"key": self.key, "point": canonical_json(point), "seed": seed,
                                                        "result": result}))


def _default_cache_dir() -> Path:
    return cache_root() / "sweeps"


# --------------------------------------------------------------------------- the sweep
def sweep(fn: Callable[..., Any], points: Sequence[Mapping[str, Any]], *, seed: int, backend: str | None = None,
          workers: int | None = None, cache_dir: str | os.PathLike | bool | None = None, key: str | None = None,
          progress: bool = False, desc: str | None = None, client: Any = None,
          cost: Callable[[dict[str, Any]], float] | None = None, common_seed: bool = False,
          memory: Callable[[dict[str, Any]], Any] | None = None) -> list[Any]:
    """``[fn(**point, seed=point_seed(seed, point)) for point in points]``, spread over workers and cached.

    fn: a picklable top-level function (or a ``functools.partial`` of one) taking the
        point's coordinates as keyword arguments plus ``seed``; its result must pickle (to travel from a
        worker) and be plain data that :mod:`madlib.core.state` stores (to be cached).
    points: dicts of JSON-able coordinates, distinct, without a ``seed`` key.
    seed: the sweep's seed (>= 0); each point's seed derives from it and the point.
    backend: ``"inline"``, ``"processes"`` or ``"dask"``; ``None`` picks (see the module doc).
    workers: local worker processes (>= 1); default ``MADLIB_WORKERS``, else every core.
        Ignored by ``dask``, whose cluster decides.
    cache_dir: a folder for per-point results (``True``: the madlib cache's ``sweeps/``);
        ``None``/``False``: no cache.
    key: names the sweep in the cache: put everything besides the coordinates and the
        seed that changes the results (the experiment, its version and fixed config).
        Defaults to ``fn``'s module and name; required for a partial or callable object.
    progress, desc: a tqdm bar over points (terminal or notebook), and its label.
    client: a ``dask.distributed.Client`` to run on (implies ``backend="dask"``).
    cost: an estimate of a point's run time (any unit); the costliest points are then
        started first, so the sweep does not end with one worker running a long point
        while the others idle. It changes the order of the runs, not the results.
    common_seed: give every point the sweep's own ``seed`` instead of its own child seed:
        *common random numbers*, for sweeps that compare treatments (remedies, workflows)
        on the same draws, so a difference between two points is the treatment's and not
        the luck of their seeds. Results are still the same whatever the backend.
    memory: a point's peak memory in bytes (or ``(bytes, "lower n_real")``: what shrinks it), estimated
        from its coordinates. A point that does not fit in the available memory is refused before the
        sweep starts (a ``ValueError``, one line); local workers run only as many points at once as fit.
        It changes how many points run at once, never the results.
    Returns the results in the order of ``points``. If ``fn`` raises on some points,
    the sweep still runs (and caches) every other point, then raises the error of the
    first failing point; a rerun computes only the points that failed.
    """
    if not callable(fn):
        raise ValueError(f"fn must be a callable, got {fn!r}")
    seed = check_int("seed", seed, 0)
    points = _check_points(points)
    n_workers = default_workers(workers)
    backend = default_backend(n_workers, client) if backend is None else check_choice("backend", backend, BACKENDS)
    if client is not None and backend != "dask":
        raise ValueError(f"client is only used with backend='dask', got backend={backend!r}")
    if desc is not None and not isinstance(desc, str):
        raise ValueError(f"desc must be a string or None, got {desc!r}")

    cache = None
    if cache_dir is not None and cache_dir is not False:
        if key is None:
            name = getattr(fn, "__qualname__", None)
            if name is None or "<" in name:
                raise ValueError("key must be given with cache_dir when fn is a partial, a lambda, a local "
                                 f"function or a callable object (it names the sweep in the cache), got fn={fn!r}")
            key = f"{fn.__module__}.{name}"
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        cache = _PointCache(_default_cache_dir() if cache_dir is True else Path(cache_dir), key, seed)

    if not isinstance(common_seed, bool):
        raise ValueError(f"common_seed must be True or False, got {common_seed!r}")
    seeds = [seed if common_seed else point_seed(seed, point) for point in points]
    results: list[Any] = [None] * len(points)
    todo: list[int] = []
    for index, point in enumerate(points):
        found, value = cache.load(point, seeds[index]) if cache is not None else (False, None)
        if found:
            results[index] = value
        else:
            todo.append(index)

    if cost is not None:
        if not callable(cost):
            raise ValueError(f"cost must be a callable of a point or None, got {cost!r}")
        estimates = {index: check_float("cost(point)", cost(dict(points[index])), 0.0) for index in todo}
        todo.sort(key=lambda index: -estimates[index])  # stable: ties keep the points' order

    sizes = _check_memory(memory, points, todo, backend)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(points), initial=len(points) - len(todo), desc=desc or getattr(getattr(fn, "func", fn), "__name__", "sweep"),
               unit="point", disable=not progress, leave=False)

    errors: dict[int, Exception] = {}
    pace = Pace(desc or "the sweep", len(todo), "point", resumable=cache is not None,
                parallel=1 if backend == "inline" else min(n_workers, max(len(todo), 1)))

    def finished(index: int, ok: bool, value: Any) -> None:
        pace.tick()
        if ok:
            results[index] = value
            if cache is not None:
                cache.store(points[index], seeds[index], value)  # as soon as it finishes: an interrupted sweep resumes
        else:
            errors[index] = value
        bar.update(1)

    try:
        if todo:
            if backend == "inline":
                for index in todo:
                    finished(*_run_point(fn, index, points[index], seeds[index], remote=False))
            elif backend == "processes":
                _run_processes(fn, todo, points, seeds, min(n_workers, len(todo)), finished, sizes,
                               cached=cache is not None)
            else:
                _run_dask(fn, todo, points, seeds, client, finished)
    finally:
        bar.close()
    if errors:
        first = errors[min(errors)]
        first.add_note(f"sweep: {len(errors)} of {len(points)} points failed"
                       + (f"; the {len(points) - len(errors)} others are cached, a rerun computes only the failed"
                          if cache is not None else ""))
        raise first
    return results


def _check_memory(memory, points: list[dict], todo: list[int], backend: str) -> dict[int, float] | None:
    """Each point's estimate (bytes); a point that cannot fit even alone is refused now, in one line."""
    if memory is None:
        return None
    if not callable(memory):
        raise ValueError(f"memory must be a callable of a point or None, got {memory!r}")
    sizes, advice = {}, {}
    for index in todo:
        sizes[index], advice[index] = describe(memory(dict(points[index])))
        check_float("memory(point)", sizes[index], 0.0)
    if backend != "dask" and todo:  # a cluster's workers have their own memory
        available, kind = available_memory()
        largest = max(todo, key=lambda index: sizes[index])
        if sizes[largest] > available:
            raise ValueError(refusal(f"sweep point {canonical_json(points[largest])}", sizes[largest], available,
                                     kind, advice[largest]))
    return sizes


def _run_processes(fn, todo: list[int], points: list[dict], seeds: list[int], n_jobs: int,
                   finished: Callable[[int, Any], None], sizes: dict[int, float] | None = None,
                   cached: bool = False) -> None:
    """Local worker processes (joblib's loky executor, reused across sweeps so a second sweep does not pay
    their start-up again). A point starts only while the points running beside it leave room for its
    memory estimate; each result is handed to ``finished`` as soon as it arrives (so it is cached at once).
    A worker killed by the operating system stops the sweep with one :class:`ResourceError`."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from joblib.externals.loky import get_reusable_executor
    from joblib.externals.loky.process_executor import BrokenProcessPool

    available = available_memory()[0] if sizes else float("inf")
    if sizes:
        fitting = workers_for(max(sizes[i] for i in todo), n_jobs, available)
        if fitting < n_jobs:
            print(f"madlib: note: {fitting} worker{'s' if fitting > 1 else ''} instead of {n_jobs} at first: a point "
                  f"may need up to {format_gib(max(sizes[i] for i in todo))} of the {format_gib(available)} available "
                  "(MADLIB_MEMORY)", file=sys.stderr, flush=True)
    executor = get_reusable_executor(max_workers=n_jobs, timeout=300)
    queue, running, used = list(todo), {}, 0.0

    def size(index: int) -> float:
        return sizes[index] if sizes else 0.0

    try:
        while queue or running:
            while queue and len(running) < n_jobs:
                # the first point (costliest first) that fits beside the running ones; alone, every point fits
                index = next((i for i in queue if not running or used + size(i) <= available), None)
                if index is None:
                    break
                queue.remove(index)
                running[executor.submit(_run_point, fn, index, points[index], seeds[index])] = index
                used += size(index)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool as error:
                    raise ResourceError(_killed(error, [running[f] for f in running], points, sizes, cached,
                                                len(todo) - len(queue) - len(running))) from None
                del running[future]
                used -= size(index)
                finished(*outcome)
    except BrokenProcessPool as error:  # a worker died between two waits: the next submit is refused
        raise ResourceError(_killed(error, list(running.values()), points, sizes, cached,
                                    len(todo) - len(queue) - len(running))) from None
    finally:
        for future in running:
            future.cancel()


def _killed(error: BaseException, lost: list[int], points: list[dict], sizes: dict[int, float] | None,
            cached: bool, done: int) -> str:
    """One line for a worker the operating system killed: the points it may have been running, their
    estimates, and what to do."""
    signal = re.search(r"SIG[A-Z]+", str(error))
    named = "; ".join(canonical_json(points[i]) + (f" (estimated {format_gib(sizes[i])})" if sizes else "")
                      for i in sorted(lost))
    return (f"a sweep worker was killed by the operating system ({signal.group(0) if signal else 'it exited'}"
            f"{', most likely out of memory' if not signal or signal.group(0) == 'SIGKILL' else ''}) while running "
            f"{'point' if len(lost) == 1 else 'one of the points'} {named}; "
            + (f"the {done} points finished in this run are cached and the same command computes only the rest: " if cached
               else "")
            + "rerun with fewer workers at once (MADLIB_WORKERS=1, or MADLIB_MEMORY set below the free memory), "
              "or lower the sizes of the points named")


def dask_security() -> Any:
    """A ``distributed.security.Security`` built from Dask's configuration when it names TLS files or
    requires encryption (``DASK_DISTRIBUTED__COMM__TLS__CA_FILE``, ``..._TLS__CLIENT__CERT``,
    ``..._TLS__CLIENT__KEY``, ``DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION`` in the environment, or the
    same keys in a Dask config file); None when nothing is configured."""
    import dask
    from distributed.security import Security

    tls = dask.config.get("distributed.comm.tls", {}) or {}
    client = tls.get("client") or {}
    if tls.get("ca-file") or client.get("cert") or client.get("key") \
            or dask.config.get("distributed.comm.require-encryption", None):
        return Security()  # reads every TLS setting from the config
    return None


def connect_dask(address: str | None = None) -> Any:
    """A ``distributed.Client`` of the scheduler at ``address`` (default ``MADLIB_DASK_SCHEDULER``), with the
    security object of :func:`dask_security`.

    A scheduler runs whatever its clients send on every worker, and results come back pickled, so:
    a ``tls://`` address needs the TLS configuration (refused without it); a plain ``tcp://`` address
    beyond this machine gets a warning (bind the scheduler to a private network, or reach it through
    an SSH tunnel, or use TLS). An unreachable scheduler is one ``ValueError`` line, not a traceback.
    """
    from distributed import Client

    address = (address or os.environ.get("MADLIB_DASK_SCHEDULER", "")).strip()
    if not address:
        raise ValueError("backend='dask' needs a client or MADLIB_DASK_SCHEDULER set to a scheduler address "
                         "such as tls://host:8786")
    security = dask_security()
    scheme, _, rest = address.rpartition("://")
    host = rest.rsplit(":", 1)[0].strip("[]")
    if scheme == "tls" and security is None:
        raise ValueError(f"MADLIB_DASK_SCHEDULER={address!r} is a TLS address but no TLS files are configured: set "
                         "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT and "
                         "DASK_DISTRIBUTED__COMM__TLS__CLIENT__KEY (or the same keys in Dask's config)")
    if (scheme == "tcp" or (scheme == "" and ":" in rest)) and host not in ("localhost", "127.0.0.1", "::1") \
            and security is None:
        warnings.warn(f"the Dask scheduler {address} is reached over plain TCP: anyone who can reach it runs code "
                      "on every worker and can answer in its place. Use a tls:// address with TLS files, a "
                      "private network, or an SSH tunnel (see the README)", stacklevel=3)
    try:
        return Client(address, security=security) if security is not None else Client(address)
    except Exception as error:  # noqa: BLE001 - a refused, timed-out or malformed address: say so in one line
        message = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(f"cannot reach the Dask scheduler at {address} (MADLIB_DASK_SCHEDULER): "
                         f"{message[:300]}") from None


def _run_dask(fn, todo: list[int], points: list[dict], seeds: list[int], client: Any,
              finished: Callable[[int, Any], None]) -> None:
    try:
        from distributed import as_completed
    except ImportError:  # pragma: no cover - pinned in requirements.txt
        raise ValueError("backend='dask' needs the packages dask and distributed (pip install -r requirements.txt)") \
            from None
    own = client is None
    if own:
        client = connect_dask()
    futures = {}
    try:
        for rank, i in enumerate(todo):
            # pure=False: never let Dask merge two submissions; key: readable in the dashboard, unique per sweep run;
            # priority: the scheduler starts higher first, so it keeps the order of todo (costliest first)
            future = client.submit(_run_point, fn, i, points[i], seeds[i], pure=False, priority=len(todo) - rank,
                                   key=f"madlib-sweep-{i}-{uuid.uuid4().hex[:12]}")
            futures[future] = i
        for future in as_completed(futures):
            finished(*future.result())  # fn's errors come back as values; this raises only if Dask lost the task
    finally:
        client.cancel(list(futures))
        if own:
            client.close()
