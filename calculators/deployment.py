"""The two records every evaluation takes, each checked once by one checker with one error type.

- :class:`Deployment`: one replica as it runs (model, chip, precision, chips, layout, batch, MTP, engine, KV-cache
  precision, the workload and how it is served). ``predict`` evaluates one; ``claims`` and validation build them.
- :class:`Demand`: what a fleet must deliver (per-user speed, total output, a time-to-first-token target) for a
  workload on one chip; ``size`` answers it by searching deployments.

:func:`check_deployment` and :func:`check_demand` resolve every default (the engine and its assumptions, the MTP
depth of the engine's recipe, the serving mode, the mean context) and raise :class:`~calculators.errors.ScenarioError`
naming the field, the expectation and the value. A checked record is a plain record with nothing left to resolve:
checking it again returns an equal record, so functions below the public entries take it whole and never re-check.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from calculators.assumptions import Assumptions, check_assumptions, resolve_assumptions
from calculators.errors import ScenarioError
from calculators.layout import check_layout_kind, parse_layout
from calculators.records import Accelerator, Catalog, Model
from calculators.search import default_mtp_layers
from calculators.shapes import SHIPPED, check_topology

SERVING_MODES = ("decode", "aggregated", "disaggregated")


def finite_positive(name: str, value, *, integer: bool = False, allow_zero: bool = False):
    """``value`` checked as a finite number > 0 (>= 0 with ``allow_zero``), a whole one with ``integer``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ScenarioError(f"'{name}' must be a number (got {value!r})")
    if not math.isfinite(value):
        raise ScenarioError(f"'{name}' must be finite (got {value!r})")
    if value < 0 or (value == 0 and not allow_zero):
        raise ScenarioError(f"'{name}' must be {'>= 0' if allow_zero else '> 0'} (got {value!r})")
    if integer and int(value) != value:
        raise ScenarioError(f"'{name}' must be a whole number (got {value!r})")
    return int(value) if integer else float(value)


def check_model(catalog: Catalog, model: str) -> Model:
    if not isinstance(model, str) or model not in catalog.models:
        raise ScenarioError(f"unknown model {model!r}; known: {', '.join(sorted(catalog.models))}")
    return catalog.models[model]


def check_accelerator(catalog: Catalog, accelerator: str) -> Accelerator:
    if not isinstance(accelerator, str) or accelerator not in catalog.accelerators:
        raise ScenarioError(f"unknown accelerator {accelerator!r}; known: {', '.join(sorted(catalog.accelerators))}")
    chip = catalog.accelerators[accelerator]
    if chip.system not in catalog.systems:
        raise ScenarioError(f"accelerator {accelerator!r} names unknown system {chip.system!r}")
    return chip


def check_precision(catalog: Catalog, chip: Accelerator, precision: str) -> str:
    if not isinstance(precision, str) or precision not in catalog.precisions:
        raise ScenarioError(f"unknown precision {precision!r}; known: {', '.join(sorted(catalog.precisions))}")
    if precision not in chip.peak_tflops:
        raise ScenarioError(
            f"accelerator {chip.id!r} has no {precision!r} math; it supports: {', '.join(chip.precisions)}"
        )
    return precision


def check_mtp_layers(model: Model, assumptions: Assumptions, mtp_layers) -> int:
    k = finite_positive("mtp_layers", mtp_layers, integer=True, allow_zero=True)
    if k > 0 and model.mtp is None:
        raise ScenarioError(f"'mtp_layers' must be 0 for {model.id!r}, which has no MTP module (got {k})")
    if k > assumptions.max_mtp_layers:
        raise ScenarioError(f"'mtp_layers' must be <= {assumptions.max_mtp_layers} (got {k})")
    return k


