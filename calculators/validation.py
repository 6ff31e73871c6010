"""Validation: the model's prediction for every published measurement in the catalog's ``validation`` table, and
the uncertainty band each chip class earns from it.

Each point says whether it **calibrates** an assumption (its error is small by construction; it is shown, not
counted as evidence) or **tests** the model. ``error_fraction`` = predicted / measured - 1.

Uncertainty: the band every headline output carries is the *out-of-sample* error of its regime and chip class,
from leave-one-source-out validation (:mod:`calculators.crossval`; :func:`chip_uncertainty` is its entry). The
in-sample bands below (:func:`class_uncertainties`: f = exp(RMS of ln(predicted / measured)) - 1 over the test
points of each chip class, a class with fewer than :data:`MIN_TEST_POINTS` falling back to its catalog
``validation_error_fraction``, never below the widest measured class) are kept for ``validate``'s table and for
comparison: they are narrower than the error a user meets, because every engine number was solved on points from
the same sources as the test points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

from calculators.assumptions import default_engine_id, resolve_assumptions
from calculators.burst import evaluate_burst
from calculators.deployment import Deployment, check_deployment
from calculators.layout import candidate_layouts, parse_layout
from calculators.model.step import (
    StepSetup,
    engine_efficiency,
    prefill_collectives_s_per_token,
    prefill_seconds_per_token,
)
from calculators.records import Catalog, ValidationPoint
from calculators.search import batch_grid
from calculators.serving import ServingGrid, best_layout, closed_loop_mean_ttft_s, evaluate_serving

if TYPE_CHECKING:
    import pandas as pd

MIN_TEST_POINTS = 3
"""Fewest test points from which a class's band is measured rather than taken from the catalog."""


@dataclass(frozen=True)
class ValidationResult:
    """One published point against the model."""

    id: str
    use: str
    accelerator: str
    chips: int
    precision: str
    metric: str
    measured: float
    predicted: float
    error_fraction: float
    tolerance: float
    within_tolerance: bool
    layout: str
    source: str
    note: str | None
    miss_reason: str | None = None
    """Why the model misses this point today (the catalog's ``miss_reason``): shown wherever the point is."""

    def to_dict(self) -> dict:
        return asdict(self)


