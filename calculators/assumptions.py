"""The tunable serving assumptions of one scenario, resolved from the catalog and validated.

An :class:`Assumptions` is every number a prediction depends on that is not a fact about the chip or the model:
achievable efficiencies (from the chip's class), the engine's fixed latency per layer, MTP acceptance, datacenter
and money defaults (from the ``serving`` block). :func:`resolve_assumptions` fills the defaults for one chip and
applies overrides, each checked against its bound; :func:`assumption_ranges` lists each with its default, plausible
low/high, unit and source (for the sensitivity chart and the method page).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from calculators.errors import ScenarioError
from calculators.records import FUSION, LAYOUT_KINDS, PREFILL_SCHEDULING, Catalog, Sourced


@dataclass(frozen=True)
class Assumptions:
    """Every tunable serving assumption for one scenario (all SI-friendly units named in the field)."""

    memory_bandwidth_efficiency: float
    compute_efficiency_decode: float
    compute_efficiency_prefill: float
    fixed_latency_us_per_layer: float
    usable_memory_fraction: float
    mtp_acceptance: tuple[float, ...]
    mtp_step_inflation: tuple[float, ...]
    pue: float
    electricity_usd_per_kwh: float
    lifetime_years: float
    prefill_cache_hit_rate: float
    power_utilisation: float
    rack_power_budget_kw: float | None = None
    interconnect_efficiency: float = 1.0
    kv_cache_precision: str = "bf16"
    dispatch_precision: str = "fp8"
    activation_precision: str = "bf16"
    micro_batch_overlap: bool = True
    engine: str = ""
    weight_storage_precision: str | None = None
    attention_weight_precision: str | None = None
    host_overhead_us_per_step: float = 0.0
    host_overhead_us_per_sequence: float = 0.0
    prefill_chunk_tokens: float = 8192.0
    prefill_scheduling: str = "decode-first"
    """``decode-first`` or ``prefill-first`` (:attr:`calculators.records.Engine.prefill_scheduling`)."""
    fusion: str = "per-kernel"
    """``per-kernel`` or ``whole-step`` (:attr:`calculators.records.Engine.fusion`)."""
    moe_group_overhead_us: float = 0.0
    """Per expert group of each MoE layer on a chip (:attr:`calculators.records.Engine.moe_group_overhead_us`)."""
    kernel_efficiency_factor: float = 1.0
    mtp_layers_default: int = 0
    """The MTP depth the engine's published recipes run (:attr:`calculators.records.Engine.mtp_layers_default`)."""
    layout_kinds: tuple[str, ...] = LAYOUT_KINDS
    """The layout kinds the engine runs (:attr:`calculators.records.Engine.supported_layout_kinds`): every search
    picks among them only, and a stated layout of another kind is refused."""
    price_usd_per_chip: float | None = None
    """The user's purchase price per chip, all-in (None: the catalog's system or chip price)."""
    rental_usd_per_chip_hour: float | None = None
    """The user's rental rate per chip-hour (None: the catalog's)."""
    prefill_efficiency_from_engine: bool = False
    """True when the engine declares its own end-to-end prefill efficiency: prefill then runs at that one number
    instead of at the kernel curves' large-shape fractions (see ``model.step.prefill_seconds_per_token``)."""
    """Precision of the attention projections (weights and GEMMs) when an engine runs them wider than the rest,
    e.g. SGLang's GB200 deployment: FP8 attention + NVFP4 MoE. None = the compute precision."""
    """Precision weights are stored (and streamed) in: None = the compute precision; ``native`` = the model's
    checkpoint precision where narrower than the compute precision (upcast on chip); or a catalog precision id.
    Bytes for capacity and bandwidth use it, FLOPs the compute precision (see ``memory.weight_storage_precision``)."""

    @property
    def max_mtp_layers(self) -> int:
        return len(self.mtp_acceptance)


@dataclass(frozen=True)
class AssumptionRange:
    """One assumption as the sensitivity chart and method page show it."""

    name: str
    value: float
    low: float
    high: float
    unit: str
    source: str | None
    note: str | None