def resolve_engine_assumptions(catalog: Catalog, accelerator: str, engine: str | None,
                               assumptions: Assumptions | None, kv_cache_precision: str | None = None) -> Assumptions:
    """The assumptions a deployment runs with: ``assumptions`` as given (checked), else the chip's defaults under
    ``engine`` (or its default engine), with the KV cache in ``kv_cache_precision`` when named (else the engine's or
    the catalog's default). Naming an engine that differs from the given assumptions' is an error."""
    if engine is not None and (not isinstance(engine, str) or engine not in catalog.engines):
        raise ScenarioError(f"unknown engine {engine!r}; known: {', '.join(sorted(catalog.engines))}")
    if assumptions is None:
        assumptions = resolve_assumptions(catalog, accelerator, engine=engine)
    elif engine is not None and engine != assumptions.engine:
        raise ScenarioError(f"'engine' {engine!r} differs from the assumptions' engine {assumptions.engine!r}")
    if kv_cache_precision is not None and kv_cache_precision != assumptions.kv_cache_precision:
        assumptions = dataclasses.replace(assumptions, kv_cache_precision=kv_cache_precision)
    return check_assumptions(catalog, assumptions)


@dataclass(frozen=True)
class Deployment:
    """One replica of ``chips`` chips serving ``concurrency`` sequences.

    The workload is either a pure decode step at ``context_tokens`` (serving ``decode``) or requests of
    ``input_tokens`` in and ``output_tokens`` out, served ``aggregated`` (chunked prefill on the same chips, the
    default) or ``disaggregated`` (a separate prefill pool of ``prefill_chips``, sized when None): see
    :mod:`calculators.serving`. ``layout`` ``auto`` lets the search pick; ``mtp_layers`` None runs the engine's
    recipe depth; ``engine`` None the chip's default engine; ``assumptions`` None the engine's defaults."""

    model: str
    accelerator: str
    precision: str
    chips: int
    concurrency: int
    context_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    serving: str | None = None
    prefill_chips: int | None = None
    layout: str = "auto"
    mtp_layers: int | None = None
    engine: str | None = None
    kv_cache_precision: str | None = None
    assumptions: Assumptions | None = None

    def model_record(self, catalog: Catalog) -> Model:
        return catalog.models[self.model]

    def chip_record(self, catalog: Catalog) -> Accelerator:
        return catalog.accelerators[self.accelerator]


def _check_workload(serving, context_tokens, input_tokens, output_tokens, prefill_chips):
    """The serving mode and token counts, checked: ``decode`` needs a context, the others a prompt and an output."""
    if serving is None:
        serving = "decode" if input_tokens is None and output_tokens is None else "aggregated"
    if serving not in SERVING_MODES:
        raise ScenarioError(f"'serving' must be one of {', '.join(SERVING_MODES)} (got {serving!r})")
    if input_tokens is not None:
        input_tokens = finite_positive("input_tokens", input_tokens, integer=True)
    if output_tokens is not None:
        output_tokens = finite_positive("output_tokens", output_tokens, integer=True)
    if prefill_chips is not None:
        prefill_chips = finite_positive("prefill_chips", prefill_chips, integer=True)
        if serving != "disaggregated":
            raise ScenarioError(f"'prefill_chips' applies only to 'disaggregated' serving (got serving {serving!r})")
    if serving == "decode":
        if context_tokens is None:
            raise ScenarioError("'context_tokens' is needed for a pure decode step (or give 'input_tokens' and "
                                "'output_tokens' with serving 'aggregated' or 'disaggregated')")
        context_tokens = finite_positive("context_tokens", context_tokens, integer=True)
    else:
        if input_tokens is None or output_tokens is None:
            raise ScenarioError(f"serving {serving!r} needs both 'input_tokens' and 'output_tokens'")
        context_tokens = int(input_tokens + output_tokens / 2)
    return serving, context_tokens, input_tokens, output_tokens, prefill_chips


def check_deployment(catalog: Catalog, deployment: Deployment) -> Deployment:
    """``deployment`` with every field checked and every default resolved (see the module docstring)."""
    d = deployment
    if not isinstance(d, Deployment):
        raise ScenarioError(f"expected a Deployment (got {type(d).__name__})")
    m = check_model(catalog, d.model)
    chip = check_accelerator(catalog, d.accelerator)
    check_precision(catalog, chip, d.precision)
    chips = finite_positive("chips", d.chips, integer=True)
    concurrency = finite_positive("concurrency", d.concurrency, integer=True)
    serving, context, input_tokens, output_tokens, prefill_chips = _check_workload(
        d.serving, d.context_tokens, d.input_tokens, d.output_tokens, d.prefill_chips
    )
    if not isinstance(d.layout, str):
        raise ScenarioError(f"'layout' must be a string (got {d.layout!r})")
    a = resolve_engine_assumptions(catalog, d.accelerator, d.engine, d.assumptions, d.kv_cache_precision)
    if d.layout != "auto":
        check_layout_kind(parse_layout(d.layout, m, chips), a.layout_kinds, a.engine)
    mtp = default_mtp_layers(m, a) if d.mtp_layers is None else check_mtp_layers(m, a, d.mtp_layers)
    return dataclasses.replace(
        d, chips=chips, concurrency=concurrency, serving=serving, context_tokens=context, input_tokens=input_tokens,
        output_tokens=output_tokens, prefill_chips=prefill_chips, mtp_layers=mtp, engine=a.engine,
        kv_cache_precision=a.kv_cache_precision, assumptions=a,
    )


