"""Where results live on disk, how files are written, and what a result's key covers.

* :func:`cache_root`: ``MADLIB_CACHE`` if set, else ``.madlib_cache`` beside a source checkout,
  else ``~/.cache/madlib``. Every cached file of the library (experiment results, checkpoints,
  pre-trained models, parsed data) lives below it.
* :func:`atomic_write_bytes`, :func:`atomic_write_text`, :func:`atomic_torch_save`: write to a
  temporary name unique to this process and thread, then rename: a kill at any moment leaves
  either the old file or the new one, never half of one, and two runs never share a temp name.
* :func:`digest` (a stable hash of JSON-able data), :func:`file_digest` (of a file's bytes) and
  :func:`code_fingerprint` (of the source of a module and every ``madlib`` module it imports):
  the pieces a cache key is made of, so a change of configuration, data or code never serves
  a stale result.
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import threading
import warnings
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Callable

PACKAGE = "madlib"


def cache_root() -> Path:
    """``MADLIB_CACHE`` if set, else ``.madlib_cache`` in a source checkout, else ``~/.cache/madlib``."""
    env = os.environ.get("MADLIB_CACHE")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
        return repo / ".madlib_cache"
    return Path.home() / ".cache" / "madlib"


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (a process-unique temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` into memory, then :func:`atomic_write_bytes`."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def read_cached(path: str | os.PathLike, loader: Callable[[Path], Any]) -> Any | None:
    """``loader(path)``, or None (a cache miss, with a one-line warning naming the file) when the
    file is missing or cannot be read: a damaged cached file is recomputed, never trusted."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return loader(path)
    except Exception as error:  # noqa: BLE001 - any unreadable cache file is a miss
        warnings.warn(f"ignoring unreadable cached file {path} ({type(error).__name__}: {error}); recomputing",
                      stacklevel=2)
        return None


def digest(value: Any, length: int = 16) -> str:
    """A stable hex digest of JSON-able ``value`` (keys sorted; non-JSON values by ``str``)."""
    blob = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def bytes_digest(data: bytes, length: int = 16) -> str:
    """A hex digest of raw bytes (a text's encoding, an array's buffer): the content half of a cache key."""
    return hashlib.sha256(data).hexdigest()[:length]


def tensor_digest(tensor, length: int = 16) -> str:
    """A hex digest of a tensor's (or array's) dtype, shape and values."""
    array = tensor.detach().cpu().contiguous().numpy() if hasattr(tensor, "detach") else tensor
    return bytes_digest(f"{array.dtype}{tuple(array.shape)}".encode() + array.tobytes(), length)


def file_digest(path: str | os.PathLike, length: int = 16) -> str:
    """A hex digest of a file's bytes (streamed)."""
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()[:length]


def _module_file(name: str) -> Path | None:
    """The source file of module ``name``; None for a name that is not a module (a function imported from one)."""
    try:
        spec = find_spec(name)
    except (ImportError, AttributeError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def _imported_modules(name: str, path: Path) -> set[str]:
    """The ``madlib`` modules that module ``name`` imports (absolute or relative), found statically."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")}


@lru_cache(maxsize=None)
def code_fingerprint(module: str) -> str:
    """A digest of the source of ``module`` and of every ``madlib`` module it imports, transitively.

    An experiment's cache key includes it: edit the code that computes a result (a model, the
    loop, a metric) and the cached result is no longer found.
    """
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:  # a name imported from a module (a function), not a module itself
            seen[name] = ""
            continue
        seen[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        todo.extend(_imported_modules(name, path) - seen.keys() - {PACKAGE})
        parent = name.rpartition(".")[0]
        if parent and parent != PACKAGE and parent not in seen:  # importing a.b runs a/__init__.py too
            todo.append(parent)
    return digest({k: v for k, v in seen.items() if v})
