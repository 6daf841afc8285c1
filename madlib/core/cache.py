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


CACHEDIR_TAG = "CACHEDIR.TAG"
#: The Cache Directory Tagging Specification's signature (https://bford.info/cachedir/): backup tools skip a
#: folder whose CACHEDIR.TAG starts with it, and ``madlib cache clean`` deletes only such a folder.
TAG_SIGNATURE = "Signature: 8a477f597d28d172789f06886806bc55"
TAG_TEXT = (f"{TAG_SIGNATURE}\n# This file is a cache directory tag created by madlib (Model Collapse, Hands-On).\n"
            "# Everything here can be recomputed: `python -m madlib cache clean` deletes this folder.\n"
            "# For information about cache directory tags, see https://bford.info/cachedir/\n")


def cache_root(*, create: bool = True) -> Path:
    """``MADLIB_CACHE`` if set, else ``.madlib_cache`` in a source checkout, else ``~/.cache/madlib``.

    With ``create`` (the default) the folder is made ready for use by :func:`prepare_cache_folder`:
    created private (0700) and tagged when missing, refused when it belongs to another user.
    """
    env = os.environ.get("MADLIB_CACHE")
    if env:
        root = Path(env)
    else:
        repo = Path(__file__).resolve().parents[2]
        if (repo / "pyproject.toml").exists() and os.access(repo, os.W_OK):
            root = repo / ".madlib_cache"
        else:
            root = Path.home() / ".cache" / "madlib"
    return prepare_cache_folder(root, "MADLIB_CACHE") if create else root


def has_cache_tag(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a CACHEDIR.TAG that starts with the specification's signature."""
    try:
        with open(Path(folder) / CACHEDIR_TAG, "rb") as handle:
            return handle.read(len(TAG_SIGNATURE)) == TAG_SIGNATURE.encode()
    except OSError:
        return False


def _owned_by_another_user(path: Path) -> int | None:
    """The owner's uid when ``path`` belongs to another user than this process's (POSIX), else None."""
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: no uid to compare
        return None
    uid = path.stat().st_uid
    return uid if uid != os.geteuid() else None


def prepare_cache_folder(folder: str | os.PathLike, setting: str = "MADLIB_CACHE") -> Path:
    """Make ``folder`` ready to hold cached files, the way pip treats its cache.

    * a missing folder is created readable by this user only (0700) and tagged (CACHEDIR.TAG);
    * an existing one that belongs to another user is refused: whoever can write it can plant
      files that this library reads back (a ``ValueError`` naming ``setting``);
    * an existing empty folder is tagged; an existing non-empty folder without a tag is used but
      never tagged, so ``madlib cache clean`` can never delete a folder the library did not make.
    """
    folder = Path(folder)
    try:
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(folder, 0o700)  # the umask may have cut it down further; never widen it beyond 0700
        elif not folder.is_dir():
            raise ValueError(f"the cache folder {folder} is not a folder: set {setting} to a folder of your own")
        owner = _owned_by_another_user(folder)
        if owner is not None:
            raise ValueError(f"the cache folder {folder} belongs to another user (uid {owner}); files in a cache are "
                             f"read back like code, so madlib uses only a folder of your own: set {setting}")
        if not has_cache_tag(folder) and not any(folder.iterdir()):
            atomic_write_text(folder / CACHEDIR_TAG, TAG_TEXT)
    except (FileExistsError, NotADirectoryError) as error:
        raise ValueError(f"the cache folder {folder} is not a folder ({error.strerror}): set {setting} to a folder "
                         "of your own") from None
    except PermissionError:
        raise ValueError(f"the cache folder {folder} is not writable: set {setting} to a writable folder") from None
    return folder


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


# ----------------------------------------------------------------------------- madlib cache info | clean
def _folder_size(folder: Path) -> tuple[int, int]:
    """Bytes and files below ``folder`` (symbolic links counted, never followed)."""
    size = files = 0
    for base, dirs, names in os.walk(folder, followlinks=False):
        for name in names:
            try:
                size += os.lstat(os.path.join(base, name)).st_size
                files += 1
            except OSError:  # pragma: no cover - removed meanwhile
                pass
    return size, files


def cache_info(folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """What the cache holds: its path (resolved), whether it exists, carries the tag and is yours,
    its size and files in all, and per entry (experiments, sweeps, pre-trained models, corpora)."""
    root = Path(folder) if folder is not None else cache_root(create=False)
    resolved = Path(os.path.realpath(root))
    info: dict[str, Any] = {"path": str(resolved), "exists": resolved.is_dir(), "tagged": has_cache_tag(resolved),
                            "size_bytes": 0, "files": 0, "entries": {}}
    if not info["exists"]:
        return info
    info["owner_is_you"] = _owned_by_another_user(resolved) is None
    for entry in sorted(resolved.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            size, files = _folder_size(entry)
            info["entries"][entry.name] = {"size_bytes": size, "files": files,
                                           "results": sum(1 for p in entry.iterdir() if p.is_dir())}
        else:
            size, files = entry.lstat().st_size, 1
        info["size_bytes"] += size
        info["files"] += files
    return info


def _refuse_to_delete(path: Path) -> str | None:
    """Why ``path`` (resolved) must not be deleted, or None when it is a tagged madlib cache of this user."""
    if not path.is_dir():
        return "it is not a folder"
    if not has_cache_tag(path):
        return (f"it carries no {CACHEDIR_TAG}, so madlib did not create it as a cache "
                "(a cache made by an older madlib has none: delete it by hand if you are sure)")
    protected = {Path("/"), Path.home(), Path.cwd(), Path(__file__).resolve().parents[2]}
    for other in protected:
        other = Path(os.path.realpath(other))
        if path == other or path in other.parents:
            return f"it is {other} or a folder above it"
    if _owned_by_another_user(path) is not None:
        return "it belongs to another user"
    return None


def clean_cache(folder: str | os.PathLike | None = None) -> tuple[Path, int | None]:
    """Delete the cache folder (``MADLIB_CACHE`` if set, else the default); return it (resolved) and the
    bytes it held (None: there was none).

    Only a folder that, with every link resolved (``realpath``), carries the CACHEDIR.TAG that madlib
    writes into every cache folder it creates, belongs to this user and is not ``/``, the home folder,
    the working folder or the source checkout (or a folder above one) is deleted; anything else is a
    ``ValueError`` and nothing is touched. The deletion is ``rm -rf -- FOLDER`` where ``rm`` is on the
    PATH (the tests put a fake one there), else :func:`shutil.rmtree`.
    """
    import shutil
    import subprocess

    root = Path(folder) if folder is not None else cache_root(create=False)
    resolved = Path(os.path.realpath(root))
    if not os.path.lexists(root):
        return resolved, None
    reason = _refuse_to_delete(resolved)
    if reason is not None:
        raise ValueError(f"refusing to delete the cache folder {str(root)!r} (resolved: {resolved}): {reason}")
    size, _ = _folder_size(resolved)
    rm = shutil.which("rm")
    if rm is not None:
        done = subprocess.run([rm, "-rf", "--", str(resolved)], check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise ValueError(f"could not delete {resolved}: {done.stderr.strip() or f'rm exited {done.returncode}'}")
    else:  # pragma: no cover - Windows
        shutil.rmtree(resolved)
    return resolved, size


def format_bytes(size: float) -> str:
    """``204.3 MB``."""
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover
