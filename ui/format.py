"""Numbers for people: 1.2 MW, $0.42/M tok, 3 racks, 198 tok/s (no Streamlit).

Each function takes SI-ish inputs named by their unit and returns a short string with the unit. ``None`` and
non-finite numbers become an em dash, so a missing value never prints as ``nan``.
"""

from __future__ import annotations

import math
import re

DASH = "—"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=&\"'^%@/;])")


def _missing(x: float | None) -> bool:
    return x is None or not isinstance(x, int | float) or not math.isfinite(x)


def number(x: float | None, digits: int = 3) -> str:
    """A number with ``digits`` significant digits and thousands separators (1,234; 0.0421; 12.3)."""
    if _missing(x):
        return DASH
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    rounded = round(x, decimals)
    if decimals == 0:
        return f"{rounded:,.0f}"
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def _scaled(x: float | None, units: list[tuple[float, str]], digits: int = 3) -> str:
    if _missing(x):
        return DASH
    for scale, unit in units:
        if abs(x) >= scale:
            return f"{number(x / scale, digits)} {unit}"
    scale, unit = units[-1]
    return f"{number(x / scale, digits)} {unit}"


def power_w(watts: float | None) -> str:
    """Power from watts: 950 W, 10.2 kW, 1.2 MW, 3.4 GW."""
    return _scaled(watts, [(1e9, "GW"), (1e6, "MW"), (1e3, "kW"), (1.0, "W")], 2 if _big(watts) else 3)


def power_kw(kilowatts: float | None) -> str:
    """Power from kilowatts (the unit the sizing results use)."""
    return power_w(None if _missing(kilowatts) else kilowatts * 1e3)


def _big(x: float | None) -> bool:
    return not _missing(x) and abs(x) >= 1e6


def energy_j(joules: float | None) -> str:
    """Energy from joules: 0.42 J, 12 kJ, 3.1 MWh for large amounts."""
    if _missing(joules):
        return DASH
    if abs(joules) >= 3.6e6:
        return _scaled(joules / 3.6e3, [(1e9, "GWh"), (1e6, "MWh"), (1e3, "kWh")])
    return _scaled(joules, [(1e3, "kJ"), (1.0, "J"), (1e-3, "mJ")])


def joules_per_token(j: float | None) -> str:
    """Energy per output token: 2.4 J/tok."""
    return DASH if _missing(j) else f"{number(j)} J/tok"


def usd(dollars: float | None) -> str:
    """Money: $950, $12.3k, $4.5M, $1.2B; cents for small amounts ($0.42)."""
    if _missing(dollars):
        return DASH
    sign = "-" if dollars < 0 else ""
    d = abs(dollars)
    for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if d >= scale:
            return f"{sign}${number(d / scale)}{suffix}"
    if d >= 100:
        return f"{sign}${d:,.0f}"
    return f"{sign}${d:,.2f}"


def usd_per_million_tokens(dollars: float | None) -> str:
    """Cost per million output tokens: $0.42/M tok."""
    return DASH if _missing(dollars) else f"{usd(dollars)}/M tok"


def tokens_per_s(x: float | None) -> str:
    """Throughput: 198 tok/s, 20.5k tok/s, 1.2M tok/s."""
    if _missing(x):
        return DASH
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale * 10 or (scale > 1e3 and abs(x) >= scale):
            return f"{number(x / scale)}{suffix} tok/s"
    return f"{number(x)} tok/s"


def count(n: float | None, singular: str, plural: str | None = None) -> str:
    """A count with its noun: 1 rack, 3 racks, 1,024 chips."""
    if _missing(n):
        return DASH
    word = singular if n == 1 else (plural or singular + "s")
    return f"{number(n) if n != int(n) else f'{int(n):,}'} {word}"


def racks(n: float | None) -> str:
    """Racks: 1 rack, 40 racks, 2.5 racks."""
    return count(n, "rack")


def chips(n: float | None) -> str:
    """Chips: 16 chips."""
    return count(n, "chip")


def percent(fraction: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: 0.73 -> 73%."""
    return DASH if _missing(fraction) else f"{number(fraction * 100, digits)}%"


def ratio(x: float | None) -> str:
    """A multiple: 3.1x."""
    return DASH if _missing(x) else f"{number(x, 2)}x"


def escape_markdown(text: str) -> str:
    """User text made inert for Streamlit markdown: punctuation backslash-escaped, newlines as spaces."""
    flat = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", flat)
