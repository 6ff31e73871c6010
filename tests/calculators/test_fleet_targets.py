"""Issue 17's sizing inputs: a time-to-first-token target on the prefill pool, the user's own prices per chip,
and the $ per million tokens of each point of a sweep."""

from __future__ import annotations

import math

import pytest

from calculators import fleet
from calculators.assumptions import resolve_assumptions
from calculators.catalog import default_catalog
from calculators.cli import main
from calculators.deployment import Demand
from calculators.errors import ScenarioError
from calculators.sweep import SweepSpec, sweep

# long prompts, so that one prompt's prefill takes long enough for a target to bind
TARGET = dict(model="deepseek-r1", accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=20,
              total_output_tokens_per_s=20_000, input_tokens=32_000, output_tokens=2000)


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.fixture(scope="module")
def free(catalog):
    """The sizing without a TTFT target."""
    return fleet.size(catalog, Demand(**TARGET))


def test_no_target_keeps_the_smallest_prefill_instance(catalog, free):
    """Without a target (or with one it meets) the prefill instance is the smallest that holds the weights."""
    assert free.feasible and free.max_time_to_first_token_s is None
    loose = fleet.size(catalog, Demand(**TARGET, max_time_to_first_token_s=free.time_to_first_token_s * 2))
    assert loose.prefill_instance_chips == free.prefill_instance_chips
    assert loose.chips == free.chips and loose.time_to_first_token_s == free.time_to_first_token_s


def test_tight_target_grows_the_prefill_instance(catalog, free):
    """A target the smallest instance misses: bigger prefill instances meet it and the reason says TTFT binds."""
    target = free.time_to_first_token_s / 3
    s = fleet.size(catalog, Demand(**TARGET, max_time_to_first_token_s=target))
    assert s.feasible
    assert s.time_to_first_token_s <= target
    assert s.prefill_instance_chips > free.prefill_instance_chips
    assert s.prefill_chips >= free.prefill_chips
    assert s.prefill_chips % s.prefill_instance_chips == 0
    assert "time to first token binds" in s.reason
    assert s.decode_chips == free.decode_chips  # a disaggregated prompt never waits on the decode batch


def test_unreachable_target_is_infeasible_with_its_reason(catalog):
    """A target no instance reaches is an answer: infeasible, bound by time to first token, with the best reached."""
    s = fleet.size(catalog, Demand(**TARGET, max_time_to_first_token_s=1e-6))
    assert not s.feasible
    assert s.bound_by == "time to first token"
    assert "time to first token of 1e-06 s" in s.reason
    assert s.time_to_first_token_s > 1e-6


def test_best_precision_passes_the_target(catalog):
    """precision 'best' applies the target to every candidate precision."""
    s = fleet.size(catalog, Demand(**{**TARGET, "precision": "best"}, max_time_to_first_token_s=1e-6))
    assert not s.feasible and "time to first token" in s.reason


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, "1"])
def test_hostile_target_is_refused_by_name(catalog, bad):
    """Zero, negative, NaN, infinite or non-numeric targets raise a ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match="max_time_to_first_token_s"):
        fleet.size(catalog, Demand(**TARGET, max_time_to_first_token_s=bad))


def test_cli_flag(capsys, free):
    """size --max-time-to-first-token-s carries the target into the JSON and the sizing."""
    argv = ["size", "--model", "deepseek-r1", "--accelerator", "h200-sxm", "--precision", "fp8",
            "--per-user-tokens-per-s", "20", "--total-output-tokens-per-s", "20000", "--input-tokens", "32000",
            "--output-tokens", "2000", "--json"]
    import json

    target = free.time_to_first_token_s / 3
    assert main([*argv, "--max-time-to-first-token-s", repr(target)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["max_time_to_first_token_s"] == pytest.approx(target)
    assert d["time_to_first_token_s"] <= target and d["prefill_instance_chips"] > free.prefill_instance_chips
    assert main([*argv, "--max-time-to-first-token-s", "-1"]) != 0
    assert "max_time_to_first_token_s" in capsys.readouterr().err


def test_own_rental_rate_prices_every_chip(catalog):
    """A user's $/chip-hour replaces the catalog's: rented $/M = chips x rate / (tok/s x 3600 / 1e6)."""
    a = resolve_assumptions(catalog, "h200-sxm", rental_usd_per_chip_hour=4.0)
    s = fleet.size(catalog, Demand(**TARGET, assumptions=a))
    assert s.usd_per_million_output_tokens_rental == pytest.approx(
        s.chips * 4.0 / (s.total_output_tokens_per_s * 3600 / 1e6))
    assert "your rate of $4.00 per chip-hour" in s.cost_basis


def test_own_price_and_lifetime_set_the_owned_cost(catalog):
    """A user's price per chip sets capex = chips x price; a longer lifetime lowers the owned $/M."""
    short = fleet.size(catalog, Demand(**TARGET, assumptions=resolve_assumptions(
                                       catalog, "h200-sxm", price_usd_per_chip=30_000.0, lifetime_years=3)))
    long = fleet.size(catalog, Demand(**TARGET, assumptions=resolve_assumptions(
                                      catalog, "h200-sxm", price_usd_per_chip=30_000.0, lifetime_years=6)))
    assert short.capex_usd == short.chips * 30_000.0
    assert long.usd_per_million_output_tokens_owned < short.usd_per_million_output_tokens_owned
    assert "your price of $30,000 per chip" in short.cost_basis


@pytest.mark.parametrize("field", ["price_usd_per_chip", "rental_usd_per_chip_hour"])
@pytest.mark.parametrize("bad", [0.0, -5.0, math.nan, math.inf])
def test_hostile_prices_are_refused_by_name(catalog, field, bad):
    """A price of zero, below zero or not finite raises a ScenarioError naming it."""
    with pytest.raises(ScenarioError, match=field):
        resolve_assumptions(catalog, "h200-sxm", **{field: bad})


def test_frontier_costs_match_the_hourly_cost(catalog):
    """Each sweep point's rented $/M times its tokens per hour is its chips' rental; unpriced chips get NaN."""
    a = resolve_assumptions(catalog, "h200-sxm", rental_usd_per_chip_hour=2.5)
    frame = sweep(catalog, SweepSpec(model="deepseek-r1", accelerators=["h200-sxm"], precisions=["fp8"],
                                     context_tokens=2000, assumptions={"h200-sxm": a}))
    costs = fleet.frontier_costs(catalog, frame, {"h200-sxm": a})
    hourly = costs["usd_per_million_output_tokens_rental"] * costs["total_output_tokens_per_s"] * 3600 / 1e6
    assert hourly.to_numpy() == pytest.approx((frame["chips"] * 2.5).to_numpy())
    assert (costs["usd_per_million_output_tokens_owned"] > 0).all()
