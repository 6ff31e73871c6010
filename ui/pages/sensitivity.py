"""Sensitivity: a tornado of how the headline answer (racks, $ per million tokens, ...) for the focus chip moves when
each assumption moves across its plausible range (``assumption_ranges``), each end sized by ``fleet.size``."""

from __future__ import annotations

import streamlit as st

from ui import analysis, charts, comparison, export, results, state, tables
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import run_page
from ui.scenario import Context

_FORMATTERS = {
    "racks": fmt.racks,
    "usd_per_million_output_tokens": fmt.usd_per_million_tokens,
    "chips": fmt.chips,
    "facility_power_kw": fmt.power_kw,
    "joules_per_output_token": fmt.joules_per_token,
}
HEADLINES = {key: (label, _FORMATTERS[key]) for key, label in analysis.SENSITIVITY_METRICS.items()}
LABELS = fmt.ASSUMPTION_LABELS
label_for = fmt.assumption_label


def _inputs(ctx: Context, files, t, chip: str, precision: str, metric: str) -> list[analysis.TornadoInput]:
    """Each assumption at its catalog low and high end, sized by the calculator."""
    rng = results.ranges(files, chip, ctx.scenario.engine_for(chip))
    out: list[analysis.TornadoInput] = []
    for r in rng if isinstance(rng, list) else []:
        if r.low == r.high:
            continue
        out.append(analysis.TornadoInput(
            label_for(r.name), r.unit, r.value, r.low, r.high,
            results.sizing(files, t, chip, precision, ((r.name, r.low),)),
            results.sizing(files, t, chip, precision, ((r.name, r.high),)), r.source))
    serving = ctx.catalog.serving
    model = ctx.catalog.models.get(t.model)
    if serving is not None and model is not None and model.mtp is not None:
        low = tuple(p.low if p.low is not None else p.value for p in serving.mtp_acceptance)
        high = tuple(p.high if p.high is not None else p.value for p in serving.mtp_acceptance)
        value = tuple(p.value for p in serving.mtp_acceptance)
        out.append(analysis.TornadoInput(
            LABELS["mtp_acceptance"], "per draft token", ", ".join(f"{v:g}" for v in value),
            ", ".join(f"{v:g}" for v in low), ", ".join(f"{v:g}" for v in high),
            results.sizing(files, t, chip, precision, (("mtp_acceptance", low),)),
            results.sizing(files, t, chip, precision, (("mtp_acceptance", high),)),
            serving.mtp_acceptance[0].source))
    others = [p for p in ctx.catalog.accelerators[chip].precisions if p in ctx.catalog.precisions]
    if len(others) > 1:
        sized = {p: results.sizing(files, t, chip, p) for p in others}
        scored = sorted(((v, p) for p in others
                         if (v := _value(sized[p], metric)) is not None), key=lambda x: x[0])
        if len(scored) >= 2:
            lo_p, hi_p = scored[0][1], scored[-1][1]
            out.append(analysis.TornadoInput(LABELS["precision"], "", precision, lo_p, hi_p, sized[lo_p],
                                             sized[hi_p], None))
    return out


def _value(result, metric: str) -> float | None:
    ok = getattr(result, "feasible", False)
    value = getattr(result, metric, None) if ok else None
    return None if value is None else float(value)


