"""The vectorised sweep: every chip x precision x replica size x layout x concurrency x MTP of one model, one row
each, computed by one numpy call per chip and precision (pure decode steps through
:func:`calculators.serving.evaluate_serving`).

The app draws the speed-vs-throughput frontier from it (per-user tok/s against output tok/s per chip, per rack,
per MW). Column names are the CLI's JSON keys.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions, check_assumptions, resolve_assumptions
from calculators.decode import BOUND_LABELS, sram_only, uncertainty_fraction
from calculators.deployment import check_accelerator, check_model, check_precision
from calculators.errors import ScenarioError
from calculators.layout import candidate_layouts
from calculators.model.step import STEP_OPS, StepSetup
from calculators.precision import BEST, candidate_precisions
from calculators.records import Accelerator, Catalog, Model
from calculators.search import SWEEP_MAX_REPLICA_NODES, sweep_batches
from calculators.serving import ServingGrid, evaluate_serving

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_CONCURRENCIES = sweep_batches()  # 1 .. 4,096 sequences per replica (calculators.search)
DEFAULT_CONTEXT_TOKENS = 8192


@dataclass(frozen=True)
class TextColumn:
    """A text column stored as codes into a few labels (layout, bound, chip id ...): what lets the sweep build and
    write 100k+ rows without touching a Python string per row."""

    labels: tuple[str, ...]
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    def to_numpy(self) -> np.ndarray:
        """The column as an object array of strings (for a DataFrame)."""
        return np.array(self.labels, dtype=object)[self.codes]

    @classmethod
    def constant(cls, label: str, rows: int) -> TextColumn:
        return cls((label,), np.zeros(rows, dtype=np.int32))

    @classmethod
    def concatenate(cls, columns: Sequence[TextColumn]) -> TextColumn:
        """One column of all ``columns`` in order, over the union of their labels."""
        labels = list(dict.fromkeys(label for c in columns for label in c.labels))
        index = {label: i for i, label in enumerate(labels)}
        codes = [np.array([index[label] for label in c.labels], dtype=np.int32)[c.codes] for c in columns]
        return cls(tuple(labels), np.concatenate(codes))


Column = np.ndarray | TextColumn


def _slice(column: Column, lo: int, hi: int) -> Column:
    return TextColumn(column.labels, column.codes[lo:hi]) if isinstance(column, TextColumn) else column[lo:hi]


def _concatenate(parts: Sequence[Column]) -> Column:
    return TextColumn.concatenate(parts) if isinstance(parts[0], TextColumn) else np.concatenate(parts)


def _materialise(columns: dict[str, Column]) -> dict[str, np.ndarray]:
    return {k: v.to_numpy() if isinstance(v, TextColumn) else v for k, v in columns.items()}


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


@dataclass(frozen=True)
class GridAxes:
    """The axes of one chip and precision's decode grid: replica sizes in nodes, running batches, MTP depths and the
    mean context every row decodes at."""

    node_counts: Sequence[int]
    concurrencies: Sequence[int]
    mtp_layers: Sequence[int]
    context_tokens: float


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep covers (defaults: every catalog chip, every precision it supports, the sweep's batches, replicas
    from the capacity minimum up to ``max_replica_nodes`` nodes or the SRAM-only minimum, MTP 0-3 where the model
    has MTP). ``assumptions`` maps accelerator id to its :class:`Assumptions` (default: each chip's resolved
    defaults). ``precisions`` may be ``["best"]``: each chip at every precision it computes in and the model is
    served in (:func:`calculators.precision.candidate_precisions`)."""

    model: str
    accelerators: Sequence[str] | None = None
    precisions: Sequence[str] | None = None
    concurrencies: Sequence[int] | None = None
    mtp_layers: Sequence[int] = (0, 1, 2, 3)
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    max_replica_nodes: int = SWEEP_MAX_REPLICA_NODES
    assumptions: Mapping[str, Assumptions] | None = None


