"""Solve each engine's calibrated numbers from its calibrate points: the derivation behind assumptions.yaml (the
solver lives in calculators/calibration.py, which leave-one-source-out validation re-runs; this script prints it and
writes the values).

Two numbers of an engine come from measurements of that engine rather than from kernel tables:
- ``fixed_latency_us_per_layer`` (tau): launch gaps, synchronisation and everything else the engine adds per layer,
  set by a point near batch 1 where it dominates;
- ``compute_efficiency_prefill``: the engine's end-to-end prefill efficiency where it differs from its class's, set
  by a point whose rate is bound by prefill (long prompts at concurrency on an engine with slow prefill kernels);
- ``host_overhead_us_per_sequence``: host and scheduler time per running sequence per step that the accelerator does
  not hide (scheduling, sampling, the elementwise work no kernel table holds), set by a point at high concurrency
  where it dominates;
- ``moe_group_overhead_us``: a whole-step (compiled) engine's cost per expert group of each MoE layer, set by a MoE
  point at a batch that touches most experts.
A calibrate point names the number it sets (``calibrates``; default tau). For each engine, this script solves tau
first, then the prefill efficiency, then the per-sequence overhead, then the per-group cost, each with the earlier
ones in place, each by bisection so the model reproduces its point exactly (several points: their geometric mean),
and repeats the round until the numbers settle (each moves the points the others were solved on). It prints the
table; with ``--write`` it also replaces each solved ``value:`` in hardware_catalog/assumptions.yaml (the field's
line must exist there, with its source and note: the derivation is stated once, in the catalog; the script
refreshes the number).

    python tools/calibrate_engines.py                  # every engine with a calibrate point
    python tools/calibrate_engines.py neuron-2025
    python tools/calibrate_engines.py --write          # and write the solved values

A point the model cannot reach (the modelled kernels and collectives alone are slower than the measurement) is
reported as such: that is a finding about the mechanism, not a value to force.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calculators.calibration import ORDER, SIGNIFICANT, calibrate, calibration_points  # noqa: E402
from calculators.catalog import default_catalog  # noqa: E402
from calculators.validation import point_engine  # noqa: E402

ASSUMPTIONS = Path(__file__).resolve().parent.parent / "hardware_catalog" / "assumptions.yaml"


def write_values(solved: dict[tuple[str, str], float], path: Path = ASSUMPTIONS) -> None:
    """Replace the ``value:`` of each solved engine field in the catalog file, rounded to SIGNIFICANT digits."""
    text = path.read_text()
    for (engine_id, field), value in solved.items():
        start = text.index(f"  - id: {engine_id}\n")
        end = text.find("\n  - id:", start + 1)
        end = len(text) if end < 0 else end
        block = text[start:end]
        new, count = re.subn(rf"(    {field}: \{{value: )[-0-9.e]+", rf"\g<1>{float(f'{value:.{SIGNIFICANT}g}'):g}",
                             block)
        if count != 1:
            raise SystemExit(f"{path.name}: engine {engine_id!r} has no '{field}:' line to update; add it with its "
                             "source and note first")
        text = text[:start] + new + text[end:]
    path.write_text(text)


def main(argv: list[str]) -> int:
    write = "--write" in argv
    argv = [a for a in argv if a != "--write"]
    catalog = default_catalog()
    points = calibration_points(catalog, engines=argv or None)
    result = calibrate(catalog, points)
    print(f"{'engine':<20} {'calibrates':<30} {'point':<44} {'value':>10}")
    for s in result.points:
        print(f"{s.engine:<20} {s.field:<30} {s.point:<44} "
              f"{('unreachable' if s.value is None else f'{s.value:.4g}'):>10}")
    print()
    for engine_id in sorted({point_engine(catalog, p) for p in points}):
        e = result.catalog.engines[engine_id]
        parts = [f"{f} {getattr(e, f).value:.4g}" for f in ORDER if getattr(e, f) is not None]
        print(f"{engine_id:<20} {', '.join(parts)}")
    if write:
        write_values(result.values)
        print(f"wrote {len(result.values)} value(s) to {ASSUMPTIONS.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