@dataclass(frozen=True)
class Demand:
    """What a fleet of ``accelerator`` must deliver: ``per_user_tokens_per_s`` to every user and
    ``total_output_tokens_per_s`` in all, for requests of ``input_tokens`` in and ``output_tokens`` out.

    ``precision`` may be ``best`` (``size`` tries each candidate). ``context_tokens`` None decodes at the mean
    context input + output / 2; ``mtp_layers`` None tries none and the engine's recipe depth; ``topology``
    ``shipped`` keeps each replica within what the chip's system ships, ``assumed`` allows any size;
    ``max_time_to_first_token_s`` None sets no latency target."""

    model: str
    accelerator: str
    precision: str
    per_user_tokens_per_s: float
    total_output_tokens_per_s: float
    input_tokens: int
    output_tokens: int
    context_tokens: int | None = None
    mtp_layers: int | None = None
    engine: str | None = None
    kv_cache_precision: str | None = None
    assumptions: Assumptions | None = None
    topology: str = SHIPPED
    max_time_to_first_token_s: float | None = None

    def model_record(self, catalog: Catalog) -> Model:
        return catalog.models[self.model]

    def chip_record(self, catalog: Catalog) -> Accelerator:
        return catalog.accelerators[self.accelerator]

    @property
    def decode_context_tokens(self) -> float:
        """The mean context a sequence decodes at: ``context_tokens`` when given, else input + output / 2 (a mean
        over the request's life, fractional with an odd output)."""
        if self.context_tokens is not None:
            return self.context_tokens
        return self.input_tokens + self.output_tokens / 2


def check_demand(catalog: Catalog, demand: Demand, *, precision_checked: bool = True) -> Demand:
    """``demand`` with every field checked and every default resolved, but the precision, which ``best`` leaves to
    ``size`` when ``precision_checked`` is False. A context left None stays None: the mean a sequence decodes at is
    :attr:`Demand.decode_context_tokens`."""
    d = demand
    if not isinstance(d, Demand):
        raise ScenarioError(f"expected a Demand (got {type(d).__name__})")
    check_topology(d.topology)
    m = check_model(catalog, d.model)
    chip = check_accelerator(catalog, d.accelerator)
    if precision_checked:
        check_precision(catalog, chip, d.precision)
    a = resolve_engine_assumptions(catalog, d.accelerator, d.engine, d.assumptions, d.kv_cache_precision)
    per_user = finite_positive("per_user_tokens_per_s", d.per_user_tokens_per_s)
    total = finite_positive("total_output_tokens_per_s", d.total_output_tokens_per_s)
    input_tokens = finite_positive("input_tokens", d.input_tokens, integer=True)
    output_tokens = finite_positive("output_tokens", d.output_tokens, integer=True)
    ttft = d.max_time_to_first_token_s
    if ttft is not None:
        ttft = finite_positive("max_time_to_first_token_s", ttft)
    context = None if d.context_tokens is None else finite_positive("context_tokens", d.context_tokens, integer=True)
    mtp = None if d.mtp_layers is None else check_mtp_layers(m, a, d.mtp_layers)
    return dataclasses.replace(
        d, per_user_tokens_per_s=per_user, total_output_tokens_per_s=total, input_tokens=input_tokens,
        output_tokens=output_tokens, context_tokens=context, mtp_layers=mtp, engine=a.engine,
        kv_cache_precision=a.kv_cache_precision, assumptions=a, max_time_to_first_token_s=ttft,
    )
