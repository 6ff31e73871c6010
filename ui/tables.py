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


def _v(number: Sourced | None) -> float | None:
    return None if number is None else number.value


def accelerators_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per chip: memory tiers, peak FLOP/s per precision, links, power, price and its system's packaging."""
    precisions = list(catalog.precisions)
    rows = []
    for chip in catalog.accelerators.values():
        system = catalog.systems.get(chip.system)
        row: dict[str, Any] = {"id": chip.id, "vendor": chip.vendor, "name": chip.name,
                               "chip_class": chip.chip_class, "system": chip.system}
        for tier in ("sram", "hbm", "ddr"):
            found = next((t for t in chip.memory_tiers if t.tier == tier), None)
            row[f"{tier}_capacity_gb"] = _v(found.capacity_gb) if found else None
            row[f"{tier}_bandwidth_gb_s"] = _v(found.bandwidth_gb_s) if found else None
        for p in precisions:
            row[f"peak_{p}_tflops"] = _v(chip.peak_tflops.get(p))
        row |= {
            "scale_up_gb_s_per_direction": _v(chip.scale_up_gb_s_per_direction),
            "scale_out_gb_s_per_direction": _v(chip.scale_out_gb_s_per_direction),
            "tdp_w": _v(chip.tdp_w),
            "price_usd": _v(chip.price_usd),
            "rental_usd_per_hour": _v(chip.rental_usd_per_hour),
            "chips_per_node": _v(system.chips_per_node) if system else None,
            "nodes_per_rack": _v(system.nodes_per_rack) if system else None,
            "rack_power_kw": _v(system.rack_power_kw) if system else None,
            "cooling": system.cooling if system else None,
            "scale_up_domain_chips": _v(system.scale_up_domain_chips) if system else None,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def systems_frame(catalog: Catalog) -> pd.DataFrame:
    """One row per system (node and rack) with the chips that ship in it."""
    rows = []
    for s in catalog.systems.values():
        rows.append({
            "id": s.id, "name": s.name, "chips_per_node": _v(s.chips_per_node),
            "node_power_max_w": _v(s.node_power_max_w), "node_power_typical_w": _v(s.node_power_typical_w),
            "nodes_per_rack": _v(s.nodes_per_rack), "rack_power_kw": _v(s.rack_power_kw), "cooling": s.cooling,
            "scale_up_domain_chips": _v(s.scale_up_domain_chips), "price_usd": _v(s.price_usd),
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
