"""Fleet sizing (F11-F15): racks, power, cost, infeasibility as an answer."""

from __future__ import annotations

import math

import pytest

from calculators import fleet
from calculators.catalog import default_catalog
from calculators.deployment import Demand
from calculators.errors import ScenarioError

TARGET = dict(model="deepseek-r1", total_output_tokens_per_s=20_000, input_tokens=1000, output_tokens=8000)


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_racks_by_space_and_power():
    """racks = max(ceil(nodes / per rack), ceil(nodes / floor(budget / node kW)))."""
    # 10 DGX H100 (10.2 kW), 4 per rack by space -> 3; 20 kW budget -> 1 per rack -> 10
    assert fleet.racks_needed(10, 4, 10.2, 20) == (3, 10)
    assert fleet.racks_needed(10, 4, 10.2, 41) == (3, 3)
    assert fleet.racks_needed(1, 1, 120, 40) == (1, 0)  # an NVL72 cannot go in a 40 kW rack


def test_cost_per_million_tokens():
    """$ per M tokens = $/h / (tok/s x 3600 / 1e6): $36/h at 10,000 tok/s = $1 per M."""
    assert fleet.usd_per_million_tokens(36, 10_000) == pytest.approx(1.0)
    # $4.383M over 4 years (35,064 h) = $125/h, plus 100 kW x $0.08 = $8/h
    assert fleet.owned_usd_per_hour(4_383_000, 4, 100, 0.08) == pytest.approx(4_383_000 / 35_064 + 8)


def test_feasible_h200_sizing(catalog):
    """A modest target on H200 sizes to whole nodes and racks with finite power and cost."""
    s = fleet.size(catalog, Demand(accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=30, **TARGET))
    assert s.feasible
    assert s.chips == s.decode_chips + s.prefill_chips and s.chips > 0
    assert s.nodes == math.ceil(s.decode_chips / 8) + math.ceil(s.prefill_chips / 8)
    assert s.racks == max(s.racks_by_space, s.racks_by_power)
    assert s.per_user_tokens_per_s >= 30
    assert s.facility_power_kw == pytest.approx(s.it_power_kw * 1.2)
    assert s.joules_per_output_token == pytest.approx(s.it_power_kw * 1e3 / 20_000)
    assert s.usd_per_million_output_tokens is not None and s.usd_per_million_output_tokens > 0


def test_power_budget_binds(catalog):
    """A 15 kW rack budget holds one 10.2 kW DGX per rack, so racks follow power, not space."""
    from calculators.assumptions import resolve_assumptions

    a = resolve_assumptions(catalog, "h200-sxm", rack_power_budget_kw=15)
    s = fleet.size(catalog, Demand(accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=30, assumptions=a,
                                   **TARGET))
    assert s.racks == s.nodes and s.rack_limited_by == "power"


def test_unreachable_speed_is_an_answer(catalog):
    """2,000 tok/s/user on H100 is infeasible, with the best reachable speed in the reason and no NaN."""
    s = fleet.size(catalog, Demand(accelerator="h100-sxm", precision="fp8", per_user_tokens_per_s=2000, **TARGET))
    assert not s.feasible
    assert "best reachable" in s.reason and 0 < s.per_user_tokens_per_s < 2000
    assert all(math.isfinite(v) for v in s.to_dict().values() if isinstance(v, float))


@pytest.mark.parametrize("bad", [0, -5, float("nan"), float("inf")])
def test_bad_targets_raise(catalog, bad):
    """Zero, negative, NaN or infinite targets raise ScenarioError naming the argument."""
    with pytest.raises(ScenarioError, match="per_user_tokens_per_s"):
        fleet.size(catalog, Demand(accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=bad, **TARGET))
