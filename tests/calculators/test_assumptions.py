"""Scenario assumptions: defaults from the chip's class/engine/serving block, validated overrides, ranges."""

from __future__ import annotations

import pytest

from calculators.assumptions import assumption_ranges, resolve_assumptions
from calculators.catalog import default_catalog
from calculators.errors import ScenarioError


def test_defaults_come_from_class_and_engine():
    """An H200 takes the gpu class's efficiencies and its default engine's fixed latency."""
    c = default_catalog()
    a = resolve_assumptions(c, "h200-sxm")
    cls = c.chip_classes["gpu"]
    assert a.memory_bandwidth_efficiency == cls.memory_bandwidth_efficiency.value
    assert a.fixed_latency_us_per_layer == c.engines[cls.default_engine].fixed_latency_us_per_layer.value
    assert resolve_assumptions(c, "h200-sxm", engine="generic-2024").fixed_latency_us_per_layer == (
        c.engines["generic-2024"].fixed_latency_us_per_layer.value
    )


def test_override_applies():
    """An override replaces the default."""
    assert resolve_assumptions(default_catalog(), "h200-sxm", pue=1.5).pue == 1.5


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("memory_bandwidth_efficiency", 1.5, r"\(0, 1\]"),
        ("pue", 0.9, r"\[1, inf\)"),
        ("prefill_cache_hit_rate", float("nan"), "finite"),
        ("rack_power_budget_kw", -5, "rack_power_budget_kw"),
        ("not_a_field", 1, "unknown assumption"),
    ],
)
def test_bad_override_names_field_and_bound(field, value, needle):
    """A bad override raises ScenarioError naming the field and its bound."""
    with pytest.raises(ScenarioError, match=needle):
        resolve_assumptions(default_catalog(), "h200-sxm", **{field: value})


def test_ranges_cover_default():
    """Every listed assumption has low <= default <= high and a unit."""
    ranges = assumption_ranges(default_catalog(), "b200")
    assert {r.name for r in ranges} >= {"memory_bandwidth_efficiency", "fixed_latency_us_per_layer", "pue"}
    for r in ranges:
        assert r.low <= r.value <= r.high and r.unit
