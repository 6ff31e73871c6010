"""Validation: the model's prediction for every published measurement in the catalog's ``validation`` table.

Each point says whether it **calibrates** an assumption (its error is small by construction; it is shown, not
counted as evidence) or **tests** the model. ``error_fraction`` = predicted / measured - 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from calculators.assumptions import resolve_assumptions
from calculators.decode import evaluate_decode, predict
from calculators.layout import candidate_layouts
from calculators.records import Catalog, ValidationPoint


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

    def to_dict(self) -> dict:
        return asdict(self)


def _predicted(catalog: Catalog, point: ValidationPoint) -> tuple[float, str]:
    a = resolve_assumptions(catalog, point.accelerator, engine=point.engine)
    chip = catalog.accelerators[point.accelerator]
    if point.saturated:
        # the best fitting throughput over layouts and power-of-two batches up to the stated concurrency
        model = catalog.models[point.model]
        system = catalog.systems[chip.system]
        layouts = candidate_layouts(model, point.chips, int(system.scale_up_domain_chips.value))
        batches = [2**i for i in range(int(np.log2(point.concurrency)) + 1)]
        lay_i, conc = (x.ravel() for x in np.meshgrid(np.arange(len(layouts)), batches, indexing="ij"))
        out = evaluate_decode(
            catalog, model, chip, point.precision, a,
            chips=point.chips,
            attention_tp=np.array([lay.attention_tp for lay in layouts])[lay_i],
            moe_ep=np.array([lay.moe_ep for lay in layouts])[lay_i],
            concurrency=conc, context_tokens=point.context_tokens, mtp_layers=point.mtp_layers,
        )
        per_chip = np.where(out["fits_in_memory"], out["output_tokens_per_s_per_chip"], 0.0)
        i = int(np.argmax(per_chip))
        values = {key: float(v[i]) for key, v in out.items() if key != "bound_by" and np.ndim(v)}
        label = f"{layouts[lay_i[i]].label} batch {int(conc[i])}"
        power_w = values["power_w"]
    else:
        p = predict(
            catalog, model=point.model, accelerator=point.accelerator, chips=point.chips,
            precision=point.precision, concurrency=point.concurrency, context_tokens=point.context_tokens,
            mtp_layers=point.mtp_layers, assumptions=a,
        )
        values = p.to_dict()
        label = p.layout
        power_w = p.power_kw * 1e3
    if point.metric == "joules_per_output_token":
        if point.power_scope == "chip":
            power_w = point.chips * chip.tdp_w.value * a.power_utilisation
        return power_w / values["total_output_tokens_per_s"], label
    return values[point.metric], label


def validate(catalog: Catalog) -> list[ValidationResult]:
    """Predicted vs measured for every validation point in the catalog, in catalog order."""
    results = []
    for point in catalog.validation.values():
        predicted, label = _predicted(catalog, point)
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
                within_tolerance=abs(error) <= point.tolerance,
                layout=label,
                source=point.source,
                note=point.note,
            )
        )
    return results


def validation_frame(results: list[ValidationResult]) -> pd.DataFrame:
    """The results as a DataFrame (one row per point) for the app's comparison table."""
    return pd.DataFrame([r.to_dict() for r in results])


def format_table(results: list[ValidationResult]) -> str:
    """A plain-text table: id, use, metric, measured, predicted, error and whether it is within tolerance."""
    lines = [f"{'id':<30} {'use':<9} {'metric':<30} {'measured':>10} {'predicted':>10} {'error':>7} {'tol':>5}  ok"]
    for r in results:
        lines.append(
            f"{r.id:<30} {r.use:<9} {r.metric:<30} {r.measured:>10.4g} {r.predicted:>10.4g} "
            f"{r.error_fraction:>+7.1%} {r.tolerance:>5.0%}  {'yes' if r.within_tolerance else 'MISS'}"
        )
    tests = [r for r in results if r.use == "test"]
    if tests:
        mean_abs = sum(abs(r.error_fraction) for r in tests) / len(tests)
        lines.append(f"test points: {sum(r.within_tolerance for r in tests)}/{len(tests)} within tolerance, "
                     f"mean |error| {mean_abs:.1%}")
    return "\n".join(lines)
