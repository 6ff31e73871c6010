"""Method and validation page: the formulas as the calculators implement them, every assumption with its source,
and the model's predictions against published measurements (``calculators.validation.validate``)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from calculators.assumptions import assumption_ranges
from calculators.crossval import MIN_CV_POINTS
from ui import export, state, tables
from ui import format as fmt
from ui.format import escape_markdown, percent
from ui.page import run_page
from ui.scenario import Context

# (title, LaTeX, what it means and where it lives). The formulas are the calculators' docstrings in math form.
FORMULAS: tuple[tuple[str, str, str], ...] = (
    ("F1 weights", r"W = \sum_{g} P_g \, b_w",
     "Parameters by group derived from the architecture (attention per layer, dense FFN $3dI$, expert $3dI_e$, "
     "router $dE$, embedding and head $Vd$, plus the MTP module) times bytes per weight incl. block scales. "
     "`calculators/memory.py`"),
    ("F2 KV cache per token", r"\mathrm{KV}_{\mathrm{MLA}} = (d_c + d_r)\,L\,b_{kv} \qquad "
     r"\mathrm{KV}_{\mathrm{GQA}} = 2\,n_{kv}\,d_h\,L\,b_{kv}",
     "R1 in BF16: $(512 + 64) \\times 61 \\times 2 = 70{,}272$ bytes. `calculators/memory.py`"),
    ("F3 capacity", r"\sum_j \mathrm{bytes}_j \le \sum_{\mathrm{tiers}} \mathrm{capacity} \times u",
     "Weights, KV of every live sequence and activations are placed in the chip's tiers fastest first "
     "(SRAM, HBM, DDR); each byte is then read at the bandwidth of the tier it sits in. $u$ is the usable "
     "memory fraction. `calculators/memory.py`"),
    ("F4 distinct experts per step", r"D(T) = E\left(1 - \left(1 - \tfrac{k}{E}\right)^{T}\right)",
     "Expected experts touched by $T$ tokens (uniform routing); per expert-parallel shard the busiest rank's "
     "expected maximum is used (a straggler margin); the MoE kernel curves are read at power-law routing. "
     "`calculators/model/moe.py`"),
    ("F5 bytes per step per chip", r"\mathrm{bytes} = W_{\mathrm{always}}/N + D\,P_{\mathrm{expert}} b_w / "
     r"\mathrm{EP} + B\,c\,\mathrm{KV}",
     "Weights every step reads, the experts this shard touches and its share of KV reads. "
     "`calculators/model/step.py`"),
    ("F6 FLOPs per step per chip", r"\mathrm{FLOPs} = \frac{2\,P_{\mathrm{active}}\,B(k+1)}{N} + "
     r"2\,h\,(2d_c + d_r)\,c\ \text{per layer per token}",
     "Matmuls of the active parameters plus absorbed-MLA attention over the context. "
     "`calculators/model/step.py`, `calculators/model/attention.py`"),
    ("F7 component time at measured kernel efficiency",
     r"t_j = n_j\,t_{\mathrm{floor}} + \frac{\max(\mathrm{bytes}_j / BW,\ \mathrm{flops}_j / C)}{f_{\mathrm{op}}(x_j)}",
     "Each component's roofline at the chip's peaks over the fraction its kernel reaches at its shape $x_j$ (GEMM: "
     "tokens $M$, plus a per-call floor; grouped GEMM: tokens per expert; decode attention: KV tokens read), "
     "interpolated from curves derived from measured op tables (AIConfigurator, DeepGEMM, FlashMLA; scaled, as "
     "assumptions, for chips without tables) by `tools/derive_kernel_curves.py`. Summed over components. "
     "`calculators/model/efficiency.py`, `calculators/model/step.py`"),
    ("F8 alpha-beta collectives", r"t_{\mathrm{AR}} = \alpha(g) + \frac{2(g-1)}{g}\frac{\mathrm{bytes}}"
     r"{BW_{\mathrm{link}} f} \qquad t_{\mathrm{EP}} = \alpha(g) + \max\!\left(\frac{\mathrm{in\ domain}}"
     r"{BW_{\mathrm{up}} f_{\mathrm{up}}}, \frac{\mathrm{out\ of\ domain}}{BW_{\mathrm{out}} f_{\mathrm{out}}}\right)",
     "A collective costs a latency by group size plus its bytes over the achieved link bandwidth, inside or across "
     "the scale-up domain (DeepEP, NCCL tables); wide-EP dispatch and combine pay it on every MoE layer, and only "
     "what two-micro-batch overlap cannot hide is added. `calculators/model/collectives.py`"),
    ("F9 step time", r"t_{\mathrm{step}} = L\,\tau\,s_k + B_{\mathrm{rank}}\,h + \sum_j t_j + "
     r"t_{\mathrm{comm,exposed}} + t_{\mathrm{prefill}}",
     "$\\tau$ is the serving engine's fixed cost per layer (launch gaps, synchronisation), stated for a DeepSeek "
     "layer of 24 kernels ($L$ counts each layer by its kernels: a Llama layer is 11/24), $s_k$ the MTP step "
     "inflation, $h$ the engine's host and scheduler time per running sequence, $t_{prefill}$ the prompt tokens a "
     "chunked-prefill step carries. $\\tau$, $h$ and an early engine's prefill efficiency are solved on that "
     "engine's calibrate points by `tools/calibrate_engines.py`. `calculators/model/step.py`"),
    ("F10 serving a workload", r"P = B_d\,E_k\,\frac{I}{O}\,\frac{C-1}{C} \qquad B_d = C\,\frac{O\,"
     r"\mathrm{TPOT}}{\mathrm{TTFT} + O\,\mathrm{TPOT}} \qquad v_{\mathrm{user}} = \frac{E_k}{t_{\mathrm{step}}}",
     "Aggregated serving (continuous batching, chunked prefill): each step of $B_d$ decoding sequences carries the "
     "other requests' prompts; TTFT is a prompt's own prefill plus its queueing (M/D/1). An engine that prefills "
     "first (SGLang, early vLLM, static batches) serves the $C$ requests in cohorts instead: all $C$ prompts are "
     "prefilled together in $T_p$, then all decode; TTFT $= g\\,T_p$, $g$ the share of the cohort's prefill done "
     "when a prompt's last chunk is (1 for one chunk, about 1/2 for many). Only the batch whose KV "
     "cache fits runs. Disaggregated: a separate prefill pool. $E_k$ is the expected tokens per step with $k$ MTP "
     "drafts. `calculators/serving.py`"),
    ("F11 decode fleet", r"\mathrm{replicas} = \left\lceil \frac{\mathrm{target\ tok/s}}"
     r"{\mathrm{replica\ tok/s}} \right\rceil",
     "The configuration with the fewest decode chips wins. `calculators/fleet.py`"),
    ("F12 prefill fleet", r"\mathrm{chips}_{\mathrm{prefill}} = \lambda_{\mathrm{in}}\,(1-h)\,"
     r"\sum_j \frac{\mathrm{FLOPs}_j/\mathrm{token}}{C\,f_j(x_j)}",
     "Input rate $\\lambda_{in}$ = total output rate x input / output tokens; $h$ is the KV cache hit rate; each "
     "part of a prompt token's FLOPs at its kernel's large-shape fraction where the chip has measured curves, else "
     "at the engine's end-to-end prefill efficiency; rounded up to whole units that hold the weights. "
     "`calculators/model/step.py`, `calculators/fleet.py`"),
    ("F13 racks", r"\mathrm{racks} = \max\!\left(\left\lceil\frac{\mathrm{nodes}}{\mathrm{nodes/rack}}\right\rceil,"
     r"\ \left\lceil \frac{\mathrm{nodes}}{\lfloor \mathrm{budget}/P_{\mathrm{node}} \rfloor}\right\rceil\right)",
     "A rack is limited by space and by its power budget. `calculators/fleet.py`"),
    ("F14 power and energy", r"P_{IT} = \mathrm{nodes}\cdot P_{\mathrm{node,max}}\cdot U \qquad "
     r"P_{\mathrm{facility}} = P_{IT}\cdot \mathrm{PUE} \qquad J/\mathrm{tok} = \frac{P_{IT}}{\mathrm{tok/s}}",
     "Nameplate node power times the measured power utilisation $U$. `calculators/fleet.py`"),
    ("F15 cost", r"\$/\mathrm{h} = \frac{\mathrm{capex}}{\mathrm{lifetime\ h}} + P_{\mathrm{facility}}\cdot "
     r"\$/\mathrm{kWh} \qquad \$/\mathrm{M\ tok} = \frac{\$/\mathrm{h}}{\mathrm{tok/h}/10^6}",
     "Capex from system prices (or chip prices); rental $/chip-hour as the alternative. `calculators/fleet.py`"),
)


def _formulas() -> None:
    st.header("Formulas")
    st.write("Symbols: $L$ layers, $E$ routed experts, $k$ active, $d$ hidden size, $d_c$ MLA latent, $d_r$ RoPE "
             "dim, $h$ heads, $b_w$ bytes per weight, $B$ concurrent sequences, $c$ mean context, $N$ chips per "
             "replica, $BW$ and $C$ memory bandwidth and peak FLOP/s, $\\eta$ achievable fractions, $\\tau$ fixed "
             "latency per layer.")
    for title, latex, text in FORMULAS:
        st.subheader(title)
        st.latex(latex)
        st.markdown(text)


def _assumptions(ctx: Context) -> None:
    st.header("Assumptions and their sources")
    chip = ctx.scenario.accelerator
    if chip in ctx.catalog.accelerators:
        st.write(f"Defaults and plausible ranges for the focus chip **{escape_markdown(chip)}** (change it in the "
                 "sidebar). Each is overridable; the sensitivity page moves each across its range.")
        rows = []
        for r in assumption_ranges(ctx.catalog, chip, engine=ctx.scenario.engine):
            src = ctx.catalog.sources.get(r.source or "")
            rows.append({"assumption": fmt.assumption_label(r.name), "value": r.value, "low": r.low, "high": r.high,
                         "unit": r.unit,
                         "source": r.source, "source_title": src.title if src else None,
                         "source_url": src.url if src else None, "note": r.note})
        frame = pd.DataFrame(rows)
        st.dataframe(fmt.table(frame, reasons={"source": "assumption", "source_title": "no source",
                                               "note": "", "low": "no range", "high": "no range"}),
                     hide_index=True, width="stretch", height=tables.full_height(len(frame)),
                     column_config={fmt.column_label("source_url"): st.column_config.LinkColumn()})
    everything = tables.provenance_frame(ctx.catalog)
    frame = everything[everything["section"].isin(["chip_classes", "engines", "serving", "precisions"])]
    st.write("Every chip class, engine, precision and serving default in the catalog:")
    st.dataframe(fmt.table(frame, reasons=tables.PROVENANCE_GAPS), hide_index=True, width="stretch",
                 column_config={fmt.column_label("source_url"): st.column_config.LinkColumn()})
    ids = [s for s in frame["source"].dropna().unique()]
    st.download_button("Download assumptions (CSV)",
                       data=export.to_csv(frame, title="assumptions", scenario=ctx.csv_scenario(),
                                          catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-assumptions.csv", mime="text/csv", on_click="ignore",
                       key="dl_assumptions", icon=":material/download:")


def _error_chart(frame: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for use, colour in (("calibrate", "#8c8c8c"), ("test", "#1f77b4")):
        part = frame[frame["use"] == use]
        fig.add_bar(y=part["id"], x=part["error_fraction"] * 100, orientation="h", name=use, marker_color=colour,
                    error_x=None, customdata=part[["metric", "measured", "predicted"]],
                    hovertemplate="%{y}<br>%{customdata[0]}<br>measured %{customdata[1]:.4g}, "
                                  "predicted %{customdata[2]:.4g}<br>error %{x:.1f}%<extra></extra>")
    fig.add_scatter(y=frame["id"], x=frame["tolerance"] * 100, mode="markers", name="+ tolerance",
                    marker={"symbol": "line-ns-open", "size": 14, "color": "#d62728"})
    fig.add_scatter(y=frame["id"], x=-frame["tolerance"] * 100, mode="markers", name="- tolerance",
                    marker={"symbol": "line-ns-open", "size": 14, "color": "#d62728"}, showlegend=False)
    fig.update_layout(barmode="overlay", height=40 + 28 * len(frame), xaxis_title="predicted / measured - 1 (%)",
                      yaxis={"autorange": "reversed"}, margin={"l": 10, "r": 10, "t": 30, "b": 40},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def _cross_validation(ctx: Context) -> None:
    st.header("Out of sample: leave one source out")
    st.write("For each source of published measurements, every engine number its points calibrate is solved again "
             "without them, and its points are predicted with the result: the error a user meets on a deployment "
             "the model was not fitted to. The uncertainty band of every prediction, sizing and claim verdict is "
             "this error for the scenario's regime and chip class (exp of the RMS log error; with fewer than "
             f"{MIN_CV_POINTS} points in a cell, a wider fallback). Batches of 5-7 count in the 5-63 regime; "
             "prefill/TTFT and energy points go by their metric whatever their batch.")
    frame = state.cross_validation_table(state.files_for(ctx.layer))
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"median_abs_error": st.column_config.NumberColumn("median |error|", format="percent"),
                                "p90_abs_error": st.column_config.NumberColumn("p90 |error|", format="percent")})
    st.caption("`python -m calculators validate --cross-validate` prints the same table, each point's row with "
               "`--json`. Numbers a source states outright (MTP acceptances, a class's bandwidth efficiency) are "
               "not re-derived; the CLI lists them.")


def _validation(ctx: Context) -> None:
    frame = state.validation_table(state.files_for(ctx.layer))
    if frame.empty:
        st.info("The catalog has no validation points.")
        return
    _cross_validation(ctx)
    st.header("Predicted vs published (in sample)")
    tests = frame[frame["use"] == "test"]
    if not tests.empty:
        within = int(tests["within_tolerance"].sum())
        st.write(f"Test points within their stated tolerance: **{within} of {len(tests)}**; mean absolute error "
                 f"{percent(float(tests['error_fraction'].abs().mean()))}. Calibration points set an assumption "
                 "(their error is small by construction) and are shown for completeness, not as evidence.")
    st.plotly_chart(_error_chart(frame), key="validation_chart", width="stretch")
    st.caption("Each bar is one published measurement: how far the model's prediction lands from it, in percent. "
               "Red ticks mark the tolerance that point is held to; a bar past its tick is a miss. Grey bars "
               "calibrate an assumption, blue bars test the model.")
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={"error_fraction": st.column_config.NumberColumn("error_fraction", format="percent"),
                                "tolerance": st.column_config.NumberColumn("tolerance", format="percent")})
    misses = tests[~tests["within_tolerance"]] if not tests.empty else tests
    if not misses.empty:
        st.subheader(f"Where the model misses ({len(misses)} of {len(tests)} test points)")
        st.write("Each point outside its tolerance, with the regime and the mechanism we suspect. They are kept as "
                 "published, not tuned away; the bands above include them.")
        known = misses[["id", "accelerator", "metric", "measured", "predicted", "error_fraction", "miss_reason"]]
        st.dataframe(known.fillna({"miss_reason": "— (not yet explained)"}), hide_index=True, width="stretch",
                     column_config={"error_fraction": st.column_config.NumberColumn("error", format="percent"),
                                    "miss_reason": st.column_config.TextColumn("why it misses", width="large")})
    st.subheader("Serving engines and their evidence")
    st.write("Each vendor's serving software is its own engine, its numbers set from that vendor's own published "
             "measurements (calibrate) and checked on others (test). An engine nobody has published a measurement "
             "of says so, and the chips that run it carry the widest measured band. Its prefill scheduling says "
             "how it serves C like requests at once: decode-first engines mix prompt chunks into the decode steps, "
             "so a prompt waits about its own prefill; prefill-first engines (SGLang, early vLLM, static batches) "
             "prefill every waiting prompt before decoding, so the requests move in cohorts and a prompt waits "
             "for its whole cohort's prefill: time to first token grows with the concurrency.")
    st.dataframe(state.engine_evidence_table(state.files_for(ctx.layer)), hide_index=True, width="stretch",
                 column_config={"median_abs_error": st.column_config.NumberColumn("median |error|",
                                                                                  format="percent")})
    ids = list(dict.fromkeys(frame["source"].dropna()))
    st.download_button("Download validation (CSV)",
                       data=export.to_csv(frame, title="validation", scenario=ctx.csv_scenario(),
                                          catalog=ctx.catalog, source_ids=ids),
                       file_name="rackscale-validation.csv", mime="text/csv", on_click="ignore",
                       key="dl_validation", icon=":material/download:")


def body(ctx: Context) -> None:
    """The method and validation page."""
    st.title("Method and validation")
    st.write("How Rackscale turns a chip, a model and a target into chips, racks, watts and dollars: a roofline per "
             "component plus a fixed cost per layer set by the serving software, checked against every public "
             "measurement we could find.")
    formulas, assumptions, validation = st.tabs(["Formulas", "Assumptions", "Validation"])
    with validation:
        _validation(ctx)
    with formulas:
        _formulas()
    with assumptions:
        _assumptions(ctx)


run_page(body)
