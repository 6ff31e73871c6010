"""Numbers and tables for people: 1.2 MW, $0.42/M tok, 3 racks, 198 tok/s, "Facility power (kW)" (no Streamlit).

Each number function takes SI-ish inputs named by their unit and returns a short string with the unit. ``None`` and
non-finite numbers become an em dash, so a missing value never prints as ``nan``. :func:`cell`, :func:`column_label`
and :func:`table` turn a calculator frame into what every page, the report and the share link show: chip names
instead of ids, units in the headers, thousands separators, and "—" with a reason where a number is missing. The
one formatter of the app: pages and the report call it, CSV exports keep the raw numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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


# --- tables -----------------------------------------------------------------------------------------------------

# Headers people read, unit in brackets; a key not listed gets :func:`column_label`'s words from its name.
HEADERS: dict[str, str] = {
    "accelerator": "Chip", "chip": "Chip", "gpu": "GPU side", "rank": "Rank", "feasible": "Meets the targets",
    "precision": "Precision", "replica_shape": "Replica shape", "racks": "Racks", "chips": "Chips",
    "chips_low": "Chips (low)", "chips_high": "Chips (high)", "nodes": "Nodes", "rack_limited_by": "Racks limited by",
    "facility_power_kw": "Facility power (kW)", "it_power_kw": "IT power (kW)",
    "joules_per_output_token": "Energy per output token (J)",
    "usd_per_million_output_tokens": "$ per M output tokens", "usd_per_million_input_tokens": "$ per M input tokens",
    "usd_per_million_output_tokens_owned": "$ per M output tokens, owned",
    "usd_per_million_output_tokens_rental": "$ per M output tokens, rented", "capex_usd": "Capex ($)",
    "per_user_tokens_per_s": "Per-user speed (tok/s)", "output_tokens_per_s": "Output (tok/s per user)",
    "total_output_tokens_per_s": "Total output (tok/s)", "bound_by": "Decode bound by", "layout": "Replica layout",
    "concurrency_per_replica": "Batch per replica", "cost_basis": "Cost based on", "reason": "Why / how",
    "assumption": "Assumption", "value": "Value", "low": "Low", "high": "High", "unit": "Unit",
    "source": "Source", "source_title": "Source title", "source_url": "Source link", "url": "Link",
    "accessed": "Read on", "date": "Date", "note": "Note", "kind": "Kind", "section": "Section", "field": "Field",
    "id": "ID", "title": "Title", "provider": "Provider", "offering": "Offering", "vendor": "Vendor",
    "status": "Verdict", "verdict": "In words", "claim": "Claim", "claimed": "Claimed", "predicted": "Model",
    "yours": "Yours", "scenario": "Scenario", "set in the link": "Set in the link",
    "baseline": "At the defaults", "swing": "Swing", "at_low": "At the low end", "at_high": "At the high end",
    "change_at_low": "Change at the low end", "change_at_high": "Change at the high end",
}
# Assumptions (``calculators.assumptions`` names) in words, for the sensitivity page, the method page and the report.
ASSUMPTION_LABELS: dict[str, str] = {
    "memory_bandwidth_efficiency": "Memory bandwidth efficiency",
    "compute_efficiency_decode": "Compute efficiency (decode)",
    "compute_efficiency_prefill": "Compute efficiency (prefill)",
    "fixed_latency_us_per_layer": "Engine fixed latency per layer",
    "usable_memory_fraction": "Usable memory fraction",
    "pue": "PUE",
    "electricity_usd_per_kwh": "Electricity price",
    "lifetime_years": "Hardware lifetime",
    "prefill_cache_hit_rate": "Prefill cache hit rate",
    "power_utilisation": "Power utilisation",
    "mtp_acceptance": "MTP acceptance",
    "precision": "Precision",
    "interconnect_efficiency": "Interconnect efficiency (achieved share of link bandwidth)",
    "host_overhead_us_per_sequence": "Host overhead per sequence",
}
_UNIT_TAILS = (("_usd_per_kwh", "($/kWh)"), ("_usd_per_hour", "($/h)"), ("_gb_s", "(GB/s)"),
               ("_tb_s", "(TB/s)"), ("_per_s", "per s"), ("_kwh", "(kWh)"), ("_kw", "(kW)"), ("_mw", "(MW)"),
               ("_w", "(W)"), ("_gb", "(GB)"), ("_tb", "(TB)"), ("_usd", "($)"), ("_us", "(µs)"), ("_ms", "(ms)"),
               ("_s", "(s)"), ("_pct", "(%)"), ("_years", "(years)"), ("_tflops", "(TFLOP/s)"))
_WORDS = {"hbm": "HBM", "sram": "SRAM", "it": "IT", "pue": "PUE", "mtp": "MTP", "kv": "KV", "id": "ID",
          "url": "URL", "tp": "TP", "ep": "EP", "dp": "DP", "fp8": "FP8", "fp4": "FP4", "bf16": "BF16",
          "int8": "INT8", "tdp": "TDP", "api": "API", "gpu": "GPU", "usd": "$", "tok": "tok", "tflops": "TFLOP/s"}


LINK_COLUMNS = ("source_url", "url", "scenario", "yours")


def column_label(key: str) -> str:
    """A column's header as people read it: :data:`HEADERS`, else its words with the unit in brackets
    (``hbm_bandwidth_gb_s`` -> "HBM bandwidth (GB/s)")."""
    if key in HEADERS:
        return HEADERS[key]
    stem, unit = str(key), ""
    for tail, shown in _UNIT_TAILS:
        if stem.endswith(tail) and len(stem) > len(tail):
            stem, unit = stem[: -len(tail)], shown
            break
    words = [_WORDS.get(w, w) for w in stem.replace("-", "_").split("_") if w]
    text = " ".join(words) or str(key)
    text = text[0].upper() + text[1:]
    return f"{text} {unit}" if unit else text


def assumption_label(name: str) -> str:
    """The words for an assumption: its label, or its field name in words (never the raw identifier)."""
    return ASSUMPTION_LABELS.get(name) or name.replace("_", " ").capitalize()


def is_missing(value: Any) -> bool:
    """True for None, NaN, pandas' NA and other non-finite numbers."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and not math.isfinite(value))
    except (TypeError, ValueError):
        return False


