"""Layouts: labels, parsing and the candidates considered."""

from __future__ import annotations

import pytest

from calculators.catalog import default_catalog
from calculators.errors import ScenarioError
from calculators.layout import Layout, candidate_layouts, parse_layout


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