def decode_grid_columns(catalog: Catalog, model: Model, chip: Accelerator, precision: str, assumptions: Assumptions,
                        axes: GridAxes, *, band: bool = True) -> dict[str, Column]:
    """Every (replica size, layout, concurrency, MTP) of one chip and precision as columns of equal length (numpy
    arrays; text columns as :class:`TextColumn`), from one numpy call. ``band=False`` leaves the uncertainty band's
    columns NaN (``size`` reads none of them)."""
    node_counts, concurrencies, mtp_layers, context_tokens = (
        axes.node_counts, axes.concurrencies, axes.mtp_layers, axes.context_tokens)
    system = catalog.systems[chip.system]
    per_node = int(system.chips_per_node.value)
    domain = int(system.scale_up_domain_chips.value)
    layouts = [
        lay
        for nodes in node_counts
        for lay in candidate_layouts(model, nodes * per_node, domain, pipeline=sram_only(chip),
                                     kinds=assumptions.layout_kinds)
    ]
    lay_i, conc, mtp = (
        a.ravel() for a in np.meshgrid(np.arange(len(layouts)), np.asarray(concurrencies), np.asarray(mtp_layers),
                                       indexing="ij")
    )
    chips = np.array([lay.chips for lay in layouts])[lay_i]
    tp = np.array([lay.attention_tp for lay in layouts])[lay_i]
    ep = np.array([lay.moe_ep for lay in layouts])[lay_i]
    pp = np.array([lay.pipeline_stages for lay in layouts])[lay_i]
    # pure decode steps through the one serving path, every requested sequence running (a row that does not fit says
    # so rather than being capped)
    grid = ServingGrid(chips=chips, attention_tp=tp, moe_ep=ep, pipeline_stages=pp, concurrency=conc,
                       context_tokens=context_tokens, mtp_layers=mtp)
    out = evaluate_serving(StepSetup(catalog, model, chip, precision, assumptions), serving="decode",
                           capacity_cap=False, grid=grid)
    err = _row_fractions(catalog, chip, conc, mtp) if band else np.nan
    per_rack = per_node * system.nodes_per_rack.value
    rows = len(lay_i)

    def constant(value):
        return TextColumn.constant(value, rows) if isinstance(value, str) else np.full(rows, value)

    per_user = out["per_user_tokens_per_s"]
    banded = _band_columns(per_user, err)
    return {
        "model": constant(model.id),
        "accelerator": constant(chip.id),
        "chip_class": constant(chip.chip_class),
        "precision": constant(precision),
        "chips": chips,
        "nodes": np.ceil(chips / per_node).astype(int),
        "layout": TextColumn(tuple(lay.label for lay in layouts), lay_i.astype(np.int32)),
        "attention_tp": tp,
        "attention_dp": chips // pp // tp,
        "moe_ep": ep,
        "moe_tp": chips // pp // ep,
        "pipeline_stages": pp,
        "concurrency": conc,
        "context_tokens": constant(int(context_tokens)),
        "mtp_layers": mtp,
        "per_user_tokens_per_s": per_user,
        "per_user_tokens_per_s_low": banded["per_user_tokens_per_s_low"],
        "per_user_tokens_per_s_high": banded["per_user_tokens_per_s_high"],
        "total_output_tokens_per_s": out["total_output_tokens_per_s"],
        "output_tokens_per_s_per_chip": out["output_tokens_per_s_per_chip"],
        "output_tokens_per_s_per_rack": out["output_tokens_per_s_per_chip"] * per_rack,
        "output_tokens_per_s_per_mw": out["total_output_tokens_per_s"] / (out["power_w"] / 1e6),
        "step_time_ms": out["step_time_s"] * 1e3,
        **{f"step_{name}_ms": out[f"op_{name}_s"] * 1e3 for name in STEP_OPS},
        "fits_in_memory": out["fits_in_memory"],
        "memory_used_fraction": out["memory_used_fraction"],
        "bound_by": TextColumn(BOUND_LABELS, out["bound_by_index"].astype(np.int32)),
        "power_kw": out["power_w"] / 1e3,
        "joules_per_output_token": out["joules_per_output_token"],
        "uncertainty_fraction": banded["uncertainty_fraction"],
    }


def _row_fractions(catalog: Catalog, chip, concurrency: np.ndarray, mtp_layers: np.ndarray) -> np.ndarray:
    """Each row's band factor: the cross-validated band of its regime (batch and MTP), one lookup per regime."""
    concurrency, mtp_layers = np.asarray(concurrency), np.asarray(mtp_layers)
    out = np.empty(len(concurrency))
    for c, k in {(min(int(c), 64), int(k > 0)) for c, k in zip(concurrency.tolist(), mtp_layers.tolist(),
                                                                strict=True)}:
        rows = (np.minimum(concurrency, 64) == c) & ((mtp_layers > 0) == bool(k))
        out[rows] = uncertainty_fraction(catalog, chip, c, k)
    return out


def _band_columns(per_user: np.ndarray, err) -> dict[str, np.ndarray]:
    err = np.broadcast_to(np.asarray(err, dtype=float), np.shape(per_user))
    return {
        "per_user_tokens_per_s_low": per_user / (1 + err),  # decode.band, vectorised
        "per_user_tokens_per_s_high": per_user * (1 + err),
        "uncertainty_fraction": np.array(err, dtype=float),
    }


