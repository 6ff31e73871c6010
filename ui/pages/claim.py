"""The claim (landing page): DeepSeek-R1 the way the February 2025 story told it, one SambaRack of 16 SN40L vs the
GPU side, both sized by the calculators for the sidebar's targets, then each claim of the story with a verdict from
:mod:`ui.claims` and the assumptions it hinges on."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from calculators.claims import ClaimCheck
from calculators.fleet import Sizing
from ui import analysis, charts, claims, comparison, export, market, report, results, state
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import VERDICT_BADGE, run_page, verdict_box
from ui.scenario import Context

STORY = (
    "In February 2025 SambaNova said it served **DeepSeek-R1** (671B parameters) at **198 tokens per second per "
    "user** on **16 SN40L chips** (one SambaRack), while GPUs would need **\"40 racks\"**; that it was **3x "
    "faster** and **5x more efficient**; and that it would reach **20,000 tokens per second per rack** by the end "
    "of the year. Below, both sides are sized by the same model for the same targets (the sidebar's per-user speed "
    "and total output; defaults are the story's 198 tok/s/user and 20,000 tok/s), then each claim is checked."
)
def _why(result: object) -> str:
    if isinstance(result, Sizing):
        return result.reason
    return getattr(result, "reason", "not available")


def _metrics(result: object, label: str, key: str) -> None:
    st.markdown(f"**{escape_markdown(label)}**")
    if not isinstance(result, Sizing) or not result.feasible:
        st.info(f"Cannot meet the targets: {escape_markdown(_why(result))}", icon=":material/block:")
        return
    # units in the labels, short values: a card never truncates its number
    a, b = st.columns(2)
    a.metric("Racks", fmt.number(result.racks), help=f"{fmt.chips(result.chips)} in {result.nodes} node(s); racks "
             f"limited by {result.rack_limited_by}.", border=True)
    b.metric("Facility power", fmt.power_kw(result.facility_power_kw), border=True,
             help="IT power x PUE.")
    c, d = st.columns(2)
    c.metric("Energy per token (J)", fmt.number(result.joules_per_output_token), border=True,
             help="IT energy per output token, in joules.")
    d.metric(comparison.cost_label("$/M tokens", result.cost_kind),
             fmt.usd(result.usd_per_million_output_tokens), border=True,
             help="$ per million output tokens (owned where priced, else rental); — means the catalog has no "
                  f"price for this chip. Based on: {result.cost_basis}.")


def _verdict_box(v: ClaimCheck, letter: str, catalog) -> None:
    verdict_box(v, f"**({letter}) \"{escape_markdown(v.claim)}\"**", f"{v.source_title} ({v.date})")
    registry = catalog.claims.get(v.id)
    differs = claims.story_differences(catalog, registry, v) if registry is not None else None
    if differs:
        st.caption(f"Why the Claims page shows other numbers for ({letter}): the sidebar's choices apply here "
                   f"({escape_markdown(differs)}).")


def _answer(sides: list[tuple[str, object]], verdicts: list[tuple[str, ClaimCheck]]) -> None:
    """The answer, first: one sentence per side, then one compact badge per verdict (details further down)."""
    with st.container(key="answer"):
        for label, result in sides:
            sentence = comparison.answer_sentence(label, result)
            head, _, rest = sentence.partition(": ")
            st.markdown(f"**{escape_markdown(head)}**: {escape_markdown(rest)}")
        with st.container(key="verdict_badges", gap="small"):
            for letter, v in verdicts:
                status, text, words = comparison.verdict_line(letter, v)
                colour, icon = VERDICT_BADGE[status]
                st.markdown(f":{colour}-badge[{icon} {escape_markdown(text)}] {escape_markdown(words)}",
                            help=v.verdict)


def body(ctx: Context) -> None:
    """The claim page."""
    s = ctx.scenario
    cat = ctx.catalog
    st.title("40 GPU racks vs one SambaRack?")
    model = "deepseek-r1" if "deepseek-r1" in cat.models else s.model
    if model != s.model:
        st.info(f"This page is about DeepSeek-R1 (the story's model); the sidebar's model "
                f"({escape_markdown(s.model or '')}) is used on the other pages.", icon=":material/info:")
    if claims.CLAIM_CHIP not in cat.accelerators or not s.gpu or s.gpu not in cat.accelerators or not s.precision:
        st.markdown(STORY)
        st.info("The catalog needs the SN40L, a GPU side and a precision for this page.", icon=":material/info:")
        return
    files = state.files_for(ctx.layer)
    t = results.targets(s, model=model)
    gpu_name = cat.accelerators[s.gpu].name
    sn = results.sizing(files, t, claims.CLAIM_CHIP, claims.CLAIM_PRECISION)
    gpu = results.sizing(files, t, s.gpu, s.precision)
    # 'best' (the default) is labelled with the precision the GPU side's sizing chose
    sn_label = comparison.side_label(cat.accelerators[claims.CLAIM_CHIP].name, claims.CLAIM_PRECISION)
    gpu_label = comparison.side_label(gpu_name, getattr(gpu, "precision", "") or s.precision)
    verdicts = results.story_checks(files, dataclasses.replace(s, custom=None))
    _answer([(f"SambaNova, {sn_label}", sn), (f"GPU side, {gpu_label}", gpu)], verdicts)
    st.caption(f"For {fmt.tokens_per_s(s.per_user_tokens_per_s)} per user and "
               f"{fmt.tokens_per_s(s.total_output_tokens_per_s)} in total on DeepSeek-R1; hover a verdict for its "
               "finding. The details, the numbers behind each verdict and their sources follow.")
    st.markdown(STORY)

    st.header("Side by side, same targets")
    st.caption(f"Both sized by the model for {fmt.tokens_per_s(s.per_user_tokens_per_s)} per user and "
               f"{fmt.tokens_per_s(s.total_output_tokens_per_s)} in total ({s.input_tokens:,} tokens in, "
               f"{s.output_tokens:,} out). GPU side: {escape_markdown(gpu_name)} at "
               f"{escape_markdown(s.precision)} (switch both in the sidebar's Chips and Workload groups); the SN40L "
               "runs BF16, its only format.")
    left, right = st.columns(2)
    with left:
        _metrics(sn, f"SambaNova: {cat.accelerators[claims.CLAIM_CHIP].name}", "claim_sn")
    with right:
        _metrics(gpu, f"GPU side: {gpu_name}", "claim_gpu")
    table = comparison.side_by_side(sn, gpu, sn_label, gpu_label)
    st.table(table.rename(columns={"quantity": "Quantity"}), hide_index=True)  # every row, no inner scroll
    dash = any(fmt.DASH in str(x) for x in table.iloc[:, 1:].to_numpy().ravel())
    st.caption("Each side is the fewest chips that reach both targets. Brackets give the range the model's "
               "uncertainty allows (wider for chips with fewer public measurements)."
               + (f" \"{fmt.DASH}\" means the catalog has no number for it." if dash else ""))
    for label, result in ((sn_label, sn), (gpu_label, gpu)):
        st.caption(f"How {escape_markdown(label)} is sized: {escape_markdown(_why(result))}.")

    st.header("The story's claims, checked")
    sn_sweep, _ = results.sweep_frame(files, t, (claims.CLAIM_CHIP,), claims.CLAIM_PRECISION)
    gpu_sweep, skipped = results.sweep_frame(files, t, (s.gpu,), s.precision)
    for letter, v in verdicts:
        _verdict_box(v, letter, cat)
    goal = next((v.claimed for _, v in verdicts if v.kind == "throughput"), None)

    st.subheader("Speed per user against throughput per rack")
    frontier = analysis.pareto_frontier(pd.concat([sn_sweep, gpu_sweep], ignore_index=True),
                                        "output_tokens_per_s_per_rack")
    if frontier.empty:
        st.info("No configuration of either side fits in memory, so there is no frontier to draw.")
    else:
        fig = charts.frontier_figure(frontier, "output_tokens_per_s_per_rack", axis_title="Output tok/s per rack",
                                     per_user_target=s.per_user_tokens_per_s, goal=goal,
                                     names={claims.CLAIM_CHIP: sn_label, s.gpu: gpu_label})
        st.plotly_chart(fig, key="claim_frontier", width="stretch")
        st.caption("Each line is the best a chip can do: moving right serves each user faster, moving up gets more "
                   "tokens out of a rack. Serving more users at once (a bigger batch) moves a point up and to the "
                   "left. The dashed lines are the story's 198 tok/s per user and its 20,000 tok/s per rack goal: a "
                   "claim that needs both holds only if a line passes above and to the right of where they cross.")
    for u in skipped:
        st.caption(f"{escape_markdown(u.accelerator)}: {escape_markdown(u.reason)}")
    export_frame = pd.DataFrame([{"claim": v.claim, "verdict": v.verdict, "status": v.status,
                                  "finding": v.finding, "hinges_on": " ".join(v.hinges), "source": v.source_title,
                                  "date": v.date} for _, v in verdicts])
    both = analysis.comparison_frame({claims.CLAIM_CHIP: sn, s.gpu: gpu})
    ids = export.sources_used(cat, accelerators=[claims.CLAIM_CHIP, s.gpu], models=[model])
    link = ctx.share_url
    st.download_button("Download report", data=lambda: report.report_for_share_url(link),
                       file_name="rackscale-report.html", mime="text/html", on_click="ignore", key="dl_report",
                       icon=":material/description:",
                       help="One HTML file with this scenario, the sizing, the verdicts, the chart, the assumptions "
                            "and every source; it opens offline and holds the link that reopens it.")
    c1, c2 = st.columns(2)
    c1.download_button("Download the verdicts (CSV)",
                       data=export.to_csv(export_frame, title="claim verdicts", scenario=ctx.csv_scenario(),
                                          catalog=cat, source_ids=ids),
                       file_name="rackscale-claim-verdicts.csv", mime="text/csv", on_click="ignore",
                       key="dl_claim_verdicts", icon=":material/download:")
    c2.download_button("Download the side-by-side sizing (CSV)",
                       data=export.to_csv(both, title="claim sizing", scenario=ctx.csv_scenario(), catalog=cat,
                                          source_ids=ids),
                       file_name="rackscale-claim-sizing.csv", mime="text/csv", on_click="ignore",
                       key="dl_claim_sizing", icon=":material/download:")
    # what the market charges beside the modelled cost of the SambaRack side (issue 10; self-contained)
    market.show_market_prices(cat, model, modelled_usd_per_million=getattr(sn, "usd_per_million_output_tokens", None),
                              modelled_label=sn_label, key="claim_market_prices")


run_page(body)