def body(ctx: Context) -> None:
    """The sensitivity page."""
    s = ctx.scenario
    st.title("Sensitivity")
    st.write("Which assumptions the answer really depends on. Each bar moves one assumption to the low or high end of "
             "its plausible range (from the catalog, with its source) and sizes the deployment again; the widest "
             "bars are the assumptions worth checking first.")
    chip = s.accelerator
    if not s.model or not s.precision or not chip or chip not in ctx.catalog.accelerators:
        st.info("Pick a model, a precision and a focus chip in the sidebar.", icon=":material/info:")
        return
    metric = st.segmented_control("Headline answer", list(HEADLINES), format_func=lambda m: HEADLINES[m][0],
                                  default="racks", key="sensitivity_metric", bind="query-params",
                                  help="The result whose movement the tornado shows.") or "racks"
    label, formatter = HEADLINES[metric]
    files = state.files_for(ctx.layer)
    t = results.targets(s)
    name = ctx.catalog.accelerators[chip].name
    baseline = results.sizing(files, t, chip, s.precision)
    if isinstance(baseline, results.Unavailable):
        st.error(f"{escape_markdown(name)} cannot be sized at {escape_markdown(s.precision)}: "
                 f"{escape_markdown(baseline.reason)}. Pick another precision or focus chip in the sidebar.",
                 icon=":material/error:")
        return
    if not baseline.feasible:
        st.info(f"{escape_markdown(name)} cannot meet the targets: {escape_markdown(baseline.reason)}. Lower the "
                 "per-user speed or pick another focus chip in the sidebar.", icon=":material/block:")
        return
    if getattr(baseline, metric) is None:
        st.info(f"The catalog has no price for {escape_markdown(name)}, so there is no {label.lower()} to move. Pick "
                "another headline or a priced chip.", icon=":material/info:")
        return
    money = metric == "usd_per_million_output_tokens"
    shown = comparison.cost_label(label, baseline.cost_kind) if money else label
    st.metric(f"{shown}: {escape_markdown(name)} at the defaults", formatter(getattr(baseline, metric)), border=True,
              help=f"{baseline.reason}." + (f" Based on: {baseline.cost_basis}." if money else ""))
    with st.spinner("Sizing each assumption at its low and high end…"):
        # a 'best' scenario moves each assumption at the precision best chose (the precision row compares them all)
        table = analysis.tornado_frame(baseline, _inputs(ctx, files, t, chip, baseline.precision, metric), metric)
    moving = table[table["moves_answer"]].reset_index(drop=True)
    still = [str(a) for a in table.loc[~table["moves_answer"], "assumption"]]
    fig = charts.tornado_figure(moving, axis_title=label)
    st.plotly_chart(fig, key="tornado_chart", width="stretch")
    finite = moving[moving["infeasible_ends"] == 0]
    top = finite.iloc[0] if not finite.empty and finite["swing"].iloc[0] > 0 else None
    worst = moving[moving["infeasible_ends"] > 0]
    lead = ("" if top is None else f"Of the ends that still meet the targets, the answer moves most with "
            f"**{escape_markdown(top['assumption'])}**: from {formatter(top['at_low'])} at its "
            f"low end to {formatter(top['at_high'])} at its high end. ")
    if not worst.empty:
        lead = (f"At one end of **{escape_markdown(', '.join(worst['assumption']))}** the chip can no longer meet "
                "the targets at all (grey hatched bars to the edge, marked infeasible; the table says why). " + lead)
    if still:
        lead += (f"Left out because neither end changes the answer: {escape_markdown(', '.join(still))}. ")
    st.caption(f"The vertical line is the answer with every assumption at its default "
               f"({formatter(getattr(baseline, metric))}). Blue bars: the assumption at the low end of its range; "
               "orange: at the high end; a missing bar means that end gives the same answer (or no price). " + lead +
               "Racks move in whole steps, so small changes can show no bar at all.")
    # value/low/high mix numbers and names (precision, MTP lists): shown as text, exported as they are
    st.dataframe(fmt.table(moving.drop(columns=["metric"], errors="ignore"),
                           formats={c: formatter for c in ("baseline", "at_low", "at_high")},
                           reasons={"at_low": "infeasible or unpriced", "at_high": "infeasible or unpriced",
                                    "change_at_low": "no answer", "change_at_high": "no answer",
                                    "source": "assumption", "note_at_low": "", "note_at_high": ""}),
                 hide_index=True, width="stretch", key="tornado_table", height=tables.full_height(len(moving)))
    ids = export.sources_used(ctx.catalog, accelerators=[chip], models=[s.model])
    st.download_button("Download the tornado table (CSV)",
                       data=export.to_csv(table, title=f"sensitivity of {metric} for {chip}",
                                          scenario=ctx.csv_scenario(), catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-sensitivity.csv", mime="text/csv", on_click="ignore",
                       key="dl_sensitivity", icon=":material/download:")


run_page(body)
