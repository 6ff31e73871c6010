"""Plotly figure builders for the pages (pure: DataFrames in, figures out; no Streamlit, no model formulas).

Each builder draws numbers exactly as the calculators returned them; error bars come from the ``*_low`` /
``*_high`` columns the calculators provide and are left off where they provide none.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

BOUND_COLOURS = {
    "fixed latency": "#9467bd",
    "memory bandwidth": "#1f77b4",
    "compute": "#ff7f0e",
    "interconnect": "#2ca02c",
    "capacity": "#8c564b",
}
INFEASIBLE_COLOUR = "#bbbbbb"
_MARGIN = {"l": 10, "r": 10, "t": 40, "b": 40}


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
    fig.update_layout(title=title, xaxis_title=axis_title, barmode="overlay", height=80 + 32 * max(len(order), 1),
                      yaxis={"categoryorder": "array", "categoryarray": order[::-1]}, margin=_MARGIN,
                      legend=_legend())
    return fig


def frontier_figure(frontier: pd.DataFrame, metric: str, *, axis_title: str, measured: pd.DataFrame | None = None,
                    per_user_target: float | None = None, goal: float | None = None,
                    names: dict[str, str] | None = None) -> go.Figure:
    """Per-user tok/s (x) against ``metric`` (y) along each chip's frontier as the batch grows, one line per chip;
    ``measured`` published points as markers; optional dashed lines at the per-user target and a throughput goal."""
    fig = go.Figure()
    for chip, part in frontier.groupby("accelerator", sort=False) if not frontier.empty else []:
        fig.add_scatter(
            x=part["per_user_tokens_per_s"], y=part[metric], mode="lines+markers",
            name=html.escape((names or {}).get(chip, chip)),  # Plotly renders <a>, <b>... in names: user text
            customdata=part[["concurrency", "chips", "layout", "mtp_layers", "bound_by"]],
            hovertemplate="%{x:,.4g} tok/s/user, %{y:,.4g}<br>batch %{customdata[0]} on %{customdata[1]} chips "
                          "(%{customdata[2]}, MTP %{customdata[3]})<br>bound by %{customdata[4]}<extra>"
                          + str(chip) + "</extra>")
    if measured is not None and not measured.empty and metric in measured:
        known = measured[measured["per_user_tokens_per_s"].notna()]
        if not known.empty:
            fig.add_scatter(
                x=known["per_user_tokens_per_s"], y=known[metric], mode="markers", name="published (measured)",
                marker={"symbol": "diamond", "size": 11, "color": "#d62728", "line": {"width": 1, "color": "#000"}},
                customdata=known[["id", "accelerator", "precision", "engine", "concurrency"]],
                hovertemplate="%{customdata[0]}<br>%{customdata[1]} %{customdata[2]}, %{customdata[3]}, batch "
                              "%{customdata[4]}<br>%{x:,.4g} tok/s/user, %{y:,.4g}<extra>published</extra>")
        throughput_only = measured[measured["per_user_tokens_per_s"].isna()]
        for row in throughput_only.itertuples(index=False):
            fig.add_hline(y=getattr(row, metric), line={"dash": "dot", "color": "#d62728", "width": 1},
                          annotation_text=f"{row.id} (per-user speed not published)",
                          annotation_position="top right", annotation_font_size=10)
    if per_user_target is not None:
        fig.add_vline(x=per_user_target, line={"dash": "dash", "color": "#555"},
                      annotation_text=f"{per_user_target:,.4g} tok/s/user", annotation_position="top left")
    if goal is not None:
        fig.add_hline(y=goal, line={"dash": "dash", "color": "#555"}, annotation_text=f"goal {goal:,.4g}",
                      annotation_position="bottom right")
    fig.update_layout(xaxis_title="Per-user speed (output tok/s per user)", yaxis_title=axis_title,
                      xaxis_type="log", yaxis_type="log", height=520, margin=_MARGIN, legend=_legend())
    # Plotly's autorange counts a vline's x on a log axis as an exponent (198 -> 1e198), squashing every line into
    # one column; pin both ranges to the plotted values instead.
    xs = [frontier.get("per_user_tokens_per_s"), *(() if per_user_target is None else ([per_user_target],))]
    ys = [frontier.get(metric), *(() if goal is None else ([goal],))]
    if measured is not None and not measured.empty and metric in measured:
        xs.append(measured["per_user_tokens_per_s"])
        ys.append(measured[metric])
    fig.update_xaxes(range=_log_range(xs))
    fig.update_yaxes(range=_log_range(ys))
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
    assumption's low end and one to its high end; ends with no number (infeasible, unpriced) are omitted."""
    fig = go.Figure()
    if tornado.empty:
        return fig
    base = tornado["baseline"].iloc[0]
    order = list(tornado["assumption"])[::-1]
    for end, colour in (("low", "#1f77b4"), ("high", "#ff7f0e")):
        change = tornado[f"change_at_{end}"]
        part = tornado[change.notna()]
        fig.add_bar(y=part["assumption"], x=part[f"change_at_{end}"], base=base, orientation="h",
                    name=f"assumption at its {end} end", marker_color=colour,
                    customdata=part[[end, "unit", f"at_{end}"]],
                    hovertemplate="%{y} = %{customdata[0]} %{customdata[1]}<br>headline %{customdata[2]:,.4g}"
                                  "<extra>" + end + " end</extra>")
    fig.add_vline(x=base, line={"color": "#000", "width": 1}, annotation_text="baseline",
                  annotation_position="top")
    fig.update_layout(barmode="overlay", xaxis_title=axis_title, height=80 + 36 * len(tornado), margin=_MARGIN,
                      yaxis={"categoryorder": "array", "categoryarray": order}, legend=_legend())
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
