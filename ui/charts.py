"""Plotly figure builders for the pages (pure: DataFrames in, figures out; no Streamlit, no model formulas).

Each builder draws numbers exactly as the calculators returned them; error bars come from the ``*_low`` /
``*_high`` columns the calculators provide and are left off where they provide none.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from ui import format as fmt

BOUND_COLOURS = {
    "fixed latency": "#9467bd",
    "memory bandwidth": "#1f77b4",
    "compute": "#ff7f0e",
    "interconnect": "#2ca02c",
    "capacity": "#8c564b",
}
INFEASIBLE_COLOUR = "#bbbbbb"
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 40}
MIN_HEIGHT = 450
"""No chart is shorter: a log axis over several decades needs the room."""
CHIP_PALETTE = (*qualitative.D3, *qualitative.Dark24)
TARGET_COLOUR = "#555555"


def chip_colours(chips: Iterable[str]) -> dict[str, str]:
    """One explicit colour per chip, in order (the same chip keeps its colour on every chart of a page, and an
    exported figure never falls back to a template's colours)."""
    return {chip: CHIP_PALETTE[i % len(CHIP_PALETTE)] for i, chip in enumerate(dict.fromkeys(chips))}


def _legend() -> dict:
    return {"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0}


def comparison_bars(frame: pd.DataFrame, metric: str, *, title: str, axis_title: str,
                    scale: float = 1.0) -> go.Figure:
    """Horizontal bars of ``metric`` per chip (times ``scale`` for display units), coloured by the binding
    constraint, with error bars from ``metric_low``/``metric_high`` when present; infeasible or unpriced chips
    appear as grey markers at zero with the reason in the hover."""
    fig = go.Figure()
    has_band = f"{metric}_low" in frame and f"{metric}_high" in frame
    shown = frame[frame["feasible"].astype(bool) & frame[metric].notna()] if not frame.empty else frame
    for bound, part in shown.groupby("bound_by", sort=False):
        values = part[metric] * scale
        error = None
        if has_band:
            error = {"type": "data", "symmetric": False, "array": (part[f"{metric}_high"] * scale - values).clip(0),
                     "arrayminus": (values - part[f"{metric}_low"] * scale).clip(0), "color": "#444"}
        fig.add_bar(y=part["accelerator"], x=values, orientation="h", name=f"bound by {bound}", error_x=error,
                    marker_color=BOUND_COLOURS.get(str(bound), "#7f7f7f"),
                    customdata=part[["rack_limited_by", "layout", "reason"]].fillna(""),
                    hovertemplate="%{y}: %{x:,.4g}<br>layout %{customdata[1]}<br>racks limited by "
                                  "%{customdata[0]}<extra>" + f"bound by {bound}" + "</extra>")
    missing = frame[~frame.index.isin(shown.index)] if not frame.empty else frame
    if not missing.empty:
        reasons = [r if not ok else "not priced in the catalog"
                   for r, ok in zip(missing["reason"].fillna(""), missing["feasible"].astype(bool), strict=True)]
        fig.add_scatter(y=missing["accelerator"], x=[0] * len(missing), mode="markers+text", name="not available",
                        marker={"symbol": "x", "color": INFEASIBLE_COLOUR, "size": 10},
                        text=["infeasible" if not ok else "no price" for ok in missing["feasible"].astype(bool)],
                        textposition="middle right", customdata=reasons,
                        hovertemplate="%{y}: %{customdata}<extra></extra>")
    order = list(frame["accelerator"]) if not frame.empty else []
    fig.update_layout(title=title, xaxis_title=axis_title, barmode="overlay",
                      height=max(MIN_HEIGHT, 80 + 32 * max(len(order), 1)),
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1]}, margin=_MARGIN,
                      legend=_legend())
    return fig


STEP_OP_LABELS = {
    "fixed_per_layer": "fixed cost per layer", "host": "host and scheduler",
    "attention_projections": "attention projections", "attention_core": "attention (KV reads)",
    "dense_ffn": "dense FFN", "shared_experts_and_router": "shared experts and router",
    "routed_experts": "routed experts", "lm_head": "LM head", "moe_dispatch": "MoE dispatch",
    "moe_combine": "MoE combine", "all_reduce_and_hops": "all-reduce and pipeline hops",
    "prefill_chunks": "prompt chunks",
}
"""How the step's named operations (calculators.model.step.STEP_OPS) read on a chart."""


