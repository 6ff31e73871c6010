"""calculators.prices, the api_prices catalog section and the 'prices' command."""

import json

import pytest

from calculators import default_catalog
from calculators.catalog import catalog_from_texts, read_files, shipped_catalog_files
from calculators.cli import main
from calculators.errors import CatalogError
from calculators.prices import price_rows

CATALOG = default_catalog()


def test_prices_json_lists_at_least_five_providers_for_r1_with_sources_and_dates(capsys):
    """`prices --model deepseek-r1 --json` has >= 5 providers, each row with prices, a source title and a date."""
    assert main(["prices", "--model", "deepseek-r1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len({r["provider"] for r in rows}) >= 5
    for r in rows:
        assert {"provider", "usd_per_million_input_tokens", "usd_per_million_output_tokens", "source", "date"} <= set(r)
        assert r["usd_per_million_output_tokens"] > 0 and r["source"] and r["date"]


def test_each_price_cites_a_catalog_source_with_a_url():
    """Every API price's numbers cite a source of the catalog that has a URL to check it against."""
    for p in CATALOG.api_prices.values():
        for number in (p.usd_per_million_input_tokens, p.usd_per_million_output_tokens):
            assert CATALOG.sources[number.source].url


def test_prices_for_an_unknown_model_exit_2_with_a_message(capsys):
    """An unknown model id exits 2 with one line naming it."""
    assert main(["prices", "--model", "no-such-model"]) == 2
    assert "no-such-model" in capsys.readouterr().err


def test_price_rows_are_cheapest_output_first():
    """Rows are ordered by output price, so the table reads from the cheapest provider."""
    out = [r["usd_per_million_output_tokens"] for r in price_rows(CATALOG, "deepseek-r1")]
    assert out == sorted(out)


def test_a_price_for_an_unknown_model_is_a_catalog_problem():
    """An api_prices entry naming a model the catalog lacks is reported with its file, line and field."""
    bad = b"""api_prices:
  - id: bad-price
    provider: Nobody
    model: no-such-model
    usd_per_million_input_tokens: {value: 1, kind: assumption, note: test}
    usd_per_million_output_tokens: {value: 2, kind: assumption, note: test}
    date: 2026-12-01
"""
    with pytest.raises(CatalogError) as err:
        catalog_from_texts([*read_files(shipped_catalog_files()), ("bad.yaml", bad)])
    assert any("bad.yaml" in str(p) and "model" in str(p) for p in err.value.problems)