# name -> (lower bound, lower inclusive, upper bound, upper inclusive, unit)
_BOUNDS: dict[str, tuple[float, bool, float, bool, str]] = {
    "memory_bandwidth_efficiency": (0, False, 1, True, "fraction"),
    "compute_efficiency_decode": (0, False, 1, True, "fraction"),
    "compute_efficiency_prefill": (0, False, 1, True, "fraction"),
    "fixed_latency_us_per_layer": (0, True, math.inf, False, "us/layer"),
    "usable_memory_fraction": (0, False, 1, True, "fraction"),
    "pue": (1, True, math.inf, False, "ratio"),
    "electricity_usd_per_kwh": (0, True, math.inf, False, "USD/kWh"),
    "lifetime_years": (0, False, math.inf, False, "years"),
    "prefill_cache_hit_rate": (0, True, 1, False, "fraction"),
    "power_utilisation": (0, False, 1, True, "fraction"),
    "rack_power_budget_kw": (0, False, math.inf, False, "kW"),
    "price_usd_per_chip": (0, False, math.inf, False, "USD/chip"),
    "rental_usd_per_chip_hour": (0, False, math.inf, False, "USD/chip-hour"),
    "interconnect_efficiency": (0, False, 1, True, "fraction"),
    "host_overhead_us_per_step": (0, True, math.inf, False, "us/step"),
    "host_overhead_us_per_sequence": (0, True, math.inf, False, "us/sequence/step"),
    "prefill_chunk_tokens": (0, False, math.inf, False, "tokens"),
    "moe_group_overhead_us": (0, True, math.inf, False, "us/expert group"),
    "kernel_efficiency_factor": (0, False, 1, True, "fraction"),
}


_OPTIONAL = frozenset({"rack_power_budget_kw", "price_usd_per_chip", "rental_usd_per_chip_hour"})
"""Bounded assumptions that may be None (the catalog's value or none applies)."""


def _check_number(name: str, value: object) -> float:
    lo, lo_inc, hi, hi_inc, _ = _BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"'{name}' must be a finite number (got {value!r})")
    ok_lo = value >= lo if lo_inc else value > lo
    ok_hi = value <= hi if hi_inc else value < hi
    if not (ok_lo and ok_hi):
        interval = f"{'[' if lo_inc else '('}{lo}, {hi}{']' if hi_inc else ')'}"
        raise ScenarioError(f"'{name}' must be in {interval} (got {value!r})")
    return float(value)


def _check(catalog: Catalog, a: Assumptions) -> Assumptions:
    for name in _BOUNDS:
        value = getattr(a, name)
        if value is None and name in _OPTIONAL:
            continue
        _check_number(name, value)
    for name in ("mtp_acceptance", "mtp_step_inflation"):
        values = getattr(a, name)
        if not isinstance(values, tuple) or not values:
            raise ScenarioError(f"'{name}' must be a non-empty tuple (got {values!r})")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ScenarioError(f"'{name}' entries must be finite numbers (got {v!r})")
    if len(a.mtp_acceptance) != len(a.mtp_step_inflation):
        raise ScenarioError(
            f"'mtp_acceptance' and 'mtp_step_inflation' need the same length (got {len(a.mtp_acceptance)} and "
            f"{len(a.mtp_step_inflation)})"
        )
    if not all(0 <= p <= 1 for p in a.mtp_acceptance):
        raise ScenarioError(f"'mtp_acceptance' entries must be in [0, 1] (got {a.mtp_acceptance!r})")
    if not all(s >= 1 for s in a.mtp_step_inflation):
        raise ScenarioError(f"'mtp_step_inflation' entries must be >= 1 (got {a.mtp_step_inflation!r})")
    storage = a.weight_storage_precision
    if storage is not None and storage != "native" and storage not in catalog.precisions:
        raise ScenarioError(
            f"'weight_storage_precision' must be None, 'native' or a catalog precision "
            f"({', '.join(sorted(catalog.precisions))}) (got {storage!r})"
        )
    if a.attention_weight_precision is not None and a.attention_weight_precision not in catalog.precisions:
        raise ScenarioError(
            f"'attention_weight_precision' must be None or a catalog precision "
            f"({', '.join(sorted(catalog.precisions))}) (got {a.attention_weight_precision!r})"
        )
    kinds = a.layout_kinds
    if not isinstance(kinds, tuple) or not kinds or any(k not in LAYOUT_KINDS for k in kinds):
        raise ScenarioError(f"'layout_kinds' must be a non-empty tuple of {', '.join(LAYOUT_KINDS)} (got {kinds!r})")
    if a.fusion not in FUSION:
        raise ScenarioError(f"'fusion' must be one of {', '.join(FUSION)} (got {a.fusion!r})")
    if a.prefill_scheduling not in PREFILL_SCHEDULING:
        raise ScenarioError(
            f"'prefill_scheduling' must be one of {', '.join(PREFILL_SCHEDULING)} (got {a.prefill_scheduling!r})"
        )
    for name in ("kv_cache_precision", "dispatch_precision", "activation_precision"):
        if getattr(a, name) not in catalog.precisions:
            raise ScenarioError(
                f"'{name}' must be a catalog precision ({', '.join(sorted(catalog.precisions))}) "
                f"(got {getattr(a, name)!r})"
            )
    return a