def decode_grid(catalog: Catalog, model: Model, chip: Accelerator, precision: str, assumptions: Assumptions,
                axes: GridAxes) -> pd.DataFrame:
    """:func:`decode_grid_columns` as a DataFrame (what ``size`` searches)."""
    import pandas as pd

    return pd.DataFrame(_materialise(decode_grid_columns(catalog, model, chip, precision, assumptions, axes)))


def iter_sweep_blocks(catalog: Catalog, spec: SweepSpec) -> Iterator[dict[str, Column]]:
    """The sweep (:class:`SweepSpec`) one chip and precision at a time (columns as in :func:`sweep_columns`), so a
    writer can format one block while the next is computed. One row per chip x precision x replica size x layout x
    concurrency x MTP."""
    model, accelerators, precisions, concurrencies, mtp_layers, context_tokens, max_replica_nodes, assumptions = (
        spec.model, spec.accelerators, spec.precisions, spec.concurrencies, spec.mtp_layers, spec.context_tokens,
        spec.max_replica_nodes, spec.assumptions)
    m = check_model(catalog, model)
    chips = list(accelerators) if accelerators is not None else list(catalog.accelerators)
    conc = tuple(concurrencies) if concurrencies is not None else DEFAULT_CONCURRENCIES
    for c in conc:
        if isinstance(c, bool) or not isinstance(c, int | np.integer) or c < 1:
            raise ScenarioError(f"'concurrencies' must be whole numbers >= 1 (got {c!r})")
    if isinstance(context_tokens, bool) or not isinstance(context_tokens, int | np.integer) or context_tokens < 1:
        raise ScenarioError(f"'context_tokens' must be a whole number >= 1 (got {context_tokens!r})")
    selected = 0
    for chip_id in chips:
        chip = check_accelerator(catalog, chip_id)
        given = (assumptions or {}).get(chip_id)
        a = resolve_assumptions(catalog, chip_id) if given is None else check_assumptions(catalog, given)
        mtps = sorted({k for k in mtp_layers if m.mtp is not None and 0 <= k <= a.max_mtp_layers} | {0})
        if precisions is None:
            wanted = [p for p in chip.precisions if p in catalog.precisions]
        elif BEST in precisions:
            wanted = candidate_precisions(catalog, m, chip)
        else:
            wanted = [p for p in precisions if p in chip.peak_tflops]
            for p in precisions:
                if p not in catalog.precisions:
                    raise ScenarioError(f"unknown precision {p!r}; known: {', '.join(sorted(catalog.precisions))}")
        for precision in wanted:
            check_precision(catalog, chip, precision)
            low = memory.nodes_for_capacity(
                catalog, m, chip, memory.weight_storage_precision(catalog, m, precision, a.weight_storage_precision),
                a.usable_memory_fraction,
            )
            most = max(max_replica_nodes, 2 * low) if not sram_only(chip) else 2 * low
            selected += 1
            axes = GridAxes(node_counts=replica_node_counts(low, most=most), concurrencies=conc, mtp_layers=mtps,
                            context_tokens=context_tokens)
            yield decode_grid_columns(catalog, m, chip, precision, a, axes)
    if not selected:
        raise ScenarioError("the sweep selected no chip and precision (check 'accelerators' and 'precisions')")


def _joined(blocks: Sequence[dict[str, Column]]) -> dict[str, Column]:
    return {name: _concatenate([b[name] for b in blocks]) for name in blocks[0]}


def sweep_columns(catalog: Catalog, spec: SweepSpec) -> dict[str, Column]:
    """Every block of :func:`iter_sweep_blocks` joined: equal-length columns (numpy arrays, text as
    :class:`TextColumn`) keyed by the CSV/JSON column names. :func:`sweep` wraps them in a DataFrame."""
    return _joined(list(iter_sweep_blocks(catalog, spec)))


def sweep(catalog: Catalog, spec: SweepSpec) -> pd.DataFrame:
    """:func:`sweep_columns` as a DataFrame, one row per configuration (the app's frontier)."""
    import pandas as pd

    return pd.DataFrame(_materialise(sweep_columns(catalog, spec)))


CSV_SIGNIFICANT_DIGITS = 6
_CSV_BLOCK_ROWS = 32_768


_POWERS_OF_TEN = 10.0 ** np.arange(0, 309)  # exact up to 1e22, the nearest double beyond


