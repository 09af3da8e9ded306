#!/usr/bin/env python3
"""Print the medians of the last `cargo bench --bench forge` run, from criterion's JSON files.

    python3 benches/medians.py [TARGET_DIR]     # default: $CARGO_TARGET_DIR or ./target

Criterion's console lines show the mean with its confidence interval; BENCHMARKS.md quotes
medians (per iteration, and per element for groups with a throughput: per sequence parsed, per
zone sampled), read here from `<target>/criterion/**/new/{estimates,benchmark}.json`.
"""

import json
import os
import sys
from pathlib import Path


def fmt(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> None:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target"))
    root = target / "criterion"
    rows = []
    for bench in sorted(root.glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        median = est["median"]["point_estimate"]
        lo = est["median"]["confidence_interval"]["lower_bound"]
        hi = est["median"]["confidence_interval"]["upper_bound"]
        per = ""
        elements = (meta.get("throughput") or {}).get("Elements")
        if elements:
            per = f"{fmt(median / elements)} per element ({elements} elements)"
        rows.append((meta["full_id"], median, lo, hi, per))
    if not rows:
        sys.exit(f"no criterion results under {root}")
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'median':>10}  {'95% CI of the median':>22}  per element")
    for name, median, lo, hi, per in rows:
        print(f"{name:<{width}}  {fmt(median):>10}  {fmt(lo):>10} – {fmt(hi):<9}  {per}")


if __name__ == "__main__":
    main()
