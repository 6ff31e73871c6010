"""Figure builders (ui.charts) and the page logic behind them (ui.analysis), on calculator results."""

import dataclasses
import functools

import pandas as pd
import pytest

from calculators import default_catalog
from calculators.assumptions import resolve_assumptions
from calculators.deployment import Demand
from calculators.fleet import size
from calculators.sweep import SweepSpec, sweep
from calculators.validation import validate, validation_frame
from ui import analysis, charts
from ui.results import Unavailable

CATALOG = default_catalog()
TARGETS = {"model": "deepseek-r1", "per_user_tokens_per_s": 198.0, "total_output_tokens_per_s": 20_000.0,
           "input_tokens": 1000, "output_tokens": 2000, "context_tokens": 2000}


@functools.cache
def _size(chip: str, precision: str = "fp8", **overrides):
    a = resolve_assumptions(CATALOG, chip, **overrides)
    return size(CATALOG, Demand(accelerator=chip, precision=precision, assumptions=a, **TARGETS))


@functools.cache
def _sweep() -> pd.DataFrame:
    return sweep(CATALOG, SweepSpec(model="deepseek-r1", accelerators=["h200-sxm", "b200"], precisions=["fp8"],
                 context_tokens=2000))


def _comparison() -> pd.DataFrame:
    results = {c: _size(c) for c in ("h200-sxm", "b200", "tpu7x", "mi355x")}
    results["sn40l"] = Unavailable("sn40l", "accelerator 'sn40l' has no 'fp8' math; it supports: bf16")
    return analysis.comparison_frame(results)


def test_comparison_ranks_feasible_by_racks_and_puts_infeasible_last_with_reason():
    """Feasible chips come first by racks then cost; infeasible ones follow unranked with their reason."""
    frame = _comparison()
    feasible = frame[frame["feasible"]]
    assert list(feasible["rank"]) == list(range(1, len(feasible) + 1))
    assert feasible["racks"].is_monotonic_increasing
    tail = frame[~frame["feasible"]]
    infeasible = {c for c in ("h200-sxm", "b200", "tpu7x", "mi355x") if not _size(c).feasible} | {"sn40l"}
    assert set(tail["accelerator"]) == infeasible and tail["rank"].isna().all()
    assert tail["racks"].isna().all()
    assert "no 'fp8' math" in tail.set_index("accelerator").loc["sn40l", "reason"]


def test_comparison_row_is_the_calculator_result():
    """A feasible row holds exactly the Sizing fields fleet.size returned."""
    row = _comparison().set_index("accelerator").loc["b200"]
    s = _size("b200")
    assert row["racks"] == s.racks and row["chips"] == s.chips
    assert row["usd_per_million_output_tokens"] == pytest.approx(s.usd_per_million_output_tokens)
    assert row["bound_by"] == s.bound_by


def test_comparison_bars_colour_by_bound_with_error_bars_and_mark_infeasible():
    """Bars are grouped by binding constraint with asymmetric error bars; infeasible chips are grey markers."""
    frame = _comparison()
    fig = charts.comparison_bars(frame, "joules_per_output_token", title="J", axis_title="J/tok")
    bars = [t for t in fig.data if t.type == "bar"]
    assert {t.name for t in bars} == {f"bound by {b}" for b in frame[frame["feasible"]]["bound_by"].unique()}
    assert all(t.error_x.array is not None for t in bars)
    marked = next(t for t in fig.data if t.name == "not available")
    assert set(marked.y) == set(frame[~frame["feasible"]]["accelerator"]) >= {"sn40l"}


def test_comparison_bars_without_band_and_unpriced_chip():
    """Racks get no error bars (no band from the calculator); a chip without a price is marked 'no price'."""
    # every default chip now has a price (issue 10); an unpriced one is the same sizing with its money removed
    unpriced = dataclasses.replace(_size("gb200"), capex_usd=None, usd_per_million_output_tokens=None,
                                   usd_per_million_output_tokens_low=None, usd_per_million_output_tokens_high=None,
                                   usd_per_million_output_tokens_owned=None, usd_per_million_output_tokens_rental=None)
    results = {c: _size(c) for c in ("h200-sxm", "b200", "tpu7x")}
    results["gb200"] = unpriced
    results["sn40l"] = Unavailable("sn40l", "accelerator 'sn40l' has no 'fp8' math; it supports: bf16")
    frame = analysis.comparison_frame(results)
    racks = charts.comparison_bars(frame, "racks", title="Racks", axis_title="racks")
    assert all(t.error_x.array is None for t in racks.data if t.type == "bar")
    cost = charts.comparison_bars(frame, "usd_per_million_output_tokens", title="$", axis_title="$")
    marked = next(t for t in cost.data if t.name == "not available")
    assert "gb200" in marked.y and "no price" in marked.text


