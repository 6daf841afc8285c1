"""Move finished results between machines: ``madlib results export ARCHIVE [--scale full]`` and
``madlib results import ARCHIVE``.

A ``full`` build is expensive (a GPU for chapters 4 and 5); its results are cached results like any
other, and a result is plain data (``config.json``, ``summary.json``, ``table.parquet``,
``extras.safetensors`` and the ``manifest.json`` with their checksums: no pickle). An archive is a
``.tar.gz`` of exactly those files of every finished result, its calibration files
(:mod:`madlib.experiments.plan`) and an index ``madlib-results.json``; checkpoints and sweep points stay
behind. Importing writes each result into this machine's cache folder, checked against its manifest
(a damaged or edited file is refused), never over a finished result already there, and never follows
a name outside the cache. A book built with the same madlib (the same code: the cache keys include
its fingerprint) at the same scale then reads these results instead of computing them, and each
chapter's scale note (:func:`madlib.plots.glue.scale_note`) says where they came from.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

from ..core.cache import atomic_write_bytes, atomic_write_text, cache_root
from . import CONFIG, EXTRAS, MANIFEST, SUMMARY, TABLE, list_experiments, load_result

INDEX = "madlib-results.json"
ARCHIVE_FORMAT = "madlib-results/1"
#: Written into the cache folder by an import: where its results came from (the chapters' scale note reads it).
PROVENANCE = "imported-results.json"
RESULT_FILES = (CONFIG, SUMMARY, TABLE, EXTRAS, MANIFEST)
MAX_MEMBER_BYTES = 2**31  # 2 GiB: more than any result file holds
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_KEY = re.compile(r"[0-9a-f]{16}")
_CALIBRATION = re.compile(r"[a-z0-9-]{1,100}\.json")

__all__ = ["export_results", "import_results", "provenance", "INDEX", "PROVENANCE"]


def _finished_results(scale: str | None) -> list[tuple[str, str, Path, str | None]]:
    root, found = cache_root(), []
    for name in list_experiments():
        folder = root / name
        for result in sorted(folder.iterdir()) if folder.is_dir() else []:
            if not (_KEY.fullmatch(result.name) and (result / MANIFEST).is_file()):
                continue
            try:
                loaded = load_result(result)  # checksums checked: a damaged result is not shipped
            except Exception as error:  # noqa: BLE001
                warnings.warn(f"not exporting the unreadable result {result} ({type(error).__name__}: {error})",
                              stacklevel=3)
                continue
            result_scale = loaded.summary.get("scale")
            if scale is None or result_scale == scale:
                found.append((name, result.name, result, result_scale))
    return found


def export_results(archive: str | Path, *, scale: str | None = None) -> int:
    """Write every finished result of the cache (only those computed at ``scale``, when given) and the
    calibrations into the ``.tar.gz`` ``archive``; returns how many results it holds."""
    from .plan import device_key

    archive = Path(archive)
    results = _finished_results(scale)
    index = {"format": ARCHIVE_FORMAT, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "device": device_key(), "scale": scale,
             "results": [{"experiment": name, "key": key, "scale": result_scale}
                         for name, key, _, result_scale in results]}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        def add(arcname: str, data: bytes) -> None:
            info = tarfile.TarInfo(arcname)
            info.size, info.mode, info.mtime = len(data), 0o600, 0
            tar.addfile(info, io.BytesIO(data))

        add(INDEX, json.dumps(index, indent=1).encode())
        for name, key, folder, _ in results:
            for file in RESULT_FILES:
                if (folder / file).is_file():
                    add(f"results/{name}/{key}/{file}", (folder / file).read_bytes())
        calibration = cache_root() / "calibration"
        for path in sorted(calibration.glob("*.json")) if calibration.is_dir() else []:
            if _CALIBRATION.fullmatch(path.name):
                add(f"calibration/{path.name}", path.read_bytes())
    atomic_write_bytes(archive, buffer.getvalue())
    return len(results)


def _members(tar: tarfile.TarFile) -> dict[str, bytes]:
    """The archive's files by name, each checked: a regular file, a name of the archive's layout, bounded."""
    files = {}
    for member in tar.getmembers():
        parts = member.name.split("/")
        layout = (member.name == INDEX
                  or (len(parts) == 4 and parts[0] == "results" and _NAME.fullmatch(parts[1])
                      and _KEY.fullmatch(parts[2]) and parts[3] in RESULT_FILES)
                  or (len(parts) == 2 and parts[0] == "calibration" and _CALIBRATION.fullmatch(parts[1])))
        if not member.isfile() or not layout or member.size > MAX_MEMBER_BYTES:
            raise ValueError(f"the archive holds {member.name!r}, which is not part of a madlib results archive "
                             "(only results/<experiment>/<key>/<result file>, calibration/<device>.json and "
                             f"{INDEX}, as regular files)")
        handle = tar.extractfile(member)
        files[member.name] = handle.read() if handle is not None else b""
    return files


def import_results(archive: str | Path) -> int:
    """Read ``archive`` (written by :func:`export_results`) into this machine's cache folder; returns how many
    results were added (a finished result already there is kept). Every result is checked against its manifest
    before it is moved in; an archive with anything else in it is refused whole, in one line."""
    archive = Path(archive)
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            files = _members(tar)
    except (tarfile.TarError, EOFError) as error:
        raise ValueError(f"{archive} is not a madlib results archive (.tar.gz): {error}") from None
    try:
        index = json.loads(files[INDEX])
    except (KeyError, ValueError):
        raise ValueError(f"{archive} has no readable {INDEX}: not a madlib results archive") from None
    if not isinstance(index, dict) or index.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{archive} is not a {ARCHIVE_FORMAT} archive")
    known = set(list_experiments())
    root, added = cache_root(), 0
    groups: dict[tuple[str, str], dict[str, bytes]] = {}
    for member, data in files.items():
        parts = member.split("/")
        if parts[0] == "results":
            groups.setdefault((parts[1], parts[2]), {})[parts[3]] = data
    for (name, key), result in sorted(groups.items()):
        target = root / name / key
        if name not in known or (target / MANIFEST).is_file():
            continue
        staging = root / name / f"{key}.import-{uuid.uuid4().hex[:8]}"
        for file, data in result.items():
            atomic_write_bytes(staging / file, data)
        try:
            load_result(staging)  # the manifest's checksums, the files' shapes
        except Exception as error:  # noqa: BLE001
            shutil.rmtree(staging, ignore_errors=True)
            raise ValueError(f"{archive}: the result {name}/{key} is damaged ({type(error).__name__}: {error}); "
                             "nothing more was imported") from None
        if target.exists():
            shutil.rmtree(target)  # an unfinished folder (checkpoints of an interrupted run): the result replaces it
        staging.rename(target)
        added += 1
    for member, data in files.items():
        if member.startswith("calibration/"):
            try:
                calibration = json.loads(data)
            except ValueError:
                continue
            if isinstance(calibration, dict) and calibration.get("format", "").startswith("madlib-calibration/"):
                atomic_write_bytes(root / member, data)
    if added:  # what this cache folder now holds from elsewhere (a repeated import adds nothing, says nothing)
        atomic_write_text(root / PROVENANCE, json.dumps({
            "archive": archive.name, "device": index.get("device"), "created": index.get("created"),
            "scale": index.get("scale"), "imported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "results": added}, indent=1))
    return added


def provenance() -> dict | None:
    """What the last import into this cache folder brought (None when nothing was imported)."""
    try:
        data = json.loads((cache_root(create=False) / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
