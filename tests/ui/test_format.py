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