def step_breakdown_figure(frame: pd.DataFrame) -> go.Figure:
    """Where the time goes: one horizontal bar per feasible chip, its chosen replica's decode step split into its
    named operations (``step_<op>_ms`` columns), ms per step; each operation one colour across chips."""
    fig = go.Figure()
    shown = frame[frame["feasible"].astype(bool)] if not frame.empty else frame
    palette = qualitative.Safe + qualitative.Pastel
    for i, (op, label) in enumerate(STEP_OP_LABELS.items()):
        column = f"step_{op}_ms"
        if column not in shown or not (shown[column].fillna(0) > 0).any():
            continue
        fig.add_bar(y=shown["accelerator"], x=shown[column].fillna(0), orientation="h", name=label,
                    marker_color=palette[i % len(palette)],
                    customdata=shown[["layout", "concurrency_per_replica"]].fillna(""),
                    hovertemplate="%{y}: %{x:,.3g} ms per step<br>layout %{customdata[0]}, batch %{customdata[1]}"
                                  f"<extra>{html.escape(label)}</extra>")
    order = list(shown["accelerator"]) if not shown.empty else []
    fig.update_layout(title="Where the time goes: one decode step of each chip's chosen replica",
                      xaxis_title="ms per decode step", barmode="stack",
                      height=max(MIN_HEIGHT, 120 + 36 * max(len(order), 1)),
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1]}, margin=_MARGIN,
                      legend=_legend())
    return fig


def _guide(fig: go.Figure, *, x: list[float], y: list[float], name: str, colour: str, dash: str) -> None:
    """A labelled guide line (target, goal, a published throughput) as a trace with its own legend entry: Plotly's
    shape annotations are placed in log10 units on a log axis, so they land in the wrong place or off the chart."""
    fig.add_scatter(x=x, y=y, mode="lines", name=name, line={"dash": dash, "color": colour, "width": 1.5},
                    hovertemplate=html.escape(name) + "<extra></extra>")


def frontier_figure(frontier: pd.DataFrame, metric: str, *, axis_title: str, measured: pd.DataFrame | None = None,
                    per_user_target: float | None = None, goal: float | None = None,
                    names: Mapping[str, str] | None = None, colours: Mapping[str, str] | None = None) -> go.Figure:
    """Per-user tok/s (x) against ``metric`` (y) along each chip's frontier as the batch grows, one line per chip;
    ``measured`` published points as markers in their chip's colour (hover: the point and its source, by its
    ``source_title`` column when the frame has one, else its source id); the per-user target, a throughput goal and
    published throughputs without a per-user speed as labelled guide lines (legend entries)."""
    fig = go.Figure()
    chips = [*(frontier["accelerator"] if not frontier.empty else []),
             *(measured["accelerator"] if measured is not None and not measured.empty else [])]
    colours = {**chip_colours(chips), **(colours or {})}

    def label(chip: str) -> str:
        return html.escape((names or {}).get(chip, chip))  # Plotly renders <a>, <b>... in names: user text

    for chip, part in frontier.groupby("accelerator", sort=False) if not frontier.empty else []:
        fig.add_scatter(
            x=part["per_user_tokens_per_s"], y=part[metric], mode="lines+markers", name=label(chip),
            line={"color": colours[chip]}, marker={"color": colours[chip]}, legendgroup=str(chip),
            customdata=part[["concurrency", "chips", "layout", "mtp_layers", "bound_by"]],
            hovertemplate="%{x:,.4g} tok/s/user, %{y:,.4g}<br>batch %{customdata[0]} on %{customdata[1]} chips "
                          "(%{customdata[2]}, MTP %{customdata[3]})<br>bound by %{customdata[4]}<extra>"
                          + label(chip) + "</extra>")
    xs = [frontier.get("per_user_tokens_per_s"), *(() if per_user_target is None else ([per_user_target],))]
    ys = [frontier.get(metric), *(() if goal is None else ([goal],))]
    throughput_only = pd.DataFrame()
    if measured is not None and not measured.empty and metric in measured:
        xs.append(measured["per_user_tokens_per_s"])
        ys.append(measured[metric])
        known = measured[measured["per_user_tokens_per_s"].notna()]
        for chip, part in known.groupby("accelerator", sort=False):
            titles = [html.escape(str(src)) for src in part.get("source_title", part["source"])]
            fig.add_scatter(
                x=part["per_user_tokens_per_s"], y=part[metric], mode="markers",
                name=f"{label(chip)}: published", legendgroup=str(chip),
                marker={"symbol": "diamond", "size": 12, "color": colours[chip],
                        "line": {"width": 1.5, "color": "#000"}},
                customdata=np.column_stack([part["id"].astype(str), part["precision"].astype(str),
                                            part["engine"].astype(str), part["concurrency"].astype(str), titles]),
                hovertemplate="%{customdata[0]}: %{customdata[1]}, %{customdata[2]}, batch %{customdata[3]}"
                              "<br>%{x:,.4g} tok/s/user, %{y:,.4g}<br>source: %{customdata[4]}"
                              "<extra>published</extra>")
        throughput_only = measured[measured["per_user_tokens_per_s"].isna()]
    x_range, y_range = _log_range(xs), _log_range(ys)
    # guides span the plotted range (data coordinates: 10 ** the log range)
    x_span = [10 ** x_range[0], 10 ** x_range[1]] if x_range else None
    y_span = [10 ** y_range[0], 10 ** y_range[1]] if y_range else None
    named: set[str] = set()
    for row in throughput_only.itertuples(index=False) if x_span else ():
        # one legend entry per chip; each line's hover names the measurement and its source
        title = html.escape(str(getattr(row, "source_title", row.source)))
        value = getattr(row, metric)
        fig.add_scatter(x=x_span, y=[value] * 2, mode="lines", legendgroup=str(row.accelerator),
                        name=f"{label(row.accelerator)}: published, per-user speed not given",
                        showlegend=row.accelerator not in named,
                        line={"dash": "dot", "color": colours.get(row.accelerator, "#d62728"), "width": 1},
                        hovertemplate=f"{html.escape(str(row.id))}: {value:,.4g} (per-user speed not published)"
                                      f"<br>source: {title}<extra>published</extra>")
        named.add(row.accelerator)
    if per_user_target is not None and y_span:
        _guide(fig, x=[per_user_target] * 2, y=y_span, colour=TARGET_COLOUR, dash="dash",
               name=f"your per-user target: {per_user_target:,.4g} tok/s/user")
    if goal is not None and x_span:
        _guide(fig, x=x_span, y=[goal] * 2, colour=TARGET_COLOUR, dash="dashdot",
               name=f"goal: {fmt.number(goal)} ({axis_title})")
    fig.update_layout(xaxis_title="Per-user speed (output tok/s per user)", yaxis_title=axis_title,
                      xaxis_type="log", yaxis_type="log", height=560, margin=_MARGIN, legend=_legend())
    # pinned ranges: Plotly's autorange would count a guide's x on a log axis as an exponent
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)
    return fig


