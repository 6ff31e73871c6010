"""Issue 17's inputs: a time-to-first-token target, per-chip engine and prices in the link (pure parsing and
AppTest wiring)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from tests.ui.apptest_pages import open_page
from ui import compute, params


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", "1e99", "abc", ""])
def test_hostile_ttft_is_dropped_with_a_notice(catalog, bad):
    """Zero, negative, NaN, infinite, huge or non-numeric TTFT targets give no target and a notice naming it."""
    s, notices = params.parse_query({"max_time_to_first_token_s": bad}, catalog)
    assert s.max_time_to_first_token_s is None
    assert bad == "" or [n.param for n in notices] == ["max_time_to_first_token_s"]


def test_ttft_travels_to_the_link_and_the_sizing(catalog):
    """A valid target is read, written back to the share link, and reaches the sizing targets."""
    s, notices = params.parse_query({"max_time_to_first_token_s": "0.75"}, catalog)
    assert not notices and s.max_time_to_first_token_s == 0.75
    assert params.to_query(s, catalog)["max_time_to_first_token_s"] == "0.75"
    assert compute.targets(s).max_time_to_first_token_s == 0.75


@pytest.mark.parametrize("key", ["chip_usd_per_hour", "chip_capex_usd", "chip_lifetime_years"])
@pytest.mark.parametrize("bad", ["b200:0", "b200:-3", "b200:nan", "b200:1e300", "b200:", "b200", "nochip:2",
                                 ":2", "b200:2:3"])
def test_hostile_per_chip_prices_are_dropped_by_name(catalog, key, bad):
    """A per-chip price that is zero, negative, NaN, huge, missing, of an unknown chip or malformed is dropped with
    a notice naming the parameter; the scenario keeps no value for it."""
    s, notices = params.parse_query({key: bad}, catalog)
    assert getattr(s, key) == ()
    assert notices and all(n.param == key for n in notices)


def test_per_chip_values_round_trip(catalog):
    """Good items are kept (first per chip), bad ones named; the link writes back exactly the kept items."""
    engine = next(iter(catalog.engines))
    q = {"chip_usd_per_hour": ["b200:3.5", "b200:9", "h200-sxm:2.25"], "chip_capex_usd": "b200:41000",
         "chip_lifetime_years": "h200-sxm:6", "chip_engine": [f"b200:{engine}", "h200-sxm:no-such-engine"]}
    s, notices = params.parse_query(q, catalog)
    assert s.chip_usd_per_hour == (("b200", 3.5), ("h200-sxm", 2.25))
    assert s.chip_engine == (("b200", engine),)
    assert {n.param for n in notices} == {"chip_usd_per_hour", "chip_engine"}
    query = params.to_query(s, catalog)
    assert query["chip_usd_per_hour"] == ["b200:3.5", "h200-sxm:2.25"]
    assert query["chip_capex_usd"] == ["b200:41000"]
    again, more = params.parse_query(query, catalog)
    assert not more and again == s
    t = compute.targets(s)
    assert t.engine_for("b200") == engine and t.engine_for("h200-sxm") is None
    assert t.overrides_for("b200") == {"rental_usd_per_chip_hour": 3.5, "price_usd_per_chip": 41000.0}
    assert t.overrides_for("h200-sxm") == {"rental_usd_per_chip_hour": 2.25, "lifetime_years": 6.0}


def test_per_chip_price_changes_the_sizing(catalog):
    """A chip's own rental rate reaches fleet.size: the rented $/M follows the rate."""
    s, _ = params.parse_query({"chip_usd_per_hour": "b200:2"}, catalog)
    s2, _ = params.parse_query({"chip_usd_per_hour": "b200:4"}, catalog)
    one = compute.size_chip(catalog, compute.targets(s), "b200", "fp8")
    two = compute.size_chip(catalog, compute.targets(s2), "b200", "fp8")
    assert two.usd_per_million_output_tokens_rental == pytest.approx(2 * one.usd_per_million_output_tokens_rental)