def missing(reason: str | None = None) -> str:
    """A missing value with why: "— (infeasible)", or the bare dash when no reason is known."""
    return f"{DASH} ({reason})" if reason else DASH


def cell(value: Any, reason: str | None = None) -> str:
    """One table cell as text: whole numbers in full with thousands separators (1,024), others to four
    significant digits (0.04213, 12.35, 1,235), booleans as yes/no, a missing value as :func:`missing`."""
    if is_missing(value):
        return missing(reason)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return number(float(value), 4)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or missing(reason)
    return str(value)


def table(frame: Any, *, names: Mapping[str, str] | None = None, name_columns: Iterable[str] = (
          "accelerator", "chip", "gpu"), formats: Mapping[str, Callable[[Any], str]] | None = None,
          reasons: Mapping[str, str] | None = None, row_reason: Callable[[Any], str | None] | None = None,
          labels: Mapping[str, str] | None = None, raw: Iterable[str] = LINK_COLUMNS) -> Any:
    """``frame`` as people read it (a new pandas frame of text): ids in ``name_columns`` replaced by ``names``,
    each column through ``formats`` or :func:`cell`, missing values as "—" with a reason (``reasons`` by column, or
    ``row_reason(row)`` for a whole row, such as "infeasible"), headers by ``labels`` or :func:`column_label`.
    Columns in ``raw`` (links, flags) keep their values for the grid's link and checkbox columns."""
    import pandas as pd

    names, formats, reasons, labels = names or {}, formats or {}, reasons or {}, labels or {}
    out: dict[str, list[str]] = {}
    name_columns, raw = set(name_columns), set(raw)
    for column in frame.columns:
        if column in raw:
            out[labels.get(column) or column_label(column)] = list(frame[column])
            continue
        texts = []
        for i, value in frame[column].items():
            why = reasons.get(column) or (row_reason(frame.loc[i]) if row_reason is not None else None)
            if is_missing(value):
                texts.append(missing(why))
            elif column in name_columns and isinstance(value, str):
                texts.append(names.get(value, value))
            elif column in formats:
                texts.append(formats[column](value))
            else:
                texts.append(cell(value))
        out[labels.get(column) or column_label(column)] = texts
    return pd.DataFrame(out, index=frame.index)