COST_COLUMNS = {"usd_per_million_output_tokens_owned": ("owned", "solid"),
                "usd_per_million_output_tokens_rental": ("rented", "dash")}


def cost_frontier_figure(frontiers: Mapping[str, pd.DataFrame], *, per_user_target: float | None = None,
                         names: Mapping[str, str] | None = None,
                         colours: Mapping[str, str] | None = None) -> go.Figure:
    """$ per million output tokens (y) against per-user speed (x), one line per chip and basis: owned (solid) and
    rented (dashed), from ``frontiers`` keyed by cost column (each a :func:`ui.analysis.cost_frontier`); the
    per-user target as a labelled guide."""
    fig = go.Figure()
    chips = [c for f in frontiers.values() if not f.empty for c in f["accelerator"]]
    colours = {**chip_colours(chips), **(colours or {})}
    xs, ys = [], []
    for column, frame in frontiers.items():
        basis, dash = COST_COLUMNS[column]
        for chip, part in frame.groupby("accelerator", sort=False) if not frame.empty else []:
            name = html.escape((names or {}).get(chip, chip))
            fig.add_scatter(
                x=part["per_user_tokens_per_s"], y=part[column], mode="lines+markers", name=f"{name}, {basis}",
                legendgroup=str(chip), line={"color": colours[chip], "dash": dash},
                marker={"color": colours[chip], "size": 6},
                customdata=part[["concurrency", "chips", "layout", "mtp_layers"]],
                hovertemplate="%{x:,.4g} tok/s/user: $%{y:,.4g} per M output tokens (" + basis + ")<br>batch "
                              "%{customdata[0]} on %{customdata[1]} chips (%{customdata[2]}, MTP %{customdata[3]})"
                              "<extra>" + name + "</extra>")
            xs.append(part["per_user_tokens_per_s"])
            ys.append(part[column])
    if per_user_target is not None:
        xs.append([per_user_target])
    x_range, y_range = _log_range(xs), _log_range(ys)
    if per_user_target is not None and y_range:
        _guide(fig, x=[per_user_target] * 2, y=[10 ** y_range[0], 10 ** y_range[1]], colour=TARGET_COLOUR,
               dash="dot", name=f"your per-user target: {per_user_target:,.4g} tok/s/user")
    fig.update_layout(xaxis_title="Per-user speed (output tok/s per user)",
                      yaxis_title="$ per million output tokens", xaxis_type="log", yaxis_type="log", height=560,
                      margin=_MARGIN, legend=_legend())
    fig.update_xaxes(range=x_range)
    fig.update_yaxes(range=y_range)
    return fig


