"""CSV and YAML downloads, built by pure functions (no Streamlit) so they are tested like the calculators.

Every CSV starts with ``# `` comment lines recording the scenario, the app version, the date and the catalog
sources behind the numbers, then a plain header row whose column names are the CLI's JSON keys with units
(``racks``, ``it_power_kw``, ``usd_per_million_output_tokens``). Read it back with ``pandas.read_csv(path,
comment="#")``. Cells that a spreadsheet would run as a formula (starting with ``= + - @``, tab or CR) get a
leading apostrophe; plain numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel

from calculators.records import Catalog, Sourced

_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def app_version() -> str:
    """Rackscale's version from pyproject.toml (``unknown`` if it cannot be read)."""
    try:
        with open(Path(__file__).resolve().parent.parent / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def neutralise(cell: Any) -> Any:
    """A cell made safe for spreadsheets: text that starts like a formula gets a leading apostrophe."""
    if not isinstance(cell, str):
        return cell
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


def _csv_cell(cell: Any) -> Any:
    """``neutralise``, then line breaks as LF: the csv writer quotes a cell holding LF but not a bare CR, which a
    spreadsheet reads as a row break (what follows the CR would start a new row, formula and all)."""
    cell = neutralise(cell)
    return cell.replace("\r\n", "\n").replace("\r", "\n") if isinstance(cell, str) else cell


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _header_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_one_line(v) for v in value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return "" if value is None else _one_line(value)


def sources_used(catalog: Catalog, *, accelerators: Iterable[str] = (), models: Iterable[str] = (),
                 serving: bool = True) -> list[str]:
    """Ids of the sources behind the given chips (with their systems and chip classes), models and serving block."""
    records: list[Any] = []
    for aid in accelerators:
        chip = catalog.accelerators.get(aid)
        if chip is None:
            continue
        records += [chip, catalog.systems.get(chip.system), catalog.chip_classes.get(chip.chip_class)]
        cls = catalog.chip_classes.get(chip.chip_class)
        if cls is not None:
            records.append(catalog.engines.get(cls.default_engine))
    for mid in models:
        model = catalog.models.get(mid)
        if model is not None:
            records.append(model)
            records.append(catalog.precisions.get(model.native_precision))
    if serving:
        records.append(catalog.serving)
    found: list[str] = []
    for record in records:
        for sid in _source_ids(record):
            if sid not in found:
                found.append(sid)
    return found


def _source_ids(record: Any) -> Iterable[str]:
    if record is None:
        return
    if isinstance(record, Sourced):
        if record.source:
            yield record.source
        return
    if isinstance(record, BaseModel):
        own = getattr(record, "source", None)
        if isinstance(own, str):
            yield own
        for name in type(record).model_fields:
            value = getattr(record, name)
            if name != "source":
                yield from _source_ids(value)
    elif isinstance(record, tuple | list):
        for item in record:
            yield from _source_ids(item)
    elif isinstance(record, dict):
        for item in record.values():
            yield from _source_ids(item)


def csv_header(*, title: str, scenario: Mapping[str, Any], catalog: Catalog, source_ids: Iterable[str] = (),
               version: str | None = None, today: dt.date | None = None) -> list[str]:
    """The ``# `` comment lines that open every CSV: what, scenario, app version, date and sources."""
    lines = [
        f"# Rackscale export: {_one_line(title)}",
        f"# app_version: {version or app_version()}",
        f"# date: {(today or dt.date.today()).isoformat()}",
    ]
    for key, value in scenario.items():
        text = _header_value(value)
        if text:
            lines.append(f"# scenario.{_one_line(key)}: {text}")
    ids = list(source_ids)
    if ids:
        lines.append("# sources:")
    for sid in ids:
        src = catalog.sources.get(sid)
        if src is None:
            continue
        parts = [src.title, src.url or "", src.section or "", f"accessed {src.accessed.isoformat()}"]
        lines.append(f"#   {sid}: " + "; ".join(_one_line(p) for p in parts if p))
    return lines


def to_csv(frame: pd.DataFrame, *, title: str, scenario: Mapping[str, Any], catalog: Catalog,
           source_ids: Iterable[str] = (), version: str | None = None, today: dt.date | None = None) -> str:
    """A table as CSV text with the provenance header; formula-like text neutralised, numbers left as numbers."""
    safe = frame.copy()
    safe.columns = [_csv_cell(str(c)) for c in safe.columns]
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_csv_cell)
    buffer = io.StringIO()
    buffer.write("\n".join(csv_header(title=title, scenario=scenario, catalog=catalog, source_ids=source_ids,
                                      version=version, today=today)) + "\n")
    safe.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def catalog_yaml(catalog: Catalog, *, header: str = "") -> str:
    """The whole catalog as one YAML file the loader reads back to an equal catalog."""
    data = catalog.model_dump(mode="python", exclude_none=True)
    out: dict[str, Any] = {}
    for section, body in data.items():
        if section in ("serving", "sources"):
            if body:
                out[section] = _plain(body)
        elif body:
            out[section] = [_plain(entry) for entry in body.values()]
    text = yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=1000)
    comment = "".join(f"# {_one_line(line)}\n" for line in header.splitlines() if line.strip())
    return comment + text


def claims_csv(checks: Iterable[Any], *, scenario: Mapping[str, Any], catalog: Catalog,
               version: str | None = None, today: dt.date | None = None) -> str:
    """The Claims table as CSV: every field of each checked claim (``calculators.claims.ClaimCheck.to_dict``, the
    CLI's ``claims --json`` keys; lists joined with "; ", the implied scenario as key=value pairs) under the
    provenance header naming each claim's source."""
    checks = list(checks)
    rows = []
    for c in checks:
        row = c.to_dict()
        row["hinges"] = "; ".join(row.get("hinges") or ())
        row["scenario"] = "; ".join(f"{k}={v}" for k, v in (row.get("scenario") or {}).items())
        rows.append(row)
    frame = pd.DataFrame(rows)
    ids = list(dict.fromkeys(c.source for c in checks))
    return to_csv(frame, title="vendor claims, checked", scenario=scenario, catalog=catalog, source_ids=ids,
                  version=version, today=today)


def api_prices_csv(catalog: Catalog, model: str, *, scenario: Mapping[str, Any], version: str | None = None,
                   today: dt.date | None = None) -> str:
    """The market-price table (public API list prices for ``model``, :func:`ui.tables.api_prices_frame`) as CSV
    under the provenance header naming each price's source."""
    from ui.tables import api_prices_frame

    frame = api_prices_frame(catalog, model)
    ids = list(dict.fromkeys(p.usd_per_million_output_tokens.source for p in catalog.api_prices.values()
                             if p.model == model and p.usd_per_million_output_tokens.source))
    return to_csv(frame, title=f"public API list prices for {model}", scenario=scenario, catalog=catalog,
                  source_ids=ids, version=version, today=today)
