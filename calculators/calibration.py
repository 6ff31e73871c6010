"""Solving each engine's calibrated numbers from its calibrate points: the derivation behind assumptions.yaml, and
the re-solve leave-one-source-out validation (:mod:`calculators.crossval`) repeats with one source's points removed.

Four numbers of an engine come from measurements of that engine rather than from kernel tables:
- ``fixed_latency_us_per_layer`` (tau): launch gaps, synchronisation and everything else the engine adds per layer,
  set by a point near batch 1 where it dominates;
- ``compute_efficiency_prefill``: the engine's end-to-end prefill efficiency where it differs from its class's, set
  by a point whose rate is bound by prefill (long prompts at concurrency on an engine with slow prefill kernels), or
  by a measured prefill rate (``input_tokens_per_s_per_chip``: a batch of prompts prefilled in one pass, e.g.
  ``sglang.bench_one_batch``'s "Prefill. throughput") when the point names that field;
- ``host_overhead_us_per_sequence``: host and scheduler time per running sequence per step that the accelerator does
  not hide, set by a point at high concurrency where it dominates;
- ``moe_group_overhead_us``: a whole-step (compiled) engine's cost per expert group of each MoE layer, set by a MoE
  point at a batch that touches most experts.

A calibrate point names the number it sets (``calibrates``; default tau). :func:`calibrate` solves tau first, then
the prefill efficiency, then the per-sequence overhead, then the per-group cost, each with the earlier ones in
place, each by bisection so the model reproduces its point exactly (several points: their geometric mean), and
repeats the round until the numbers settle (each moves the points the others were solved on). A point the model
cannot reach (the modelled kernels and collectives alone are slower than the measurement) is reported as such
(value None): that is a finding about the mechanism, not a value to force.

Other calibrate points fix a number the source states outright (MTP acceptances, a class's memory bandwidth
efficiency, a fleet's prefill rate): nothing here solves them; :func:`stated_fields` lists them by source.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from calculators.records import Catalog, Fraction, NonNegative, ValidationPoint
from calculators.validation import _predicted, point_engine

SPEED_METRICS = ("per_user_tokens_per_s", "request_output_tokens_per_s", "output_tokens_per_s_per_chip")
PREFILL_RATE_METRIC = "input_tokens_per_s_per_chip"  # solves the prefill efficiency only, and only when named
TIME_METRICS = ("time_to_first_token_s",)  # a time: the model is "too fast" when it predicts less
ROUNDS = 4  # each number moves the points the others were solved on: repeat the solve until they settle
BISECTIONS = 40
SIGNIFICANT = 3  # digits the catalog states a solved number to
ORDER = ("fixed_latency_us_per_layer", "compute_efficiency_prefill", "host_overhead_us_per_sequence",
         "moe_group_overhead_us")
BOUNDS = {  # (low, high, speed rises with the value)
    "fixed_latency_us_per_layer": (0.0, 5000.0, False),
    "compute_efficiency_prefill": (1e-4, 1.0, True),
    "host_overhead_us_per_sequence": (0.0, 2000.0, False),
    "moe_group_overhead_us": (0.0, 100.0, False),
}


def field_of(point: ValidationPoint) -> str:
    """The engine number a calibrate point sets (tau unless it names another)."""
    return point.calibrates or "fixed_latency_us_per_layer"


def is_solved(point: ValidationPoint) -> bool:
    """True for a calibrate point whose number :func:`calibrate` solves (MTP points calibrate the draft
    acceptances, stated by their source, not an engine number; bandwidth-efficiency points are stated too). A
    measured prefill rate is solved only when it says ``calibrates: compute_efficiency_prefill``: the fleet and
    wide-EP prefill rates that name nothing stay stated points of their class's efficiency."""
    if point.use != "calibrate" or point.mtp_layers:
        return False
    if point.metric == PREFILL_RATE_METRIC:
        return point.calibrates == "compute_efficiency_prefill"
    return point.metric in SPEED_METRICS + TIME_METRICS and field_of(point) in ORDER


def calibration_points(catalog: Catalog, engines: Iterable[str] | None = None,
                       exclude_sources: Iterable[str] = ()) -> list[ValidationPoint]:
    """The catalog's solved calibrate points (optionally only those of ``engines``, without ``exclude_sources``)."""
    wanted = None if engines is None else set(engines)
    excluded = set(exclude_sources)
    return [p for p in catalog.validation.values()
            if is_solved(p) and p.source not in excluded
            and (wanted is None or point_engine(catalog, p) in wanted)]


def with_value(catalog: Catalog, engine_id: str, field: str, value: float | None) -> Catalog:
    """The catalog with one engine number replaced (everything else as shipped); None removes an optional one."""
    engine = catalog.engines[engine_id]
    current = getattr(engine, field)
    if value is None:
        number = None
    else:
        kind = Fraction if field == "compute_efficiency_prefill" else NonNegative
        number = (current.model_copy(update={"value": value}) if current is not None
                  else kind(value=value, kind="assumption", note="calibration trial"))
    engines = dict(catalog.engines)
    engines[engine_id] = engine.model_copy(update={field: number})
    return catalog.model_copy(update={"engines": engines})