def round_significant(values: np.ndarray, digits: int = CSV_SIGNIFICANT_DIGITS) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits, vectorised, so the CSV prints them short
    (1234.56789 -> 1234.57; 0 and non-finite values pass through).

    Scaling by a power of ten (multiply then divide for small numbers, divide then multiply for large ones) keeps
    the result the double nearest the rounded decimal, whose shortest repr is that decimal.
    """
    x = np.asarray(values, dtype=float)
    finite = np.isfinite(x) & (x != 0)
    magnitude = np.floor(np.log10(np.abs(np.where(finite, x, 1.0))))
    shift = np.clip(digits - 1 - magnitude, -308, 308).astype(int)
    up = _POWERS_OF_TEN[np.maximum(shift, 0)]
    down = _POWERS_OF_TEN[np.maximum(-shift, 0)]
    rounded = np.where(shift >= 0, np.round(x * up) / up, np.round(x / down) * down)
    return np.where(finite, rounded, x)


def _arrow_array(pa, column: Column):
    """A pyarrow array over the column's memory, built from buffers: ``pa.array`` would import pandas (~0.35 s of
    a ~1 s process) to check for pandas inputs."""
    if isinstance(column, TextColumn):
        encoded = [label.encode() for label in column.labels]
        offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int32)
        labels = pa.Array.from_buffers(
            pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        )
        codes = np.ascontiguousarray(column.codes, dtype=np.int32)
        return pa.DictionaryArray.from_arrays(
            pa.Array.from_buffers(pa.int32(), len(codes), [None, pa.py_buffer(codes)]), labels
        )
    values = np.asarray(column)
    if values.dtype.kind == "b":
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    if values.dtype.kind == "f":
        data = np.ascontiguousarray(round_significant(values), dtype=np.float64)
        return pa.Array.from_buffers(pa.float64(), len(data), [None, pa.py_buffer(data)])
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def write_csv(blocks: dict[str, Column] | Iterable[dict[str, Column]], sink) -> int:
    """Write sweep columns (one dict, or an iterable of blocks with the same columns, e.g.
    :func:`iter_sweep_blocks`) as CSV to ``sink`` (a path or a binary file object) with pyarrow's C++ writer: floats
    to six significant digits, text dictionary-encoded, no per-row Python and no pandas. Returns the number of rows.

    Blocks are formatted in batches of at least ``_CSV_BLOCK_ROWS`` rows on worker threads while the next blocks
    are computed (the computation holds the interpreter; numpy's rounding and the writer release it), and the last
    batch is split over every core; the pieces are written in order."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    def formatted(table, header: bool) -> bytes:
        def options(quoting: str):  # 8,192-row batches format ~15% faster than the default 1,024
            return pa_csv.WriteOptions(quoting_style=quoting, include_header=header, batch_size=8192)

        out = io.BytesIO()
        # ids and labels hold no commas or quotes: write them bare, as pandas did; quote only if one ever does
        try:
            pa_csv.write_csv(table, out, options("none"))
        except pa.ArrowInvalid:
            out = io.BytesIO()
            pa_csv.write_csv(table, out, options("needed"))
        return out.getvalue()

    def part(columns: dict[str, Column], header: bool) -> bytes:
        names = list(columns)
        table = pa.Table.from_arrays([_arrow_array(pa, columns[n]) for n in names], names=names)
        return formatted(table, header)

    cores = os.cpu_count() or 1
    pieces, pending, pending_rows, rows = [], [], 0, 0
    with ThreadPoolExecutor(max_workers=cores) as pool:

        def submit(columns: dict[str, Column], lo: int, hi: int) -> None:
            sliced = {name: _slice(column, lo, hi) for name, column in columns.items()}
            pieces.append(pool.submit(part, sliced, not pieces))

        if isinstance(blocks, dict):  # all rows at hand: straight to the split over every core
            pending, pending_rows, blocks = [blocks], len(next(iter(blocks.values()))), ()
        for block in blocks:
            pending.append(block)
            pending_rows += len(next(iter(block.values())))
            if pending_rows >= _CSV_BLOCK_ROWS:
                submit(_joined(pending), 0, pending_rows)
                rows, pending, pending_rows = rows + pending_rows, [], 0
        if pending:  # the last rows: one slice per core
            columns = _joined(pending)
            bounds = np.linspace(0, pending_rows, max(1, min(cores, -(-pending_rows // 4096))) + 1).astype(int)
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                submit(columns, int(lo), int(hi))
            rows += pending_rows
        if isinstance(sink, str | os.PathLike):
            with open(sink, "wb") as f:
                f.writelines(p.result() for p in pieces)
        else:
            sink.writelines(p.result() for p in pieces)
    return rows