def _table(at: AppTest, column: str):
    """The first dataframe with ``column`` (AppTest does not keep a read-only dataframe's key)."""
    return next(d.value for d in at.dataframe if column in getattr(d.value, "columns", []))


def _size_page(**query) -> AppTest:
    return open_page("ui/pages/size.py", **query)


def test_ttft_input_in_the_sidebar_reaches_the_link_and_the_table():
    """Setting the sidebar's TTFT target writes it to the URL and the sizing answers it: an unreachable target
    makes every chip infeasible, bound by time to first token."""
    at = _size_page(accelerators=["b200", "h200-sxm"], input_tokens="32000")
    box = at.number_input(key="max_time_to_first_token_s")
    assert box.value is None
    box.set_value(0.001).run()
    assert not at.exception
    assert any("max_time_to_first_token_s=0.001" in c.value for c in at.code)  # the share link
    assert any("time to first token" in w.value for w in at.warning)
    assert not _table(at, "feasible")["feasible"].any()


def test_per_chip_link_params_survive_a_page_switch():
    """Per-chip prices from the link are applied and still in the URL after switching pages."""
    at = _size_page(accelerators=["b200"], chip_usd_per_hour="b200:1.5")
    table = _table(at, "cost_basis")
    assert "your rate of $1.50 per chip-hour" in table["cost_basis"].iloc[0]
    at.query_params.pop("chip_usd_per_hour", None)  # what st.navigation does to a parameter no widget holds
    at.switch_page("ui/pages/frontier.py").run()
    assert not at.exception
    assert at.query_params["chip_usd_per_hour"] in ("b200:1.5", ["b200:1.5"])


def test_with_chip_value_sets_and_clears_one_chip():
    """Setting a chip's value replaces only that chip's item; None removes it."""
    from ui.scenario import with_chip_value

    items = (("b200", 2.0), ("h200-sxm", 3.0))
    assert with_chip_value(items, "b200", 5.0) == (("h200-sxm", 3.0), ("b200", 5.0))
    assert with_chip_value(items, "b200", None) == (("h200-sxm", 3.0),)
    assert with_chip_value((), "sn40l", 1.0) == (("sn40l", 1.0),)


def test_per_chip_inputs_in_the_sidebar_write_the_link():
    """Typing a $/chip-hour and picking an engine for a chip in the sidebar puts them in the share link and the
    sizing's cost basis (clearing one is with_chip_value(..., None); AppTest cannot empty a number input)."""
    at = _size_page(accelerators=["b200", "h200-sxm"])
    assert at.selectbox(key="per_chip_chip").value == "b200"
    rate = next(n for n in at.number_input if n.label == "$ per chip-hour")
    rate.set_value(3.25).run()
    assert not at.exception
    assert any("chip_usd_per_hour=b200%3A3.25" in c.value for c in at.code)
    # the Size table shows chip names (one formatter), so the row is found by the B200's name
    table = _table(at, "cost_basis").set_index("accelerator")
    assert "your rate of $3.25 per chip-hour" in table.loc[default_catalog().accelerators["b200"].name, "cost_basis"]
    engine = next(s for s in at.selectbox if s.label == "Engine")
    choice = engine.options[-1]
    engine.set_value(choice).run()
    assert not at.exception
    assert any(f"chip_engine=b200%3A{choice}" in c.value for c in at.code)
    assert any("chip_usd_per_hour=b200%3A3.25" in c.value for c in at.code)  # the rate is kept


def test_the_sidebar_names_the_compared_chips():
    """The link keeps chip ids, and the sidebar says their catalog names under the chips to compare."""
    at = _size_page(accelerators=["b200", "h200-sxm"])
    names = default_catalog().accelerators
    line = next(c.value for c in at.sidebar.caption if c.value.startswith("Comparing: "))
    assert names["b200"].name in line.replace("\\", "") and names["h200-sxm"].name in line.replace("\\", "")