def solve(catalog: Catalog, point: ValidationPoint, field: str) -> float | None:
    """The value of ``field`` at which the model reproduces ``point``; None if no value in range reaches it."""
    engine_id = point_engine(catalog, point)

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
    for _ in range(BISECTIONS):
        mid = (lo + hi) / 2
        # too fast with a rising value -> lower it; too slow with a falling one (an overhead) -> lower it too
        if too_fast(mid) == rising:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class Solved:
    """One calibrate point's solution in the last round."""

    engine: str
    field: str
    point: str
    value: float | None  # None: unreachable


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` returns: the catalog with the solved numbers in place, the numbers, and per point."""

    catalog: Catalog
    values: dict[tuple[str, str], float]  # (engine, field) -> geometric mean of its points' solutions
    points: tuple[Solved, ...]
    fallbacks: dict[tuple[str, str], str]  # (engine, field) left with no point -> what it took instead


def _geometric_mean(values: list[float]) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def calibrate(catalog: Catalog, points: list[ValidationPoint], *, orphans: Iterable[tuple[str, str]] = (),
              peers: Callable[[str, str], list[str]] | None = None) -> Calibration:
    """Solve every engine number ``points`` calibrate, in :data:`ORDER`, for :data:`ROUNDS` rounds.

    ``orphans``: (engine, field) pairs whose calibrate points were all removed (leave-one-source-out): each takes
    the geometric mean of the same field on the engines ``peers(engine, field)`` names (solved or as shipped), or,
    with no peer, its absent value (the class's prefill efficiency; 0 for an overhead; tau has no absent value and
    keeps its catalog number, said so in ``fallbacks``)."""
    values: dict[tuple[str, str], float] = {}
    fallbacks: dict[tuple[str, str], str] = {}
    last: list[Solved] = []
    orphans = list(orphans)
    for round_ in range(ROUNDS):
        for field in ORDER:
            solved: dict[str, list[float]] = {}
            for p in points:
                if field_of(p) != field:
                    continue
                value = solve(catalog, p, field)
                if round_ == ROUNDS - 1:
                    last.append(Solved(point_engine(catalog, p), field, p.id, value))
                if value is not None and value > 0:
                    solved.setdefault(point_engine(catalog, p), []).append(value)
            for engine_id, found in solved.items():  # later fields are solved with these in place
                values[(engine_id, field)] = _geometric_mean(found)
                catalog = with_value(catalog, engine_id, field, values[(engine_id, field)])
            for engine_id, orphan_field in orphans:
                if orphan_field != field:
                    continue
                catalog, fallbacks[(engine_id, field)] = _fallback(catalog, engine_id, field,
                                                                   peers(engine_id, field) if peers else [])
        if not points and round_ == 0:
            break  # nothing to solve: the fallbacks do not move
    return Calibration(catalog, values, tuple(last), fallbacks)


def _fallback(catalog: Catalog, engine_id: str, field: str, peer_ids: list[str]) -> tuple[Catalog, str]:
    found = [getattr(catalog.engines[e], field).value for e in peer_ids
             if getattr(catalog.engines[e], field) is not None and getattr(catalog.engines[e], field).value > 0]
    if found:
        value = _geometric_mean(found)
        return (with_value(catalog, engine_id, field, value),
                f"geometric mean of {', '.join(peer_ids)} ({value:.3g})")
    if field == "fixed_latency_us_per_layer":
        return catalog, "no peer engine: kept the catalog number (in sample)"
    return with_value(catalog, engine_id, field, None), "no peer engine: absent (class default / 0)"


def stated_fields(catalog: Catalog, source: str) -> list[str]:
    """The assumption numbers (chip classes, engines, serving) whose ``source`` is ``source`` and that no solver
    re-derives: a source's own stated figure (MTP acceptances, a bandwidth efficiency) that a leave-one-source-out
    prediction of that source's points still uses."""
    out: list[str] = []

    def walk(value, path: str) -> None:
        if isinstance(value, dict):
            if value.get("source") == source and "value" in value:
                out.append(path)
                return
            for k, v in value.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    for section in ("chip_classes", "engines", "serving"):
        data = getattr(catalog, section, None)
        if data is None:
            continue
        dumped = ({k: v.model_dump(mode="python") for k, v in data.items()} if isinstance(data, dict)
                  else data.model_dump(mode="python"))
        walk(dumped, section)
    solved = {f"engines.{point_engine(catalog, p)}.{field_of(p)}" for p in calibration_points(catalog)
              if p.source == source}
    return [p for p in out if p not in solved]
