"""Pages at their defaults compare every default chip at its best precision, with costs, shapes and market prices;
the catalog table leads with the compared numbers and explains every gap; sensitivity names assumptions in words."""

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from calculators.deployment import Demand
from calculators.fleet import size
from tests.ui.apptest_pages import open_page
from ui import format as fmt
from ui import tables
from ui.pages.sensitivity import LABELS, label_for
from ui.params import default_scenario, parse_query, to_query

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CATALOG = default_catalog()
EIGHT = ["h200-sxm", "b200", "gb200", "mi355x", "tpu7x", "sn40l", "groq-lpu", "cerebras-wse3"]


def _page(path: str, **params) -> AppTest:
    return open_page(path, timeout=300, **params)


def _frame_with(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in getattr(d.value, "columns", []))


def test_default_scenario_is_best_precision_and_links_carry_a_fixed_one():
    """No parameters: precision 'best' (not written to the link); a fixed precision travels and parses back."""
    s = default_scenario(CATALOG)
    assert s.precision == "best" and "precision" not in to_query(s, CATALOG)
    parsed, notices = parse_query({"precision": "fp8"}, CATALOG)
    assert parsed.precision == "fp8" and not notices
    assert to_query(parsed, CATALOG)["precision"] == "fp8"
    assert parse_query({"precision": "best"}, CATALOG) == (s, [])


def test_size_page_defaults_list_all_eight_chips_each_at_its_own_precision():
    """The default Size page has a row per default chip; feasible rows name the precision and shape the calculator
    chose and have a cost; infeasible rows have a reason about the chip."""
    at = _page("ui/pages/size.py")
    frame = _frame_with(at, "replica_shape")
    ids = {CATALOG.accelerators[c].name: c for c in EIGHT}
    assert sorted(frame["accelerator"]) == sorted(ids), "the table names chips, not ids"
    scenario = default_scenario(CATALOG)
    for row in frame.itertuples():
        chip = ids[row.accelerator]
        expect = size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision="best",
                                      per_user_tokens_per_s=scenario.per_user_tokens_per_s,
                                      total_output_tokens_per_s=scenario.total_output_tokens_per_s,
                                      input_tokens=scenario.input_tokens, output_tokens=scenario.output_tokens,
                                      context_tokens=scenario.context_tokens))
        assert row.feasible == expect.feasible
        if row.feasible:
            assert row.precision == expect.precision and row.replica_shape == expect.replica_shape
            assert row.usd_per_million_output_tokens == fmt.usd(expect.usd_per_million_output_tokens)
        else:
            assert chip in expect.reason and row.racks == "— (infeasible)"
    warning = " ".join(w.value for w in at.warning)
    assert "has no 'fp8' math" not in warning


def test_size_page_shows_market_prices_beside_the_model():
    """The Size page lists the catalog's API prices for the model (>= 5 providers) with their dates."""
    at = _page("ui/pages/size.py")
    prices = _frame_with(at, "provider")
    assert prices["provider"].nunique() >= 5 and prices["date"].notna().all()


def test_size_page_assumed_topology_is_labelled():
    """size_topology=assumed sizes larger replicas and labels every row 'assumed'."""
    at = _page("ui/pages/size.py", accelerators=["sn40l", "gb200"])
    at.segmented_control(key="size_topology").set_value("assumed").run()
    frame = _frame_with(at, "replica_shape")
    assert set(frame["replica_shape"]) == {"assumed"}


def test_claim_page_shows_market_prices():
    """The claim page ends with the market list prices for the model."""
    at = _page("ui/pages/claim.py")
    assert _frame_with(at, "provider")["provider"].nunique() >= 5


def test_catalog_table_leads_with_compared_numbers_and_explains_every_gap():
    """Accelerator columns start with HBM capacity and bandwidth, FLOP/s per precision, power, price; every missing
    cell has a reason in words."""
    frame = tables.accelerators_frame(CATALOG)
    lead = ["id", "vendor", "name", "hbm_capacity_gb", "hbm_bandwidth_gb_s",
            *[f"peak_{p}_tflops" for p in CATALOG.precisions], "tdp_w", "price_usd"]
    assert list(frame.columns[:len(lead)]) == lead
    reasons = tables.accelerators_missing_reasons(CATALOG, frame)
    assert (reasons.where(frame.isna(), "x") != "").all().all()
    assert (reasons.where(frame.notna(), "") == "").all().all()


def test_every_gap_column_has_a_hover_naming_the_chips_and_why():
    """Each accelerator column with a gap gets a header hover naming each chip with "—" and its reason."""
    frame = tables.accelerators_frame(CATALOG)
    helps = tables.missing_reasons_by_column(CATALOG, frame)
    gaps = [c for c in frame.columns if frame[c].isna().any()]
    assert sorted(helps) == sorted(gaps)
    sn40l = frame.index[frame["id"] == "sn40l"][0]
    assert "sn40l" in helps["peak_fp8_tflops"] and "no fp8 math" in helps["peak_fp8_tflops"]
    assert pd.isna(frame.at[sn40l, "peak_fp8_tflops"])


def test_catalog_page_renders_missing_values_as_a_dash():
    """The catalog page's accelerator table renders with no exception (gaps are displayed as "—")."""
    at = _page("ui/pages/catalog.py")
    assert not at.exception and not at.error


def test_sensitivity_names_every_assumption_in_words():
    """Every assumption the calculators range over has a label in words; no raw field name reaches the page."""
    from calculators.assumptions import assumption_ranges

    for chip in EIGHT:
        for r in assumption_ranges(CATALOG, chip):
            assert "_" not in label_for(r.name), r.name
    assert "interconnect_efficiency" in LABELS
    at = _page("ui/pages/sensitivity.py", accelerator="gb200")
    table = _frame_with(at, "Assumption")
    assert not table["Assumption"].str.contains("_").any()
    assert not [c for c in table.columns if "_" in c], "headers are words"
