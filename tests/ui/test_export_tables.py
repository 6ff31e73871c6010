"""CSV downloads of the Claims table and the market-price table: the provenance header names each row's source."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pandas as pd

from calculators import default_catalog
from calculators.claims import check_claims
from ui import export, tables

CATALOG = default_catalog()
DAY = dt.date(2025, 2, 20)


def _read(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), comment="#")


def test_claims_csv_has_every_claim_and_its_source():
    """One row per claim with the CLI's JSON keys; each claim's source is listed in the header."""
    checks = check_claims(CATALOG)
    text = export.claims_csv(checks, scenario={"model": "deepseek-r1"}, catalog=CATALOG, version="9", today=DAY)
    frame = _read(text)
    assert list(frame["id"]) == [c.id for c in checks]
    assert {"status", "verdict", "claimed", "predicted", "hinges", "source_url"} <= set(frame.columns)
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# scenario.model: deepseek-r1" in header
    for c in checks:
        assert any(line.startswith(f"#   {c.source}: ") for line in header), c.source


def test_claims_csv_neutralises_formula_text():
    """A claim whose words start like a spreadsheet formula is written as text, not run."""
    check = dataclasses.replace(check_claims(CATALOG)[0], claim="=HYPERLINK(\"http://x\")")
    frame = _read(export.claims_csv([check], scenario={}, catalog=CATALOG, version="9", today=DAY))
    assert frame["claim"].iloc[0].startswith("'=")


def test_market_prices_csv_matches_the_table():
    """The prices CSV holds the table's rows and numbers, and names each price's source in its header."""
    shown = tables.api_prices_frame(CATALOG, "deepseek-r1")
    assert not shown.empty
    text = export.api_prices_csv(CATALOG, "deepseek-r1", scenario={"model": "deepseek-r1"}, version="9", today=DAY)
    frame = _read(text)
    assert list(frame["provider"]) == list(shown["provider"])
    assert frame["usd_per_million_output_tokens"].tolist() == shown["usd_per_million_output_tokens"].tolist()
    for price in CATALOG.api_prices.values():
        if price.model == "deepseek-r1":
            assert f"#   {price.usd_per_million_output_tokens.source}: " in text


def test_market_prices_csv_of_an_unpriced_model_is_empty_with_header():
    """A model without API prices gives a header and no rows, not an error."""
    text = export.api_prices_csv(CATALOG, "no-such-model", scenario={}, version="9", today=DAY)
    assert text.startswith("# Rackscale export") and _read(text).empty
