"""Solve each engine's calibrated numbers from its calibrate points and print them; with ``--write`` replace each
solved ``value:`` in hardware_catalog/assumptions.yaml (the field's line must exist there, with its source and note:
the derivation is stated once, in the catalog; this script refreshes the number).

Which numbers, from which points, in what order and how: the solver, :mod:`calculators.calibration` (leave-one-
source-out validation re-runs the same solver without each source).

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
