"""Benchmark (printed, not a test): sweep configurations per second in-process, and the wall time of
``python -m calculators sweep --model deepseek-r1`` vs ``python -m calculators predict ...`` as whole processes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calculators.catalog import default_catalog  # noqa: E402
from calculators.sweep import sweep  # noqa: E402

PREDICT = ["predict", "--model", "deepseek-r1", "--accelerator", "h200-sxm", "--chips", "8", "--precision", "fp8",
           "--concurrency", "64", "--context-tokens", "8192", "--json"]


def wall_s(args: list[str], repeats: int = 3) -> float:
    """Best-of wall time of one whole ``python -m calculators`` process."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "calculators", *args], cwd=ROOT, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    catalog = default_catalog()
    sweep(catalog, model="deepseek-r1", accelerators=["h200-sxm"])  # warm caches
    start = time.perf_counter()
    frame = sweep(catalog, model="deepseek-r1")
    elapsed = time.perf_counter() - start
    print(f"sweep in-process: {len(frame):,} configurations in {elapsed:.2f} s = {len(frame) / elapsed:,.0f} configs/s")
    with tempfile.TemporaryDirectory() as tmp:
        sweep_s = wall_s(["sweep", "--model", "deepseek-r1", "--csv", str(Path(tmp) / "sweep.csv")])
    predict_s = wall_s(PREDICT)
    print(f"whole process: sweep {sweep_s:.2f} s, predict {predict_s:.2f} s, ratio {sweep_s / predict_s:.1f}x")


if __name__ == "__main__":
    main()
