"""CSV and YAML exports: provenance header, column names, formula neutralising and catalog round trip."""

import datetime as dt
import io

import pandas as pd

from calculators import catalog_from_texts, default_catalog
from ui import export

CATALOG = default_catalog()


def _csv(frame: pd.DataFrame) -> str:
    ids = export.sources_used(CATALOG, accelerators=["b200"], models=["deepseek-r1"])
    scenario = {"model": "deepseek-r1", "accelerators": ["b200", "sn40l"]}
    return export.to_csv(frame, title="comparison", scenario=scenario,
                         catalog=CATALOG, source_ids=ids, version="9.9", today=dt.date(2025, 2, 20))


def test_header_records_scenario_version_date_and_sources():
    """The comment header names the table, the app version, the date, each scenario value and each source."""
    text = _csv(pd.DataFrame({"racks": [1]}))
    header = [line for line in text.splitlines() if line.startswith("# ")]
    assert "# app_version: 9.9" in header and "# date: 2025-02-20" in header
    assert "# scenario.accelerators: b200,sn40l" in header
    assert any(line.startswith("#   deepseek-v3-config: ") and "http" in line for line in header)


def test_csv_parses_back_with_numbers_intact():
    """pandas reads the CSV back (comment='#') with numeric columns numeric, negatives included."""
    frame = pd.DataFrame({"accelerator": ["b200", "sn40l"], "racks": [3, 1], "delta_usd": [-1.5, 2.25]})
    back = pd.read_csv(io.StringIO(_csv(frame)), comment="#")
    assert list(back.columns) == ["accelerator", "racks", "delta_usd"]
    assert back["delta_usd"].tolist() == [-1.5, 2.25] and back["racks"].dtype.kind == "i"


def test_formula_cells_are_neutralised():
    """Text starting with = + - @ tab or CR gets an apostrophe; plain negative numbers in text stay as they are."""
    cells = ["=HYPERLINK(\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-42", "-0.5e3", "ok"]
    out = [export.neutralise(c) for c in cells]
    assert out[:6] == ["'" + c for c in cells[:6]]
    assert out[6:] == ["-42", "-0.5e3", "ok"]
    text = _csv(pd.DataFrame({"=name": ["=1+1"]}))
    assert "'=name" in text and "'=1+1" in text


def test_header_cannot_be_broken_by_newlines():
    """A scenario value with newlines stays on its comment line."""
    text = export.to_csv(pd.DataFrame({"a": [1]}), title="t\nx", scenario={"k": "a\nb=1"}, catalog=CATALOG)
    assert all(line.startswith("#") for line in text.splitlines()[:-2])


def test_catalog_yaml_round_trips():
    """The downloaded catalog YAML loads back into an equal catalog."""
    text = export.catalog_yaml(CATALOG, header="Rackscale catalog\nexported")
    assert text.startswith("# Rackscale catalog\n")
    assert catalog_from_texts([("download.yaml", text)]) == CATALOG
