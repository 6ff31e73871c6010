"""Load catalog YAML files into a validated :class:`~calculators.records.Catalog`, reporting every problem at once.

A catalog is a set of YAML files. Each file is a mapping whose keys are sections: ``sources`` (a mapping of id to
source), ``serving`` (one mapping), and the listed sections ``precisions``, ``accelerators``, ``systems``,
``models``, ``chip_classes``, ``engines``, ``validation``, ``datasets``, ``kernel_curves``,
``collective_curves``, ``api_prices`` and ``claims`` (lists of entries, each with an ``id``). Files are merged in
order: an entry whose id already exists replaces it, so a user's file layered over the shipped catalog overrides or
extends it.
The same id twice in one file is an error.

Catalog files are untrusted (users upload them), so parsing is defensive: size is capped, the text must be UTF-8,
only YAML's plain data tags are allowed (no ``!!python/...``), anchors and aliases are refused (which also stops
"billion laughs" bombs), nesting depth is capped, and duplicate keys are errors rather than silently overwritten.
Every problem is reported as ``file:line: path.to.field: message (got value)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from calculators.errors import CatalogError, ScenarioError
from calculators.layout import parse_layout
from calculators.records import (
    Accelerator,
    ApiPrice,
    Catalog,
    ChipClass,
    Claim,
    CollectiveCurve,
    Engine,
    KernelCurve,
    LengthDistribution,
    Model,
    Precision,
    Serving,
    Source,
    Sourced,
    SourcedChoice,
    System,
    ValidationPoint,
)

SHIPPED_CATALOG_DIR = Path(__file__).resolve().parent.parent / "hardware_catalog"
MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000

LIST_SECTIONS: dict[str, type[BaseModel]] = {
    "precisions": Precision,
    "accelerators": Accelerator,
    "systems": System,
    "models": Model,
    "chip_classes": ChipClass,
    "engines": Engine,
    "validation": ValidationPoint,
    "datasets": LengthDistribution,
    "kernel_curves": KernelCurve,
    "collective_curves": CollectiveCurve,
    "api_prices": ApiPrice,
    "claims": Claim,
}
SECTIONS = ("sources", "serving", *LIST_SECTIONS)

_PLAIN_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}

Path_ = tuple[str | int, ...]

# libyaml's parser when PyYAML was built with it (5-10x faster); composing builds nodes only, never objects.
_FAST_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _first_line_past_depth(text: str, loader: type) -> int | None:
    """Read ``text``'s YAML events with ``loader`` until a collection opens deeper than MAX_DEPTH: its 1-based line,
    or None when the whole document stays within the limit."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a catalog file, located by file, line and field path."""

    file: str
    line: int
    path: str
    message: str
    value: Any = None
    has_value: bool = False

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        field = f"{self.path}: " if self.path else ""
        got = f" (got {_short(self.value)})" if self.has_value else ""
        return f"{where}{field}{self.message}{got}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- YAML to plain data, with a line for every path ----------------------------------------------------------------


