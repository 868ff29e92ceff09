"""Benchmarks (`make bench`): ratios against a baseline measured in the same run."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def merge_results(figures: dict[str, float]) -> None:
    """Write `figures` into bench/results.json, keeping the other figures there."""
    path = ROOT / "bench" / "results.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results.update({name: round(value, 3) for name, value in figures.items()})
    for name, value in figures.items():
        print(f"{name:32} {value:10.3f}")
    path.write_text(json.dumps(results, indent=2) + "\n")
    print("written to bench/results.json")
