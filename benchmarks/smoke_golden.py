"""Record or check every experiment's JSON summary at MADLIB_SCALE=smoke.

    python benchmarks/smoke_golden.py record   # writes benchmarks/smoke_golden.json
    python benchmarks/smoke_golden.py check    # recomputes (fresh cache) and compares
    python benchmarks/smoke_golden.py legacy   # compares with a file recorded before a renaming (see _legacy)

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
IGNORED = {"elapsed_s", "device", "resumed_from", "experiment", "scale", "base_seconds"}  # base_seconds: load or train time

# (experiment, overrides): every experiment at its defaults plus the variants the chapters lean on.
CASES = [
    ("gaussian", {}),
    ("gaussian", {"method": "sample", "generations": 29, "replicates": 50}),
    ("gaussian", {"method": "sample", "generations": 19, "replicates": 20, "dim": 3}),
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
    ("vae", {"curate": "learned-verifier"}),
    ("lm", {}),
    ("lm", {"model": "transformer"}),
    ("lm", {"curate": "learned-verifier"}),
    ("remedy-sweeps", {}),
    ("scoreboard", {"families": "gaussian,cats,mixture"}),
    ("regression", {}),
    ("regression", {"workflow": "accumulate"}),
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


# Keys of the golden file recorded before the architecture change (issue 11), per case of CASES:
# the gaussian chain then counted the truth as generation 0 (one more generation for the same fits).
LEGACY_KEYS = {
    'gaussian{"generations": 29, "method": "sample", "replicates": 50}':
        'gaussian{"generations": 30, "method": "sample", "replicates": 50}',
    'gaussian{"dim": 3, "generations": 19, "method": "sample", "replicates": 20}':
        'gaussian{"dim": 3, "generations": 20, "method": "sample", "replicates": 20}',
}
LEGACY_LABELS = {"none (replace)": "none", "keep 10% real": "keep-real", "fresh data": "fresh",
                 "verifier filter": "verifier", "self-likelihood filter": "self-likelihood",
                 "tail reweighting": "tail-reweighting", "web scrape, no detector": "web-scrape",
                 "web scrape + detector": "web-scrape-detector"}


def _legacy(key: str, summary):
    """A summary of the old golden file in today's names (renames only, no values touched)."""
    summary = json.loads(json.dumps(summary))
    if key.startswith("gaussian{") or key == "gaussian{}":
        summary.pop("final_generation", None)
    if key.startswith("lm") and "curate_keep" in summary:
        summary["keep_fraction"] = summary.pop("curate_keep")
    if key.startswith("scoreboard"):
        for family, remedies in summary["families"].items():
            summary["families"][family] = {LEGACY_LABELS.get(k, k): v for k, v in remedies.items()}
    return summary


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
    legacy = mode == "legacy"
    problems = []
    for key, summary in results.items():
        old_key = LEGACY_KEYS.get(key, key) if legacy else key
        if old_key not in golden:
            problems.append(f"{key}: not in the golden file")
            continue
        expected = _legacy(key, golden[old_key]) if legacy else golden[old_key]
        if legacy and key.startswith("gaussian"):
            summary = {k: v for k, v in summary.items() if k != "final_generation"}
        problems += [f"{key}{d}" for d in _same(expected, summary)]
    print("\n".join(problems) if problems else f"all {len(golden)} summaries identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