class _Reader:
    """Turns one YAML text into plain Python data plus a map from field path to 1-based line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self._nodes = 0
        self._seen: set[int] = set()
        self._constructor = yaml.SafeLoader("")

    def problem(self, line: int, path: Path_, message: str, *values: Any) -> None:
        self.problems.append(Problem(self.name, line, _dotted(path), message, *(values[:1]), bool(values)))

    def read(self, raw: bytes | str) -> Any:
        if isinstance(raw, bytes):
            if len(raw) > MAX_FILE_BYTES:
                self.problem(0, (), f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,}")
                return None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.problem(0, (), f"not UTF-8 text: byte {exc.start} is {raw[exc.start:exc.start + 1]!r}")
                return None
        else:
            text = raw
            if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
                self.problem(0, (), f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes")
                return None
        try:
            too_deep_at = self._nesting_past_limit(text)
            if too_deep_at is not None:
                self.problem(too_deep_at, (), f"nesting is too deep (the limit is {MAX_DEPTH} levels)")
                return None
            node = yaml.compose(text, Loader=_FAST_SAFE_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            self.problem(line, (), f"YAML syntax error at line {line}, column {col}: {what}")
            return None
        except yaml.YAMLError as exc:
            self.problem(0, (), f"YAML error: {exc}")
            return None
        except RecursionError:
            self.problem(0, (), f"nesting is too deep (the limit is {MAX_DEPTH} levels)")
            return None
        if node is None:
            return {}
        try:
            return self._build(node, (), 0)
        except _Abort:
            return None

    def _nesting_past_limit(self, text: str) -> int | None:
        """The 1-based line where the document first nests deeper than MAX_DEPTH, or None.

        Rackscale owns this refusal whichever parser layer would notice first. The event stream is read lazily and
        stopped at the first collection past the limit, so a parser's own nesting guard normally never speaks. When
        the fast parser fails anyway (libyaml looks ahead and refuses deep flow nesting itself, with its own words
        and its own limit, which releases change), the pure-Python parser, which has no such guard and stops at our
        limit, decides whether the failure was depth; if it was not, the original error stands.
        """
        try:
            return _first_line_past_depth(text, _FAST_SAFE_LOADER)
        except (yaml.YAMLError, RecursionError):
            if _FAST_SAFE_LOADER is yaml.SafeLoader:
                raise
            try:
                line = _first_line_past_depth(text, yaml.SafeLoader)
            except (yaml.YAMLError, RecursionError):
                line = None
            if line is None:
                raise
            return line

    def _build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            self.problem(line, path, f"too many YAML nodes (the limit is {MAX_NODES:,})")
            raise _Abort
        if depth > MAX_DEPTH:
            self.problem(line, path, f"nesting is too deep (the limit is {MAX_DEPTH} levels)")
            raise _Abort
        if id(node) in self._seen:
            self.problem(line, path, "YAML anchors and aliases are not allowed in catalog files")
            raise _Abort
        self._seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            self.problem(line, path, f"YAML tag {node.tag!r} is not allowed; only plain data is accepted")
            raise _Abort
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in _PLAIN_TAGS:
                    self.problem(key_node.start_mark.line + 1, path, "mapping keys must be plain scalars")
                    raise _Abort
                key = self._constructor.construct_object(key_node)
                if key_node.tag == "tag:yaml.org,2002:merge" or key == "<<":
                    self.problem(key_node.start_mark.line + 1, path, "YAML merge keys ('<<') are not allowed")
                    raise _Abort
                if key in out:
                    self.problem(
                        key_node.start_mark.line + 1,
                        (*path, key),
                        f"duplicate key (first at line {self.lines.get((*path, key), '?')})",
                    )
                    continue
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self._build(value_node, (*path, key), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self._build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            self.problem(line, path, f"cannot read value: {exc}", node.value)
            raise _Abort from None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(line, path, "must be a finite number", value)
            raise _Abort
        return value


class _Abort(Exception):
    """Stops building a file that cannot be read safely (the problem is already recorded)."""


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# --- plain data to records -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    """Where an entry came from, to place cross-reference problems on the right line."""

    reader: _Reader
    path: Path_

    def line(self, *sub: str | int) -> int:
        full = (*self.path, *sub)
        while full:
            if full in self.reader.lines:
                return self.reader.lines[full]
            full = full[:-1]
        return 0


def _pydantic_problems(exc: ValidationError, origin: _Origin, label: Path_) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        has_value = err["type"] not in ("missing",)
        if err["type"] == "missing":
            message = "missing field"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        problems.append(
            Problem(
                origin.reader.name,
                origin.line(*loc),
                _dotted((*label, *loc)),
                message,
                err.get("input") if has_value else None,
                has_value and not isinstance(err.get("input"), dict),
            )
        )
    return problems


def _entries(reader: _Reader, data: Any) -> tuple[dict[str, dict[str, tuple[Any, _Origin]]], list[Problem]]:
    """Validate one file's sections into records; returns {section: {id: (record, origin)}} and problems."""
    problems: list[Problem] = []
    found: dict[str, dict[str, tuple[Any, _Origin]]] = {}
    if not isinstance(data, dict):
        problems.append(Problem(reader.name, 1, "", "a catalog file must be a mapping of sections", data, True))
        return found, problems
    for section, body in data.items():
        origin = _Origin(reader, (section,))
        if section not in SECTIONS:
            problems.append(
                Problem(reader.name, origin.line(), str(section),
                        f"unknown section; expected one of {', '.join(SECTIONS)}")
            )
            continue
        entries = found.setdefault(section, {})
        if section == "serving":
            try:
                entries["serving"] = (Serving.model_validate(body), origin)
            except ValidationError as exc:
                problems += _pydantic_problems(exc, origin, (section,))
            continue
        if section == "sources":
            if not isinstance(body, dict):
                problems.append(Problem(reader.name, origin.line(), section, "must be a mapping of id to source"))
                continue
            for sid, raw in body.items():
                sub = _Origin(reader, (section, sid))
                try:
                    entries[str(sid)] = (Source.model_validate(raw), sub)
                except ValidationError as exc:
                    problems += _pydantic_problems(exc, sub, (section, sid))
            continue
        if not isinstance(body, list):
            problems.append(Problem(reader.name, origin.line(), section, "must be a list of entries with an 'id'"))
            continue
        for i, raw in enumerate(body):
            sub = _Origin(reader, (section, i))
            eid = raw.get("id") if isinstance(raw, dict) else None
            label = (f"{section}[{eid if isinstance(eid, str) else i}]",)
            if isinstance(eid, str) and eid in entries:
                problems.append(
                    Problem(reader.name, sub.line("id"), f"{label[0]}.id",
                            f"duplicate id (first at line {entries[eid][1].line('id')})", eid, True)
                )
                continue
            try:
                record = LIST_SECTIONS[section].model_validate(raw)
            except ValidationError as exc:
                problems += _pydantic_problems(exc, sub, label)
                if isinstance(eid, str):
                    entries[eid] = (None, sub)  # known id, so references to it do not cascade into more problems
                continue
            entries[record.id] = (record, sub)
    return found, problems