def _predicted(catalog: Catalog, point: ValidationPoint) -> tuple[float, str]:
    a = resolve_assumptions(
        catalog, point.accelerator, engine=point.engine, attention_weight_precision=point.attention_precision,
        kv_cache_precision=point.kv_cache_precision, micro_batch_overlap=point.micro_batch_overlap,
    )
    chip = catalog.accelerators[point.accelerator]
    model = catalog.models[point.model]
    context = point.mean_context_tokens
    if point.metric == "input_tokens_per_s_per_chip":
        # F12: compute-bound prefill of prompts of the point's length; tokens served from the prefix cache are
        # counted in the published rate but are not computed (the computed suffix still attends over them), so the
        # rate including hits is computed / (1 - hit)
        hit = point.cache_hit_rate if point.cache_hit_rate is not None else a.prefill_cache_hit_rate
        prompt = point.input_tokens or context
        efficiency = engine_efficiency(catalog, chip, a)
        # the stated layout's collectives, else one attention-DP + expert-parallel group over the chips
        layout = parse_layout(point.layout, model, point.chips) if point.layout else None
        tp, ep = (layout.attention_tp, layout.moe_ep) if layout else (1, point.chips)
        setup = StepSetup(catalog, model, chip, point.precision, a, efficiency)
        comm = prefill_collectives_s_per_token(setup, attention_tp=tp, moe_ep=ep,
                                               chunk_tokens=a.prefill_chunk_tokens,
                                               ranks=layout.attention_dp if layout else 1, prefill_only=True)
        computed = 1.0 / prefill_seconds_per_token(setup, prompt, chunk_tokens=a.prefill_chunk_tokens,
                                                   ranks=point.chips // tp, collective_s=comm, cached_share=hit,
                                                   packed=True)
        return computed / (1 - hit), f"prefill, cache hit {hit:.0%}"
    workload = dict(
        serving=point.serving, context_tokens=context, input_tokens=point.input_tokens,
        output_tokens=point.output_tokens, prefill_chips=point.prefill_chips, mtp_layers=point.mtp_layers,
    )
    if point.arrival == "burst":
        # every request at once, the rate over the whole run (calculators.burst): the best layout's
        system = catalog.systems[chip.system]
        layouts = ([parse_layout(point.layout, model, point.chips)] if point.layout else
                   candidate_layouts(model, point.chips, int(system.scale_up_domain_chips.value),
                                     kinds=a.layout_kinds))
        distribution = (catalog.datasets[point.length_distribution] if point.length_distribution is not None
                        else None)
        out = evaluate_burst(
            StepSetup(catalog, model, chip, point.precision, a), chips=point.chips,
            attention_tp=np.array([lay.attention_tp for lay in layouts]),
            moe_ep=np.array([lay.moe_ep for lay in layouts]), requests=point.concurrency,
            input_tokens=point.input_tokens, output_tokens=point.output_tokens, distribution=distribution,
            mtp_layers=point.mtp_layers)
        per_chip = np.where(out["fits_in_memory"], out["output_tokens_per_s_per_chip"], 0.0)
        i = int(np.argmax(per_chip))
        running = int(out["running_concurrency"][i])
        return float(per_chip[i]), (f"{layouts[i].label} burst of {point.concurrency}, running {running}, "
                                    f"prefill {out['prefill_s'][i]:.1f} s + full batch {out['full_batch_s'][i]:.1f} s"
                                    f" + drain {out['drain_s'][i]:.1f} s")
    if point.saturated:
        # the best fitting throughput over layouts and power-of-two batches up to the stated concurrency
        system = catalog.systems[chip.system]
        layouts = ([parse_layout(point.layout, model, point.chips)] if point.layout else
                   candidate_layouts(model, point.chips, int(system.scale_up_domain_chips.value),
                                     kinds=a.layout_kinds))
        batches = list(batch_grid(point.concurrency))
        lay_i, conc = (x.ravel() for x in np.meshgrid(np.arange(len(layouts)), batches, indexing="ij"))
        serving = workload.pop("serving")
        setup = StepSetup(catalog, model, chip, point.precision, a)
        out = evaluate_serving(setup, serving=serving, grid=ServingGrid(
            chips=point.chips,
            attention_tp=np.array([lay.attention_tp for lay in layouts])[lay_i],
            moe_ep=np.array([lay.moe_ep for lay in layouts])[lay_i],
            concurrency=conc, **workload,
        ))
        per_chip = np.where(out["fits_in_memory"] | out["concurrency_capped"], out["output_tokens_per_s_per_chip"], 0.0)
        i = int(np.argmax(per_chip))
        values = {key: float(np.broadcast_to(v, per_chip.shape)[i]) for key, v in out.items()
                  if key != "bound_by" and np.ndim(v)}
        label = f"{layouts[lay_i[i]].label} batch {int(values['running_concurrency'])}"
        power_w = values["power_w"]
    else:
        deployment = check_deployment(catalog, Deployment(
            model=point.model, accelerator=point.accelerator, precision=point.precision, chips=point.chips,
            concurrency=point.concurrency, layout=point.layout or "auto", assumptions=a, **workload))
        lay, values = best_layout(catalog, deployment, cap_at_peak=False)
        label = lay.label + (f" running {int(values['running_concurrency'])}" if values["concurrency_capped"] else "")
        power_w = float(values["power_w"])
    if point.metric == "joules_per_output_token":
        if point.power_scope == "chip":
            power_w = point.chips * chip.tdp_w.value * a.power_utilisation
        return power_w / values["total_output_tokens_per_s"], label
    if point.metric == "time_to_first_token_s" and point.prompts and "prompt_prefill_s" in values:
        # a closed-loop run's mean includes its first burst of ``concurrency`` prompts sent at once
        return float(closed_loop_mean_ttft_s(values["time_to_first_token_s"], values["prompt_prefill_s"],
                                             point.concurrency, lay.attention_dp, point.prompts)), label
    if point.metric == "time_per_output_token_ms":
        return float(values["time_per_output_token_s"]) * 1e3, label
    if point.metric == "request_output_tokens_per_s":
        # a closed loop of C clients: each request's output over its latency = total output rate / C
        return float(values["total_output_tokens_per_s"]) / float(values["running_concurrency"] if point.saturated
                                                                   else point.concurrency), label
    return float(values[point.metric]), label


