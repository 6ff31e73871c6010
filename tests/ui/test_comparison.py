"""ui.comparison: the landing page's and the report's side-by-side table marks every cost that rests on an estimated
or assumed catalog price (issue 17), and only those cells."""

import dataclasses

import pytest

from calculators import default_catalog
from calculators.deployment import Demand
from calculators.fleet import size
from ui import comparison

CATALOG = default_catalog()
MONEY_ROWS = {"Capex", "$ per million output tokens"}


def _size(chip: str, precision: str):
    return size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision=precision, per_user_tokens_per_s=100.0,
                total_output_tokens_per_s=20_000.0, input_tokens=1000, output_tokens=2000, context_tokens=2000))


@pytest.fixture(scope="module")
def sides():
    sn, gpu = _size("sn40l", "bf16"), _size("b200", "fp8")
    assert sn.feasible and gpu.feasible
    return sn, gpu


def test_cost_kind_is_the_kind_of_the_price_the_headline_uses(sides):
    """SambaRack's price is an assumption (a system price); B200's is an estimated chip price."""
    sn, gpu = sides
    assert sn.cost_kind == CATALOG.systems["sambarack-sn40l-16"].price_usd.kind == "assumption"
    assert gpu.cost_kind == CATALOG.accelerators["b200"].price_usd.kind == "estimate"


def test_money_cells_say_estimate_or_assumed_and_other_cells_do_not(sides):
    """Capex and $/M tokens end with the price's mark; racks, power and the rest carry none."""
    sn, gpu = sides
    table = comparison.side_by_side(sn, gpu, "sn", "gpu").set_index("quantity")
    for row, cells in table.iterrows():
        if row in MONEY_ROWS:
            assert cells["sn"].endswith(", assumed price") and cells["gpu"].endswith(", estimate"), row
        else:
            assert not any(c.endswith((", estimate", ", assumed price")) for c in cells), row


def test_a_price_that_is_not_an_estimate_is_not_marked(sides):
    """A cost resting on a price of another kind (a user's quoted price, say) keeps its plain label and cells."""
    _, gpu = sides
    quoted = dataclasses.replace(gpu, cost_kind="vendor-spec")
    table = comparison.side_by_side(quoted, quoted, "a", "b").set_index("quantity")
    assert not table.loc["$ per million output tokens", "a"].endswith(", estimate")
    assert comparison.cost_label("Cost", "vendor-spec") == "Cost"
    assert comparison.cost_label("Cost", "estimate") == "Cost (estimate)"
    assert comparison.cost_label("Cost", "assumption") == "Cost (assumed price)"