def _accelerator(catalog: Catalog, accelerator_id: str):
    if accelerator_id not in catalog.accelerators:
        raise ScenarioError(
            f"unknown accelerator {accelerator_id!r}; known: {', '.join(sorted(catalog.accelerators))}"
        )
    return catalog.accelerators[accelerator_id]


_ENGINE_SERVING_FIELDS = (
    "host_overhead_us_per_step", "host_overhead_us_per_sequence", "prefill_chunk_tokens", "kernel_efficiency_factor",
    "moe_group_overhead_us",
)


def _engine_serving(engine) -> dict[str, float]:
    """The engine's optional serving numbers that it sets (absent ones keep the Assumptions defaults)."""
    return {name: getattr(engine, name).value for name in _ENGINE_SERVING_FIELDS if getattr(engine, name) is not None}


def _serving_defaults(serving) -> dict:
    """The catalog serving block's formats and prefill chunk, where it states them (absent: the dataclass defaults)."""
    out = {name: getattr(serving, name).value for name in ("kv_cache_precision", "activation_precision",
                                                            "dispatch_precision", "prefill_chunk_tokens")
           if getattr(serving, name) is not None}
    return out


def default_engine_id(catalog: Catalog, chip) -> str:
    """The serving software a chip runs unless told otherwise: the engine that names it in ``default_for`` (its
    vendor's stack), else its chip class's default."""
    for engine in catalog.engines.values():
        if chip.id in engine.default_for:
            return engine.id
    return catalog.chip_classes[chip.chip_class].default_engine


