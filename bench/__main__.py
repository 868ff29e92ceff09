"""`make bench`: cold-start import time of each function against a bare `import boto3`, measured
in fresh interpreters in the same run. Prints a table and writes bench/results.json.

Later work adds the other figures DESIGN.md tracks (validation reads and warm cost, job reads per
due license, email throughput) to the same table.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from licensing import catalogue

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5


def import_seconds(code: str) -> float:
    """Median wall time of running `code` in a fresh interpreter, minus an empty interpreter."""

    def run(snippet: str) -> float:
        timer = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
        result = subprocess.run(
            [sys.executable, "-c", timer], capture_output=True, text=True, check=True, cwd=ROOT
        )
        return float(result.stdout.strip().splitlines()[-1])

    return statistics.median(run(code) for _ in range(RUNS))


def function_import(name: str) -> str:
    path = ROOT / "functions" / name / "handler.py"
    return (
        "import importlib.util; "
        f"spec = importlib.util.spec_from_file_location('handler_{name}', {str(path)!r}); "
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"
    )


def main() -> None:
    baseline = import_seconds("import boto3")
    results: dict[str, float] = {}
    rows = [("baseline: import boto3", baseline * 1000, 1.0)]
    for function in catalogue.FUNCTIONS:
        seconds = import_seconds(function_import(function.name))
        ratio = seconds / baseline
        results[f"cold_ratio_{function.name}"] = round(ratio, 3)
        rows.append((f"cold import {function.name}", seconds * 1000, ratio))
    print(f"{'figure':40} {'ms':>9} {'ratio':>7}")
    for label, milliseconds, ratio in rows:
        print(f"{label:40} {milliseconds:9.1f} {ratio:7.2f}")
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("written to bench/results.json")


if __name__ == "__main__":
    main()
