"""Every shipped chip has a sourced cost, and every feasible sizing has $ per million output tokens."""

import pytest

from calculators import default_catalog
from calculators.deployment import Demand
from calculators.fleet import size

CATALOG = default_catalog()
DEFAULT_CHIPS = ["h200-sxm", "b200", "gb200", "mi355x", "tpu7x", "sn40l", "groq-lpu", "cerebras-wse3"]


@pytest.mark.parametrize("chip", DEFAULT_CHIPS)
def test_each_default_chip_or_its_system_carries_a_price_or_rental_with_provenance(chip):
    """Capex (chip or system) or rental exists, each with a band and a source, or an assumption's note."""
    a = CATALOG.accelerators[chip]
    prices = [p for p in (a.price_usd, a.rental_usd_per_hour, CATALOG.systems[a.system].price_usd) if p is not None]
    assert prices
    for p in prices:
        assert p.low is not None and p.high is not None and p.low <= p.value <= p.high
        assert p.source is not None or (p.kind == "assumption" and p.note)


def _cost_figures(chip: str) -> list:
    a = CATALOG.accelerators[chip]
    return [p for p in (a.price_usd, a.rental_usd_per_hour, CATALOG.systems[a.system].price_usd) if p is not None]


@pytest.mark.parametrize("chip", sorted(CATALOG.accelerators))
def test_every_shipped_chip_has_a_cost_with_a_source_and_a_band(chip):
    """Issue 17: every accelerator in the shipped catalog (or its system) carries a capex or a rental figure, and
    each figure has a band around its value, a kind and a source listed in sources.yaml."""
    figures = _cost_figures(chip)
    assert figures, f"{chip}: no price_usd, rental_usd_per_hour or system price_usd"
    for p in figures:
        assert p.low is not None and p.high is not None and p.low <= p.value <= p.high, (chip, p)
        assert p.source in CATALOG.sources, (chip, p.source)
        assert p.kind in ("estimate", "assumption"), (chip, p.kind)  # prices are never specs (test_catalog)


@pytest.mark.parametrize("chip", DEFAULT_CHIPS)
def test_a_feasible_sizing_has_a_cost_and_says_what_it_rests_on(chip):
    """Feasible at 'best': a $/M output tokens (owned or rented) and a cost basis naming each price's kind."""
    s = size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision="best", per_user_tokens_per_s=100.0,
             total_output_tokens_per_s=20_000.0, input_tokens=1000, output_tokens=2000, context_tokens=2000))
    if not s.feasible:
        assert s.reason
        return
    assert s.usd_per_million_output_tokens is not None
    assert s.usd_per_million_output_tokens_owned is not None or s.usd_per_million_output_tokens_rental is not None
    assert "owned:" in s.cost_basis and "rented:" in s.cost_basis
    # the kind the app marks the headline with is the kind of a price the basis names
    assert s.cost_kind in ("estimate", "assumption") and s.cost_kind in s.cost_basis