def test_pareto_frontier_keeps_only_undominated_fitting_points():
    """Along each chip's frontier, a faster point never has more throughput than a slower one is beaten by."""
    frame = _sweep()
    metric = "output_tokens_per_s_per_chip"
    front = analysis.pareto_frontier(frame, metric)
    assert set(front["accelerator"]) == {"h200-sxm", "b200"} and front["fits_in_memory"].all()
    for _, part in front.groupby("accelerator"):
        assert part["per_user_tokens_per_s"].is_monotonic_increasing
        assert part[metric].is_monotonic_decreasing
        fits = frame[(frame["accelerator"] == part["accelerator"].iloc[0]) & frame["fits_in_memory"]]
        assert part[metric].max() == fits[metric].max()
        assert part["per_user_tokens_per_s"].max() == fits["per_user_tokens_per_s"].max()


def test_frontier_figure_has_a_line_per_chip_and_measured_markers():
    """One line per chip, one marker trace for published points with both axes, a target line."""
    front = analysis.pareto_frontier(_sweep(), "output_tokens_per_s_per_chip")
    measured = analysis.measured_points(validation_frame(validate(CATALOG)), CATALOG.validation,
                                        ["h200-sxm", "b200"])
    fig = charts.frontier_figure(front, "output_tokens_per_s_per_chip", axis_title="per chip", measured=measured,
                                 per_user_target=198.0)
    names = [t.name for t in fig.data]
    assert names[:2] == ["h200-sxm", "b200"]
    line_colour = {t.name: t.line.color for t in fig.data[:2]}
    for chip in set(measured.dropna(subset=["per_user_tokens_per_s"])["accelerator"]):
        marker = next(t for t in fig.data if t.name == f"{chip}: published")
        assert marker.marker.color == line_colour[chip]  # coloured by chip, not one colour for all
        assert "source: %{customdata[4]}" in marker.hovertemplate
    titles = {sid: src.title for sid, src in CATALOG.sources.items()}
    titled = charts.frontier_figure(front, "output_tokens_per_s_per_chip", axis_title="per chip",
                                    measured=measured.assign(source_title=measured["source"].map(titles)))
    marker = next(t for t in titled.data if t.name.endswith(": published"))
    assert marker.customdata[0][4] in {src.title for src in CATALOG.sources.values()}
    target = next(t for t in fig.data if t.name.startswith("your per-user target"))
    assert list(target.x) == [198.0, 198.0]  # a labelled legend entry, not an annotation on the log axis
    assert not fig.layout.shapes and not fig.layout.annotations
    assert fig.layout.height >= charts.MIN_HEIGHT
    per_rack = charts.frontier_figure(front, "output_tokens_per_s_per_rack", axis_title="per rack",
                                      measured=measured)
    assert not any("published" in t.name for t in per_rack.data)


def test_measured_points_pair_deepseek_and_derive_single_per_user_points():
    """DeepSeek's per-user and per-GPU numbers become one marker; an SGLang batch-8 point gets x*batch/chips."""
    points = analysis.measured_points(validation_frame(validate(CATALOG)), CATALOG.validation,
                                      ["h800-sxm", "h200-sxm"]).set_index("id")
    pair = points.loc["deepseek-prod-h800-per-user + deepseek-prod-h800-throughput"]
    assert (pair["per_user_tokens_per_s"], pair["output_tokens_per_s_per_chip"], pair["derived"]) == (21.0, 1850.0,
                                                                                                      False)
    batch8 = points.loc["sglang-h200-fp8-batch8"]
    assert batch8["output_tokens_per_s_per_chip"] == pytest.approx(25.8 * 8 / 8) and batch8["derived"]


def test_rack_goal_reads_the_sweep():
    """The best per-rack throughput at the target is the sweep's maximum among configurations that fast."""
    frame = _sweep()
    goal = analysis.rack_goal(frame, "b200", 198.0, 20_000.0)
    rows = frame[(frame["accelerator"] == "b200") & frame["fits_in_memory"]
                 & (frame["per_user_tokens_per_s"] >= 198.0)]
    assert goal.best_at_target == rows["output_tokens_per_s_per_rack"].max()
    assert analysis.rack_goal(frame, "not-swept", 198.0, 1.0).max_any is None


