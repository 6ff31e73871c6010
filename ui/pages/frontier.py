"""Speed vs throughput frontier: for each chip, per-user tok/s against output tok/s per chip, per rack or per MW as
the batch grows (``calculators.sweep.sweep``, cached), with published measurements from ``validate`` overlaid."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from calculators.precision import BEST
from ui import analysis, charts, export, results, state
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import run_page
from ui.scenario import Context

CAPTIONS = {
    "output_tokens_per_s_per_chip": "per chip",
    "output_tokens_per_s_per_rack": "per rack (chips per rack from each chip's system)",
    "output_tokens_per_s_per_mw": "per megawatt of IT power",
}


def _at(precision: str) -> str:
    """The precision in words: 'best' draws each chip over every format it computes in and the model is served in."""
    return ("each chip's best precision (every format it computes in and the model is served in; the table names "
            "each point's)") if precision == BEST else precision


def body(ctx: Context) -> None:
    """The frontier page."""
    s = ctx.scenario
    st.title("Speed vs throughput")
    st.write("Serving more users at once gets more tokens out of each chip but slows every user down. For each chip "
             "the line is the best trade-off the model finds over replica sizes, layouts, batch sizes and MTP depths "
             "(predicted, the way InferenceMAX-style dashboards plot measurements).")
    if not s.model or not s.precision or not s.accelerators:
        st.info("Pick a model, a precision and at least one chip in the sidebar.", icon=":material/info:")
        return
    metric = st.segmented_control("Throughput measured", list(analysis.FRONTIER_METRICS),
                                  format_func=analysis.FRONTIER_METRICS.get, default="output_tokens_per_s_per_chip",
                                  key="frontier_metric", bind="query-params",
                                  help="Output tokens per second per chip, per rack or per megawatt of IT power.")
    metric = metric or "output_tokens_per_s_per_chip"
    files = state.files_for(ctx.layer)
    t = results.targets(s)
    frame, skipped = results.sweep_frame(files, t, tuple(s.accelerators), s.precision)
    for u in skipped:
        st.warning(f"{escape_markdown(u.accelerator)} is left out: {escape_markdown(u.reason)}",
                   icon=":material/block:")
    frontier = analysis.pareto_frontier(frame, metric)
    if frontier.empty:
        st.info(f"No chip holds {escape_markdown(s.model)} at {escape_markdown(_at(s.precision))} in the replica sizes "
                "swept, so there is no frontier to draw.", icon=":material/info:")
        return
    left_out = {u.accelerator for u in skipped} | set(frontier["accelerator"])
    missing = [c for c in s.accelerators if c not in left_out]
    if missing:
        st.warning(f"No configuration of {escape_markdown(', '.join(missing))} fits {escape_markdown(s.model)} in "
                   "memory in the replica sizes swept.", icon=":material/block:")
    measured = None
    if metric == "output_tokens_per_s_per_chip":
        validation = state.validation_table(files)
        measured = analysis.measured_points(validation, ctx.catalog.validation, s.accelerators) \
            if not validation.empty else None
    names = {c: ctx.catalog.accelerators[c].name for c in s.accelerators if c in ctx.catalog.accelerators}
    colours = charts.chip_colours(s.accelerators)
    if measured is not None:  # hover names each measurement's source by its title
        titles = {sid: src.title for sid, src in ctx.catalog.sources.items()}
        measured = measured.assign(source_title=[titles.get(str(sid), str(sid)) for sid in measured["source"]])
    fig = charts.frontier_figure(frontier, metric, axis_title=analysis.FRONTIER_METRICS[metric], measured=measured,
                                 per_user_target=s.per_user_tokens_per_s, names=names, colours=colours)
    st.plotly_chart(fig, key="frontier_chart", width="stretch")
    overlay = ("Diamonds are published measurements, in their chip's colour (the hover gives the point, its "
               "precision, engine and source; a measurement at another precision or on an older engine is not "
               "expected on the line). Dotted lines are published throughputs whose per-user speed was not "
               "published. "
               if measured is not None and not measured.empty else
               "Published measurements are overlaid on the per-chip view only (they are reported per chip). ")
    st.caption(f"Output tokens per second {CAPTIONS[metric]} (up) against the speed each user sees (right), both "
               f"on log scales, for {escape_markdown(s.model)} at {escape_markdown(_at(s.precision))} and a mean "
               f"context of {s.context_tokens:,} tokens. Points further up and right are better; the dashed line is "
               f"your per-user target ({fmt.tokens_per_s(s.per_user_tokens_per_s)}). " + overlay)
    with st.expander("Frontier points as a table"):
        st.dataframe(frontier, hide_index=True, width="stretch", key="frontier_table")
    ids = export.sources_used(ctx.catalog, accelerators=s.accelerators, models=[s.model])
    st.download_button("Download the frontier (CSV)",
                       data=export.to_csv(frontier, title=f"frontier ({metric})", scenario=ctx.csv_scenario(),
                                          catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-frontier.csv", mime="text/csv", on_click="ignore", key="dl_frontier",
                       icon=":material/download:")
    st.caption(f"The frontier is {len(frontier):,} of the {len(frame):,} configurations swept; the CSV has the "
               "frontier with every column of the sweep.")
    _cost_frontier(ctx, frame, names, colours)


def _cost_frontier(ctx: Context, frame, names: dict[str, str], colours: dict[str, str]) -> None:
    """$ per million output tokens against per-user speed, per chip, owned and rented."""
    s = ctx.scenario
    st.header("What a million tokens cost at each speed")
    frontiers = {column: analysis.cost_frontier(frame, column) for column in charts.COST_COLUMNS}
    if all(f.empty for f in frontiers.values()):
        st.info("The catalog has no price for these chips, so there is no cost to draw.", icon=":material/info:")
        return
    fig = charts.cost_frontier_figure(frontiers, per_user_target=s.per_user_tokens_per_s, names=names,
                                      colours=colours)
    st.plotly_chart(fig, key="cost_frontier_chart", width="stretch")
    unpriced = [names.get(c, c) for c in s.accelerators
                if c in set(frame.get("accelerator", ())) and all(c not in set(f["accelerator"])
                                                                 for f in frontiers.values() if not f.empty)]
    st.caption("Dollars per million output tokens (up; lower is better) against the speed each user sees (right), "
               "both on log scales, for one decode replica at each batch: solid lines own the hardware (the "
               "purchase price amortised over its lifetime, plus electricity at the facility meter), dashed lines "
               "rent it per chip-hour. Each point is the cheapest configuration at that speed or faster. Prefill "
               "chips are not counted here (the Size page counts them). Prices are the catalog's, or yours from "
               "the sidebar's per-chip table."
               + (f" No price for: {escape_markdown(', '.join(unpriced))}." if unpriced else ""))
    table = pd.concat([f.assign(basis=charts.COST_COLUMNS[c][0]) for c, f in frontiers.items() if not f.empty],
                      ignore_index=True)
    ids = export.sources_used(ctx.catalog, accelerators=s.accelerators, models=[s.model])
    st.download_button("Download the cost frontier (CSV)",
                       data=export.to_csv(table, title="cost per million tokens vs per-user speed",
                                          scenario=ctx.csv_scenario(), catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-cost-frontier.csv", mime="text/csv", on_click="ignore",
                       key="dl_cost_frontier", icon=":material/download:")


run_page(body)
