"""The ``custom`` link parameter: user-added catalog entries as versioned, checksummed, compressed JSON (no Streamlit).

Format: ``c1.<checksum>.<payload>`` where ``payload`` is base64url (no padding) of zlib-compressed UTF-8 JSON and
``checksum`` is the first 12 hex digits of the SHA-256 of that JSON. The JSON is a catalog-file-shaped object
(``{"accelerators": [...], "systems": [...], "sources": {...}}``) that the strict catalog loader validates like any
uploaded YAML file, so a link can carry data but never code: no pickle, no eval, and decompression is capped
(a zip bomb stops at :data:`MAX_JSON_BYTES`).

Catalog dates (a source's ``accessed``, a validation point's ``date``) are ISO strings in JSON; :func:`layer_yaml`
turns the layer back into YAML with real dates so the loader reads them as dates.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import zlib
from typing import Any

import yaml

VERSION = "c1"
MAX_ENCODED_CHARS = 24_000
MAX_JSON_BYTES = 1_000_000
_CHECKSUM_CHARS = 12
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_FIELDS = {("sources", "accessed"), ("validation", "date"), ("claims", "date")}


class CodecError(ValueError):
    """A ``custom`` parameter that cannot be read; the message says what is wrong in words a user understands."""


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_CHECKSUM_CHARS]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def encode(layer: dict[str, Any]) -> str:
    """Encode a catalog-file-shaped mapping for the ``custom`` parameter; CodecError if the link would be too long."""
    if not isinstance(layer, dict):
        raise CodecError("the custom layer must be a mapping of catalog sections")
    try:
        text = json.dumps(_jsonable(layer), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CodecError(f"the custom layer is not plain JSON data: {exc}") from None
    data = text.encode("utf-8")
    payload = base64.urlsafe_b64encode(zlib.compress(data, 9)).decode("ascii").rstrip("=")
    code = f"{VERSION}.{_checksum(data)}.{payload}"
    if len(code) > MAX_ENCODED_CHARS:
        raise CodecError(
            f"these chips make a link of {len(code):,} characters, over the limit of {MAX_ENCODED_CHARS:,}; "
            "download the catalog as YAML and use it with the CLI's --catalog instead"
        )
    return code


def decode(code: str) -> dict[str, Any]:
    """Decode a ``custom`` parameter into the layer mapping; CodecError saying why when it cannot be trusted."""
    if not isinstance(code, str) or not code:
        raise CodecError("the custom-chips parameter is empty")
    if len(code) > MAX_ENCODED_CHARS:
        raise CodecError(f"the custom-chips parameter is {len(code):,} characters; the limit is {MAX_ENCODED_CHARS:,}")
    parts = code.split(".")
    if len(parts) != 3:
        raise CodecError("the custom-chips parameter is not a Rackscale chip code (expected 'c1.<checksum>.<data>')")
    version, checksum, payload = parts
    if version != VERSION:
        if re.fullmatch(r"c\d{1,4}", version):
            raise CodecError(f"the custom chips were saved by another version ({version}); this app reads {VERSION}")
        raise CodecError("the custom-chips parameter is not a Rackscale chip code (expected 'c1.<checksum>.<data>')")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", payload) or len(payload) % 4 == 1:
        raise CodecError("the custom chips are damaged: the data is not valid base64url (was the link cut short?)")
    try:
        compressed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        raise CodecError("the custom chips are damaged: the data is not valid base64url") from None
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_JSON_BYTES + 1)
    except zlib.error:
        raise CodecError("the custom chips are damaged: the data does not decompress (was the link cut short?)") \
            from None
    if len(data) > MAX_JSON_BYTES or inflater.unconsumed_tail:
        raise CodecError(f"the custom chips are too big: over {MAX_JSON_BYTES:,} bytes once decompressed")
    if not inflater.eof:
        raise CodecError("the custom chips are damaged: the data ends early (was the link cut short?)")
    if _checksum(data) != checksum:
        raise CodecError("the custom chips are damaged: the checksum does not match (the link was altered)")
    try:
        layer = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CodecError(f"the custom chips are not valid JSON: {exc}") from None
    if not isinstance(layer, dict):
        raise CodecError("the custom chips must be a JSON object of catalog sections")
    return layer


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _with_dates(value: Any, section: str | None = None, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _with_dates(v, section, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_dates(v, section, None) for v in value]
    if (section, key) in _DATE_FIELDS and isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def layer_yaml(layer: dict[str, Any]) -> str:
    """The layer as catalog YAML text (dates restored) for ``catalog_from_texts``."""
    restored = {section: _with_dates(body, section) for section, body in layer.items()}
    return yaml.safe_dump(restored, sort_keys=False, allow_unicode=True, width=1000)


def layer_from_yaml(text: str) -> dict[str, Any]:
    """A catalog YAML text (already validated by the loader) as a JSON-ready layer mapping."""
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise CodecError("a catalog file must be a mapping of sections")
    return _jsonable(data)


def merge_layers(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` layered over ``base`` the way the loader merges files: list entries replace by id, sources by key."""
    out = {k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for section, body in extra.items():
        if isinstance(body, list) and isinstance(out.get(section), list):
            ids = {e.get("id"): i for i, e in enumerate(out[section]) if isinstance(e, dict)}
            for entry in body:
                eid = entry.get("id") if isinstance(entry, dict) else None
                if eid in ids:
                    out[section][ids[eid]] = entry
                else:
                    ids[eid] = len(out[section])
                    out[section].append(entry)
        elif isinstance(body, dict) and isinstance(out.get(section), dict) and section == "sources":
            out[section].update(body)
        else:
            out[section] = body
    return out
