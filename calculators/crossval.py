"""Leave-one-source-out validation: how far off the model is on a source none of its calibrated numbers has seen,
and the uncertainty band each regime and chip class earns from it.

For every ``source`` of the validation table, :func:`cross_validate` removes all that source's points, re-solves
every engine number they calibrate (:func:`calculators.calibration.calibrate`, only for the engines the source
touches: the others cannot move), predicts the source's points with the re-solved catalog and records one row per
point: ``cross_validated_error_fraction`` = predicted / measured - 1.

An engine number left with no calibrate point once the source is gone takes the geometric mean of the same number
on the other engines of its chip class that keep one (else of every engine that does), among engines of the same
fusion (per-kernel or whole-step: their tau and per-sequence times are in different units): what the model would assume
for an engine nobody has measured. A prefill efficiency or an overhead with no peer goes back to its absent value
(the class's efficiency; 0). Numbers a source states outright (MTP acceptances, a class's memory bandwidth
efficiency) are not solved by anything and stay; the row lists them (``in_sample_figures``).

Regimes (:data:`REGIMES`, :func:`point_regime`): energy (J/token) and prefill/TTFT (input-token rates, time to
first token) by metric; every other point by its concurrency: batch <= 4 without and with MTP, concurrency 5-63
(batches 5-7 join the 8-63 regime the issue names: they are small-batch decode past the latency floor, and too few
to stand alone), and concurrency >= 64 (whatever its MTP).

Bands (:func:`regime_bands`): f = exp(RMS of ln(predicted / measured)) - 1 (the rule the in-sample band used) over
the cross-validated rows of one regime and chip class, when it has at least :data:`MIN_CV_POINTS`; else the band of
that regime over every class (or, with fewer points there too, of every speed regime and class), never below the
class's catalog fallback nor, for a speed regime, below the widest speed band the class measured (a regime
nobody measured is at least as uncertain as the worst one somebody has). The table also prints the p90 |error|.

The result is cached once per catalog: in memory in the catalog's own memo (``catalog.memo``), and on disk
(``RACKSCALE_CACHE_DIR``, default ~/.cache/rackscale) keyed on what the validation depends on (the points, the chips,
models and systems they use, every assumption and curve, and the calculators' source code), so the app and the CLI
pay the re-solves once per catalog version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from calculators.calibration import ORDER, calibrate, calibration_points, field_of, stated_fields
from calculators.records import Catalog, ValidationPoint
from calculators.validation import _predicted, measured_band_fraction, point_engine

REGIMES: dict[str, str] = {
    "batch-small": "batch ≤ 4 without MTP",
    "batch-small-mtp": "batch ≤ 4 with MTP",
    "concurrency-mid": "concurrency 5-63",
    "concurrency-high": "concurrency ≥ 64",
    "prefill": "prefill / TTFT",
    "energy": "energy (J/token)",
}
SPEED_REGIMES = ("batch-small", "batch-small-mtp", "concurrency-mid", "concurrency-high")
SMALL_BATCH = 4
HIGH_CONCURRENCY = 64
MIN_CV_POINTS = 5
"""Fewest cross-validated points from which a (regime, class) band is measured rather than the wider fallback."""
BAND_PERCENTILE = 90


def regime_of(concurrency: int, mtp_layers: int = 0, metric: str | None = None) -> str:
    """The regime key of a scenario or point (see the module docstring)."""
    if metric == "joules_per_output_token":
        return "energy"
    if metric in ("input_tokens_per_s_per_chip", "time_to_first_token_s"):
        return "prefill"
    if concurrency <= SMALL_BATCH:
        return "batch-small-mtp" if mtp_layers else "batch-small"
    return "concurrency-high" if concurrency >= HIGH_CONCURRENCY else "concurrency-mid"


def point_regime(point: ValidationPoint) -> str:
    return regime_of(point.concurrency, point.mtp_layers, point.metric)


@dataclass(frozen=True)
class CrossValidatedRow:
    """One point predicted with every calibrated number re-solved without its source."""

    id: str
    source: str
    accelerator: str
    concurrency: int
    measured: float
    predicted: float
    cross_validated_error_fraction: float
    regime: str
    chip_class: str
    use: str
    metric: str
    engine: str
    in_sample_error_fraction: float
    re_solved: tuple[str, ...] = ()  # "engine.field" re-solved for this source
    fallbacks: tuple[str, ...] = ()  # "engine.field: what it took" (no calibrate point left)
    in_sample_figures: tuple[str, ...] = ()  # numbers this source states that nothing re-derives

    def to_dict(self) -> dict:
        out = asdict(self)
        for k in ("re_solved", "fallbacks", "in_sample_figures"):
            out[k] = list(out[k])
        return out


def _engine_classes(catalog: Catalog) -> dict[str, str]:
    """Each engine with a calibrate point -> the chip class of the chips its calibrate points ran on."""
    out: dict[str, str] = {}
    for p in calibration_points(catalog):
        out.setdefault(point_engine(catalog, p), catalog.accelerators[p.accelerator].chip_class)
    return out


def cross_validate(catalog: Catalog, sources: list[str] | None = None) -> list[CrossValidatedRow]:
    """One :class:`CrossValidatedRow` per validation point (of ``sources``, default all), in catalog order."""
    all_points = calibration_points(catalog)
    calibrated = {(point_engine(catalog, p), field_of(p)) for p in all_points}
    classes = _engine_classes(catalog)

    def fusion(engine_id: str) -> str:
        chosen = catalog.engines[engine_id].fusion
        return chosen.value if chosen is not None else "per-kernel"
    by_source: dict[str, list[ValidationPoint]] = {}
    for p in catalog.validation.values():
        by_source.setdefault(p.source, []).append(p)
    rows: dict[str, CrossValidatedRow] = {}
    for source, points in by_source.items():
        if sources is not None and source not in sources:
            continue
        touched = {point_engine(catalog, p) for p in all_points if p.source == source}
        folded = catalog
        re_solved: tuple[str, ...] = ()
        fallbacks: tuple[str, ...] = ()
        if touched:
            kept = calibration_points(catalog, engines=touched, exclude_sources=[source])
            kept_pairs = {(point_engine(catalog, p), field_of(p)) for p in kept}
            # every remaining calibrated pair of every engine, for the orphans' peers
            remaining = {(e, f) for e, f in calibrated if e not in touched} | kept_pairs
            orphans = sorted((e, f) for e, f in calibrated if e in touched and (e, f) not in kept_pairs)

            def peers(engine: str, fld: str, remaining=remaining) -> list[str]:
                # only engines of the same fusion: a per-kernel engine's tau is paid per kernel and its per-sequence
                # time per R1-sized token, a whole-step engine's tau per MoE routing kernel and its per-sequence
                # time per sequence (calculators.model.step), so their numbers are not in one unit
                alike = [e for e, f in remaining if f == fld and e != engine and fusion(e) == fusion(engine)]
                same = sorted(e for e in alike if classes.get(e) == classes.get(engine))
                return same or sorted(alike)

            result = calibrate(catalog, kept, orphans=orphans, peers=peers)
            folded = result.catalog
            re_solved = tuple(f"{e}.{f}" for e, f in sorted(result.values))
            fallbacks = tuple(f"{e}.{f}: {how}" for (e, f), how in sorted(result.fallbacks.items()))
        stated = tuple(stated_fields(catalog, source))
        for p in points:
            predicted = float(_predicted(folded, p)[0])
            in_sample = float(_predicted(catalog, p)[0]) if folded is not catalog else predicted
            rows[p.id] = CrossValidatedRow(
                id=p.id, source=source, accelerator=p.accelerator, concurrency=p.concurrency, measured=p.measured,
                predicted=predicted, cross_validated_error_fraction=predicted / p.measured - 1,
                regime=point_regime(p), chip_class=catalog.accelerators[p.accelerator].chip_class, use=p.use,
                metric=p.metric, engine=point_engine(catalog, p),
                in_sample_error_fraction=in_sample / p.measured - 1,
                re_solved=re_solved, fallbacks=fallbacks, in_sample_figures=stated,
            )
    return [rows[i] for i in catalog.validation if i in rows]


# --- summaries and bands ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorSummary:
    """Count, median and p90 |error| of one group of cross-validated rows."""

    regime: str  # a regime key, or "all"
    chip_class: str  # a chip class, or "all"
    count: int
    median_abs_error: float | None
    p90_abs_error: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _stats(errors: list[float]) -> tuple[float | None, float | None]:
    if not errors:
        return None, None
    a = np.abs(np.asarray(errors, dtype=float))
    return float(np.median(a)), float(np.percentile(a, BAND_PERCENTILE))


def summarise(rows: list[CrossValidatedRow]) -> list[ErrorSummary]:
    """Overall, then per regime (all classes, then each class that has rows), in :data:`REGIMES` order."""
    out = [ErrorSummary("all", "all", len(rows), *_stats([r.cross_validated_error_fraction for r in rows]))]
    classes = sorted({r.chip_class for r in rows})
    for c in classes:
        sel = [r.cross_validated_error_fraction for r in rows if r.chip_class == c]
        out.append(ErrorSummary("all", c, len(sel), *_stats(sel)))
    for regime in REGIMES:
        in_regime = [r for r in rows if r.regime == regime]
        out.append(ErrorSummary(regime, "all", len(in_regime),
                                *_stats([r.cross_validated_error_fraction for r in in_regime])))
        for c in classes:
            sel = [r.cross_validated_error_fraction for r in in_regime if r.chip_class == c]
            if sel:
                out.append(ErrorSummary(regime, c, len(sel), *_stats(sel)))
    return out


def format_summary(rows: list[CrossValidatedRow], seconds: float | None = None) -> str:
    """The human table: per regime and chip class, count, median and p90 |error|."""
    lines = ["leave-one-source-out validation: every calibrated number re-solved without the point's source",
             f"{'regime':<24} {'class':<10} {'points':>6} {'median':>8} {'p90':>8}"]
    for s in summarise(rows):
        label = "overall" if s.regime == "all" else REGIMES[s.regime]
        med = "—" if s.median_abs_error is None else f"{s.median_abs_error:.0%}"
        p90 = "—" if s.p90_abs_error is None else f"{s.p90_abs_error:.0%}"
        lines.append(f"{label:<24} {s.chip_class:<10} {s.count:>6} {med:>8} {p90:>8}")
    fell_back = sorted({f for r in rows for f in r.fallbacks})
    if fell_back:
        lines.append("engine numbers left with no calibrate point in a fold (what they took):")
        lines.extend(f"  {f}" for f in fell_back)
    stated = sorted({(r.source, f) for r in rows for f in r.in_sample_figures})
    if stated:
        lines.append("figures a source states outright (not re-derived; its points still use them):")
        lines.extend(f"  {s}: {f}" for s, f in stated)
    if seconds is not None:
        lines.append(f"{len(rows)} points from {len({r.source for r in rows})} sources in {seconds:.1f} s")
    return "\n".join(lines)


def format_rows(rows: list[CrossValidatedRow]) -> str:
    lines = [f"{'id':<44} {'regime':<18} {'class':<8} {'measured':>10} {'predicted':>10} {'cv error':>9} "
             f"{'in-sample':>9}"]
    for r in rows:
        lines.append(f"{r.id:<44} {r.regime:<18} {r.chip_class:<8} {r.measured:>10.4g} {r.predicted:>10.4g} "
                     f"{r.cross_validated_error_fraction:>+9.1%} {r.in_sample_error_fraction:>+9.1%}")
    return "\n".join(lines)


@dataclass(frozen=True)
class RegimeBand:
    """The band factor one (regime, chip class) carries and what it rests on."""

    regime: str
    chip_class: str
    fraction: float
    basis: str  # "cross-validated" or "fallback"
    points: int
    statement: str

    @property
    def label(self) -> str:
        return REGIMES[self.regime]

    def to_dict(self) -> dict:
        return asdict(self) | {"label": self.label}


def band_fraction(errors: list[float]) -> float:
    """f = exp(RMS of ln(1 + e)) - 1 (:func:`calculators.validation.measured_band_fraction`, the rule the in-sample
    band used): +50% and -33% are the same distance in log space."""
    return measured_band_fraction(errors)


_CLASS_WORDS = {"gpu": "GPUs", "tpu": "TPUs and Trainium", "dataflow": "dataflow chips", "sram": "SRAM chips",
                "wafer": "wafer-scale chips"}


def class_words(chip_class: str) -> str:
    return _CLASS_WORDS.get(chip_class, f"{chip_class} chips")


def regime_bands(catalog: Catalog, rows: list[CrossValidatedRow]) -> dict[tuple[str, str], RegimeBand]:
    """Every (regime, catalog chip class) band (see the module docstring for the rule)."""
    cells: dict[tuple[str, str], list[float]] = {}
    pooled: dict[str, list[float]] = {}
    for r in rows:
        cells.setdefault((r.regime, r.chip_class), []).append(r.cross_validated_error_fraction)
        pooled.setdefault(r.regime, []).append(r.cross_validated_error_fraction)
    speeds = [e for k in SPEED_REGIMES for e in pooled.get(k, [])]
    out = {}
    for regime in REGIMES:
        wide = pooled.get(regime, []) if len(pooled.get(regime, [])) >= MIN_CV_POINTS else speeds
        wide_words = (f"{REGIMES[regime]} on every class" if wide is not speeds else "every speed regime and class")
        for c, cls in catalog.chip_classes.items():
            errors = cells.get((regime, c), [])
            where = f"{REGIMES[regime]} on {class_words(c)}"
            if len(errors) >= MIN_CV_POINTS:
                f = band_fraction(errors)
                out[(regime, c)] = RegimeBand(regime, c, f, "cross-validated", len(errors),
                                              f"cross-validated error at {where} (±{f:.0%}, {len(errors)} points)")
                continue
            own = [band_fraction(cells[(k, c)]) for k in SPEED_REGIMES
                   if regime in SPEED_REGIMES and len(cells.get((k, c), [])) >= MIN_CV_POINTS]
            f = max(cls.validation_error_fraction.value, band_fraction(wide) if wide else 0.0, *own)
            out[(regime, c)] = RegimeBand(regime, c, f, "fallback", len(errors),
                                          f"cross-validated error of {wide_words} (±{f:.0%}): {where} has "
                                          f"{len(errors)} point(s), fewer than {MIN_CV_POINTS}")
    return out


def band_phrase(band: RegimeBand) -> str:
    """How a verdict names the band it sits inside: "the cross-validated error at concurrency ≥ 64 on GPUs (±47%)"."""
    where = f"{band.label} on {class_words(band.chip_class)}"
    if band.basis == "cross-validated":
        return f"the cross-validated error at {where} (±{band.fraction:.0%})"
    return f"the wider fallback band at {where} (±{band.fraction:.0%}; too few cross-validated points there)"


def scenario_band(catalog: Catalog, chip, concurrency: int | None = None, mtp_layers: int = 0,
                  metric: str | None = None) -> RegimeBand:
    """The band of a scenario on ``chip``: its (regime, chip class) band; with no concurrency, the widest of the
    class's speed regimes. Where the chip's default engine has no test point of its own, never below the widest
    cross-validated band measured in a speed regime: a vendor stack nobody has tested is at least as uncertain as
    the worst one somebody has."""
    from calculators.assumptions import default_engine_id
    from calculators.validation import engine_evidence_by_id

    bands = bands_for(catalog)
    if concurrency is None:
        chosen = max((bands[(k, chip.chip_class)] for k in SPEED_REGIMES), key=lambda b: b.fraction)
    else:
        chosen = bands[(regime_of(int(concurrency), int(mtp_layers), metric), chip.chip_class)]
    evidence = engine_evidence_by_id(catalog).get(default_engine_id(catalog, chip))
    if evidence is not None and not evidence.test_points:
        widest = max((b for b in bands.values() if b.basis == "cross-validated" and b.regime in SPEED_REGIMES),
                     key=lambda b: b.fraction, default=None)
        if widest is not None and widest.fraction > chosen.fraction:
            chosen = RegimeBand(chosen.regime, chosen.chip_class, widest.fraction, "fallback", chosen.points,
                                f"the widest cross-validated band (±{widest.fraction:.0%}, {widest.label} on "
                                f"{class_words(widest.chip_class)}): {evidence.name} has no test point of its own")
    return chosen


def format_regime_bands(catalog: Catalog) -> str:
    """One line per (regime, class) band that predictions, sizings and claim verdicts carry."""
    lines = ["uncertainty band per regime and chip class (value / (1 + f) .. value x (1 + f)):"]
    for b in bands_for(catalog).values():
        lines.append(f"  {b.label:<24} {b.chip_class:<10} f = {b.fraction:.2f}  {b.statement}")
    return "\n".join(lines)


# --- the cache -------------------------------------------------------------------------------------------------------

_SOURCE_DIR = Path(__file__).resolve().parent


def cache_key(catalog: Catalog) -> str:
    """A digest of everything the validation's predictions depend on: the points, the chips, systems and models
    they use, every assumption and curve, and the calculators' source code (a chip a user adds that no point uses
    leaves it unchanged)."""
    points = catalog.validation
    chips = {p.accelerator for p in points.values()}
    models = {p.model for p in points.values()}
    systems = {catalog.accelerators[c].system for c in chips if c in catalog.accelerators}
    data = catalog.model_dump_json(
        include={"precisions", "chip_classes", "engines", "serving", "validation", "datasets", "kernel_curves",
                 "collective_curves"},
    )
    parts = [data]
    for name, keep in (("accelerators", chips), ("models", models), ("systems", systems)):
        section = getattr(catalog, name)
        parts.extend(section[k].model_dump_json() for k in sorted(keep) if k in section)
    digest = hashlib.sha256("\n".join(parts).encode())
    digest.update(_code_digest())
    return digest.hexdigest()[:32]


@functools.cache
def _code_digest() -> bytes:
    """The calculators' source code, once per process (a model change invalidates the disk cache)."""
    digest = hashlib.sha256()
    for path in sorted(_SOURCE_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.digest()


def cache_dir() -> Path:
    return Path(os.environ.get("RACKSCALE_CACHE_DIR") or Path.home() / ".cache" / "rackscale")


def _from_disk(key: str) -> list[CrossValidatedRow] | None:
    path = cache_dir() / f"crossval-{key}.json"
    try:
        data = json.loads(path.read_text())
        return [CrossValidatedRow(**{k: tuple(v) if isinstance(v, list) else v for k, v in r.items()}) for r in data]
    except (OSError, ValueError, TypeError):
        return None


def _to_disk(key: str, rows: list[CrossValidatedRow]) -> None:
    directory = cache_dir()
    if (directory / f"crossval-{key}.json").exists():
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".crossval-{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps([r.to_dict() for r in rows]))
        tmp.replace(directory / f"crossval-{key}.json")
    except OSError:
        pass  # a read-only home: the process keeps it in memory


def _key(catalog: Catalog) -> str:
    """:func:`cache_key`, once per catalog (it dumps the catalog as JSON and hashes it)."""
    return catalog.memo.get("crossval-key", None, lambda: cache_key(catalog))


def remember(catalog: Catalog, rows: list[CrossValidatedRow], key: str | None = None) -> list[CrossValidatedRow]:
    """Keep ``rows`` as this catalog's cross-validation: in its memo and on disk."""
    catalog.memo.put("crossval", None, rows)
    _to_disk(key or _key(catalog), rows)
    return rows


def cached_rows(catalog: Catalog) -> list[CrossValidatedRow] | None:
    """The cross-validated rows of this catalog if its memo or the disk cache has them, else None."""
    rows = catalog.memo.peek("crossval", None)
    if rows is None:
        rows = _from_disk(_key(catalog))
        if rows is not None:
            catalog.memo.put("crossval", None, rows)
    return rows


def cross_validated(catalog: Catalog) -> list[CrossValidatedRow]:
    """:func:`cross_validate` of this catalog, computed once per catalog version (see the module docstring)."""
    rows = cached_rows(catalog)
    if rows is None:
        rows = remember(catalog, cross_validate(catalog))
    return rows


def bands_for(catalog: Catalog) -> dict[tuple[str, str], RegimeBand]:
    """:func:`regime_bands` of :func:`cross_validated`, once per catalog (kept in ``catalog.memo``)."""
    return catalog.memo.get("regime-bands", None, lambda: regime_bands(catalog, cross_validated(catalog)))


@dataclass(frozen=True)
class Timed:
    rows: list[CrossValidatedRow] = field(default_factory=list)
    seconds: float = 0.0


def timed_cross_validate(catalog: Catalog) -> Timed:
    """:func:`cross_validate` with its wall time (the CLI prints it)."""
    start = time.perf_counter()
    rows = cross_validate(catalog)
    return Timed(rows, time.perf_counter() - start)


__all__ = ["ORDER", "REGIMES", "CrossValidatedRow", "RegimeBand", "bands_for", "cross_validate", "cross_validated",
           "format_summary", "point_regime", "regime_bands", "regime_of", "summarise"]
