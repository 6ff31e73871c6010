"""The landing page's answer (one sentence per side, one line per verdict) and its side-by-side table (one row per
quantity, one column per side), built from calculator results and formatted by :mod:`ui.format` (no Streamlit), so
the page and the stakeholder report say the same."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from calculators.claims import STATUS_LABELS
from calculators.fleet import Sizing
from ui import format as fmt

# (label, formatter, value key, band keys) for the side-by-side table
ROWS: tuple[tuple[str, Callable, str, tuple[str, str] | None], ...] = (
    ("Chips", fmt.chips, "chips", ("chips_low", "chips_high")),
    ("Nodes", lambda n: fmt.count(n, "node"), "nodes", None),
    ("Racks", fmt.racks, "racks", None),
    ("IT power", fmt.power_kw, "it_power_kw", ("it_power_kw_low", "it_power_kw_high")),
    ("Facility power", fmt.power_kw, "facility_power_kw", None),
    ("Energy per day (facility)", lambda kwh: fmt.energy_j(None if kwh is None else kwh * 3.6e6),
     "energy_per_day_kwh", None),
    ("Energy per output token (IT)", fmt.joules_per_token, "joules_per_output_token",
     ("joules_per_output_token_low", "joules_per_output_token_high")),
    ("Per-user speed reached", fmt.tokens_per_s, "per_user_tokens_per_s",
     ("per_user_tokens_per_s_low", "per_user_tokens_per_s_high")),
    ("Total output", fmt.tokens_per_s, "total_output_tokens_per_s", None),
    ("Capex", fmt.usd, "capex_usd", None),
    ("$ per million output tokens", fmt.usd_per_million_tokens, "usd_per_million_output_tokens",
     ("usd_per_million_output_tokens_low", "usd_per_million_output_tokens_high")),
    ("Decode bound by", str, "bound_by", None),
    ("Replica layout", str, "layout", None),
)
# the rows whose number rests on a catalog price, marked with that price's kind (issue 17)
MONEY_KEYS = frozenset({"capex_usd", "usd_per_million_output_tokens"})
PRICE_KIND_MARKS = {"estimate": "estimate", "assumption": "assumed price", "user": "your price"}


def price_mark(kind: str | None) -> str:
    """How a cost is marked by the kind of catalog price it rests on (``Sizing.cost_kind``): "estimate" or
    "assumed price"; "" for any other kind or no price."""
    return PRICE_KIND_MARKS.get(kind or "", "")


def cost_label(label: str, kind: str | None) -> str:
    """A cost's label with its price mark, e.g. "Cost (estimate)"."""
    mark = price_mark(kind)
    return f"{label} ({mark})" if mark else label


def cell(result: object, key: str, formatter: Callable, band: tuple[str, str] | None) -> str:
    """One side-by-side cell: the formatted calculator value with its band, or why there is none; a money value
    says when the price behind it is an estimate or an assumption."""
    if not isinstance(result, Sizing):
        return "not available"
    if not result.feasible:
        return "infeasible"
    value = getattr(result, key)
    text = formatter(value)
    if band is not None and getattr(result, band[0]) is not None:
        text += f" ({formatter(getattr(result, band[0]))} to {formatter(getattr(result, band[1]))})"
    if key in MONEY_KEYS and value is not None and price_mark(result.cost_kind):
        text += f", {price_mark(result.cost_kind)}"
    return text


def side_by_side(sn: object, gpu: object, sn_label: str, gpu_label: str) -> pd.DataFrame:
    """The table of both sides, one row per quantity, values as people read them."""
    return pd.DataFrame({"quantity": [r[0] for r in ROWS],
                         sn_label: [cell(sn, key, f, band) for _, f, key, band in ROWS],
                         gpu_label: [cell(gpu, key, f, band) for _, f, key, band in ROWS]})


def side_label(chip_name: str, precision: str | None) -> str:
    """A side as people name it: the chip's name and the precision it runs (never a keyword such as 'best')."""
    return f"{chip_name} ({precision.upper()})" if precision else chip_name


def answer_sentence(label: str, result: object) -> str:
    """One plain-text sentence for one side: racks, facility power and $ per million output tokens, or why the
    targets cannot be met."""
    if not isinstance(result, Sizing):
        return f"{label}: cannot be sized ({getattr(result, 'reason', 'not available')})."
    if not result.feasible:
        return f"{label}: cannot meet the targets ({result.reason})."
    cost = result.usd_per_million_output_tokens
    money = (f"{fmt.usd(cost)} per million output tokens" if cost is not None
             else f"{fmt.DASH} per million output tokens (the catalog has no price for it)")
    return f"{label}: {fmt.racks(result.racks)}, {fmt.power_kw(result.facility_power_kw)} at the facility, {money}."


def verdict_line(letter: str, check: object) -> tuple[str, str, str]:
    """(status, badge text, claim words) of one checked claim, for a compact list of verdicts."""
    status = getattr(check, "status", "unknown")
    return status, STATUS_LABELS.get(status, status), f"({letter}) {getattr(check, 'claim', '')}"