def test_tornado_sorts_by_swing_and_keeps_infeasible_ends_as_notes():
    """The widest swing is first; an infeasible end has no number, its reason, and adds no swing."""
    base = _size("b200")
    assert base.feasible
    # constructed ends, so the ordering pinned here does not depend on the model's current numbers
    fewer, more = dataclasses.replace(base, racks=base.racks + 1), dataclasses.replace(base, racks=base.racks + 2)
    much_fewer = dataclasses.replace(base, racks=max(base.racks - 5, 0))
    infeasible = dataclasses.replace(base, feasible=False, reason="the per-user target is out of reach")
    inputs = [
        analysis.TornadoInput("PUE", "ratio", 1.2, 1.1, 1.56, fewer, more),
        analysis.TornadoInput("Fixed latency", "us/layer", 53, 30, 110, much_fewer, infeasible),
    ]
    inputs.append(analysis.TornadoInput("Lifetime", "years", 4, 3, 6, base, base))  # never moves racks
    table = analysis.tornado_frame(base, inputs, "racks")
    assert list(table["assumption"]) == ["Fixed latency", "PUE", "Lifetime"]
    latency = table.iloc[0]
    assert latency["at_low"] == much_fewer.racks
    assert pd.isna(latency["at_high"]) and latency["note_at_high"].startswith("infeasible: ")
    assert latency["swing"] == abs(latency["change_at_low"]) and latency["infeasible_ends"] == 1
    assert list(table["moves_answer"]) == [True, True, False]
    fig = charts.tornado_figure(table[table["moves_answer"]], axis_title="racks")
    assert [t.name for t in fig.data][:2] == ["assumption at its low end", "assumption at its high end"]
    assert list(fig.data[1].y) == ["PUE"]  # the infeasible end is not a number bar...
    wall = next(t for t in fig.data if t.name == "infeasible (no answer)")
    assert list(wall.y) == ["Fixed latency"] and "infeasible" in wall.text[0]
    assert wall.base + wall.x[0] == fig.layout.xaxis.range[1]  # ...but a bar to the axis edge
    assert "Lifetime" not in {y for t in fig.data if t.type == "bar" for y in t.y}
    assert fig.layout.height >= charts.MIN_HEIGHT


def test_tornado_puts_an_infeasible_end_first():
    """An assumption whose end makes the chip infeasible ranks above any finite swing (it is the worst case)."""
    base = _size("b200")
    infeasible = dataclasses.replace(base, feasible=False, reason="out of reach")
    big = dataclasses.replace(base, racks=base.racks + 50)
    table = analysis.tornado_frame(base, [analysis.TornadoInput("Big", "", 1, 0, 2, base, big),
                                          analysis.TornadoInput("Cliff", "", 1, 0, 2, base, infeasible)], "racks")
    assert list(table["assumption"]) == ["Cliff", "Big"]


def test_cost_frontier_is_the_cheapest_at_each_speed():
    """Along each chip's cost frontier a faster point costs more; no fitting point is both faster and cheaper."""
    a = {c: resolve_assumptions(CATALOG, c) for c in ("h200-sxm", "b200")}
    from calculators.fleet import frontier_costs

    frame = frontier_costs(CATALOG, _sweep(), a)
    column = "usd_per_million_output_tokens_rental"
    front = analysis.cost_frontier(frame, column)
    assert set(front["accelerator"]) == {"h200-sxm", "b200"}
    for chip, part in front.groupby("accelerator"):
        assert part["per_user_tokens_per_s"].is_monotonic_increasing and part[column].is_monotonic_increasing
        fits = frame[(frame["accelerator"] == chip) & frame["fits_in_memory"]]
        for row in part.itertuples():
            better = fits[(fits["per_user_tokens_per_s"] >= row.per_user_tokens_per_s) & (fits[column] < getattr(
                row, column))]
            assert better.empty
    fig = charts.cost_frontier_figure({column: front}, per_user_target=198.0)
    assert {t.name for t in fig.data} >= {"h200-sxm, rented", "b200, rented"}
    assert fig.layout.yaxis.type == "log" and fig.layout.height >= charts.MIN_HEIGHT


def test_frontier_axes_span_the_plotted_values_not_the_target_line():
    """The log x range covers the data and the target (log10 units), not 10^target as Plotly's autorange would."""
    frame = pd.DataFrame({"accelerator": ["a", "a"], "per_user_tokens_per_s": [10.0, 300.0],
                          "output_tokens_per_s_per_chip": [2000.0, 50.0], "concurrency": [64, 1], "chips": [8, 8],
                          "layout": ["tp8", "tp8"], "mtp_layers": [0, 0], "bound_by": ["compute", "memory"]})
    fig = charts.frontier_figure(frame, "output_tokens_per_s_per_chip", axis_title="y", per_user_target=198.0)
    low, high = fig.layout.xaxis.range
    assert low < 1.0 < 2.4 < high < 3.0  # log10(10) = 1, log10(300) = 2.48


def test_where_the_time_goes_stacks_each_chips_step_from_its_operations():
    """One stacked bar per feasible chip whose segments are its sizing's named operations, adding up to its step."""
    results = {c: _size(c) for c in ("h200-sxm", "b200")}
    frame = analysis.comparison_frame(results)
    fig = charts.step_breakdown_figure(frame)
    assert fig.layout.barmode == "stack" and fig.layout.height >= 450
    for chip, sizing in results.items():
        total = sum(float(t.x[list(t.y).index(chip)]) for t in fig.data)
        assert total == pytest.approx(sum(sizing.step_breakdown_ms.values()), rel=1e-9)
