"""Predictions for one deployment: uncertainty bands and :func:`predict`, the library's and the CLI's entry to the
model.

The model itself lives below this module: the step of one replica in :mod:`calculators.model` (efficiency curves,
collectives, attention, MoE, the vectorised step) and serving a workload in :mod:`calculators.serving` (pure decode,
aggregated continuous batching with chunked prefill, disaggregated prefill). :func:`predict` checks its
:class:`~calculators.deployment.Deployment` once, picks the layout, and attaches the band the model's
cross-validated error earns for the scenario's regime.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from calculators import memory
from calculators.deployment import Deployment, check_deployment
from calculators.layout import sram_only
from calculators.model.step import BOUND_LABELS, COMPONENTS, STEP_OPS
from calculators.records import Accelerator, Catalog
from calculators.serving import best_layout
from calculators.validation import chip_uncertainty

__all__ = ["BOUND_LABELS", "COMPONENTS", "Deployment", "Prediction", "band", "best_layout", "predict", "sram_only"]


def uncertainty_fraction(catalog: Catalog, chip: Accelerator, concurrency: int | None = None,
                         mtp_layers: int = 0) -> float:
    """The band factor f of a headline output for this chip at this batch: the leave-one-source-out error of the
    scenario's regime and chip class, widened where the chip's default engine has no test point (see
    :func:`calculators.validation.chip_uncertainty`). The band is value / (1 + f) .. value x (1 + f)."""
    return chip_uncertainty(catalog, chip, concurrency, mtp_layers)


def uncertainty_band(catalog: Catalog, chip: Accelerator, concurrency: int | None = None, mtp_layers: int = 0):
    """The :class:`calculators.crossval.RegimeBand` behind :func:`uncertainty_fraction` (regime, basis, words)."""
    from calculators.crossval import scenario_band

    return scenario_band(catalog, chip, concurrency, mtp_layers)


TARGET_REACH_TOLERANCE = 1e-3
"""A speed within 0.1% of a target meets it: calibrated constants are written to three significant digits, so the
configuration a constant was solved on lands within that of its measurement, on either side."""


def meets_speed(speed, target):
    """True (elementwise) where ``speed`` reaches ``target`` within :data:`TARGET_REACH_TOLERANCE`."""
    return np.asarray(speed) >= np.asarray(target) * (1 - TARGET_REACH_TOLERANCE)


def band(value: float, fraction: float) -> tuple[float, float]:
    """(low, high) = (value / (1 + f), value x (1 + f)): the true value is within a factor 1 + f of the prediction
    either way, as the validation error (a ratio predicted / measured, symmetric in log space) says. It never goes
    negative and serves a rate and its inverse (J/token, chips) alike."""
    return value / (1 + fraction), value * (1 + fraction)


@dataclass(frozen=True)
class Prediction:
    """One prediction; the fields are the CLI's JSON keys."""

    model: str
    accelerator: str
    precision: str
    chips: int
    nodes: int
    concurrency: int
    context_tokens: int
    mtp_layers: int
    engine: str
    layout: str
    attention_tp: int
    attention_dp: int
    moe_ep: int
    moe_tp: int
    pipeline_stages: int
    per_user_tokens_per_s: float
    per_user_tokens_per_s_low: float
    per_user_tokens_per_s_high: float
    total_output_tokens_per_s: float
    total_output_tokens_per_s_low: float
    total_output_tokens_per_s_high: float
    output_tokens_per_s_per_chip: float
    step_time_ms: float
    expected_tokens_per_step: float
    fits_in_memory: bool
    memory_used_fraction: float
    bound_by: str
    power_kw: float
    joules_per_output_token: float
    joules_per_output_token_low: float
    joules_per_output_token_high: float
    uncertainty_fraction: float
    distinct_experts_per_layer: float
    step_time_breakdown_ms: dict[str, float] = field(default_factory=dict)
    weight_storage_precision: str = ""
    serving: str = "decode"
    input_tokens: int | None = None
    output_tokens: int | None = None
    running_concurrency: int = 0
    concurrency_capped_reason: str | None = None
    time_to_first_token_s: float | None = None
    time_per_output_token_ms: float = 0.0
    prefill_chips: int = 0
    step_breakdown_ms: dict[str, float] = field(default_factory=dict)
    step_breakdown_bound: dict[str, str] = field(default_factory=dict)
    kv_cache_precision: str = ""
    # issue 16: the regime whose leave-one-source-out error sets the band, and what that band rests on
    uncertainty_regime: str = ""
    uncertainty_basis: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def predict(catalog: Catalog, deployment: Deployment) -> Prediction:
    """What one replica (``deployment``, see :class:`calculators.deployment.Deployment`) delivers to its
    ``concurrency`` sequences.

    A pure decode step at ``context_tokens`` (serving ``decode``) or a workload of ``input_tokens`` and
    ``output_tokens`` served ``aggregated`` or ``disaggregated`` (:mod:`calculators.serving`). Only the batch whose
    KV cache fits runs (``running_concurrency``), and the engine caps its running batch where the replica's output
    peaks. ``layout="auto"`` picks the layout with the most output that fits; any other value is a layout label."""
    d = check_deployment(catalog, deployment)
    model, accelerator, chips, concurrency = d.model, d.accelerator, d.chips, d.concurrency
    chip = d.chip_record(catalog)
    m = d.model_record(catalog)
    a, mtp_layers, context_tokens = d.assumptions, d.mtp_layers, d.context_tokens
    system = catalog.systems[chip.system]
    lay, v = best_layout(catalog, d)
    regime_band = uncertainty_band(catalog, chip, concurrency, mtp_layers)
    err = regime_band.fraction
    per_user = float(v["per_user_tokens_per_s"])
    total = float(v["total_output_tokens_per_s"])
    joules = float(v["joules_per_output_token"])
    running = int(v["running_concurrency"])
    capped_reason = None
    if bool(v["throughput_capped"]):
        capped_reason = (
            f"the replica's total output peaks at {running:,} running sequences (more would only lower it); the "
            f"engine caps its running batch there and the other {concurrency - running:,} queue"
        )
    elif bool(v["concurrency_capped"]):
        capped_reason = (
            f"the KV cache of {concurrency:,} sequences at {context_tokens:,} tokens does not fit beside the weights "
            f"on {chips} {chip.name}; only {running:,} run at once (the rest queue)"
        )
    ttft = float(v["time_to_first_token_s"])
    breakdown = {
        name: float(v[f"{name}_s"]) * 1e3 for name in ("fixed_latency", "host_overhead", *COMPONENTS, "communication")
    }
    step_ops, op_bounds = step_breakdown(v)
    bound = "capacity" if bool(v["concurrency_capped"]) and not bool(v["throughput_capped"]) else str(v["bound_by"])
    return Prediction(
        model=model,
        accelerator=accelerator,
        precision=d.precision,
        chips=chips,
        nodes=math.ceil(chips / system.chips_per_node.value),
        concurrency=concurrency,
        context_tokens=context_tokens,
        mtp_layers=mtp_layers,
        engine=a.engine,
        layout=lay.label,
        attention_tp=lay.attention_tp,
        attention_dp=lay.attention_dp,
        moe_ep=lay.moe_ep,
        moe_tp=lay.moe_tp,
        pipeline_stages=lay.pipeline_stages,
        per_user_tokens_per_s=per_user,
        per_user_tokens_per_s_low=band(per_user, err)[0],
        per_user_tokens_per_s_high=band(per_user, err)[1],
        total_output_tokens_per_s=total,
        total_output_tokens_per_s_low=band(total, err)[0],
        total_output_tokens_per_s_high=band(total, err)[1],
        output_tokens_per_s_per_chip=float(v["output_tokens_per_s_per_chip"]),
        step_time_ms=float(v["step_time_s"]) * 1e3,
        expected_tokens_per_step=float(v["expected_tokens_per_step"]),
        fits_in_memory=bool(v["fits_in_memory"]) or bool(v["concurrency_capped"]),
        memory_used_fraction=float(v["memory_used_fraction"]),
        bound_by=bound,
        power_kw=float(v["power_w"]) / 1e3,
        joules_per_output_token=joules,
        joules_per_output_token_low=band(joules, err)[0],
        joules_per_output_token_high=band(joules, err)[1],
        uncertainty_fraction=err,
        distinct_experts_per_layer=float(v["distinct_experts_per_layer"]),
        step_time_breakdown_ms=breakdown,
        weight_storage_precision=memory.weight_storage_precision(catalog, m, d.precision, a.weight_storage_precision),
        serving=d.serving,
        input_tokens=d.input_tokens,
        output_tokens=d.output_tokens,
        running_concurrency=running,
        concurrency_capped_reason=capped_reason,
        time_to_first_token_s=None if math.isnan(ttft) else ttft,
        time_per_output_token_ms=float(v["time_per_output_token_s"]) * 1e3,
        prefill_chips=int(v["prefill_chips"]),
        step_breakdown_ms=step_ops,
        step_breakdown_bound=op_bounds,
        kv_cache_precision=a.kv_cache_precision,
        uncertainty_regime=regime_band.label,
        uncertainty_basis=regime_band.statement,
    )


def step_breakdown(values: dict) -> tuple[dict[str, float], dict[str, str]]:
    """One step's named operations (:data:`calculators.model.step.STEP_OPS`) in ms, summing to the step time, and
    what bounds each: ``fixed``, ``memory``, ``compute`` or ``interconnect``."""
    ms = {name: float(values[f"op_{name}_s"]) * 1e3 for name in STEP_OPS}
    bounds = {}
    for name, kind in STEP_OPS.items():
        if kind.startswith("component:"):
            kind = "memory" if bool(values[f"op_{name}_memory_bound"]) else "compute"
        bounds[name] = kind
    return ms, bounds