def _log_range(columns: list) -> list[float] | None:
    """[log10(min), log10(max)] of the positive finite values, padded by 10%, or None (autorange) if none."""
    values = pd.to_numeric(pd.Series([v for c in columns if c is not None for v in c]), errors="coerce")
    values = values[np.isfinite(values) & (values > 0)]
    if values.empty:
        return None
    low, high = np.log10(values.min()), np.log10(values.max())
    pad = max(high - low, 0.5) * 0.1
    return [low - pad, high + pad]


def tornado_figure(tornado: pd.DataFrame, *, axis_title: str) -> go.Figure:
    """A tornado: for each assumption (widest swing on top) a bar from the baseline to the headline at the
    assumption's low end and one to its high end. An end where the chip can no longer meet the targets is a grey
    hatched bar to the axis edge (every headline here grows when things get worse), marked "infeasible"; an
    unpriced end is left out."""
    fig = go.Figure()
    if tornado.empty:
        return fig
    base = float(tornado["baseline"].iloc[0])
    order = list(tornado["assumption"])[::-1]
    reached = pd.concat([tornado["at_low"], tornado["at_high"], pd.Series([base])]).astype(float).dropna()
    low, high = float(reached.min()), float(reached.max())
    pad = max(high - low, abs(base) * 0.2, 1e-9) * 0.15
    edge = high + pad
    for end, colour in (("low", "#1f77b4"), ("high", "#ff7f0e")):
        change = tornado[f"change_at_{end}"]
        part = tornado[change.notna()]
        fig.add_bar(y=part["assumption"], x=part[f"change_at_{end}"], base=base, orientation="h",
                    name=f"assumption at its {end} end", marker_color=colour,
                    customdata=part[[end, "unit", f"at_{end}"]].astype(str),
                    hovertemplate="%{y} = %{customdata[0]} %{customdata[1]}<br>headline %{customdata[2]}"
                                  "<extra>" + end + " end</extra>")
    ends = [(row.assumption, end, getattr(row, end), getattr(row, f"note_at_{end}"))
            for row in tornado.itertuples(index=False) for end in ("low", "high")
            if str(getattr(row, f"note_at_{end}") or "").startswith("infeasible")]
    if ends:
        fig.add_bar(y=[e[0] for e in ends], x=[edge - base] * len(ends), base=base, orientation="h",
                    name="infeasible (no answer)", text=[f"infeasible at its {e[1]} end" for e in ends],
                    textposition="inside", insidetextanchor="middle",
                    marker={"color": INFEASIBLE_COLOUR, "pattern": {"shape": "/"}},
                    customdata=[[str(e[2]), html.escape(str(e[3]))] for e in ends],
                    hovertemplate="%{y} = %{customdata[0]}: %{customdata[1]}<extra>infeasible</extra>")
    fig.add_scatter(x=[base, base], y=[order[0], order[-1]], mode="lines", name=f"baseline: {base:,.4g}",
                    line={"color": "#000", "width": 1.5}, hoverinfo="skip")
    fig.update_layout(barmode="overlay", xaxis_title=axis_title, height=max(MIN_HEIGHT, 80 + 40 * len(tornado)),
                      margin=_MARGIN, yaxis={"categoryorder": "array", "categoryarray": order}, legend=_legend())
    fig.update_xaxes(range=[min(low, base) - pad, edge])
    return fig


# --- figures outside the app --------------------------------------------------------------------------------------

EXPORT_TEMPLATE = "plotly_white"
# Streamlit's own categorical colours, in its order, so an exported figure looks like the one on the page.
SERIES_COLOURS = ("#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
                  "#6d3fc0", "#d5dae5")


def styled_for_export(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` that looks the same wherever it is drawn: an explicit template (never the process's active
    one: inside Streamlit that is a placeholder theme whose colours #000001, #000002… only the app replaces), an
    explicit colour on every series without one, and margins that keep axis titles and tick labels whole."""
    out = go.Figure(fig)
    out.update_layout(template=EXPORT_TEMPLATE, margin={"l": 80, "r": 30, "t": 60, "b": 60},
                      font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"})
    out.update_xaxes(automargin=True)
    out.update_yaxes(automargin=True)
    i = 0
    for trace in out.data:
        if trace.type not in ("scatter", "bar"):
            continue
        line = getattr(trace, "line", None)
        has = trace.marker.color is not None or (line is not None and line.color is not None)
        if has:
            continue
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        i += 1
        trace.marker.color = colour
        if trace.type == "scatter":
            trace.line.color = colour
    return out