def _sourced_fields(record: Any, path: Path_ = ()) -> Iterable[tuple[Path_, Sourced | SourcedChoice]]:
    """Every Sourced number and SourcedChoice inside a record, with its field path."""
    if isinstance(record, Sourced | SourcedChoice):
        yield path, record
    elif isinstance(record, BaseModel):
        for name in type(record).model_fields:
            yield from _sourced_fields(getattr(record, name), (*path, name))
    elif isinstance(record, tuple):
        for i, item in enumerate(record):
            yield from _sourced_fields(item, (*path, i))
    elif isinstance(record, dict):
        for key, item in record.items():
            yield from _sourced_fields(item, (*path, key))


def _reference_problems(merged: dict[str, dict[str, tuple[Any, _Origin]]]) -> list[Problem]:
    """Every id an entry refers to must exist in the merged catalog."""
    problems: list[Problem] = []
    ids = {section: set(merged.get(section, {})) for section in SECTIONS}

    def need(section: str, ref: str | None, origin: _Origin, label: str, *field: str | int) -> None:
        if ref is not None and ref not in ids[section]:
            what = section.rstrip("s").replace("_", " ")
            problems.append(
                Problem(origin.reader.name, origin.line(*field), _dotted((label, *field)),
                        f"unknown {what} id; known: {_some(ids[section])}", ref, True)
            )

    for section, entries in merged.items():
        for eid, (record, origin) in entries.items():
            if record is None:
                continue
            label = section if section == "serving" else f"{section}[{eid}]"
            for path, number in _sourced_fields(record):
                need("sources", number.source, origin, label, *path, "source")
            if isinstance(record, Accelerator):
                need("systems", record.system, origin, label, "system")
                need("chip_classes", record.chip_class, origin, label, "chip_class")
                for precision in record.peak_tflops:
                    if precision not in ids["precisions"]:
                        problems.append(
                            Problem(origin.reader.name, origin.line("peak_tflops", precision),
                                    _dotted((label, "peak_tflops", precision)),
                                    f"unknown precision; known: {_some(ids['precisions'])}",
                                    precision, True)
                        )
            elif isinstance(record, Model):
                need("sources", record.source, origin, label, "source")
                need("precisions", record.native_precision, origin, label, "native_precision")
                for i, choice in enumerate(record.serving_precisions or ()):
                    need("precisions", choice.value, origin, label, "serving_precisions", i, "value")
            elif isinstance(record, ApiPrice):
                need("models", record.model, origin, label, "model")
            elif isinstance(record, ChipClass):
                need("engines", record.default_engine, origin, label, "default_engine")
            elif isinstance(record, Engine):
                for i, chip in enumerate(record.default_for):
                    need("accelerators", chip, origin, label, "default_for", i)
                if record.kv_cache_precision is not None:
                    need("precisions", record.kv_cache_precision.value, origin, label, "kv_cache_precision", "value")
            elif isinstance(record, Serving) and record.host_reference_model is not None:
                need("models", record.host_reference_model.value, origin, label, "host_reference_model", "value")
            elif isinstance(record, ValidationPoint):
                need("sources", record.source, origin, label, "source")
                need("models", record.model, origin, label, "model")
                need("accelerators", record.accelerator, origin, label, "accelerator")
                need("precisions", record.precision, origin, label, "precision")
                need("engines", record.engine, origin, label, "engine")
                need("precisions", record.kv_cache_precision, origin, label, "kv_cache_precision")
                need("datasets", record.length_distribution, origin, label, "length_distribution")
                problems += _layout_kind_problems(merged, record, origin, label)
            elif isinstance(record, LengthDistribution):
                need("sources", record.source, origin, label, "source")
            elif isinstance(record, KernelCurve | CollectiveCurve):
                chip_ids = ids["accelerators"] | ids["chip_classes"]
                if record.accelerator not in chip_ids:
                    problems.append(
                        Problem(origin.reader.name, origin.line("accelerator"), _dotted((label, "accelerator")),
                                f"unknown accelerator or chip class id; known: {_some(chip_ids)}",
                                record.accelerator, True)
                    )
                need("sources", record.source, origin, label, "source")
                if isinstance(record, KernelCurve):
                    need("precisions", record.precision, origin, label, "precision")
                    need("precisions", record.weight_precision, origin, label, "weight_precision")
                    need("accelerators", record.measured_on, origin, label, "measured_on")
            elif isinstance(record, Claim):
                s = record.scenario
                need("sources", record.source, origin, label, "source")
                need("models", s.model, origin, label, "scenario", "model")
                need("accelerators", s.accelerator, origin, label, "scenario", "accelerator")
                need("precisions", s.precision, origin, label, "scenario", "precision")
                need("engines", s.engine, origin, label, "scenario", "engine")
                need("accelerators", s.baseline_accelerator, origin, label, "scenario", "baseline_accelerator")
                need("precisions", s.baseline_precision, origin, label, "scenario", "baseline_precision")
                need("validation", s.baseline_measurement, origin, label, "scenario", "baseline_measurement")
    return problems


