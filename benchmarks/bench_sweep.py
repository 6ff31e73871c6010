"""Benchmark (printed, not a test): sweep configurations per second in-process, and the wall time of
``python -m calculators sweep --model deepseek-r1 --csv PATH`` vs ``python -m calculators predict ...`` as whole
processes (the issue asks the full sweep to cost little more than one predict).

Run: ``python benchmarks/bench_sweep.py [--repeats N]``. Wall times are the best of N runs (the machine's other load
only ever adds time)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calculators.catalog import default_catalog  # noqa: E402
from calculators.sweep import SweepSpec, sweep, sweep_columns, write_csv  # noqa: E402

PREDICT = ["predict", "--model", "deepseek-r1", "--accelerator", "h200-sxm", "--chips", "8", "--precision", "fp8",
           "--concurrency", "64", "--context-tokens", "8192", "--json"]


def wall_s(args: list[str], repeats: int) -> float:
    """Best-of wall time of one whole ``python -m calculators`` process."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "calculators", *args], cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def best_s(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    catalog = default_catalog()
    sweep_columns(catalog, SweepSpec(model="deepseek-r1"))  # warm the busiest-rank cache (a fresh process pays it once)
    columns_s, columns = best_s(lambda: sweep_columns(catalog, SweepSpec(model="deepseek-r1")), repeats)
    rows = len(columns["chips"])
    frame_s, _ = best_s(lambda: sweep(catalog, SweepSpec(model="deepseek-r1")), repeats)
    with tempfile.TemporaryDirectory() as tmp:
        csv_s, _ = best_s(lambda: write_csv(columns, str(Path(tmp) / "sweep.csv")), repeats)
        sweep_wall = wall_s(["sweep", "--model", "deepseek-r1", "--csv", str(Path(tmp) / "sweep.csv")], repeats)
    predict_wall = wall_s(PREDICT, repeats)
    print(f"sweep in-process: {rows:,} configurations in {columns_s:.3f} s = {rows / columns_s:,.0f} configs/s "
          f"(as a DataFrame {frame_s:.3f} s = {rows / frame_s:,.0f} configs/s; CSV write {csv_s:.3f} s)")
    print(f"whole process (best of {repeats}): sweep --csv {sweep_wall:.2f} s, predict {predict_wall:.2f} s, "
          f"ratio sweep/predict {sweep_wall / predict_wall:.2f}x")


if __name__ == "__main__":
    main()
