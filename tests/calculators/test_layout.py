"""Layouts: labels, parsing and the candidates considered."""

from __future__ import annotations

import pytest

from calculators.catalog import default_catalog
from calculators.errors import ScenarioError
from calculators.layout import Layout, candidate_layouts, check_layout_kind, parse_layout


@pytest.fixture(scope="module")
def r1():
    return default_catalog().models["deepseek-r1"]


def test_labels():
    """Labels read like engine flags."""
    assert Layout(8, 8, 1).label == "tp8"
    assert Layout(8, 1, 8).label == "dp8-ep8"
    assert Layout(8, 2, 8).label == "tp2dp4-ep8"
    assert Layout(64, 8, 8, 8).label == "pp8-tp8-ep8"


@pytest.mark.parametrize("label", ["tp8", "dp8-ep8", "tp2dp4-ep8", "tp8-ep8"])
def test_parse_round_trips(r1, label):
    """parse_layout(label).label == label."""
    assert parse_layout(label, r1, 8).label == label


def test_parse_rejects_wrong_chip_count(r1):
    """A label that does not use the chips given is refused, naming 'layout'."""
    with pytest.raises(ScenarioError, match="layout"):
        parse_layout("tp16", r1, 8)


def test_candidates_for_one_node(r1):
    """8 chips in an 8-chip domain: pure TP8 plus every TP x DP attention with EP8."""
    labels = {lay.label for lay in candidate_layouts(r1, 8, 8)}
    assert labels == {"tp8", "dp8-ep8", "tp2dp4-ep8", "tp4dp2-ep8", "tp8-ep8"}


def test_tp_stays_in_scale_up_domain(r1):
    """Across 18 nodes attention TP never exceeds the 8-chip NVLink domain; experts go EP144."""
    for lay in candidate_layouts(r1, 144, 8):
        assert lay.attention_tp <= 8 and lay.moe_ep == 144


def test_kinds():
    """A layout's kind follows its pipeline stages, attention DP and expert parallelism."""
    assert Layout(8, 8, 1).kind == "tp"
    assert Layout(8, 8, 8).kind == "tp-ep"
    assert Layout(8, 8, 2).kind == "tp-ep"
    assert Layout(8, 1, 1).kind == "dp-tp"
    assert Layout(8, 1, 8).kind == "dp-ep"
    assert Layout(8, 2, 8).kind == "dp-ep"
    assert Layout(64, 8, 8, 8).kind == "pipeline"


def test_dense_fallback_is_dp_tp():
    """A dense model on more chips than its attention can shard over falls back to tpNdpM-tpK, kind dp-tp."""
    llama = default_catalog().models["llama-3.1-70b"]
    (only,) = candidate_layouts(llama, 16, 8)
    assert only.label == "tp8dp2-tp16" and only.kind == "dp-tp"
    assert candidate_layouts(llama, 16, 8, kinds=("tp",)) == []


def test_candidates_keep_only_the_kinds_asked(r1):
    """kinds filters the candidates: TP only leaves tp8; TP and TP+EP add tp8-ep8 but no DP attention."""
    assert [lay.label for lay in candidate_layouts(r1, 8, 8, kinds=("tp",))] == ["tp8"]
    assert {lay.label for lay in candidate_layouts(r1, 8, 8, kinds=("tp", "tp-ep"))} == {"tp8", "tp8-ep8"}


def test_check_layout_kind_names_engine_and_kinds(r1):
    """A layout of a kind the engine does not run is refused, naming the engine, the kind and what it supports."""
    with pytest.raises(ScenarioError, match=r"engine 'x' does not run layout kind 'dp-ep'.*supports: tp, tp-ep"):
        check_layout_kind(parse_layout("dp8-ep8", r1, 8), ("tp", "tp-ep"), "x")