def resolve_assumptions(
    catalog: Catalog, accelerator_id: str, *, engine: str | None = None, **overrides
) -> Assumptions:
    """The default assumptions for ``accelerator_id`` (its chip class, its class's engine or ``engine``, the serving
    block), with ``overrides`` applied by field name. Raises :class:`ScenarioError` naming a bad field and its bound."""
    chip = _accelerator(catalog, accelerator_id)
    if chip.chip_class not in catalog.chip_classes:
        raise ScenarioError(f"accelerator {accelerator_id!r} names unknown chip class {chip.chip_class!r}")
    cls = catalog.chip_classes[chip.chip_class]
    engine_id = engine or default_engine_id(catalog, chip)
    if engine_id not in catalog.engines:
        raise ScenarioError(f"unknown engine {engine_id!r}; known: {', '.join(sorted(catalog.engines)) or 'none'}")
    if catalog.serving is None:
        raise ScenarioError("the catalog has no 'serving' block of defaults")
    s = catalog.serving
    base = Assumptions(
        memory_bandwidth_efficiency=cls.memory_bandwidth_efficiency.value,
        compute_efficiency_decode=cls.compute_efficiency_decode.value,
        compute_efficiency_prefill=cls.compute_efficiency_prefill.value,
        fixed_latency_us_per_layer=catalog.engines[engine_id].fixed_latency_us_per_layer.value,
        usable_memory_fraction=cls.usable_memory_fraction.value,
        interconnect_efficiency=cls.interconnect_efficiency.value if cls.interconnect_efficiency is not None else 1.0,
        mtp_acceptance=tuple(p.value for p in s.mtp_acceptance),
        mtp_step_inflation=tuple(p.value for p in s.mtp_step_inflation),
        pue=s.pue.value,
        electricity_usd_per_kwh=s.electricity_usd_per_kwh.value,
        lifetime_years=s.lifetime_years.value,
        prefill_cache_hit_rate=s.prefill_cache_hit_rate.value,
        power_utilisation=s.power_utilisation.value,
        engine=engine_id,
        weight_storage_precision=(
            catalog.engines[engine_id].weight_storage_precision.value
            if catalog.engines[engine_id].weight_storage_precision is not None else None
        ),
        **_serving_defaults(s),
        **_engine_serving(catalog.engines[engine_id]),
    )
    chosen = catalog.engines[engine_id]
    if chosen.kv_cache_precision is not None:
        base = dataclasses.replace(base, kv_cache_precision=chosen.kv_cache_precision.value)
    if chosen.prefill_scheduling is not None:
        base = dataclasses.replace(base, prefill_scheduling=chosen.prefill_scheduling.value)
    if chosen.mtp_layers_default is not None:
        base = dataclasses.replace(base, mtp_layers_default=int(chosen.mtp_layers_default.value))
    if chosen.fusion is not None:
        base = dataclasses.replace(base, fusion=chosen.fusion.value)
    base = dataclasses.replace(base, layout_kinds=chosen.supported_layout_kinds)
    if chosen.compute_efficiency_prefill is not None:
        base = dataclasses.replace(base, compute_efficiency_prefill=chosen.compute_efficiency_prefill.value,
                                   prefill_efficiency_from_engine=True)
    fields = {f.name for f in dataclasses.fields(Assumptions)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ScenarioError(f"unknown assumption {unknown[0]!r}; known: {', '.join(sorted(fields))}")
    overrides = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items() if v is not None}
    return _check(catalog, dataclasses.replace(base, **overrides))


def check_assumptions(catalog: Catalog, assumptions: Assumptions) -> Assumptions:
    """Validate a caller-built :class:`Assumptions` (the same checks as :func:`resolve_assumptions`)."""
    if not isinstance(assumptions, Assumptions):
        raise ScenarioError(f"'assumptions' must be an Assumptions (got {type(assumptions).__name__})")
    return _check(catalog, assumptions)


def _range(name: str, s: Sourced, unit: str) -> AssumptionRange:
    return AssumptionRange(
        name=name,
        value=s.value,
        low=s.low if s.low is not None else s.value,
        high=s.high if s.high is not None else s.value,
        unit=unit,
        source=s.source,
        note=s.note,
    )


def assumption_ranges(catalog: Catalog, accelerator_id: str, *, engine: str | None = None) -> list[AssumptionRange]:
    """Each scalar assumption for this chip with its default, plausible low/high (from the catalog's ``low``/``high``;
    equal to the default where the catalog gives none), unit and source."""
    a = resolve_assumptions(catalog, accelerator_id, engine=engine)
    cls = catalog.chip_classes[_accelerator(catalog, accelerator_id).chip_class]
    s = catalog.serving
    engine = catalog.engines[a.engine]
    sourced = {
        "memory_bandwidth_efficiency": cls.memory_bandwidth_efficiency,
        "compute_efficiency_decode": cls.compute_efficiency_decode,
        "compute_efficiency_prefill": engine.compute_efficiency_prefill or cls.compute_efficiency_prefill,
        "fixed_latency_us_per_layer": catalog.engines[a.engine].fixed_latency_us_per_layer,
        "usable_memory_fraction": cls.usable_memory_fraction,
        "pue": s.pue,
        "electricity_usd_per_kwh": s.electricity_usd_per_kwh,
        "lifetime_years": s.lifetime_years,
        "prefill_cache_hit_rate": s.prefill_cache_hit_rate,
        "power_utilisation": s.power_utilisation,
    }
    if cls.interconnect_efficiency is not None:
        sourced["interconnect_efficiency"] = cls.interconnect_efficiency
    for name in _ENGINE_SERVING_FIELDS:
        if getattr(engine, name) is not None:
            sourced[name] = getattr(engine, name)
    return [_range(name, value, _BOUNDS[name][4]) for name, value in sourced.items()]