def _record(merged: dict[str, dict[str, tuple[Any, _Origin]]], section: str, rid: str | None) -> Any:
    """The merged record ``rid`` of ``section``, or None when it is absent or did not validate."""
    return merged.get(section, {}).get(rid, (None, None))[0] if rid is not None else None


def _layout_kind_problems(merged: dict[str, dict[str, tuple[Any, _Origin]]], point: ValidationPoint,
                          origin: _Origin, label: str) -> list[Problem]:
    """A measured point's stated layout must be a label of its chips and of a kind its engine (stated, or the chip's
    default) runs; a contradiction means the engine's declared layout kinds are wrong."""
    model, chip = _record(merged, "models", point.model), _record(merged, "accelerators", point.accelerator)
    if point.layout is None or model is None or chip is None:
        return []
    engine_id = point.engine
    if engine_id is None:
        engine_id = next((eid for eid, (rec, _) in merged.get("engines", {}).items()
                          if rec is not None and chip.id in rec.default_for), None)
    if engine_id is None:
        chip_class = _record(merged, "chip_classes", chip.chip_class)
        engine_id = chip_class.default_engine if chip_class is not None else None
    engine = _record(merged, "engines", engine_id)
    line = origin.line("layout")
    try:
        layout = parse_layout(point.layout, model, point.chips)
    except ScenarioError as exc:
        return [Problem(origin.reader.name, line, _dotted((label, "layout")), str(exc), point.layout, True)]
    if engine is None or layout.kind in engine.supported_layout_kinds:
        return []
    return [Problem(origin.reader.name, line, _dotted((label, "layout")),
                    f"engine {engine_id!r} does not run layout kind {layout.kind!r} (supports: "
                    f"{', '.join(engine.supported_layout_kinds)})", point.layout, True)]


def _some(ids: set[str], most: int = 8) -> str:
    names = sorted(ids)
    if not names:
        return "none"
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def catalog_from_texts(files: Sequence[tuple[str, bytes | str]]) -> Catalog:
    """Validate and merge named YAML texts, in order, into one Catalog; raise CatalogError listing every problem."""
    problems: list[Problem] = []
    merged: dict[str, dict[str, tuple[Any, _Origin]]] = {}
    for name, raw in files:
        reader = _Reader(name)
        data = reader.read(raw)
        problems += reader.problems
        if data is None:
            continue
        found, file_problems = _entries(reader, data)
        problems += file_problems
        for section, entries in found.items():
            merged.setdefault(section, {}).update(entries)
    problems += _reference_problems(merged)
    if problems:
        raise CatalogError(problems)
    fields = {section: {eid: rec for eid, (rec, _) in entries.items()} for section, entries in merged.items()}
    if "serving" in fields:
        fields["serving"] = fields["serving"]["serving"]
    return Catalog(**fields)


def shipped_catalog_files() -> list[Path]:
    """The YAML files of the catalog that ships with Rackscale, in load order."""
    return sorted(SHIPPED_CATALOG_DIR.glob("*.yaml"))


def read_files(paths: Iterable[str | Path]) -> list[tuple[str, bytes]]:
    """Read files as (name, bytes) pairs; an unreadable file is a CatalogError naming it."""
    out = []
    for path in paths:
        try:
            out.append((str(path), Path(path).read_bytes()))
        except OSError as exc:
            raise CatalogError([Problem(str(path), 0, "", f"cannot read file: {exc.strerror or exc}")]) from None
    return out


def load_catalog(paths: Sequence[str | Path] | None = None, *, extra: Sequence[str | Path] = ()) -> Catalog:
    """Load ``paths`` (default: the shipped catalog) then ``extra`` files layered over them."""
    base = shipped_catalog_files() if paths is None else list(paths)
    return catalog_from_texts(read_files([*base, *extra]))


@functools.lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The shipped catalog, loaded once per process."""
    return load_catalog()
