"""Catalog and method pages through AppTest: tables match the catalog and the calculators, chips can be added."""

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from calculators.validation import validate, validation_frame

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CATALOG = default_catalog()


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_catalog_tables_hold_every_entry():
    """The accelerators, systems and models tables have one row per catalog entry."""
    at = _page("ui/pages/catalog.py")
    shapes = {tuple(sorted(d.value.columns))[:3]: len(d.value) for d in at.dataframe}
    frames = [d.value for d in at.dataframe]
    assert list(frames[0]["id"]) == list(CATALOG.accelerators)
    assert list(frames[1]["id"]) == list(CATALOG.systems)
    assert list(frames[2]["id"]) == list(CATALOG.models)
    assert shapes


def test_invalid_chip_shows_file_line_errors_and_valid_chip_joins_the_link():
    """A bad edit lists loader problems as 'your chip:LINE: field: message'; a good one lands in ?custom=."""
    at = _page("ui/pages/catalog.py")
    at.selectbox(key="edit_start").set_value("sn40l").run()
    text = at.text_area(key="chip_yaml_sn40l").value
    bad = text.replace("id: sn40l", "id: sn40l-x").replace("tdp_w:\n    value: 500.0", "tdp_w:\n    value: -5.0")
    assert bad != text.replace("id: sn40l", "id: sn40l-x")
    at.text_area(key="chip_yaml_sn40l").set_value(bad)
    at.button[0].click().run()
    problems = "\n".join(c.value for c in at.code)
    assert "your chip:" in problems and "tdp_w.value: must be > 0 (got -5.0)" in problems
    assert "custom" not in at.query_params
    at.text_area(key="chip_yaml_sn40l").set_value(text.replace("id: sn40l", "id: sn40l-x"))
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert at.query_params["custom"].startswith("c1.")
    assert "sn40l-x" in list(at.dataframe[0].value["id"])


def test_method_page_shows_validate_results():
    """The validation table is exactly calculators.validation.validate on the shipped catalog."""
    at = _page("ui/pages/method.py")
    expected = validation_frame(validate(CATALOG))
    shown = next(d.value for d in at.dataframe if "error_fraction" in d.value.columns)
    pd.testing.assert_frame_equal(shown.reset_index(drop=True), expected, check_dtype=False)
    assert len(at.latex) == 15


def test_method_page_leads_with_the_cross_validated_errors():
    """The out-of-sample table is calculators.crossval.summarise of the shipped catalog, per regime and class."""
    from calculators.crossval import REGIMES, cross_validated, summarise

    at = _page("ui/pages/method.py")
    shown = next(d.value for d in at.dataframe if "p90_abs_error" in d.value.columns)
    expected = summarise(cross_validated(CATALOG))
    assert len(shown) == len(expected)
    assert set(shown["regime"]) == {"overall", *(REGIMES[s.regime] for s in expected if s.regime != "all")}
    overall = shown[(shown["regime"] == "overall") & (shown["chip_class"] == "all")].iloc[0]
    assert overall["median_abs_error"] == expected[0].median_abs_error and overall["count"] == len(CATALOG.validation)
