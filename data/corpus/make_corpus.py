"""Rebuild the frozen corpus snapshot from CPython's ``pydoc_data.topics`` (deterministic).

Run: ``python data/corpus/make_corpus.py``. Prose paragraphs only (code samples,
grammar rules and heading underlines are dropped, since they are not English
prose); each paragraph is joined onto one line. Paragraph i goes to the test
split when i % 20 == 0, to validation when i % 20 == 1, else to train.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pydoc_data.topics as topics


def paragraphs() -> list[str]:
    out = []
    for key in sorted(topics.topics):
        for block in re.split(r"\n\s*\n", topics.topics[key]):
            lines = block.split("\n")
            if any(line.startswith(" ") for line in lines):  # code, grammar, indented lists
                continue
            if any(re.fullmatch(r"[*=\-~^\"]{3,}", line.strip()) for line in lines):  # headings
                continue
            text = " ".join(line.strip() for line in lines).strip()
            if len(text) < 40 or not re.search(r"[a-z]", text):
                continue
            out.append(text)
    return out


def main() -> None:
    here = Path(__file__).resolve().parent
    splits: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    for i, para in enumerate(paragraphs()):
        splits["test" if i % 20 == 0 else "valid" if i % 20 == 1 else "train"].append(para)
    for name, paras in splits.items():
        (here / f"{name}.txt").write_text("\n".join(paras) + "\n", encoding="utf-8")
        print(name, len(paras), "paragraphs", sum(len(p) + 1 for p in paras), "characters")
    print("python", sys.version.split()[0])


if __name__ == "__main__":
    main()
