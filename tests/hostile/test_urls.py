"""Hostile links: thousands of random and adversarial query strings, first through the pure parser, then every page.

Part 1 (pure, hypothesis): ``ui.params.parse_query`` never raises, names every bad parameter in a notice, keeps
defaults for the rest, returns only in-bounds values and round-trips its own share links; the ``custom`` codec
turns any tampered, truncated or bombed blob into a CodecError (never another exception).
Part 2 (AppTest): the same kind of links opened on each of the six pages: no exception, one warning naming every
ignored parameter, widgets seeded with the good values and defaults for the rest, bad parameters gone from the URL.
Cases are generated from fixed seeds so CI is stable; the counts go to the pytest summary.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import os
import random
import re
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from calculators.errors import CatalogError
from ui import codec, params
from ui.format import escape_markdown
from ui.params import CUSTOM_PARAM, FIELDS, FIELDS_BY_KEY, MAX_LIST_ITEMS, MAX_VALUE_CHARS, VERSION_PARAM

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
CATALOG = default_catalog()
PARSE_EXAMPLES = 2000
CODEC_EXAMPLES = 400
# ~0.75 s per AppTest case on 2 cores: 25 per page keeps this file under ~3 minutes; set
# RACKSCALE_HOSTILE_APPTEST_CASES=200 for a deeper run (same seeds, so the first 25 are the CI cases).
APPTEST_CASES_PER_PAGE = int(os.environ.get("RACKSCALE_HOSTILE_APPTEST_CASES", "25"))
NOTICE_HEAD = "This link had parameters that could not be used"

# --- values a hostile link may carry -------------------------------------------------------------------------------

NUMBERISH = ["", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e999", "-1e999", "1e-320", "-0", "0", "0.0",
             "0x10", "1_000", "1,5", "½", "١٢٣", "１２", "9" * 400, "+5", " 7 ", "7\n", "\x00", "1e3", "--1", "1..2",
             "None", "null", "true", "[]", "{}", "%00", "💥", "5" * 30, "-5", "0.09", "100001", "3.0000001"]
HOSTILE_TEXT = ["<script>alert(1)</script>", "=HYPERLINK(\"http://x\")", "'; DROP TABLE chips; --", "../../etc/passwd",
                "${jndi:ldap://x}", "{{7*7}}", "\u202eevil", "a\r\nb", "ｈ２００", "H200-SXM", "h200-sxm ", " sn40l",
                "x" * 5000, "\ud7ff", "🚀" * 50, "\t", "%s%s%s", "__proto__", "constructor"]
UNKNOWN_KEYS = ["foo", "", " ", "PUE", "pue ", "chips[]", "__class__", "x" * 300, "ключ", "🔑", "embed_options2",
                "page", "script", "<b>k</b>", "a=b", "custom2", "V"]


def _valid_values(field) -> list[str]:
    """A few good values for ``field`` (small, so the AppTest runs mostly hit the calculators' caches)."""
    if field.kind == "per_chip":  # chip:value items (issue 17), the value as its own kind would take it
        inner = dataclasses.replace(field, kind=field.value_kind)
        return [f"{chip}:{v}" for chip, v in zip(("b200", "h200-sxm", "sn40l"), _valid_values(inner), strict=False)]
    if field.kind in ("choice", "choices"):
        return list(field.choices(CATALOG))[:6]
    if field.kind == "int":
        return [str(int(field.low or 1)), "1000", "4096"]
    return [repr(float(field.low or 0.0)), f"{(field.high or 1e6):g}", "1.5" if (field.high or 0) >= 1.5 else "1"]


def _good_code(name: str = "Hostile test chip") -> str:
    chip = CATALOG.accelerators["h200-sxm"].model_dump(mode="python", exclude_none=True)
    chip.update(id="link-chip", name=name)
    return codec.encode({"accelerators": [codec._jsonable(chip)]})


GOOD_CODE = _good_code()


def _raw_code(payload: bytes, *, version: str = "c1", checksum: str | None = None) -> str:
    data = base64.urlsafe_b64encode(zlib.compress(payload, 9)).decode().rstrip("=")
    return f"{version}.{checksum or hashlib.sha256(payload).hexdigest()[:12]}.{data}"


def _bad_codes() -> list[str]:
    """Blobs that must be refused with a CodecError or a CatalogError (a notice), never another exception."""
    head, check, payload = GOOD_CODE.split(".")
    flipped = payload[:20] + ("A" if payload[20] != "A" else "B") + payload[21:]
    return [
        GOOD_CODE[: len(GOOD_CODE) // 2], GOOD_CODE[:-1], GOOD_CODE[:3], f"{head}.{check}.{flipped}",
        f"{head}.{'0' * 12}.{payload}", f"c2.{check}.{payload}", f"c0.{check}.{payload}", f"C1.{check}.{payload}",
        "c1..", "c1.x.y", "...", "c1.abc", GOOD_CODE + ".x", GOOD_CODE.replace("c1.", "c1. "), "c1.zz.!!!!",
        _raw_code(b"\x00" * 3_000_000),  # a zlib bomb: 3 MB of zeros in ~4 kB
        _raw_code(b"[1, 2, 3]"), _raw_code(b'"text"'), _raw_code(b"{bad json"), _raw_code(b'{"a": NaN}'),
        _raw_code(b"\xff\xfe not utf-8"), _raw_code(b"[" * 100_000 + b"]" * 100_000),
        _raw_code(json.dumps({"accelerators": [{"id": "x"}]}).encode()),
        _raw_code(json.dumps({"accelerators": "not a list"}).encode()),
        _raw_code(json.dumps({"models": [{"id": "deepseek-r1", "layers": -1}]}).encode()),
        _raw_code(json.dumps({"accelerators": [{"id": "<script>", "name": 1}]}).encode()),
        _raw_code(json.dumps({"!!python/object": 1}).encode()),
        _raw_code(b"{}", version="c9999"),
        "A" * 30_000,
    ]


BAD_CODES = _bad_codes()
OLD_VERSIONS = ["0", "2", "", "1.0", " 1", "01", "v1", "-1", "999999999999", "1\x00"]


def _scalar_value(rnd: random.Random, field) -> str:
    pool = rnd.choice([NUMBERISH, HOSTILE_TEXT, _valid_values(field), _valid_values(field)])
    return rnd.choice(pool)


def random_query(rnd: random.Random, *, most_keys: int = 7) -> dict[str, str | list[str]]:
    """One hostile query: a few known keys with good or bad values, unknown keys, repeats, custom and ``v``."""
    query: dict[str, str | list[str]] = {}
    for _ in range(rnd.randint(0, most_keys)):
        roll = rnd.random()
        if roll < 0.6:
            field = rnd.choice(FIELDS)
            if field.kind == "choices":
                n = rnd.choice([1, 1, 2, 3, MAX_LIST_ITEMS + 1])  # a URL cannot carry a key with no value
                query[field.key] = [rnd.choice(_valid_values(field) + HOSTILE_TEXT[:4] + [""]) for _ in range(n)]
            elif rnd.random() < 0.1:
                query[field.key] = [_scalar_value(rnd, field), _scalar_value(rnd, field)]  # repeated key
            else:
                query[field.key] = _scalar_value(rnd, field)
        elif roll < 0.75:
            query[rnd.choice(UNKNOWN_KEYS)] = rnd.choice(NUMBERISH + HOSTILE_TEXT)
        elif roll < 0.85:
            query[VERSION_PARAM] = rnd.choice([*OLD_VERSIONS, "1"])
        elif roll < 0.95:
            query[CUSTOM_PARAM] = rnd.choice([*BAD_CODES, GOOD_CODE])
        else:
            query["embed"] = "true"
    return query


# --- an independent reading of the documented rules (ui/params.py's module docstring and Field bounds) ------------


def _expected(field, items: list[str]):
    """(value, ok) for one present scalar field per the documented rules; ok=False means 'ignored, default kept'."""
    if len(items) != 1 or len(items[0]) > MAX_VALUE_CHARS:
        return None, False
    raw = items[0]
    if raw == "":
        return None, field.optional
    if field.kind == "choice":
        return raw, raw in field.choices(CATALOG)
    try:
        value = int(raw.strip(), 10) if field.kind == "int" else float(raw.strip())
    except ValueError:
        return None, False
    if isinstance(value, float) and not math.isfinite(value):
        return None, False
    if (field.low is not None and value < field.low) or (field.high is not None and value > field.high):
        return None, False
    return value, True


def _check_per_chip(field, items: list[str], got, named: bool) -> None:
    """A per-chip field keeps each good ``chip:value`` item (first per chip) and names the parameter for any bad one."""
    if len(items) > MAX_LIST_ITEMS or any(len(v) > MAX_VALUE_CHARS for v in items):
        assert got == () and named, (field.key, items, got)
        return
    inner = dataclasses.replace(field, kind=field.value_kind, optional=False)
    good: dict[str, object] = {}
    bad = False
    for item in items:
        if item == "":
            continue
        chip, sep, raw = item.partition(":")
        value, ok = _expected(inner, [raw])
        if sep and chip in CATALOG.accelerators and ok and chip not in good:
            good[chip] = float(value) if field.value_kind == "float" else value
        else:
            bad = True
    assert got == tuple(good.items()), (field.key, items, got)
    assert named == bad, (field.key, items, named)


def _check_parse(query: dict[str, str | list[str]]) -> None:
    scenario, notices = params.parse_query(query, CATALOG)
    defaults = params.default_scenario(CATALOG)
    named = {n.param for n in notices}
    for notice in notices:
        text = str(notice)
        assert "\n" not in text and "\r" not in text and len(text) < 500, f"notice not one short line: {text!r}"
    assert len(notices) <= params.MAX_NOTICES + 1
    capped = len(notices) > params.MAX_NOTICES
    for key, raw in query.items():
        items = [raw] if isinstance(raw, str) else list(raw) or [""]
        if key in params.STREAMLIT_PARAMS:
            assert key not in named
        elif key not in params.known_params():
            assert capped or any(n.reason == "unknown parameter" for n in notices), f"unknown {key!r} not named"
        elif key == VERSION_PARAM:
            assert (key in named or capped) == (items != [str(params.SCENARIO_VERSION)]) or capped, (key, items)
        elif key in FIELDS_BY_KEY and FIELDS_BY_KEY[key].kind == "per_chip":
            _check_per_chip(FIELDS_BY_KEY[key], items, getattr(scenario, key), key in named or capped)
        elif key in FIELDS_BY_KEY and FIELDS_BY_KEY[key].kind != "choices":
            field = FIELDS_BY_KEY[key]
            value, ok = _expected(field, items)
            got = getattr(scenario, key)
            if ok:
                assert got == value and key not in named, (key, items, got, notices)
            else:
                assert got == getattr(defaults, key), (key, items, got)
                assert key in named or capped, f"bad {key}={items!r} not named in {notices}"
        elif key == "accelerators":
            ids = set(FIELDS_BY_KEY[key].choices(CATALOG))
            good = list(dict.fromkeys(v for v in items if v in ids))
            bad = [v for v in items if v not in ids and v != ""]
            if len(items) > MAX_LIST_ITEMS or not good or any(len(v) > MAX_VALUE_CHARS for v in items):
                assert scenario.accelerators == defaults.accelerators
                assert key in named or capped, f"bad chips {items!r} not named"
            else:
                assert scenario.accelerators == tuple(good), (items, scenario.accelerators)
                assert (key in named or capped) == bool(bad), (items, notices)
    for field in FIELDS:  # every value in the scenario is one a widget accepts
        value = getattr(scenario, field.key)
        if field.kind in ("float", "int") and value is not None:
            assert math.isfinite(value) and field.low <= value <= field.high, (field.key, value)
        elif field.kind == "choice" and value is not None:
            assert value in field.choices(CATALOG), (field.key, value)
        elif field.kind == "choices":
            assert value and set(value) <= set(field.choices(CATALOG)) and len(set(value)) == len(value)
    # a share link built from the result reads back to the same scenario with nothing to complain about
    again, again_notices = params.parse_query(params.to_query(scenario, CATALOG), CATALOG)
    assert again == scenario and not again_notices, again_notices


_texts = st.one_of(st.sampled_from(NUMBERISH + HOSTILE_TEXT), st.text(max_size=40),
                   st.floats(allow_nan=True, allow_infinity=True).map(repr),
                   st.integers(min_value=-(10**30), max_value=10**30).map(str),
                   st.text(alphabet="0123456789.eE+-_ ", max_size=12))
_values = st.one_of(_texts, st.lists(_texts, max_size=4))
_keys = st.one_of(st.sampled_from(sorted(params.known_params()) + ["embed"]), st.sampled_from(UNKNOWN_KEYS),
                  st.text(max_size=20))
_chips = st.lists(st.one_of(st.sampled_from(list(CATALOG.accelerators)), _texts), max_size=MAX_LIST_ITEMS + 3)


@settings(max_examples=PARSE_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=st.dictionaries(_keys, _values, max_size=8), chips=st.one_of(st.none(), _chips),
       custom=st.one_of(st.none(), st.sampled_from(BAD_CODES + [GOOD_CODE]), st.text(max_size=30)))
def test_parse_query_names_every_bad_value_and_keeps_defaults(query, chips, custom, hostile_report):
    """Random and adversarial queries never raise; bad values are named, good ones kept, the rest default."""
    if chips is not None:
        query["accelerators"] = chips
    if custom is not None:
        query[CUSTOM_PARAM] = custom
    _check_parse(query)
    hostile_report("url-parse", cases=1)


def test_parse_query_on_seeded_hostile_queries(hostile_report):
    """The same hostile generator the AppTest cases use, 1,000 queries through the pure parser."""
    rnd = random.Random(20250501)
    for _ in range(1000):
        _check_parse(random_query(rnd, most_keys=10))
    hostile_report("url-parse", cases=1000)


def test_many_bad_parameters_are_capped_with_a_count():
    """A link with 100 bad parameters gives at most MAX_NOTICES notices plus one saying how many more."""
    scenario, notices = params.parse_query({f"k{i}": "x" for i in range(100)}, CATALOG)
    assert scenario == params.default_scenario(CATALOG)
    assert len(notices) == params.MAX_NOTICES + 1 and "80 more" in str(notices[-1])


_mutations = st.tuples(st.integers(0, 10_000), st.sampled_from(["cut", "flip", "insert", "delete", "swap"]),
                       st.characters())


def _mutate(code: str, where: int, how: str, char: str) -> str:
    i = where % max(len(code), 1)
    if how == "cut":
        return code[:i]
    if how == "flip":
        return code[:i] + char + code[i + 1:]
    if how == "insert":
        return code[:i] + char + code[i:]
    if how == "delete":
        return code[:i] + code[i + 1:]
    return code[i:] + code[:i]


@settings(max_examples=CODEC_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from([GOOD_CODE, *BAD_CODES[:8]]), mutations=st.lists(_mutations, min_size=1, max_size=3))
def test_tampered_custom_blobs_are_refused_cleanly(base, mutations, hostile_report):
    """Any cut, flipped or shuffled custom blob decodes to a catalog layer or fails with CodecError/CatalogError."""
    code = base
    for where, how, char in mutations:
        code = _mutate(code, where, how, char)
    try:
        layer = codec.decode(code)
    except codec.CodecError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
    else:
        assert isinstance(layer, dict)
        try:
            from ui import state

            state.catalog_with_layer(layer)
        except CatalogError as exc:
            assert exc.problems
    hostile_report("url-custom", cases=1)


@pytest.mark.parametrize("code", BAD_CODES, ids=[f"bad{i}" for i in range(len(BAD_CODES))])
def test_each_bad_custom_blob_is_refused_with_a_reason(code):
    """Every hand-made bad blob (truncated, tampered, other version, bomb, non-object, invalid catalog) is refused."""
    from ui import state

    with pytest.raises((codec.CodecError, CatalogError)) as info:
        state.catalog_with_layer(codec.decode(code))
    assert str(info.value).strip()


# --- Part 2: the same links on every page ------------------------------------------------------------------------

PAGES = ["ui/pages/claim.py", "ui/pages/size.py", "ui/pages/frontier.py", "ui/pages/sensitivity.py",
         "ui/pages/catalog.py", "ui/pages/method.py"]
_UNESCAPE = re.compile(r"\\(.)")


def _expected_notices(query: dict[str, str | list[str]]) -> tuple[dict[str, str], object]:
    """{param: notice line} the app should show for ``query`` (custom blob first, then parse_query's notices, as
    the page prints them: whitespace collapsed) and the scenario the widgets should show."""
    lines: dict[str, str] = {}
    catalog = CATALOG
    custom = query.get(CUSTOM_PARAM)
    if isinstance(custom, str) and custom and len(custom) <= params.MAX_CUSTOM_CHARS:
        try:
            from ui import state

            catalog = state.catalog_with_layer(codec.decode(custom))
        except (codec.CodecError, CatalogError):
            lines[CUSTOM_PARAM] = f"{CUSTOM_PARAM}: "
    scenario, notices = params.parse_query(query, catalog)
    for n in notices:
        lines.setdefault(n.param, " ".join(str(n).split()))
    return lines, scenario


def _as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _widget_value(at: AppTest, field):
    if field.kind == "per_chip":  # no widget of its own: the (cleaned) URL is what the sidebar's table reads
        items = _as_list(at.query_params[field.key]) if field.key in at.query_params else []
        return getattr(params.parse_query({field.key: items}, CATALOG)[0], field.key) if items else ()
    if field.kind == "choice":
        return at.selectbox(key=field.key).value
    if field.kind == "choices":
        return tuple(at.multiselect(key=field.key).value)
    return at.number_input(key=field.key).value


def _one_case(page: str, query: dict[str, str | list[str]]) -> list[str]:
    """Problems seen when ``page`` opens with ``query`` (empty list = as documented)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    problems = [f"exception: {e.value}"[:300] for e in at.exception]
    if problems:
        return problems
    expected, scenario = _expected_notices(query)
    boxes = [_UNESCAPE.sub(r"\1", str(w.value)) for w in at.warning if NOTICE_HEAD in str(w.value)]
    if expected:
        if len(boxes) != 1:
            return [f"expected one notice naming {list(expected)}, got {len(boxes)} notice boxes"]
        unnamed = [p for p, line in expected.items() if f"- {line}" not in boxes[0]]
        if unnamed:
            problems.append(f"notice does not name {unnamed}: {boxes[0][:400]!r}")
    elif boxes:
        problems.append(f"unexpected notice: {boxes[0][:300]!r}")
    for field in FIELDS:
        shown = _widget_value(at, field)
        want = getattr(scenario, field.key)
        if field.kind == "float" and shown is not None and want is not None:
            same = math.isclose(shown, want, rel_tol=1e-9)
        else:
            same = shown == want
        if not same:
            problems.append(f"widget {field.key} shows {shown!r}, expected {want!r}")
    # Ignored scalar parameters leave the URL (``v`` may come back as the current version, ``accelerators`` as its
    # good ids, both rewritten by the app).
    left = [k for k in expected if k in at.query_params and k in params.known_params()
            and not (k == VERSION_PARAM and at.query_params[k] == str(params.SCENARIO_VERSION))
            and not (k == "accelerators"
                     and set(_as_list(at.query_params[k])) <= set(CATALOG.accelerators) | {"link-chip"})
            and not (k in FIELDS_BY_KEY and FIELDS_BY_KEY[k].kind == "per_chip"
                     and _as_list(at.query_params[k]) == params.per_chip_items(FIELDS_BY_KEY[k],
                                                                               getattr(scenario, k)))]
    if left:
        problems.append(f"ignored parameters still in the URL: {left}")
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_every_page_survives_hostile_links(page, hostile_report):
    """Hostile links on each page: no exception, every ignored parameter named once, widgets = good values."""
    rnd = random.Random(f"hostile-urls-{page}")
    failures = []
    for i in range(APPTEST_CASES_PER_PAGE):
        query = random_query(rnd)
        problems = _one_case(page, query)
        if problems:
            failures.append(f"case {i} {query!r:.300}: {problems}")
    hostile_report("url-apptest", cases=APPTEST_CASES_PER_PAGE, failures=len(failures))
    assert not failures, f"{len(failures)} of {APPTEST_CASES_PER_PAGE} links misbehave on {page}:\n" + \
        "\n".join(failures[:8])


def test_damaged_blob_does_not_hide_other_notices():
    """A damaged custom blob next to other bad parameters: the notice names all of them, and the blob leaves the URL.

    Bug pinned: ui/scenario._load_layer pops a refused ``custom`` from the parameters it passes to _clean_url, so
    the blob was never removed from the URL; the reseed rerun then parsed the URL again, found only the blob, and
    replaced the stored notice, so 'pue=nan' (and every other bad value) went unnamed.
    """
    query = {"pue": "nan", "foo": "1", CUSTOM_PARAM: GOOD_CODE[:-5]}
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    boxes = [_UNESCAPE.sub(r"\1", str(w.value)) for w in at.warning if NOTICE_HEAD in str(w.value)]
    assert len(boxes) == 1
    assert all(f"- {k}" in boxes[0] for k in query), boxes[0]
    assert not any(k in at.query_params for k in query), dict(at.query_params)


@pytest.mark.parametrize(("page", "key"), [("ui/pages/frontier.py", "frontier_metric"),
                                           ("ui/pages/sensitivity.py", "sensitivity_metric")])
def test_bad_page_parameter_is_named_in_a_notice(page, key):
    """A page's own link parameter with a bad value is named in the notice like every other bad value."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params[key] = "bogus<script>"
    at.switch_page(page)
    at.run()
    assert not at.exception and key not in at.query_params  # this part holds today
    assert any(key in _UNESCAPE.sub(r"\1", str(w.value)) for w in at.warning)


def test_escape_markdown_keeps_notice_names_readable():
    """Notice lines are markdown-escaped for display; unescaping gives back the exact Notice text (helper check)."""
    text = "per_user_tokens_per_s=<b>: not a number"
    assert _UNESCAPE.sub(r"\1", escape_markdown(text)) == text
