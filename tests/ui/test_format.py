"""Human formatting: units, magnitudes and missing values."""

import math

import pytest

from ui import format as fmt


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (fmt.power_w, 1.2e6, "1.2 MW"),
        (fmt.power_w, 10_200, "10.2 kW"),
        (fmt.power_w, 950, "950 W"),
        (fmt.power_kw, 132, "132 kW"),
        (fmt.usd_per_million_tokens, 0.4213, "$0.42/M tok"),
        (fmt.usd, 1_234_567, "$1.23M"),
        (fmt.usd, 3_000_000_000, "$3B"),
        (fmt.usd, 250, "$250"),
        (fmt.racks, 3, "3 racks"),
        (fmt.racks, 1, "1 rack"),
        (fmt.chips, 1024, "1,024 chips"),
        (fmt.tokens_per_s, 198, "198 tok/s"),
        (fmt.tokens_per_s, 20_500, "20.5k tok/s"),
        (fmt.tokens_per_s, 1_200_000, "1.2M tok/s"),
        (fmt.joules_per_token, 2.384, "2.38 J/tok"),
        (fmt.energy_j, 7.2e9, "2 MWh"),
        (fmt.percent, 0.731, "73%"),
        (fmt.ratio, 3.14159, "3.1x"),
        (fmt.number, 0.04213, "0.0421"),
        (fmt.number, 1234.56, "1,235"),
    ],
)
def test_formats(func, value, expected):
    """Each formatter picks the right unit prefix and about three significant digits."""
    assert func(value) == expected


@pytest.mark.parametrize("bad", [None, math.nan, math.inf])
def test_missing_values_print_as_a_dash(bad):
    """None, NaN and infinity never print as 'nan' or 'inf'."""
    assert fmt.power_w(bad) == fmt.DASH and fmt.usd(bad) == fmt.DASH and fmt.racks(bad) == fmt.DASH


def test_escape_markdown_makes_user_text_inert():
    """Links, images, emphasis, LaTeX and newlines in user text are escaped so markdown shows them literally."""
    out = fmt.escape_markdown("![x](http://evil) *b* $y$\n# h")
    assert "\\!\\[x\\]\\(http\\:\\/\\/evil\\)" in out and "\\$y\\$" in out and "\n" not in out


@pytest.mark.parametrize(("key", "expected"), [
    ("facility_power_kw", "Facility power (kW)"),
    ("hbm_bandwidth_gb_s", "HBM bandwidth (GB/s)"),
    ("electricity_usd_per_kwh", "Electricity ($/kWh)"),
    ("tdp_w", "TDP (W)"),
    ("usd_per_million_output_tokens", "$ per M output tokens"),
    ("accelerator", "Chip"),
    ("some_new_column", "Some new column"),
])
def test_column_label_gives_words_and_units(key, expected):
    """A column key becomes a header people read, its unit in brackets, never snake_case."""
    assert fmt.column_label(key) == expected
    assert "_" not in fmt.column_label(key)


@pytest.mark.parametrize(("value", "expected"), [
    (None, "—"), (float("nan"), "—"), (math.inf, "—"), (1024, "1,024"), (1024.0, "1,024"), (1_234_567, "1,234,567"),
    (0.0421349, "0.04213"), (12.3456, "12.35"), (True, "yes"), (False, "no"), ("fp8", "fp8"), (["a", "b"], "a, b"),
])
def test_cell_formats_every_kind_of_value(value, expected):
    """Whole numbers in full with separators, others to four significant digits, booleans as words, gaps as —."""
    assert fmt.cell(value) == expected


def test_cell_names_the_reason_for_a_gap():
    """A missing value with a known reason says it: '— (infeasible)'; pandas' NA counts as missing."""
    import pandas as pd

    assert fmt.cell(None, "infeasible") == "— (infeasible)"
    assert fmt.cell(pd.NA, "no price") == "— (no price)"
    assert fmt.missing("") == "—"


def test_table_uses_names_units_reasons_and_keeps_links():
    """table(): chip ids become names, headers get words and units, a row's gaps get its reason, links stay raw."""
    import pandas as pd

    frame = pd.DataFrame({"accelerator": ["b200", "x"], "feasible": [True, False], "racks": [12, None],
                          "facility_power_kw": [1234.5, float("nan")], "source_url": ["https://a", None]})
    out = fmt.table(frame, names={"b200": "B200"}, raw=("source_url", "feasible"),
                    row_reason=lambda row: None if row["feasible"] else "infeasible")
    assert list(out.columns) == ["Chip", "Meets the targets", "Racks", "Facility power (kW)", "Source link"]
    assert list(out["Chip"]) == ["B200", "x"]
    assert list(out["Racks"]) == ["12", "— (infeasible)"]
    assert list(out["Facility power (kW)"]) == ["1,234", "— (infeasible)"]
    assert out["Source link"].iloc[0] == "https://a" and fmt.is_missing(out["Source link"].iloc[1])
    assert not out.isin(["None", "nan", "NaN"]).to_numpy().any()
