"""Solve each engine's calibrated numbers from its calibrate points: the derivation behind assumptions.yaml.

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

import math
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calculators.assumptions import default_engine_id  # noqa: E402
from calculators.catalog import default_catalog  # noqa: E402
from calculators.records import Catalog, Fraction, NonNegative, ValidationPoint  # noqa: E402
from calculators.validation import _predicted  # noqa: E402

ASSUMPTIONS = Path(__file__).resolve().parent.parent / "hardware_catalog" / "assumptions.yaml"
SIGNIFICANT = 3
SPEED_METRICS = ("per_user_tokens_per_s", "request_output_tokens_per_s", "output_tokens_per_s_per_chip")
TIME_METRICS = ("time_to_first_token_s",)  # a time: the model is "too fast" when it predicts less
ROUNDS = 4  # each number moves the points the others were solved on: repeat the solve until they settle
ORDER = ("fixed_latency_us_per_layer", "compute_efficiency_prefill", "host_overhead_us_per_sequence",
         "moe_group_overhead_us")
BOUNDS = {  # (low, high, speed rises with the value)
    "fixed_latency_us_per_layer": (0.0, 5000.0, False),
    "compute_efficiency_prefill": (1e-4, 1.0, True),
    "host_overhead_us_per_sequence": (0.0, 2000.0, False),
    "moe_group_overhead_us": (0.0, 100.0, False),
}


def engine_of(catalog: Catalog, point: ValidationPoint) -> str:
    return point.engine or default_engine_id(catalog, catalog.accelerators[point.accelerator])


def with_value(catalog: Catalog, engine_id: str, field: str, value: float) -> Catalog:
    """The catalog with one engine number replaced (everything else as shipped)."""
    engine = catalog.engines[engine_id]
    current = getattr(engine, field)
    kind = Fraction if field == "compute_efficiency_prefill" else NonNegative
    number = (current.model_copy(update={"value": value}) if current is not None
              else kind(value=value, kind="assumption", note="calibration trial"))
    engines = dict(catalog.engines)
    engines[engine_id] = engine.model_copy(update={field: number})
    return catalog.model_copy(update={"engines": engines})


def solve(catalog: Catalog, point: ValidationPoint, field: str) -> float | None:
    """The value of ``field`` at which the model reproduces ``point``; None if no value >= 0 reaches it."""
    engine_id = engine_of(catalog, point)

    def speed(value: float) -> float:
        return _predicted(with_value(catalog, engine_id, field, value), point)[0]

    lo, hi, rising = BOUNDS[field]

    def too_fast(value: float) -> bool:
        if point.metric in TIME_METRICS:
            return speed(value) < point.measured
        return speed(value) > point.measured

    fastest, slowest = (hi, lo) if rising else (lo, hi)
    if not too_fast(fastest):
        return None  # even the most favourable value is slower than the measurement
    if too_fast(slowest):
        return slowest  # even the least favourable value in range is faster: report the bound
    for _ in range(40):
        mid = (lo + hi) / 2
        # too fast with a rising value -> lower it; too slow with a falling one (an overhead) -> lower it too
        if too_fast(mid) == rising:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


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
    wanted = set(argv)
    written: dict[tuple[str, str], float] = {}
    points = [
        p for p in catalog.validation.values()
        # MTP points calibrate the draft acceptances, not an engine number
        if p.use == "calibrate" and p.metric in SPEED_METRICS + TIME_METRICS and not p.mtp_layers
        and (not wanted or engine_of(catalog, p) in wanted)
    ]
    print(f"{'engine':<20} {'calibrates':<30} {'point':<44} {'value':>10}")
    for round_ in range(ROUNDS):
        for field in ORDER:
            solved: dict[str, list[float]] = {}
            for p in points:
                if (p.calibrates or "fixed_latency_us_per_layer") != field:
                    continue
                value = solve(catalog, p, field)
                if round_ == ROUNDS - 1:
                    print(f"{engine_of(catalog, p):<20} {field:<30} {p.id:<44} "
                          f"{('unreachable' if value is None else f'{value:.4g}'):>10}")
                if value is not None and value > 0:
                    solved.setdefault(engine_of(catalog, p), []).append(value)
            for engine_id, values in solved.items():  # later fields are solved with these in place
                written[(engine_id, field)] = math.exp(sum(map(math.log, values)) / len(values))
                catalog = with_value(catalog, engine_id, field, written[(engine_id, field)])
    print()
    for engine_id in sorted({engine_of(catalog, p) for p in points}):
        e = catalog.engines[engine_id]
        parts = [f"{f} {getattr(e, f).value:.4g}" for f in ORDER if getattr(e, f) is not None]
        print(f"{engine_id:<20} {', '.join(parts)}")
    if write:
        write_values(written)
        print(f"wrote {len(written)} value(s) to {ASSUMPTIONS.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
