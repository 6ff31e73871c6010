"""parse_query, to_query and share_url: untrusted URL parameters in, a valid scenario and notices out."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calculators import default_catalog
from ui import params
from ui.params import FIELDS_BY_KEY, default_scenario, parse_query, share_url, to_query

CATALOG = default_catalog()


def test_no_params_gives_defaults_and_no_notices():
    """An empty query opens the default scenario silently."""
    scenario, notices = parse_query({}, CATALOG)
    assert scenario == default_scenario(CATALOG)
    assert notices == []


def test_defaults_exist_in_the_catalog():
    """Every default id (model, chips, precision) is an id the shipped catalog has."""
    s = default_scenario(CATALOG)
    assert s.model in CATALOG.models and (s.precision in CATALOG.precisions or s.precision == "best")
    assert s.gpu in CATALOG.accelerators and s.accelerator in CATALOG.accelerators
    assert s.accelerators and set(s.accelerators) <= set(CATALOG.accelerators)


def test_valid_params_are_read():
    """Valid values of each type reach the scenario unchanged."""
    s, notices = parse_query({"model": "llama-3.1-70b", "per_user_tokens_per_s": "250.5", "input_tokens": "4096",
                              "accelerators": ["b200", "sn40l"], "pue": "1.4", "engine": "generic-2024", "v": "1"},
                             CATALOG)
    assert notices == []
    assert (s.model, s.per_user_tokens_per_s, s.input_tokens) == ("llama-3.1-70b", 250.5, 4096)
    assert s.accelerators == ("b200", "sn40l") and s.pue == 1.4 and s.engine == "generic-2024"


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("pue", "abc", "not a number"),
        ("pue", "nan", "not a finite number"),
        ("pue", "inf", "not a finite number"),
        ("pue", "-1", "at least"),
        ("pue", "99", "at most"),
        ("input_tokens", "1.5", "whole number"),
        ("per_user_tokens_per_s", "0", "at least"),
        ("model", "gpt-9", "unknown model id"),
        ("gpu", "<script>", "unknown accelerator id"),
        ("precision", "", "empty"),
        ("zzz", "1", "unknown parameter"),
        ("v", "99", "unknown scenario version"),
    ],
)
def test_bad_param_is_dropped_with_a_reason(key, value, reason):
    """Each class of bad value is ignored, its field keeps the default, and the notice says why."""
    s, notices = parse_query({key: value}, CATALOG)
    assert len(notices) == 1 and reason in notices[0].reason and notices[0].param == key
    if key in FIELDS_BY_KEY:
        assert getattr(s, key) == getattr(default_scenario(CATALOG), key)


def test_repeated_scalar_and_long_values_are_refused():
    """A scalar given twice and a value over the length cap are both dropped with a notice."""
    _, notices = parse_query({"model": ["deepseek-r1", "kimi-k2"], "gpu": "x" * 5000}, CATALOG)
    reasons = " ".join(n.reason for n in notices)
    assert "given 2 times" in reasons and "limit is 200" in reasons


def test_chip_list_keeps_known_ids_and_names_unknown_ones():
    """Unknown ids in the chip list are named; the known ones are kept once each, in order."""
    s, notices = parse_query({"accelerators": ["b200", "nope", "b200", "h20"]}, CATALOG)
    assert s.accelerators == ("b200", "h20")
    assert len(notices) == 1 and "nope" in notices[0].reason


def test_empty_optional_means_catalog_default():
    """An empty optional parameter (Streamlit's way to clear a widget) means 'use the catalog's value'."""
    s, notices = parse_query({"pue": ""}, CATALOG)
    assert s.pue is None and notices == []


def test_round_trip_through_the_share_link():
    """to_query writes only non-default values plus v, and parsing them back gives the same scenario."""
    s, _ = parse_query({"per_user_tokens_per_s": "123.25", "accelerators": ["sn40l", "gb200"], "pue": "1.35",
                        "total_output_tokens_per_s": "123456789"}, CATALOG)
    query = to_query(s, CATALOG)
    assert query["v"] == "1" and "model" not in query
    again, notices = parse_query(query, CATALOG)
    assert again == s and notices == []
    assert share_url("http://h:1/size?x=1#a", query).startswith("http://h:1/size?v=1&")


_keys = st.sampled_from([*params.KNOWN_PARAMS, "other", "embed"])
_values = st.one_of(st.text(max_size=300), st.lists(st.text(max_size=20), max_size=5),
                    st.floats(allow_nan=True).map(str), st.integers().map(str))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_keys, _values, max_size=8))
def test_parse_query_never_raises_and_always_gives_valid_values(query):
    """Whatever the URL holds, parsing returns in-range, known values and one notice per bad parameter at most."""
    s, notices = parse_query(query, CATALOG)
    for key, field in FIELDS_BY_KEY.items():
        value = getattr(s, key)
        if value is None:
            assert field.optional or field.default_for(CATALOG) is None
        elif field.kind in ("float", "int"):
            assert math.isfinite(value) and field.low <= value <= field.high
        elif field.kind == "choice":
            assert value in field.choices(CATALOG)
        else:
            assert set(value) <= set(field.choices(CATALOG))
    assert len(notices) <= params.MAX_NOTICES + 1


def test_registered_page_params_pass_without_notice(monkeypatch):
    """A page-local parameter registered in PAGE_PARAMS raises no notice; an unregistered one does."""
    monkeypatch.setitem(params.PAGE_PARAMS, "frontier_axis",
                        params.PageParam("x axis of the frontier chart", ("per_chip", "per_rack")))
    _, notices = parse_query({"frontier_axis": "per_rack", "other_axis": "x"}, CATALOG)
    assert [n.param for n in notices] == ["other_axis"]


def test_chart_choices_of_the_frontier_and_sensitivity_pages_are_known_params():
    """frontier_metric and sensitivity_metric (page-bound chart selectors) open from a link without a notice."""
    _, notices = parse_query({"frontier_metric": "output_tokens_per_s_per_rack", "sensitivity_metric": "racks"},
                             CATALOG)
    assert notices == []


def test_bad_page_param_value_is_named():
    """A page-local parameter with a value outside its options is named in a notice."""
    _, notices = parse_query({"frontier_metric": "bogus", "sensitivity_metric": "racks"}, CATALOG)
    assert [(n.param, n.value) for n in notices] == [("frontier_metric", "bogus")]


def test_page_options_are_read_by_id_or_by_the_label_streamlit_writes():
    """A page widget with labels writes the label to the URL ('Larger, assumed'); both forms open without a
    notice, the share link writes the label and the report reads the id."""
    raw = {"size_topology": "Larger, assumed", "frontier_metric": "output_tokens_per_s_per_rack"}
    _, notices = parse_query(raw, CATALOG)
    assert notices == []
    assert params.page_values(raw, CATALOG) == {"size_topology": "Larger, assumed",
                                                "frontier_metric": "Output tok/s per rack"}
    assert params.page_ids(raw, CATALOG) == {"size_topology": "assumed",
                                             "frontier_metric": "output_tokens_per_s_per_rack"}


def test_catalog_dependent_page_params_are_checked_against_the_catalog():
    """Claim vendors, provenance chip and kinds come from the catalog; an unknown one is named, known ones travel."""
    vendor = next(iter(CATALOG.claims.values())).vendor
    raw = {"claims_vendors": [vendor, "Nobody Inc"], "provenance_chip": "b200", "provenance_kinds": ["measured"]}
    _, notices = parse_query(raw, CATALOG)
    assert [n.param for n in notices] == ["claims_vendors"]
    kept = params.page_values({**raw, "claims_vendors": [vendor]}, CATALOG)
    assert kept == {"claims_vendors": [vendor], "provenance_chip": "b200", "provenance_kinds": ["measured"]}
    assert "claims_vendors" not in params.page_values(raw, CATALOG)