def validate(catalog: Catalog) -> list[ValidationResult]:
    """Predicted vs measured for every validation point in the catalog, in catalog order."""
    results = []
    for point in catalog.validation.values():
        predicted, label = _predicted(catalog, point)
        predicted = float(predicted)  # plain floats and bools: the results go to JSON
        error = predicted / point.measured - 1
        results.append(
            ValidationResult(
                id=point.id,
                use=point.use,
                accelerator=point.accelerator,
                chips=point.chips,
                precision=point.precision,
                metric=point.metric,
                measured=point.measured,
                predicted=predicted,
                error_fraction=error,
                tolerance=point.tolerance,
                within_tolerance=bool(abs(error) <= point.tolerance),
                layout=label,
                source=point.source,
                note=point.note,
                miss_reason=point.miss_reason,
            )
        )
    return results


def validation_frame(results: list[ValidationResult]) -> pd.DataFrame:
    """The results as a DataFrame (one row per point) for the app's comparison table."""
    import pandas as pd

    return pd.DataFrame([r.to_dict() for r in results])


@dataclass(frozen=True)
class ClassUncertainty:
    """The band factor of one chip class and what it rests on."""

    chip_class: str
    fraction: float
    basis: str  # "measured": from the class's test points; "catalog": the fallback
    test_points: int
    rms_log_error: float | None  # RMS of ln(predicted / measured) over the test points
    max_abs_error: float | None  # largest |predicted / measured - 1|

    def to_dict(self) -> dict:
        return asdict(self)


def measured_band_fraction(error_fractions) -> float:
    """f = exp(sqrt(mean(ln(1 + e)^2))) - 1 for errors e = predicted / measured - 1.

    +50% and -33% are the same distance in log space (ln 1.5 = -ln 0.667 = 0.405), so both give f = 0.5."""
    logs = np.log1p(np.asarray(error_fractions, dtype=float))
    return float(math.expm1(math.sqrt(float(np.mean(logs**2)))))


def uncertainty_from_results(catalog: Catalog, results: list[ValidationResult]) -> dict[str, ClassUncertainty]:
    """Every catalog chip class's band from validation ``results`` (see the module docstring for the rule)."""
    by_class: dict[str, list[float]] = {c: [] for c in catalog.chip_classes}
    for r in results:
        chip = catalog.accelerators.get(r.accelerator)
        if r.use == "test" and chip is not None and chip.chip_class in by_class:
            by_class[chip.chip_class].append(r.error_fraction)
    measured = {
        c: ClassUncertainty(
            chip_class=c,
            fraction=measured_band_fraction(errors),
            basis="measured",
            test_points=len(errors),
            rms_log_error=math.log1p(measured_band_fraction(errors)),
            max_abs_error=max(abs(e) for e in errors),
        )
        for c, errors in by_class.items()
        if len(errors) >= MIN_TEST_POINTS
    }
    widest = max((u.fraction for u in measured.values()), default=0.0)
    out = {}
    for c, errors in by_class.items():
        out[c] = measured.get(c) or ClassUncertainty(
            chip_class=c,
            fraction=max(catalog.chip_classes[c].validation_error_fraction.value, widest),
            basis="catalog",
            test_points=len(errors),
            rms_log_error=None,
            max_abs_error=max((abs(e) for e in errors), default=None),
        )
    return out


@dataclass(frozen=True)
class EngineEvidence:
    """What the published record says about one serving engine: the points that set its numbers and test it."""

    engine: str
    name: str
    accelerators: tuple[str, ...]  # chips that run it by default
    calibrate_points: tuple[str, ...]
    test_points: tuple[str, ...]
    median_abs_error: float | None  # over its test points
    statement: str
    prefill_scheduling: str = "decode-first"  # how it orders waiting prompts against decodes (calculators.serving)

    def to_dict(self) -> dict:
        return asdict(self)


def point_engine(catalog: Catalog, point: ValidationPoint) -> str:
    """The engine a validation point was measured on (named on it, else the chip's default engine)."""
    return point.engine or default_engine_id(catalog, catalog.accelerators[point.accelerator])


