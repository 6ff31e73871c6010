"""The custom-chips link codec: round trip, and every kind of damaged link refused with a clear reason."""

import base64
import hashlib
import json
import zlib

import pytest

from calculators import catalog_from_texts, default_catalog
from calculators.catalog import read_files, shipped_catalog_files
from ui import codec

CATALOG = default_catalog()


def _layer():
    chip = CATALOG.accelerators["b200"].model_dump(mode="python", exclude_none=True)
    chip.update(id="my-b200", name="My B200")
    return codec.layer_from_yaml(codec.yaml.safe_dump({
        "sources": {"my-notes": {"title": "my notes", "accessed": codec.dt.date(2025, 3, 1)}},
        "accelerators": [codec._jsonable(chip)],
    }))


def test_round_trip_and_layered_catalog():
    """A layer encodes to a c1 code, decodes to the same mapping and validates over the shipped catalog."""
    code = codec.encode(_layer())
    assert code.startswith("c1.") and len(code) < 4000
    layer = codec.decode(code)
    assert layer == _layer()
    merged = catalog_from_texts([*read_files(shipped_catalog_files()), ("link", codec.layer_yaml(layer))])
    assert "my-b200" in merged.accelerators
    assert merged.sources["my-notes"].accessed.isoformat() == "2025-03-01"


def _code_for(raw: bytes, checksum: str | None = None) -> str:
    payload = base64.urlsafe_b64encode(zlib.compress(raw)).decode().rstrip("=")
    return f"c1.{checksum or codec._checksum(raw)}.{payload}"


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda c: c[:-7], "damaged"),
        (lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"), "damaged"),
        (lambda c: "c2" + c[2:], "another version"),
        (lambda c: "x" + c, "not a Rackscale chip code"),
        (lambda c: c.replace(".", "!", 1), "not a Rackscale chip code"),
        (lambda c: c + "*", "base64url"),
        (lambda c: c + "A" * 30_000, "limit"),
        (lambda c: "", "empty"),
        (lambda c: _code_for(b"[1, 2]"), "JSON object"),
        (lambda c: _code_for(b"{not json"), "not valid JSON"),
        (lambda c: _code_for(b'{"a": NaN}'), "not valid JSON"),
        (lambda c: _code_for(b'{"a": 1}', "0" * 12), "checksum"),
        (lambda c: _code_for(b" " * (codec.MAX_JSON_BYTES + 10)), "too big"),
    ],
)
def test_damaged_codes_are_refused(mangle, reason):
    """Truncated, altered, foreign, oversized and non-object payloads raise CodecError saying why."""
    with pytest.raises(codec.CodecError, match=reason):
        codec.decode(mangle(codec.encode(_layer())))


def test_encode_refuses_what_a_link_cannot_carry():
    """A layer too big for a link, or with non-JSON values, is refused at encoding time."""
    noise = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(2000)]
    big = {"sources": {f"s{i}": {"title": text, "accessed": "2025-01-01"} for i, text in enumerate(noise)}}
    with pytest.raises(codec.CodecError, match="limit"):
        codec.encode(big)
    with pytest.raises(codec.CodecError):
        codec.encode({"x": float("nan")})


def test_decoded_json_is_only_data():
    """A payload is parsed as JSON, never executed: a pickle-looking payload is just an invalid object."""
    raw = json.dumps({"__reduce__": "os.system"}).encode()
    assert codec.decode(_code_for(raw)) == {"__reduce__": "os.system"}


def test_merge_layers_replaces_by_id():
    """Merging keeps earlier entries, replaces a same-id entry and adds new ones, like the loader."""
    base = {"accelerators": [{"id": "a", "n": 1}, {"id": "b", "n": 1}], "sources": {"s": {"t": 1}}}
    out = codec.merge_layers(base, {"accelerators": [{"id": "b", "n": 2}, {"id": "c"}], "sources": {"u": {}}})
    assert out["accelerators"] == [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c"}]
    assert set(out["sources"]) == {"s", "u"} and base["accelerators"][1]["n"] == 1
