"""The vectorised sweep: every chip x precision x replica size x layout x concurrency x MTP of one model, one row
each, computed by one numpy call per chip and precision (:func:`calculators.decode.evaluate_decode`).

The app draws the speed-vs-throughput frontier from it (per-user tok/s against output tok/s per chip, per rack,
per MW). Column names are the CLI's JSON keys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from calculators import memory
from calculators.assumptions import Assumptions, check_assumptions, resolve_assumptions
from calculators.decode import (
    check_accelerator,
    check_model,
    check_precision,
    evaluate_decode,
    sram_only,
    uncertainty_fraction,
)
from calculators.errors import ScenarioError
from calculators.layout import candidate_layouts
from calculators.records import Accelerator, Catalog, Model

DEFAULT_CONCURRENCIES = tuple(2**i for i in range(13))  # 1 .. 4,096 sequences per replica
DEFAULT_CONTEXT_TOKENS = 8192


def nodes_for_capacity(catalog: Catalog, model: Model, chip: Accelerator, precision: str, usable: float) -> int:
    """Lower bound on nodes per replica from capacity alone: weight bytes / (node memory x usable fraction)."""
    system = catalog.systems[chip.system]
    weights = memory.weight_bytes(model, memory.bytes_per_element(catalog, precision))
    node_bytes = chip.memory_capacity_bytes * system.chips_per_node.value * usable
    return max(1, math.ceil(weights / node_bytes))


def replica_node_counts(min_nodes: int, *, most: int) -> list[int]:
    """Replica sizes tried, in nodes: 2^j and 3 x 2^j from the capacity minimum's power of two up to ``most``
    (and at least the minimum's next power of two), so layouts split evenly."""
    low = 2 ** max(0, math.floor(math.log2(min_nodes)))
    high = max(most, 2 ** math.ceil(math.log2(min_nodes)))
    counts = set()
    n = low
    while n <= high:
        counts.update({n, 3 * n // 2} if n >= 2 else {n})
        n *= 2
    return sorted(c for c in counts if low <= c <= high)


def decode_grid(
    catalog: Catalog,
    model: Model,
    chip: Accelerator,
    precision: str,
    assumptions: Assumptions,
    *,
    node_counts: Sequence[int],
    concurrencies: Sequence[int],
    mtp_layers: Sequence[int],
    context_tokens: float,
) -> pd.DataFrame:
    """Every (replica size, layout, concurrency, MTP) of one chip and precision as a DataFrame, one numpy call."""
    system = catalog.systems[chip.system]
    per_node = int(system.chips_per_node.value)
    domain = int(system.scale_up_domain_chips.value)
    layouts = [
        lay
        for nodes in node_counts
        for lay in candidate_layouts(model, nodes * per_node, domain, pipeline=sram_only(chip))
    ]
    lay_i, conc, mtp = (
        a.ravel() for a in np.meshgrid(np.arange(len(layouts)), np.asarray(concurrencies), np.asarray(mtp_layers),
                                       indexing="ij")
    )
    chips = np.array([lay.chips for lay in layouts])[lay_i]
    tp = np.array([lay.attention_tp for lay in layouts])[lay_i]
    ep = np.array([lay.moe_ep for lay in layouts])[lay_i]
    pp = np.array([lay.pipeline_stages for lay in layouts])[lay_i]
    out = evaluate_decode(
        catalog, model, chip, precision, assumptions,
        chips=chips, attention_tp=tp, moe_ep=ep, pipeline_stages=pp,
        concurrency=conc, context_tokens=context_tokens, mtp_layers=mtp,
    )
    err = uncertainty_fraction(catalog, chip)
    per_rack = per_node * system.nodes_per_rack.value
    frame = pd.DataFrame(
        {
            "model": model.id,
            "accelerator": chip.id,
            "chip_class": chip.chip_class,
            "precision": precision,
            "chips": chips,
            "nodes": np.ceil(chips / per_node).astype(int),
            "layout": np.array([lay.label for lay in layouts], dtype=object)[lay_i],
            "attention_tp": tp,
            "attention_dp": chips // pp // tp,
            "moe_ep": ep,
            "moe_tp": chips // pp // ep,
            "pipeline_stages": pp,
            "concurrency": conc,
            "context_tokens": int(context_tokens),
            "mtp_layers": mtp,
            "per_user_tokens_per_s": out["per_user_tokens_per_s"],
            "per_user_tokens_per_s_low": out["per_user_tokens_per_s"] * (1 - err),
            "per_user_tokens_per_s_high": out["per_user_tokens_per_s"] * (1 + err),
            "total_output_tokens_per_s": out["total_output_tokens_per_s"],
            "output_tokens_per_s_per_chip": out["output_tokens_per_s_per_chip"],
            "output_tokens_per_s_per_rack": out["output_tokens_per_s_per_chip"] * per_rack,
            "output_tokens_per_s_per_mw": out["total_output_tokens_per_s"] / (out["power_w"] / 1e6),
            "step_time_ms": out["step_time_s"] * 1e3,
            "fits_in_memory": out["fits_in_memory"],
            "memory_used_fraction": out["memory_used_fraction"],
            "bound_by": out["bound_by"],
            "power_kw": out["power_w"] / 1e3,
            "joules_per_output_token": out["joules_per_output_token"],
            "uncertainty_fraction": err,
        }
    )
    return frame


def sweep(
    catalog: Catalog,
    *,
    model: str,
    accelerators: Sequence[str] | None = None,
    precisions: Sequence[str] | None = None,
    concurrencies: Sequence[int] | None = None,
    mtp_layers: Sequence[int] = (0, 1, 2, 3),
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
    max_replica_nodes: int = 32,
    assumptions: dict[str, Assumptions] | None = None,
) -> pd.DataFrame:
    """One row per chip x precision x replica size x layout x concurrency x MTP (defaults: every catalog chip, every
    precision it supports, 1..4,096 sequences per replica, replicas from the capacity minimum up to
    ``max_replica_nodes`` nodes or the SRAM-only minimum, MTP 0-3 where the model has MTP).

    ``assumptions`` maps accelerator id to its :class:`Assumptions` (default: each chip's resolved defaults).
    """
    m = check_model(catalog, model)
    chips = list(accelerators) if accelerators is not None else list(catalog.accelerators)
    conc = tuple(concurrencies) if concurrencies is not None else DEFAULT_CONCURRENCIES
    for c in conc:
        if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
            raise ScenarioError(f"'concurrencies' must be whole numbers >= 1 (got {c!r})")
    if isinstance(context_tokens, bool) or not isinstance(context_tokens, int | np.integer) or context_tokens < 1:
        raise ScenarioError(f"'context_tokens' must be a whole number >= 1 (got {context_tokens!r})")
    frames = []
    for chip_id in chips:
        chip = check_accelerator(catalog, chip_id)
        given = (assumptions or {}).get(chip_id)
        a = resolve_assumptions(catalog, chip_id) if given is None else check_assumptions(catalog, given)
        mtps = sorted({k for k in mtp_layers if m.mtp is not None and 0 <= k <= a.max_mtp_layers} | {0})
        if precisions is None:
            wanted = [p for p in chip.precisions if p in catalog.precisions]
        else:
            wanted = [p for p in precisions if p in chip.peak_tflops]
            for p in precisions:
                if p not in catalog.precisions:
                    raise ScenarioError(f"unknown precision {p!r}; known: {', '.join(sorted(catalog.precisions))}")
        for precision in wanted:
            check_precision(catalog, chip, precision)
            low = nodes_for_capacity(catalog, m, chip, precision, a.usable_memory_fraction)
            most = max(max_replica_nodes, 2 * low) if not sram_only(chip) else 2 * low
            frames.append(
                decode_grid(
                    catalog, m, chip, precision, a,
                    node_counts=replica_node_counts(low, most=most),
                    concurrencies=conc,
                    mtp_layers=mtps,
                    context_tokens=context_tokens,
                )
            )
    if not frames:
        raise ScenarioError("the sweep selected no chip and precision (check 'accelerators' and 'precisions')")
    return pd.concat(frames, ignore_index=True)