def engine_evidence(catalog: Catalog, results: list[ValidationResult]) -> list[EngineEvidence]:
    """One row per catalog engine: its calibrate and test points and their median error, and a sentence a reader
    can take at face value, including "no published measurement" where there is none (its band is then the widest
    measured one, see :func:`chip_uncertainty`)."""
    defaults = {e: [] for e in catalog.engines}
    for chip in catalog.accelerators.values():
        if chip.chip_class in catalog.chip_classes and default_engine_id(catalog, chip) in defaults:
            defaults[default_engine_id(catalog, chip)].append(chip.id)
    by_engine: dict[str, list[ValidationResult]] = {e: [] for e in catalog.engines}
    for r in results:
        point = catalog.validation.get(r.id)
        if point is not None and point_engine(catalog, point) in by_engine:
            by_engine[point_engine(catalog, point)].append(r)
    rows = []
    for eid, engine in catalog.engines.items():
        cal = tuple(r.id for r in by_engine[eid] if r.use == "calibrate")
        test = [r for r in by_engine[eid] if r.use == "test"]
        median = float(np.median([abs(r.error_fraction) for r in test])) if test else None
        if test:
            statement = (f"{len(test)} test point(s), median |error| {median:.0%}; "
                         f"{len(cal)} calibrate point(s) set its numbers")
        elif cal:
            statement = (f"calibrated on {len(cal)} published point(s) but tested on none: its speeds carry the "
                         "widest measured band")
        else:
            statement = "no published measurement of this engine: its numbers are assumptions and its speeds carry " \
                        "the widest measured band"
        scheduling = engine.prefill_scheduling.value if engine.prefill_scheduling is not None else "decode-first"
        rows.append(EngineEvidence(eid, engine.name, tuple(defaults[eid]), cal, tuple(r.id for r in test), median,
                                   statement, scheduling))
    return rows


def validate_cached(catalog: Catalog) -> list[ValidationResult]:
    """:func:`validate` computed once per catalog (kept in ``catalog.memo``)."""
    return catalog.memo.get("validation", None, lambda: validate(catalog))


def class_uncertainties(catalog: Catalog) -> dict[str, ClassUncertainty]:
    """:func:`uncertainty_from_results` of :func:`validate` for this catalog, computed once per catalog (~30 ms,
    kept in ``catalog.memo``)."""
    return catalog.memo.get("class-uncertainties", None,
                            lambda: uncertainty_from_results(catalog, validate_cached(catalog)))


def engine_evidence_by_id(catalog: Catalog) -> dict[str, EngineEvidence]:
    """:func:`engine_evidence` of :func:`validate` for this catalog, by engine id, computed once per catalog (kept in
    ``catalog.memo``)."""
    return catalog.memo.get("engine-evidence", None,
                            lambda: {e.engine: e for e in engine_evidence(catalog, validate_cached(catalog))})


def chip_uncertainty(catalog: Catalog, chip, concurrency: int | None = None, mtp_layers: int = 0) -> float:
    """The band factor f of a headline output for ``chip`` in the regime of a scenario at ``concurrency`` (with
    ``mtp_layers``): the cross-validated error of that regime and chip class (:func:`calculators.crossval.
    scenario_band`, which states its basis); with no concurrency, the widest of the class's speed regimes."""
    from calculators.crossval import scenario_band

    return scenario_band(catalog, chip, concurrency, mtp_layers).fraction


def format_table(results: list[ValidationResult]) -> str:
    """A plain-text table: id, use, metric, measured, predicted, error and whether it is within tolerance."""
    lines = [f"{'id':<30} {'use':<9} {'metric':<30} {'measured':>10} {'predicted':>10} {'error':>7} {'tol':>5}  ok"]
    for r in results:
        lines.append(
            f"{r.id:<30} {r.use:<9} {r.metric:<30} {r.measured:>10.4g} {r.predicted:>10.4g} "
            f"{r.error_fraction:>+7.1%} {r.tolerance:>5.0%}  {'yes' if r.within_tolerance else 'MISS'}"
            + (f"  (known: {r.miss_reason})" if r.miss_reason and not r.within_tolerance else "")
        )
    tests = [r for r in results if r.use == "test"]
    if tests:
        errors = sorted(abs(r.error_fraction) for r in tests)
        mean_abs = sum(errors) / len(errors)
        median = (errors[len(errors) // 2] + errors[(len(errors) - 1) // 2]) / 2
        lines.append(f"test points: {sum(r.within_tolerance for r in tests)}/{len(tests)} within tolerance, "
                     f"median |error| {median:.1%}, mean |error| {mean_abs:.1%}")
    return "\n".join(lines)


def format_bands(bands: dict[str, ClassUncertainty]) -> str:
    """One line per chip class: its band factor, whether measured or the catalog fallback, and on how many points."""
    lines = ["uncertainty band per chip class (value / (1 + f) .. value x (1 + f)):"]
    for u in bands.values():
        basis = (f"measured on {u.test_points} test points, max |error| {u.max_abs_error:.0%}" if u.basis == "measured"
                 else f"catalog fallback ({u.test_points} test points)")
        lines.append(f"  {u.chip_class:<10} f = {u.fraction:.2f}  {basis}")
    return "\n".join(lines)
