"""Page logic over calculator results: ranking, frontiers, rack maxima and the tornado table (no Streamlit).

Only selections, orderings and differences of numbers the calculators returned; no formula of the model.
Column names are the CLI's JSON keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calculators.fleet import Sizing
from calculators.model.step import STEP_OPS

FRONTIER_METRICS = {
    "output_tokens_per_s_per_chip": "Output tok/s per chip",
    "output_tokens_per_s_per_rack": "Output tok/s per rack",
    "output_tokens_per_s_per_mw": "Output tok/s per MW (IT power)",
}
SENSITIVITY_METRICS = {
    "racks": "Racks",
    "usd_per_million_output_tokens": "$ per million output tokens",
    "chips": "Chips",
    "facility_power_kw": "Facility power (kW)",
    "joules_per_output_token": "Joules per output token",
}
COMPARISON_COLUMNS = [
    "rank", "accelerator", "name", "feasible", "reason", "precision", "engine", "racks", "rack_limited_by",
    "racks_by_space", "racks_by_power", "chips", "chips_low", "chips_high", "decode_chips", "prefill_chips",
    "nodes", "replicas", "replica_chips", "layout", "concurrency_per_replica", "mtp_layers", "bound_by",
    "per_user_tokens_per_s", "per_user_tokens_per_s_low", "per_user_tokens_per_s_high",
    "total_output_tokens_per_s", "it_power_kw", "it_power_kw_low", "it_power_kw_high", "facility_power_kw",
    "energy_per_day_kwh", "joules_per_output_token", "joules_per_output_token_low", "joules_per_output_token_high",
    "capex_usd", "usd_per_million_output_tokens", "usd_per_million_output_tokens_low",
    "usd_per_million_output_tokens_high", "usd_per_million_output_tokens_owned",
    "usd_per_million_output_tokens_rental", "time_to_first_token_s", "max_time_to_first_token_s",
    "prefill_instance_chips", "uncertainty_fraction",
    "precision_requested", "precision_choice", "replica_shape", "replica_shape_note", "cost_basis", "cost_kind",
]
STEP_COLUMNS = [f"step_{op}_ms" for op in STEP_OPS]
COMPARISON_COLUMNS += STEP_COLUMNS  # where the chosen replica's step time goes (the CSV carries it)
TEXT_COLUMNS = ("accelerator", "name", "reason", "precision", "engine", "rack_limited_by", "layout", "bound_by",
                "precision_requested", "precision_choice", "replica_shape", "replica_shape_note", "cost_basis",
                "cost_kind")


def comparison_frame(results: Mapping[str, object], names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per chip, ranked: feasible chips by racks, then $ per million tokens, then chips; the infeasible
    ones (a Sizing with ``feasible=False`` or an unavailable result with a ``reason``) last, with their reason."""
    rows = []
    for chip, result in results.items():
        if isinstance(result, Sizing):
            row = result.to_dict()
            row.update({f"step_{op}_ms": ms for op, ms in row.pop("step_breakdown_ms", {}).items()})
        else:
            row = {"accelerator": chip, "feasible": False, "reason": getattr(result, "reason", str(result))}
        row["name"] = (names or {}).get(chip, chip)
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=COMPARISON_COLUMNS[1:])
    if frame.empty:
        return frame.reindex(columns=COMPARISON_COLUMNS)
    feasible = frame["feasible"].fillna(False).astype(bool)
    frame["feasible"] = feasible
    cost = frame["usd_per_million_output_tokens"].astype(float).fillna(np.inf)
    order = np.lexsort((frame["chips"].fillna(np.inf).to_numpy(dtype=float), cost.to_numpy(),
                        frame["racks"].fillna(np.inf).to_numpy(dtype=float), ~feasible.to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "rank", [i + 1 if ok else None for i, ok in enumerate(frame["feasible"])])
    frame["rank"] = frame["rank"].astype("Int64")
    for column in frame.columns:
        if column not in (*TEXT_COLUMNS, "feasible", "rank"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    # an infeasible Sizing carries zeros for what it could not size: show them as missing, not as 0 racks
    sized = [c for c in COMPARISON_COLUMNS if c not in ("rank", "accelerator", "name", "feasible", "reason",
                                                        "precision", "engine", "bound_by", "layout",
                                                        "precision_requested", "precision_choice", "replica_shape",
                                                        "replica_shape_note", "cost_basis", "cost_kind")]
    frame.loc[~frame["feasible"], [c for c in sized if c in frame]] = None
    return frame


def pareto_frontier(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per chip, the configurations that fit in memory and that no other is better than on both per-user speed and
    ``metric`` (the upper-right edge of the cloud), sorted by per-user speed."""
    if frame.empty:
        return frame
    fits = frame[frame["fits_in_memory"].astype(bool)]
    parts = []
    for _, group in fits.groupby("accelerator", sort=False):
        ordered = group.sort_values(["per_user_tokens_per_s", metric], ascending=[False, False])
        faster_best = ordered[metric].cummax().shift(fill_value=-np.inf)
        keep = ordered[metric] > faster_best
        parts.append(ordered[keep].sort_values("per_user_tokens_per_s"))
    if not parts:
        return fits.iloc[0:0]
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class RackGoal:
    """What a chip's racks reach against a per-user target and a per-rack goal (claim d)."""

    best_at_target: float | None
    batch_at_target: int | None
    chips_at_target: int | None
    max_any: float | None
    per_user_at_goal: float | None
    batch_at_goal: int | None


def rack_goal(frame: pd.DataFrame, accelerator: str, per_user: float, goal: float) -> RackGoal:
    """From a sweep: the most output per rack at ``per_user`` or faster, the most at any speed, and the fastest
    per-user speed among configurations that reach ``goal`` per rack (fitting configurations only)."""
    rows = frame[(frame["accelerator"] == accelerator) & frame["fits_in_memory"].astype(bool)] \
        if not frame.empty else frame
    if rows.empty:
        return RackGoal(None, None, None, None, None, None)
    metric = "output_tokens_per_s_per_rack"
    at = rows[rows["per_user_tokens_per_s"] >= per_user]
    best = at.loc[at[metric].idxmax()] if not at.empty else None
    reach = rows[rows[metric] >= goal]
    fastest = reach.loc[reach["per_user_tokens_per_s"].idxmax()] if not reach.empty else None
    return RackGoal(
        best_at_target=None if best is None else float(best[metric]),
        batch_at_target=None if best is None else int(best["concurrency"]),
        chips_at_target=None if best is None else int(best["chips"]),
        max_any=float(rows[metric].max()),
        per_user_at_goal=None if fastest is None else float(fastest["per_user_tokens_per_s"]),
        batch_at_goal=None if fastest is None else int(fastest["concurrency"]),
    )


def measured_points(validation: pd.DataFrame, catalog_points: Mapping[str, object],
                    accelerators: Iterable[str]) -> pd.DataFrame:
    """Published measurements placed on the per-chip frontier: per-user speed and output tok/s per chip.

    A point that publishes both (same source, chips and concurrency, e.g. DeepSeek's production pair) is one
    marker. A per-user point without a throughput gets the throughput its own numbers imply (measured per-user
    speed x the concurrency it ran / its chips); a throughput point without a per-user speed has ``None`` there.
    Energy points are left out (they are neither axis).
    """
    wanted = set(accelerators)
    rows: dict[tuple, dict] = {}
    for r in validation.itertuples(index=False):
        point = catalog_points.get(r.id)
        if r.accelerator not in wanted or point is None:
            continue
        if r.metric not in ("per_user_tokens_per_s", "output_tokens_per_s_per_chip"):
            continue
        key = (point.source, r.accelerator, point.chips, point.concurrency, point.precision)
        row = rows.setdefault(key, {"accelerator": r.accelerator, "precision": point.precision,
                                    "chips": point.chips, "concurrency": point.concurrency,
                                    "engine": point.engine, "source": point.source, "ids": [],
                                    "per_user_tokens_per_s": None, "output_tokens_per_s_per_chip": None,
                                    "derived": False})
        row["ids"].append(r.id)
        row[r.metric] = float(r.measured)
    out = []
    for row in rows.values():
        if row["output_tokens_per_s_per_chip"] is None and row["per_user_tokens_per_s"] is not None:
            row["output_tokens_per_s_per_chip"] = row["per_user_tokens_per_s"] * row["concurrency"] / row["chips"]
            row["derived"] = True
        row["id"] = " + ".join(row.pop("ids"))
        out.append(row)
    columns = ["id", "accelerator", "precision", "chips", "concurrency", "engine", "source",
               "per_user_tokens_per_s", "output_tokens_per_s_per_chip", "derived"]
    return pd.DataFrame(out, columns=columns)


TORNADO_COLUMNS = ["assumption", "unit", "value", "low", "high", "metric", "baseline", "at_low", "at_high",
                   "change_at_low", "change_at_high", "swing", "infeasible_ends", "moves_answer", "note_at_low",
                   "note_at_high", "source"]


@dataclass(frozen=True)
class TornadoInput:
    """One assumption moved to its low and high ends, with the sizings the calculator returned at each."""

    assumption: str
    unit: str
    value: object
    low: object
    high: object
    at_low: object
    at_high: object
    source: str | None = None


def _metric_of(result: object, metric: str) -> tuple[float | None, str]:
    if not isinstance(result, Sizing):
        return None, getattr(result, "reason", "not available")
    if not result.feasible:
        return None, "infeasible: " + result.reason
    value = getattr(result, metric)
    return (None, "not priced in the catalog") if value is None else (float(value), "")


def tornado_frame(baseline: Sizing, inputs: Iterable[TornadoInput], metric: str) -> pd.DataFrame:
    """The tornado table: the headline ``metric`` at each assumption's low and high end, the change from the
    baseline and the swing (|high - low|). An end that is infeasible or unpriced keeps its note and counts as no
    change in the swing; ``infeasible_ends`` counts the ends where the chip can no longer meet the targets, and
    ``moves_answer`` is False when neither end changes the answer at all. Sorted with infeasible ends first (the
    worst case), then widest swing first."""
    base, _ = _metric_of(baseline, metric)
    rows = []
    for t in inputs:
        lo, lo_note = _metric_of(t.at_low, metric)
        hi, hi_note = _metric_of(t.at_high, metric)
        d_lo = None if lo is None or base is None else lo - base
        d_hi = None if hi is None or base is None else hi - base
        swing = abs((d_hi or 0.0) - (d_lo or 0.0))
        infeasible = sum(note.startswith("infeasible") for note in (lo_note, hi_note))
        moves = bool(infeasible) or any(d is not None and d != 0 for d in (d_lo, d_hi))
        rows.append({"assumption": t.assumption, "unit": t.unit, "value": t.value, "low": t.low, "high": t.high,
                     "metric": metric, "baseline": base, "at_low": lo, "at_high": hi, "change_at_low": d_lo,
                     "change_at_high": d_hi, "swing": swing, "infeasible_ends": infeasible,
                     "moves_answer": moves, "note_at_low": lo_note, "note_at_high": hi_note,
                     "source": t.source})
    frame = pd.DataFrame(rows, columns=TORNADO_COLUMNS)
    return frame.sort_values(["infeasible_ends", "swing"], ascending=False, kind="stable").reset_index(drop=True)


def cost_frontier(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per chip, the fitting configurations that no other makes both faster per user and cheaper per million
    tokens on ``column`` (the lower-right edge), sorted by per-user speed; configurations without a cost are
    left out."""
    if frame.empty or column not in frame:
        return frame.iloc[0:0]
    priced = frame[frame["fits_in_memory"].astype(bool) & frame[column].notna()]
    parts = []
    for _, group in priced.groupby("accelerator", sort=False):
        ordered = group.sort_values(["per_user_tokens_per_s", column], ascending=[False, True])
        faster_cheapest = ordered[column].cummin().shift(fill_value=np.inf)
        parts.append(ordered[ordered[column] < faster_cheapest].sort_values("per_user_tokens_per_s"))
    return pd.concat(parts, ignore_index=True) if parts else priced.iloc[0:0]


def unmeasured_engine_notes(catalog, accelerators) -> list[str]:
    """One sentence per compared chip whose default serving engine has no published test point: the reader is told
    the chip's speeds rest on assumptions (or on one calibration) and carry the widest measured band."""
    from calculators.assumptions import default_engine_id
    from calculators.validation import chip_uncertainty, engine_evidence_by_id

    evidence = engine_evidence_by_id(catalog)
    notes = []
    for chip_id in accelerators:
        chip = catalog.accelerators.get(chip_id)
        if chip is None or chip.chip_class not in catalog.chip_classes:
            continue
        e = evidence.get(default_engine_id(catalog, chip))
        if e is not None and not e.test_points:
            notes.append(f"{chip.name}: {e.name} — {e.statement} (±{chip_uncertainty(catalog, chip):.0%}).")
    return notes
