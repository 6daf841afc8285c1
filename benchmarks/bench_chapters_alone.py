"""Time chapters as a learner runs them: one at a time, in order, on this machine's idle cores.

    python benchmarks/bench_chapters_alone.py [--scale default] [CHAPTER ...]

``make book`` executes two chapters side by side on a 2-core machine, so there a chapter has about one
core; a learner runs one notebook, with every core. This script executes each chapter named (default:
chapters 4, 5 and 6, the ones with a time target in issue 25) alone, in the order given, with one fresh
experiment cache shared by all of them (chapter 6 reads chapters 4 and 5's runs from it, as in the book),
the way the book build executes it (``tools.execute_notebook``), and prints its wall time, its CPU time
(every process it started), its longest cell and whether it meets its target. One JSON line at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"chapters/04_vae.ipynb": 240, "chapters/05_lm.ipynb": 300, "chapters/06_remedies.ipynb": 240}
CELL_TARGET = 300


def run_alone(chapter: str, cache: Path, scale: str, scratch: Path) -> dict:
    env = dict(os.environ, MADLIB_CACHE=str(cache), MADLIB_SCALE=scale)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    process = subprocess.run([sys.executable, "-m", "tools.execute_notebook", chapter,
                              str(scratch / Path(chapter).name), "--timeout", "-1"],
                             cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cells = {}
    finished = {}
    for line in process.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == "done":
            cells[event["cell"]] = round(event["seconds"], 1)
        elif event.get("event") == "finished":
            finished = event
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"chapter": chapter, "ok": process.returncode == 0 and bool(finished.get("ok")),
            "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "longest_cell_s": max(cells.values(), default=0.0), "cells_s": cells,
            "error": finished.get("error") or (process.stderr[-400:] if process.returncode else None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", default=list(TARGETS))
    parser.add_argument("--scale", default="default", choices=("smoke", "default", "full"))
    args = parser.parse_args(argv)
    for chapter in args.chapters:
        if not (REPO / chapter).is_file():
            raise SystemExit(f"bench_chapters_alone: no chapter {chapter!r} (give paths such as chapters/04_vae.ipynb)")
    print(f"bench_chapters_alone: scale={args.scale}, {os.cpu_count()} cores, load at start "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}, one fresh experiment cache for all", flush=True)
    results, failed = [], False
    with tempfile.TemporaryDirectory(prefix="bench-alone-") as folder:
        cache, scratch = Path(folder) / "cache", Path(folder) / "executed"
        scratch.mkdir()
        for chapter in args.chapters:
            result = run_alone(chapter, cache, args.scale, scratch)
            target = TARGETS.get(chapter) if args.scale == "default" else None
            result["target_s"] = target
            verdict = []
            if not result["ok"]:
                verdict.append("FAILED")
            if target is not None:
                verdict.append("ok" if result["seconds"] <= target else f"OVER {target} s")
            if args.scale == "default" and result["longest_cell_s"] > CELL_TARGET:
                verdict.append(f"a cell over {CELL_TARGET} s")
            failed |= any(v != "ok" for v in verdict)
            print(f"  {chapter:<30} {result['seconds']:8.1f} s   CPU {result['cpu_seconds']:7.1f} s   "
                  f"longest cell {result['longest_cell_s']:6.1f} s   {' '.join(verdict) or '(no target)'}", flush=True)
            results.append(result)
    print(json.dumps({"scale": args.scale, "cores": os.cpu_count(), "results": results}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
