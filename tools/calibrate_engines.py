"""Solve each engine's fixed cost per layer from its calibrate point(s): the derivation behind assumptions.yaml.

An engine's ``fixed_latency_us_per_layer`` (tau) is the one number the model takes from a measurement of that engine
rather than from kernel tables: launch gaps, synchronisation and everything else the engine adds per layer. For each
engine, this script takes the validation points marked ``use: calibrate`` that the engine serves (named on the point,
or the chip's default engine) and whose metric is a speed, and finds by bisection the tau at which the model
reproduces each point exactly; the engine's value is their geometric mean. It prints the table; copy the values
into hardware_catalog/assumptions.yaml with the derivation in each note. Nothing is written.

    python tools/calibrate_engines.py            # every engine with a calibrate point
    python tools/calibrate_engines.py neuron-2025

A point the model cannot reach at any tau >= 0 (the modelled kernels and collectives alone are slower than the
measurement) is reported as such: that is a finding about the mechanism, not a value to force.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calculators.assumptions import default_engine_id, resolve_assumptions  # noqa: E402
from calculators.catalog import default_catalog  # noqa: E402
from calculators.records import Catalog, ValidationPoint  # noqa: E402
from calculators.validation import _predicted  # noqa: E402

SPEED_METRICS = ("per_user_tokens_per_s", "request_output_tokens_per_s", "output_tokens_per_s_per_chip")
TAU_MAX_US = 5000.0


def _engine_of(catalog: Catalog, point: ValidationPoint) -> str:
    return point.engine or default_engine_id(catalog, catalog.accelerators[point.accelerator])


def _with_tau(catalog: Catalog, engine_id: str, tau_us: float) -> Catalog:
    engine = catalog.engines[engine_id]
    tau = engine.fixed_latency_us_per_layer.model_copy(update={"value": tau_us})
    engines = dict(catalog.engines)
    engines[engine_id] = engine.model_copy(update={"fixed_latency_us_per_layer": tau})
    return catalog.model_copy(update={"engines": engines})


def solve_tau(catalog: Catalog, point: ValidationPoint) -> float | None:
    """The tau (us per layer) at which the model reproduces ``point``, or None if no tau >= 0 reaches it."""
    engine_id = _engine_of(catalog, point)

    def speed(tau_us: float) -> float:
        return _predicted(_with_tau(catalog, engine_id, tau_us), point)[0]

    lo, hi = 0.0, TAU_MAX_US
    if speed(lo) < point.measured:
        return None
    if speed(hi) > point.measured:
        return hi
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if speed(mid) > point.measured else (lo, mid)
    return (lo + hi) / 2


def main(argv: list[str]) -> int:
    catalog = default_catalog()
    wanted = set(argv)
    rows = []
    for point in catalog.validation.values():
        # MTP points calibrate the draft acceptances, not tau
        if point.use != "calibrate" or point.metric not in SPEED_METRICS or point.mtp_layers:
            continue
        engine_id = _engine_of(catalog, point)
        if wanted and engine_id not in wanted:
            continue
        resolve_assumptions(catalog, point.accelerator, engine=engine_id)  # the engine must exist
        rows.append((engine_id, point.id, solve_tau(catalog, point)))
    by_engine: dict[str, list[float]] = {}
    print(f"{'engine':<20} {'calibrate point':<44} {'tau us/layer':>12}")
    for engine_id, pid, tau in rows:
        print(f"{engine_id:<20} {pid:<44} {('unreachable' if tau is None else f'{tau:.1f}'):>12}")
        if tau is not None and tau > 0:
            by_engine.setdefault(engine_id, []).append(tau)
    print()
    for engine_id, taus in by_engine.items():
        print(f"{engine_id:<20} geometric mean {math.exp(sum(map(math.log, taus)) / len(taus)):.1f} us/layer "
              f"(catalog now {catalog.engines[engine_id].fixed_latency_us_per_layer.value:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
