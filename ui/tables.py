"""Catalog tables for the catalog page and its CSV downloads (no Streamlit).

Column names carry units like the catalog fields (``hbm_capacity_gb``, ``tdp_w``). Model totals are derived by
:mod:`calculators.memory` (never typed in the catalog). :func:`provenance_frame` is the long form: one row per
sourced number with its value, kind, source title, URL and date.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from pydantic import BaseModel

from calculators.memory import bytes_per_element, kv_bytes_per_token, parameter_counts
from calculators.records import Catalog, Sourced
from ui import format as fmt


def full_height(rows: int) -> int:
    """Pixel height of an ``st.dataframe`` that shows ``rows`` rows and its header with no inner scroll."""
    return 38 + 35 * max(rows, 1)


def _v(number: Sourced | None) -> float | None:
    return None if number is None else number.value


MISSING = fmt.DASH


def accelerators_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per chip, the numbers people compare first: HBM capacity and bandwidth, dense FLOP/s per precision,
    power, price or rental; then the SRAM and DDR tiers, links and the system's packaging. Missing is None (the
    page shows it as "—" with :func:`accelerators_missing_reasons` on hover)."""
    precisions = list(catalog.precisions)
    rows = []
    for chip in catalog.accelerators.values():
        system = catalog.systems.get(chip.system)
        tiers = {t.tier: t for t in chip.memory_tiers}
        row: dict[str, Any] = {"id": chip.id, "vendor": chip.vendor, "name": chip.name}
        hbm = tiers.get("hbm")
        row["hbm_capacity_gb"] = _v(hbm.capacity_gb) if hbm else None
        row["hbm_bandwidth_gb_s"] = _v(hbm.bandwidth_gb_s) if hbm else None
        for p in precisions:
            row[f"peak_{p}_tflops"] = _v(chip.peak_tflops.get(p))
        row |= {
            "tdp_w": _v(chip.tdp_w),
            "price_usd": _v(chip.price_usd),
            "system_price_usd": _v(system.price_usd) if system else None,
            "rental_usd_per_hour": _v(chip.rental_usd_per_hour),
        }
        for tier in ("sram", "ddr"):
            found = tiers.get(tier)
            row[f"{tier}_capacity_gb"] = _v(found.capacity_gb) if found else None
            row[f"{tier}_bandwidth_gb_s"] = _v(found.bandwidth_gb_s) if found else None
        row |= {
            "scale_up_gb_s_per_direction": _v(chip.scale_up_gb_s_per_direction),
            "scale_out_gb_s_per_direction": _v(chip.scale_out_gb_s_per_direction),
            "chip_class": chip.chip_class,
            "system": chip.system,
            "chips_per_node": _v(system.chips_per_node) if system else None,
            "nodes_per_rack": _v(system.nodes_per_rack) if system else None,
            "rack_power_kw": _v(system.rack_power_kw) if system else None,
            "cooling": system.cooling if system else None,
            "scale_up_domain_chips": _v(system.scale_up_domain_chips) if system else None,
            "max_replica_chips": _v(system.max_replica_chips) if system else None,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _missing_reason(catalog: Catalog, chip_id: str, column: str) -> str:
    """Why a cell of :func:`accelerators_frame` is empty, in words."""
    chip = catalog.accelerators[chip_id]
    system = catalog.systems.get(chip.system)
    tiers = {t.tier for t in chip.memory_tiers}
    if column.startswith("hbm_"):
        return "no HBM: this chip keeps weights in on-chip SRAM" if "sram" in tiers else "no HBM tier listed"
    if column.startswith("sram_"):
        return ("no software-managed SRAM tier (on-chip caches are hardware-managed and not a place for weights)"
                if "hbm" in tiers else "no SRAM tier listed")
    if column.startswith("ddr_"):
        return "no DDR tier the chip reads weights from (host memory not listed)"
    if column.startswith("peak_"):
        p = column[len("peak_"):-len("_tflops")]
        return f"no {p} math on this chip (the vendor lists no {p} rate); it computes in {', '.join(chip.precisions)}"
    if column == "price_usd":
        if system is not None and system.price_usd is not None:
            return f"not priced alone: see system_price_usd ({system.name})"
        if chip.rental_usd_per_hour is not None:
            return "not sold: rented only (see rental_usd_per_hour)"
        return "no public purchase price found"
    if column == "system_price_usd":
        return "no system price: the chip price is used" if chip.price_usd is not None else "no public system price"
    if column == "rental_usd_per_hour":
        return "no public rental rate found"
    if column == "max_replica_chips":
        return "the system declares no shipped replica size: any replica the layouts allow is assumed"
    return "not in the catalog"


def accelerators_missing_reasons(catalog: Catalog, frame: pd.DataFrame) -> pd.DataFrame:
    """A frame shaped like ``frame`` with, for each empty cell, why it is empty (empty string elsewhere)."""
    reasons = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for i, chip_id in frame["id"].items():
        for column in frame.columns:
            if pd.isna(frame.at[i, column]):
                reasons.at[i, column] = _missing_reason(catalog, chip_id, column)
    return reasons


def display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text for display (:func:`ui.format.cell`: thousands separators, up to 4 significant digits,
    every gap as "—"; a grid shows a null as "None"). Headers stay the keys the column configs use. CSVs keep the
    numbers."""
    return frame.apply(lambda column: column.map(fmt.cell))


def missing_reasons_by_column(catalog: Catalog, frame: pd.DataFrame, most: int = 6) -> dict[str, str]:
    """For each column of :func:`accelerators_frame` with a gap, one hover text: which chips show "—" and why
    (grouped by reason, at most ``most`` chips named per reason)."""
    reasons = accelerators_missing_reasons(catalog, frame)
    out: dict[str, str] = {}
    for column in frame.columns:
        groups: dict[str, list[str]] = {}
        for i, why in reasons[column].items():
            if why:
                groups.setdefault(why, []).append(str(frame.at[i, "id"]))
        if groups:
            parts = [f"{', '.join(ids[:most])}{f' and {len(ids) - most} more' if len(ids) > most else ''}: {why}"
                     for why, ids in groups.items()]
            out[column] = f"{MISSING} means: " + "; ".join(parts)
    return out


def api_prices_frame(catalog: Catalog, model: str) -> pd.DataFrame:
    """The catalog's public API list prices for ``model`` (``calculators.prices.price_rows``), cheapest first."""
    from calculators.prices import price_rows

    columns = ["provider", "offering", "usd_per_million_input_tokens", "usd_per_million_output_tokens",
               "output_tokens_per_s", "kind", "date", "source", "source_url"]
    if model not in catalog.models:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(price_rows(catalog, model), columns=columns)


def systems_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per system (node and rack) with the chips that ship in it."""
    rows = []
    for s in catalog.systems.values():
        rows.append({
            "id": s.id, "name": s.name, "chips_per_node": _v(s.chips_per_node),
            "node_power_max_w": _v(s.node_power_max_w), "node_power_typical_w": _v(s.node_power_typical_w),
            "nodes_per_rack": _v(s.nodes_per_rack), "rack_power_kw": _v(s.rack_power_kw), "cooling": s.cooling,
            "scale_up_domain_chips": _v(s.scale_up_domain_chips), "price_usd": _v(s.price_usd),
            "max_replica_chips": _v(s.max_replica_chips),
            "accelerators": ", ".join(a.id for a in catalog.accelerators.values() if a.system == s.id),
        })
    return pd.DataFrame(rows)


def models_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per model: architecture and the derived totals (parameters, KV bytes per token in BF16)."""
    rows = []
    bf16 = bytes_per_element(catalog, "bf16") if "bf16" in catalog.precisions else 2.0
    for m in catalog.models.values():
        counts = parameter_counts(m)
        rows.append({
            "id": m.id, "name": m.name, "layers": m.layers, "dense_layers": m.dense_layers,
            "hidden_size": m.hidden_size, "attention": m.attention.type, "heads": m.attention.heads,
            "kv_heads": m.attention.kv_heads, "kv_lora_rank": m.attention.kv_lora_rank,
            "routed_experts": m.moe.routed_experts if m.moe else None,
            "active_experts": m.moe.active_experts if m.moe else None,
            "total_params_b": counts.total / 1e9, "active_params_b": counts.active / 1e9,
            "mtp_params_b": counts.mtp / 1e9 if counts.mtp else None,
            "kv_bytes_per_token_bf16": kv_bytes_per_token(m, bf16),
            "native_precision": m.native_precision, "max_context_tokens": m.max_context_tokens,
            "source": m.source,
        })
    return pd.DataFrame(rows)


def sources_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per source: title, URL, section and the date it was read."""
    return pd.DataFrame([
        {"source": sid, "title": s.title, "url": s.url, "section": s.section, "accessed": s.accessed.isoformat()}
        for sid, s in catalog.sources.items()
    ], columns=["source", "title", "url", "section", "accessed"])


def _walk(record: Any, path: tuple[str, ...] = ()) -> Iterable[tuple[str, Sourced]]:
    if isinstance(record, Sourced):
        yield ".".join(path), record
    elif isinstance(record, BaseModel):
        for name in type(record).model_fields:
            yield from _walk(getattr(record, name), (*path, name))
    elif isinstance(record, tuple | list):
        for i, item in enumerate(record):
            label = getattr(item, "tier", None) or str(i)
            yield from _walk(item, (*path, label))
    elif isinstance(record, dict):
        for key, item in record.items():
            yield from _walk(item, (*path, str(key)))


PROVENANCE_COLUMNS = ["section", "id", "field", "value", "low", "high", "kind", "source", "source_title",
                      "source_url", "accessed", "note"]


# why a provenance cell can be empty, for the "—" shown in its place
PROVENANCE_GAPS = {"low": "no range", "high": "no range", "source": "no source", "source_title": "no source",
                   "accessed": "no source", "note": ""}


def provenance_frame(catalog: Catalog) -> pd.DataFrame:
    """Every sourced number of the catalog, one per row, with its value, range, kind, source, URL, date and note."""
    entries: list[tuple[str, str, Any]] = []
    for section in ("accelerators", "systems", "models", "precisions", "chip_classes", "engines"):
        entries += [(section, eid, record) for eid, record in getattr(catalog, section).items()]
    if catalog.serving is not None:
        entries.append(("serving", "serving", catalog.serving))
    rows = []
    for section, eid, record in entries:
        for field, number in _walk(record):
            src = catalog.sources.get(number.source or "")
            rows.append({
                "section": section, "id": eid, "field": field, "value": number.value, "low": number.low,
                "high": number.high, "kind": number.kind, "source": number.source,
                "source_title": src.title if src else None, "source_url": src.url if src else None,
                "accessed": src.accessed.isoformat() if src else None, "note": number.note,
            })
    return pd.DataFrame(rows, columns=PROVENANCE_COLUMNS)


def chip_provenance(catalog: Catalog, accelerator_id: str) -> pd.DataFrame:
    """The provenance rows behind one chip: the chip, its system, its chip class and that class's engine."""
    frame = provenance_frame(catalog)
    chip = catalog.accelerators.get(accelerator_id)
    if chip is None:
        return frame.iloc[0:0]
    cls = catalog.chip_classes.get(chip.chip_class)
    wanted = {("accelerators", chip.id), ("systems", chip.system), ("chip_classes", chip.chip_class)}
    if cls is not None:
        wanted.add(("engines", cls.default_engine))
    mask = [(s, i) in wanted for s, i in zip(frame["section"], frame["id"], strict=True)]
    return frame[mask].reset_index(drop=True)
