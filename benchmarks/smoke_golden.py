"""Record or check every experiment's JSON summary at MADLIB_SCALE=smoke.

    python benchmarks/smoke_golden.py record   # writes benchmarks/smoke_golden.json
    python benchmarks/smoke_golden.py check    # recomputes (fresh cache) and compares

Used to prove that a refactor changes no result: the summaries must be identical
(floats compared to 1e-12 relative), apart from run metadata (elapsed time, device).
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "smoke_golden.json"
IGNORED = {"elapsed_s", "device", "resumed_from", "experiment"}

# (experiment, overrides): every experiment at its defaults plus the variants the chapters lean on.
CASES = [
    ("gaussian", {}),
    ("gaussian", {"method": "sample", "generations": 30, "replicates": 50}),
    ("gaussian", {"method": "sample", "generations": 20, "replicates": 20, "dim": 3}),
    ("gaussian", {"workflow": "accumulate"}),
    ("gaussian-sweep", {}),
    ("cats", {}),
    ("cat-hues", {}),
    ("cat-hues", {"family": "mixture"}),
    ("zipf-survival", {}),
    ("cat-remedies", {}),
    ("gmm", {}),
    ("gmm", {"dataset": "grid25", "sampling_bias": 0.8}),
    ("mad-phase", {}),
    ("mad-phase", {"family": "gmm"}),
    ("vae", {}),
    ("vae", {"curate": "verifier"}),
    ("lm", {}),
    ("lm", {"model": "transformer"}),
    ("lm", {"curate": "verifier"}),
    ("remedy-sweeps", {}),
    ("scoreboard", {"families": "gaussian,cats,mixture"}),
]


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in IGNORED}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _same(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: missing in new" for k in a.keys() - b.keys()]
        out += [f"{path}.{k}: new key" for k in b.keys() - a.keys()]
        for k in a.keys() & b.keys():
            out += _same(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, (int, float)):
        if math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) or (math.isnan(a) and math.isnan(b)):
            return []
        return [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def run_all(cases=CASES) -> dict:
    from madlib import run_experiment

    out = {}
    for name, overrides in cases:
        key = name + json.dumps(overrides, sort_keys=True)
        print("running", key, file=sys.stderr, flush=True)
        result = run_experiment(name, use_cache=False, **overrides)
        out[key] = _clean(json.loads(json.dumps(result.summary)))
    return out


def main(argv: list[str]) -> int:
    os.environ["MADLIB_SCALE"] = "smoke"
    mode = argv[1] if len(argv) > 1 else "check"
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MADLIB_CACHE"] = cache
        results = run_all()
    if mode == "record":
        GOLDEN.write_text(json.dumps(results, indent=1, sort_keys=True))
        print(f"recorded {len(results)} summaries in {GOLDEN}")
        return 0
    golden = json.loads(GOLDEN.read_text())
    problems = []
    for key, summary in golden.items():
        if key not in results:
            problems.append(f"{key}: not run")
            continue
        problems += [f"{key}{d}" for d in _same(summary, results[key])]
    print("\n".join(problems) if problems else f"all {len(golden)} summaries identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
