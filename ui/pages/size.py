"""Size a deployment: for each chip, the fleet ``calculators.fleet.size`` returns for the sidebar's targets, ranked,
charted (racks, facility MW, $ per million tokens, J per token) and downloadable as CSV."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from calculators.shapes import SHIPPED, TOPOLOGIES
from ui import analysis, charts, comparison, export, market, report, results, state, tables
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import run_page
from ui.params import TOPOLOGY_LABELS
from ui.scenario import Context

NUMBER = st.column_config.NumberColumn
TABLE_COLUMNS = {
    "rank": NUMBER("Rank", help="1 = fewest racks (then lowest $ per million tokens)."),
    "accelerator": st.column_config.TextColumn("Chip", pinned=True),
    "feasible": st.column_config.CheckboxColumn("Feasible", help="Can this chip meet the targets at all?"),
    "precision": st.column_config.TextColumn("Precision", help="The number format sized. With 'best' in the "
                                             "sidebar, each chip's own choice: the format it computes in and the "
                                             "model is served in that needs the fewest racks, then the lowest cost."),
    "replica_shape": st.column_config.TextColumn("Replica shape", help="shipped: each replica is no larger than "
                                                 "the vendor ships or has shown publicly (SambaRack 16 chips, NVL72 "
                                                 "72, ...). assumed: a larger topology than the vendor ships, or a "
                                                 "system that declares none."),
    "racks": NUMBER("Racks", format="%d"),
    "rack_limited_by": st.column_config.TextColumn("Racks limited by", help="Space (nodes per rack) or the rack "
                                                   "power budget, whichever needs more racks."),
    "chips": NUMBER("Chips", format="%d", help="Decode + prefill chips."),
    "chips_low": NUMBER("Chips (low)", format="%d"),
    "chips_high": NUMBER("Chips (high)", format="%d"),
    "facility_power_kw": NUMBER("Facility power (kW)", format="%.1f", help="IT power x PUE."),
    "it_power_kw": NUMBER("IT power (kW)", format="%.1f"),
    "joules_per_output_token": NUMBER("J per output token", format="%.3g"),
    "usd_per_million_output_tokens": NUMBER("$ per M output tokens", format="$%.3g",
                                            help="Owned (amortised capex + electricity) where the catalog has a "
                                                 "price, else rental."),
    "usd_per_million_output_tokens_owned": NUMBER("$ per M tok, owned", format="$%.3g",
                                                  help="Purchase price amortised over the hardware lifetime plus "
                                                       "electricity at the facility meter."),
    "usd_per_million_output_tokens_rental": NUMBER("$ per M tok, rented", format="$%.3g",
                                                   help="Cloud rental per chip-hour for every chip of the fleet."),
    "cost_basis": st.column_config.TextColumn("Cost based on", help="Which catalog prices the money columns use "
                                              "and their kind: an 'estimate' or 'assumption' is not a list price."),
    "bound_by": st.column_config.TextColumn("Decode bound by", help="What limits a decode step: fixed latency, "
                                            "memory bandwidth, compute, interconnect or capacity."),
    "engine": st.column_config.TextColumn("Engine", help="The serving software sized (the chip's default engine): "
                                          "the search picks only among the layout kinds it runs (the catalog "
                                          "states them per engine, with sources)."),
    "layout": st.column_config.TextColumn("Replica layout", help="The layout sized, one the engine runs: tp8, "
                                          "tp8-ep8, dp8-ep8 (data-parallel attention + expert parallel), pp4-..."),
    "concurrency_per_replica": NUMBER("Batch per replica", format="%d"),
    "per_user_tokens_per_s": NUMBER("Per-user tok/s reached", format="%.1f"),
    "capex_usd": NUMBER("Capex ($)", format="$%.3g"),
    "time_to_first_token_s": NUMBER("Time to first token (s)", format="%.3g",
                                    help="One prompt's prefill on one prefill instance (queueing not included)."),
    "prefill_instance_chips": NUMBER("Prefill instance (chips)", format="%d",
                                     help="Chips of one prefill instance: the fewest that hold the weights, or more "
                                          "when the time-to-first-token target needs them."),
    "reason": st.column_config.TextColumn("Why / how", width="large"),
}
CHARTS = (
    ("racks", "Racks", "Racks", 1.0,
     "How many racks each chip needs for the targets. Bar colour is what limits a decode step; the hover says "
     "whether space or the rack power budget sets the rack count. The calculator gives no band for racks yet."),
    ("facility_power_kw", "Facility power", "Facility power (MW)", 1e-3,
     "Power drawn at the facility meter (IT power x PUE), in megawatts. The band is on the IT power in the table; "
     "the calculator gives none for facility power yet."),
    ("usd_per_million_output_tokens", "$ per million tokens", "$ per million output tokens", 1.0,
     "What a million output tokens cost: amortised purchase price plus electricity where the catalog has a price, "
     "otherwise cloud rental. Error bars are the model's uncertainty band; chips with no price are marked."),
    ("joules_per_output_token", "J per token", "Joules per output token (IT power)", 1.0,
     "Energy per output token at the IT level: lower is more efficient. Error bars are the model's uncertainty "
     "band (a chip class with fewer public measurements has a wider band)."),
)


def _headline(frame: pd.DataFrame) -> None:
    best = frame[frame["feasible"]]
    if best.empty:
        return
    top = best.iloc[0]
    st.subheader(f"Fewest racks: {escape_markdown(str(top['name']))}")
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Racks", fmt.racks(top["racks"]), help=f"Limited by {top['rack_limited_by']}.", border=True)
    c2.metric("Facility power", fmt.power_kw(top["facility_power_kw"]), border=True)
    # units in the labels, short values: a card never truncates its number
    c3.metric(comparison.cost_label("$/M tokens", top["cost_kind"]),
              fmt.usd(top["usd_per_million_output_tokens"]), border=True,
              help=f"Band {fmt.usd_per_million_tokens(top['usd_per_million_output_tokens_low'])} to "
                   f"{fmt.usd_per_million_tokens(top['usd_per_million_output_tokens_high'])}. Based on: "
                   f"{top['cost_basis']} (an estimate or assumption is not a list price).")
    c4.metric("Energy per token (J)", fmt.number(top["joules_per_output_token"]), border=True,
              help=f"Band {fmt.joules_per_token(top['joules_per_output_token_low'])} to "
                   f"{fmt.joules_per_token(top['joules_per_output_token_high'])}.")


def body(ctx: Context) -> None:
    """The sizing page."""
    s = ctx.scenario
    st.title("Size a deployment")
    st.write("Chips, racks, megawatts and dollars for your targets, chip by chip. Change the targets, the chips "
             "and the datacenter assumptions in the sidebar; the link in the sidebar reproduces this page.")
    if not s.model or not s.precision or not s.accelerators:
        st.info("Pick a model, a precision and at least one chip in the sidebar.", icon=":material/info:")
        return
    at = ("each chip's best precision" if s.precision == "best" else escape_markdown(s.precision))
    st.caption(f"{escape_markdown(s.model)} at {at}: "
               f"{fmt.tokens_per_s(s.per_user_tokens_per_s)} per user, {fmt.tokens_per_s(s.total_output_tokens_per_s)}"
               f" in total, {s.input_tokens:,} tokens in / {s.output_tokens:,} out, mean context "
               f"{s.context_tokens:,} tokens.")
    topology = st.segmented_control(
        "Replica shapes", list(TOPOLOGIES), format_func=TOPOLOGY_LABELS.get, default=SHIPPED, key="size_topology",
        bind="query-params",
        help="Shipped: each replica is no larger than the vendor ships or has shown publicly (one SambaRack of 16 "
             "SN40L, one NVL72 rack, DeepSeek's 320-GPU EP unit, Groq's 576-chip pipeline); more throughput means "
             "more replicas. Assumed: any replica size the layouts allow, labelled 'assumed' in the table and CSV.",
    ) or SHIPPED
    files = state.files_for(ctx.layer)
    sized = results.sizings(files, results.targets(s), s.accelerators, s.precision, topology=topology)
    names = {c: ctx.catalog.accelerators[c].name for c in s.accelerators if c in ctx.catalog.accelerators}
    frame = analysis.comparison_frame(sized, names)
    _headline(frame)

    infeasible = frame[~frame["feasible"]]
    if not infeasible.empty:
        lines = "\n".join(f"- **{escape_markdown(names.get(r.accelerator, r.accelerator))}**: "
                          f"{escape_markdown(r.reason)}"
                          for r in infeasible.itertuples())
        st.warning(f"{len(infeasible)} chip(s) cannot meet these targets:\n\n{lines}", icon=":material/block:")

    st.subheader("Ranked comparison")
    shown = [c for c in TABLE_COLUMNS if c in frame]
    # as text through the one formatter: chip names, separators, "— (infeasible)" rather than None
    text = fmt.table(frame[shown], names=names, labels={c: c for c in shown}, raw=("feasible",),
                     formats={c: fmt.usd for c in shown if c.startswith(("usd_", "capex_"))},
                     row_reason=lambda row: None if row.get("feasible", True) else "infeasible")
    config = {c: (v if c == "feasible" else st.column_config.TextColumn(
        v.get("label"), help=v.get("help"), pinned=v.get("pinned"), width=v.get("width")))
        for c, v in TABLE_COLUMNS.items()}
    st.dataframe(text, hide_index=True, width="stretch", column_config=config, key="size_table",
                 height=tables.full_height(len(text)))
    st.caption("Ranked by racks, then cost. Each row is the fewest chips of that type that meet both the per-user "
               "speed and the total output; chips (low/high) is the range the model's uncertainty allows. The CSV "
               "has every column, bands included.")
    unmeasured = analysis.unmeasured_engine_notes(ctx.catalog, s.accelerators)
    if unmeasured:
        st.info("No published measurement tests these chips' serving software, so their numbers lean on assumptions "
                "and carry a wider band:\n\n" + "\n".join(f"- {escape_markdown(n)}" for n in unmeasured),
                icon=":material/science:")
    ids = export.sources_used(ctx.catalog, accelerators=s.accelerators, models=[s.model])
    st.download_button("Download comparison (CSV)",
                       data=export.to_csv(frame, title="size comparison", scenario=ctx.csv_scenario(),
                                          catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-size.csv", mime="text/csv", on_click="ignore", key="dl_size",
                       icon=":material/download:")
    # the report of exactly this page: the scenario's link plus the page's replica-shape choice
    link = ctx.share_url  # carries size_topology like every page-local input (ui.params.PAGE_PARAMS)
    st.download_button("Download report", data=lambda: report.report_for_share_url(link),
                       file_name="rackscale-report.html", mime="text/html", on_click="ignore", key="dl_report",
                       icon=":material/description:",
                       help="One HTML file with this scenario, the sizing, the verdicts, the chart, the assumptions "
                            "and every source; it opens offline and holds the link that reopens it.")

    # one chart at a time, picked like a tab: tabs would build all four figures on every rerun (~0.1 s each)
    by_metric = {metric: (title, axis, scale, caption) for metric, title, axis, scale, caption in CHARTS}
    chosen = st.segmented_control("Chart", list(by_metric), format_func=lambda m: by_metric[m][0],
                                  default=CHARTS[0][0], key="size_chart", label_visibility="collapsed") or CHARTS[0][0]
    title, axis, scale, caption = by_metric[chosen]
    fig = charts.comparison_bars(frame, chosen, title=title, axis_title=axis, scale=scale)
    st.plotly_chart(fig, key=f"size_chart_{chosen}", width="stretch")
    st.caption(caption)

    st.subheader("Where the time goes")
    st.plotly_chart(charts.step_breakdown_figure(frame), key="size_step_breakdown", width="stretch")
    st.caption("Each bar is one decode step of the replica the chip is sized with (its layout and batch): the fixed "
               "cost per layer the serving software adds, host time, each operation at its roofline and measured "
               "kernel efficiency, and the collectives left exposed. The CSV carries the same milliseconds "
               "(step_<operation>_ms); `predict --json` gives them as step_breakdown_ms.")

    feasible = frame[frame["feasible"]]
    top = feasible.iloc[0] if not feasible.empty else None
    market.show_market_prices(
        ctx.catalog, s.model,
        modelled_usd_per_million=None if top is None else top["usd_per_million_output_tokens"],
        modelled_label=None if top is None else f"{top['name']} at {top['precision']}", key="size_market_prices",
        scenario=ctx.csv_scenario())


run_page(body)
