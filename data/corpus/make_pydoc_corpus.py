"""Rebuild the frozen corpus snapshot from CPython's ``pydoc_data.topics`` (deterministic).

Run: ``python data/corpus/make_pydoc_corpus.py``; writes ``madlib/data/corpus/pydoc/{train,valid,test}.txt``. Prose paragraphs only (code samples,
grammar rules and heading underlines are dropped, since they are not English
prose); each paragraph is joined onto one line; repeated paragraphs are kept once. Paragraph i goes to the test
split when i % 20 == 0, to validation when i % 20 == 1, else to train.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pydoc_data.topics as topics


def _indented_prose(lines: list[str]) -> bool:
    """An indented block that reads as English (definition lists, notes), not code or grammar."""
    text = " ".join(line.strip() for line in lines)
    if any(marker in text for marker in ("::=", ">>>", "...", "    ")) or any(line.strip().startswith(("def ", "class ", "#", "print(", "import ")) for line in lines):
        return False
    letters = sum(c.isalpha() or c == " " for c in text)
    return len(text) >= 80 and letters / len(text) > 0.9 and text.rstrip().endswith((".", ":"))


def paragraphs() -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for key in sorted(topics.topics):
        for block in re.split(r"\n\s*\n", topics.topics[key]):
            lines = block.split("\n")
            if any(line.startswith(" ") for line in lines) and not _indented_prose(lines):
                continue  # code and grammar rules
            if any(re.fullmatch(r"[*=\-~^\"]{3,}", line.strip()) for line in lines):  # headings
                continue
            text = " ".join(line.strip() for line in lines).strip()
            if len(text) < 40 or not re.search(r"[a-z]", text):
                continue
            if text not in seen:  # topics repeat some paragraphs: keep the first, so splits never share text
                seen.add(text)
                out.append(text)
    return out


def main() -> None:
    out = Path(__file__).resolve().parent.parent.parent / "madlib" / "data" / "corpus" / "pydoc"
    out.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for i, para in enumerate(paragraphs()):
        splits["test" if i % 20 == 0 else "valid" if i % 20 == 1 else "train"].append(para)
    for name, paras in splits.items():
        target = out / f"{name}.txt"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")  # atomic: never half a file
        tmp.write_bytes(("\n".join(paras) + "\n").encode("utf-8"))
        os.replace(tmp, target)
        print(name, len(paras), "paragraphs", sum(len(p) + 1 for p in paras), "characters")
    print("python", sys.version.split()[0])


if __name__ == "__main__":
    main()
