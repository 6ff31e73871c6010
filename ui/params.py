"""The scenario as URL query parameters: field specs, parsing with validation, and the share link (no Streamlit).

A scenario is what a link must carry to reproduce the same numbers: the model, the targets, the chips and the
datacenter assumptions. Each field is one query parameter named like the CLI flag (``per_user_tokens_per_s`` for
``--per-user-tokens-per-s``). Defaults are not written to the URL; ``v`` is the scenario format version.

:func:`parse_query` turns untrusted query parameters into a :class:`Scenario` and a list of :class:`Notice` (one per
ignored parameter, saying why). It never raises: a bad parameter is dropped and its field keeps the default.
An optional field whose default is ``None`` means "use the catalog's value" (for example PUE from ``serving``),
so a link stays relative to the catalog rather than freezing a number in the URL.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

from calculators.precision import BEST
from calculators.records import Catalog
from calculators.shapes import ASSUMED, SHIPPED, TOPOLOGIES
from ui.analysis import FRONTIER_METRICS, SENSITIVITY_METRICS

SCENARIO_VERSION = 1
VERSION_PARAM = "v"
CUSTOM_PARAM = "custom"
# Streamlit's own parameters: never ours to validate or drop.
STREAMLIT_PARAMS = frozenset({"embed", "embed_options"})
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 200
MAX_LIST_ITEMS = 40
MAX_CUSTOM_CHARS = 24_000
MAX_NOTICES = 20

Kind = Literal["choice", "choices", "float", "int", "per_chip"]


@dataclass(frozen=True)
class Field:
    """One scenario input: its URL key (= widget key = CLI flag name), type, default, bounds and help text.

    ``options`` names the catalog section whose ids are the valid values (choice fields). ``default`` may be a
    callable of the catalog (so a default chip exists in the catalog at hand). ``low``/``high`` are inclusive
    bounds, shared by the URL parser and the widget so both accept exactly the same values.
    """

    key: str
    label: str
    kind: Kind
    help: str
    """A ``per_chip`` field is a repeated parameter of ``chip:value`` items (``chip_engine=b200:trtllm``); its
    ``value_kind`` says how the value is read (``float`` within low/high, or ``choice`` of ``options`` ids)."""
    default: Any = None
    options: str | None = None
    low: float | None = None
    high: float | None = None
    optional: bool = False
    unit: str = ""
    step: float | None = None
    group: str = "Workload"
    extra_choices: tuple[str, ...] = ()
    value_kind: Literal["choice", "float"] = "float"

    def default_for(self, catalog: Catalog) -> Any:
        """The default value of this field for ``catalog``."""
        value = self.default(catalog) if callable(self.default) else self.default
        return tuple(value) if isinstance(value, list) else value

    def choices(self, catalog: Catalog) -> list[str]:
        """The valid ids for a choice field: its extra choices (such as ``best``) then catalog ids in order."""
        return [*self.extra_choices, *(getattr(catalog, self.options or "", {}) or {})]


def _first_present(*ids: str) -> Callable[[Catalog], str | None]:
    def pick(catalog: Catalog) -> str | None:
        return next((i for i in ids if i in catalog.accelerators), next(iter(catalog.accelerators), None))

    return pick


def _default_chips(catalog: Catalog) -> tuple[str, ...]:
    wanted = ("h200-sxm", "b200", "gb200", "mi355x", "tpu7x", "sn40l", "groq-lpu", "cerebras-wse3")
    present = tuple(i for i in wanted if i in catalog.accelerators)
    return present or tuple(list(catalog.accelerators)[:4])


def _default_model(catalog: Catalog) -> str | None:
    return "deepseek-r1" if "deepseek-r1" in catalog.models else next(iter(catalog.models), None)


def _default_precision(catalog: Catalog) -> str | None:
    """``best``: each chip at the precision that meets the targets with the fewest racks (calculators.precision)."""
    return BEST


FIELDS: tuple[Field, ...] = (
    Field("model", "Model", "choice", "The language model to serve (architecture from the catalog).",
          default=_default_model, options="models"),
    Field("precision", "Precision", "choice",
          "Number format of the weights and math. 'best': each chip at the format it computes in and the model is "
          "served in that needs the fewest racks (then the lowest cost); a fixed format applies to every chip.",
          default=_default_precision, options="precisions", extra_choices=(BEST,)),
    Field("per_user_tokens_per_s", "Per-user speed (tok/s)", "float",
          "Decode speed each user must see, in output tokens per second per user (198 is SambaNova's claim).",
          default=198.0, low=0.1, high=100_000.0, unit="tok/s/user", step=1.0),
    Field("total_output_tokens_per_s", "Total output (tok/s)", "float",
          "Output tokens per second the whole deployment must produce, summed over all users.",
          default=20_000.0, low=1.0, high=1e9, unit="tok/s", step=1000.0),
    Field("input_tokens", "Input tokens per request", "int",
          "Prompt length of a typical request (prefill work).", default=1000, low=1, high=10_000_000, step=100),
    Field("output_tokens", "Output tokens per request", "int",
          "Generated length of a typical request (decode work).", default=2000, low=1, high=10_000_000, step=100),
    Field("context_tokens", "Mean context while decoding", "int",
          "Tokens in the KV cache of each sequence on average while it decodes (sets KV memory and reads).",
          default=2000, low=1, high=10_000_000, step=100),
    Field("max_time_to_first_token_s", "Max time to first token (s)", "float",
          "The longest a user may wait for the first output token. Sizing grows each prefill instance until one "
          "prompt is prefilled within it; a chip that cannot is infeasible. Empty: no target.",
          low=0.001, high=3600.0, optional=True, unit="s", step=0.1),
    Field("accelerators", "Chips to compare", "choices", "Accelerators compared on the sizing and frontier pages.",
          default=_default_chips, options="accelerators", group="Chips"),
    Field("accelerator", "Focus chip", "choice",
          "The one chip the sensitivity chart and single-chip views are about.",
          default=_first_present("b200"), options="accelerators", group="Chips"),
    Field("gpu", "GPU side of the claim", "choice",
          "The GPU deployment compared with one SambaRack of 16 SN40L on the claim page.",
          default=_first_present("h200-sxm", "h800-sxm", "h100-sxm"), options="accelerators", group="Chips"),
    Field("engine", "Serving engine", "choice",
          "Serving software class (sets the fixed latency per layer). Empty: each chip's default engine.",
          options="engines", optional=True, group="Datacenter"),
    Field("pue", "PUE", "float",
          "Power usage effectiveness: facility power / IT power. Empty: the catalog's default.",
          low=1.0, high=3.0, optional=True, step=0.05, group="Datacenter"),
    Field("electricity_usd_per_kwh", "Electricity ($/kWh)", "float",
          "Price of electricity. Empty: the catalog's default.",
          low=0.001, high=10.0, optional=True, unit="$/kWh", step=0.01, group="Datacenter"),
    Field("rack_power_budget_kw", "Rack power budget (kW)", "float",
          "Power a rack may draw in your hall; limits nodes per rack. Empty: each system's own rack power class.",
          low=1.0, high=2000.0, optional=True, unit="kW", step=5.0, group="Datacenter"),
    Field("chip_engine", "Engine", "per_chip", "The serving engine of this chip (overrides the sidebar's engine).",
          default=(), options="engines", group="Per chip", value_kind="choice"),
    Field("chip_usd_per_hour", "$ per chip-hour", "per_chip",
          "Your rental rate per chip-hour (replaces the catalog's for the rented cost).",
          default=(), low=0.01, high=1000.0, unit="$/chip-hour", group="Per chip"),
    Field("chip_capex_usd", "Capex per chip ($)", "per_chip",
          "Your all-in purchase price per chip, its share of the system included (replaces the catalog's price "
          "for the owned cost).", default=(), low=1.0, high=1e8, unit="$/chip", group="Per chip"),
    Field("chip_lifetime_years", "Lifetime (years)", "per_chip",
          "Years over which this chip's purchase price is amortised (replaces the catalog's default).",
          default=(), low=0.25, high=30.0, unit="years", group="Per chip"),
)
PER_CHIP_ASSUMPTIONS = {"chip_usd_per_hour": "rental_usd_per_chip_hour", "chip_capex_usd": "price_usd_per_chip",
                        "chip_lifetime_years": "lifetime_years"}
"""Each per-chip price field and the assumption (``calculators.assumptions.Assumptions``) it overrides."""
FIELDS_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
@dataclass(frozen=True)
class PageParam:
    """A parameter bound to a widget inside one page (not part of the shared scenario) and the values it may take.

    ``options`` is a fixed tuple or a function of the catalog (chip ids, claim vendors); ``multi`` marks a
    multi-select, whose parameter repeats once per value.
    """

    description: str
    options: tuple[str, ...] | Callable[[Catalog], Sequence[str]]
    multi: bool = False
    labels: Mapping[str, str] | None = None

    def choices(self, catalog: Catalog | None = None) -> tuple[str, ...]:
        """The values this parameter may take for ``catalog``: its ids and, for a widget with a ``format_func``,
        their labels (Streamlit writes the label to the URL; older links and the CLI use the id)."""
        return (*self.ids(catalog), *(self.labels or {}).values())

    def ids(self, catalog: Catalog | None = None) -> tuple[str, ...]:
        """The option ids (no labels); a catalog-dependent parameter has none without a catalog."""
        if callable(self.options):
            return tuple(self.options(catalog)) if catalog is not None else ()
        return self.options

    def to_id(self, value: str) -> str:
        """The option id of a URL value (a label or an id)."""
        by_label = {label: key for key, label in (self.labels or {}).items()}
        return by_label.get(value, value)

    def to_url(self, value: str) -> str:
        """The URL form of an option (its label when the widget shows labels, as Streamlit writes it)."""
        return (self.labels or {}).get(value, value)


ALL_CHIPS = "(all chips)"
TOPOLOGY_LABELS = {SHIPPED: "As vendors ship them", ASSUMED: "Larger, assumed"}
PROVENANCE_KINDS = ("vendor-spec", "measured", "third-party", "estimate", "assumption")


def _chip_ids(catalog: Catalog) -> tuple[str, ...]:
    return tuple(catalog.accelerators)


def _claim_vendors(catalog: Catalog) -> tuple[str, ...]:
    return tuple(sorted({c.vendor for c in (catalog.claims or {}).values()}))


# Page-local parameters: checked against their options here, so a bad value is named in the notice like any other.
# Streamlit drops a page's bound parameters when the user leaves the page; ``ui.scenario`` puts them back, so every
# input of every page stays in the URL and the share link. Register a page's keys here.
PAGE_PARAMS: dict[str, PageParam] = {
    "frontier_metric": PageParam("frontier page: throughput per chip, per rack or per MW",
                                 tuple(FRONTIER_METRICS), labels=FRONTIER_METRICS),
    "sensitivity_metric": PageParam("sensitivity page: the headline answer the tornado moves",
                                    tuple(SENSITIVITY_METRICS), labels=SENSITIVITY_METRICS),
    "size_topology": PageParam("sizing page: replica shapes as vendors ship them or a larger assumed topology",
                               TOPOLOGIES, labels=TOPOLOGY_LABELS),
    "claims_vendors": PageParam("claims page: the vendors whose claims are listed", _claim_vendors, multi=True),
    "provenance_chip": PageParam("catalog page: the chip whose numbers the provenance tab lists",
                                 lambda c: (ALL_CHIPS, *_chip_ids(c))),
    "provenance_kinds": PageParam("catalog page: the kinds of number the provenance tab lists", PROVENANCE_KINDS,
                                  multi=True),
    "edit_start": PageParam("catalog page: the chip the editor starts from", _chip_ids),
}


def page_param_problems(key: str, items: Sequence[str], catalog: Catalog) -> list[str]:
    """Why the values of page parameter ``key`` cannot be used (empty when they can)."""
    spec = PAGE_PARAMS[key]
    options = spec.choices(catalog)
    ids = spec.ids(catalog)
    if not spec.multi and len(items) > 1:
        return [f"given {len(items)} times; give it once"]
    if len(items) > MAX_LIST_ITEMS:
        return [f"lists at most {MAX_LIST_ITEMS} values (got {len(items)})"]
    bad = [v for v in items if v not in options]
    if bad:
        shown = ", ".join(ids) if len(ids) <= 8 else ", ".join(ids[:8]) + ", …"
        return [f"not one of {shown}; using the default"]
    return []


def page_values(raw: Mapping[str, str | Sequence[str]], catalog: Catalog) -> dict[str, str | list[str]]:
    """The page-local parameters of ``raw`` that pass :func:`page_param_problems`, as a share link writes them."""
    out: dict[str, str | list[str]] = {}
    for key, spec in PAGE_PARAMS.items():
        if key not in raw:
            continue
        value = raw[key]
        items = [value] if isinstance(value, str) else [str(v) for v in value]
        if items and items != [""] and not page_param_problems(key, items, catalog):
            urls = [spec.to_url(spec.to_id(v)) for v in items]
            out[key] = urls if spec.multi else urls[0]
    return out


def page_ids(raw: Mapping[str, str | Sequence[str]], catalog: Catalog) -> dict[str, str | list[str]]:
    """Like :func:`page_values` but each value as its option id (what the calculators take)."""
    out: dict[str, str | list[str]] = {}
    for key, value in page_values(raw, catalog).items():
        spec = PAGE_PARAMS[key]
        out[key] = [spec.to_id(v) for v in value] if isinstance(value, list) else spec.to_id(value)
    return out


def known_params() -> frozenset[str]:
    """Every parameter a link may carry: scenario fields, page-local widgets, ``v`` and ``custom``."""
    return frozenset(FIELDS_BY_KEY) | frozenset(PAGE_PARAMS) | {VERSION_PARAM, CUSTOM_PARAM}


KNOWN_PARAMS = known_params()


@dataclass(frozen=True)
class Scenario:
    """Every scenario input after validation (see :data:`FIELDS`); ``custom`` is the encoded user-chip layer."""

    model: str | None
    precision: str | None
    per_user_tokens_per_s: float
    total_output_tokens_per_s: float
    input_tokens: int
    output_tokens: int
    context_tokens: int
    accelerators: tuple[str, ...]
    accelerator: str | None
    gpu: str | None
    engine: str | None = None
    pue: float | None = None
    electricity_usd_per_kwh: float | None = None
    rack_power_budget_kw: float | None = None
    custom: str | None = None
    max_time_to_first_token_s: float | None = None
    chip_engine: tuple[tuple[str, str], ...] = ()
    chip_usd_per_hour: tuple[tuple[str, float], ...] = ()
    chip_capex_usd: tuple[tuple[str, float], ...] = ()
    chip_lifetime_years: tuple[tuple[str, float], ...] = ()

    def overrides(self) -> dict[str, float]:
        """Assumption overrides the user set (for ``resolve_assumptions(..., **overrides)``); unset ones omitted."""
        names = ("pue", "electricity_usd_per_kwh", "rack_power_budget_kw")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def chip_overrides(self, chip: str) -> dict[str, float]:
        """The assumption overrides the user set for one chip (its prices and lifetime); unset ones omitted."""
        return {name: dict(getattr(self, key))[chip] for key, name in PER_CHIP_ASSUMPTIONS.items()
                if chip in dict(getattr(self, key))}

    def engine_for(self, chip: str) -> str | None:
        """The engine the user chose for ``chip``, else the sidebar's engine (None: the chip's default)."""
        return dict(self.chip_engine).get(chip, self.engine)

    def as_dict(self) -> dict[str, Any]:
        """Every field by its key (lists for multi-choice, ``chip:value`` items for per-chip fields), for CSV
        headers and display."""
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}
        for field in FIELDS:
            if field.kind == "per_chip":
                out[field.key] = per_chip_items(field, getattr(self, field.key))
        return out


@dataclass(frozen=True)
class Notice:
    """One ignored query parameter and why."""

    param: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.param}={self.value}: {self.reason}" if self.value else f"{self.param}: {self.reason}"


def default_scenario(catalog: Catalog) -> Scenario:
    """The scenario a link without parameters opens."""
    return Scenario(**{f.key: f.default_for(catalog) for f in FIELDS})


def _shown(value: str, limit: int = 40) -> str:
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)[1:-1]


def _number(raw: str, field: Field) -> float | int:
    """Parse one number for ``field``; raises ValueError with a reason a person can read."""
    text = raw.strip()
    if field.kind == "int":
        try:
            value: float | int = int(text, 10)
        except ValueError:
            raise ValueError("not a whole number") from None
    else:
        try:
            value = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(value):
            raise ValueError("not a finite number")
    low, high = field.low, field.high
    if low is not None and value < low:
        raise ValueError(f"must be at least {low:g}")
    if high is not None and value > high:
        raise ValueError(f"must be at most {high:g}")
    return value


def _parse_per_chip(field: Field, values: list[str], catalog: Catalog) -> tuple[Any, list[str]]:
    """(``((chip, value), ...)``, problems) for a per-chip field: each item ``chip:value``; bad items are dropped
    with a problem each, a chip given twice keeps its first value."""
    if len(values) > MAX_LIST_ITEMS:
        return ..., [f"lists at most {MAX_LIST_ITEMS} values (got {len(values)})"]
    kept: dict[str, Any] = {}
    problems: list[str] = []
    for item in values:
        if item == "":
            continue
        chip, colon, raw = item.partition(":")
        if not colon:
            problems.append(f"{_shown(item)} is not chip:value")
        elif chip not in catalog.accelerators:
            problems.append(f"unknown accelerator id {_shown(chip)}")
        elif chip in kept:
            problems.append(f"{_shown(chip)} given more than once; the first is kept")
        elif field.value_kind == "choice":
            if raw in field.choices(catalog):
                kept[chip] = raw
            else:
                problems.append(f"{_shown(chip)}: unknown {(field.options or 'value').rstrip('s')} id {_shown(raw)}")
        else:
            try:
                kept[chip] = float(_number(raw, field))
            except ValueError as exc:
                problems.append(f"{_shown(chip)}: {exc}")
    if not kept:
        return ..., problems
    return tuple(kept.items()), problems


def per_chip_items(field: Field, value: Sequence[tuple[str, Any]]) -> list[str]:
    """A per-chip field's value as its URL items (``chip:value``), the inverse of parsing it."""
    as_float = dataclasses.replace(field, kind="float")
    return [f"{chip}:{_url_value(as_float, v) if field.value_kind == 'float' else v}" for chip, v in value]


def _parse_field(field: Field, values: list[str], catalog: Catalog) -> tuple[Any, list[str]]:
    """(value, problems) for one present field; value is ``...`` when the whole parameter is rejected."""
    if field.kind == "per_chip":
        return _parse_per_chip(field, values, catalog)
    if field.kind == "choices":
        if len(values) > MAX_LIST_ITEMS:
            return ..., [f"lists at most {MAX_LIST_ITEMS} values (got {len(values)})"]
        known = set(field.choices(catalog))
        kept: list[str] = []
        problems = []
        for v in values:
            if v in known:
                if v not in kept:
                    kept.append(v)
            elif v != "":
                problems.append(f"unknown id {_shown(v)!s}")
        if not kept:
            return ..., problems or ["no ids given"]
        return tuple(kept), problems
    if len(values) > 1:
        return ..., [f"given {len(values)} times; give it once"]
    raw = values[0]
    if raw == "":
        if field.optional:
            return None, []
        return ..., ["empty"]
    if field.kind == "choice":
        known = field.choices(catalog)
        if raw not in known:
            return ..., [f"unknown {field.options.rstrip('s') if field.options else 'value'} id"]
        return raw, []
    try:
        return _number(raw, field), []
    except ValueError as exc:
        return ..., [str(exc)]


def parse_query(params: Mapping[str, str | Sequence[str]], catalog: Catalog) -> tuple[Scenario, list[Notice]]:
    """Validate untrusted query parameters into a Scenario; every ignored parameter gets a Notice. Never raises."""
    defaults = default_scenario(catalog)
    values: dict[str, Any] = {}
    notices: list[Notice] = []
    for key, raw in params.items():
        key = str(key)
        items = [raw] if isinstance(raw, str) else [str(x) for x in raw] or [""]
        shown_key = _shown(key, MAX_KEY_CHARS)
        shown_value = _shown(items[0]) if len(items) == 1 else ""
        if key in STREAMLIT_PARAMS:
            continue
        if key not in known_params():
            notices.append(Notice(shown_key, shown_value, "unknown parameter"))
            continue
        limit = MAX_CUSTOM_CHARS if key == CUSTOM_PARAM else MAX_VALUE_CHARS
        too_long = [v for v in items if len(v) > limit]
        if too_long:
            notices.append(Notice(key, "", f"value is {len(too_long[0]):,} characters; the limit is {limit:,}"))
            continue
        if key == VERSION_PARAM:
            if items != [str(SCENARIO_VERSION)]:
                notices.append(Notice(key, shown_value, f"unknown scenario version; this app reads version "
                                      f"{SCENARIO_VERSION}, the other parameters were read as that version"))
            continue
        if key in PAGE_PARAMS and key not in FIELDS_BY_KEY:
            for problem in page_param_problems(key, items, catalog):
                notices.append(Notice(key, shown_value if len(items) == 1 else "", problem))
            continue
        if key == CUSTOM_PARAM:
            if len(items) > 1:
                notices.append(Notice(key, "", f"given {len(items)} times; give it once"))
            elif items[0]:
                values[key] = items[0]
            continue
        field = FIELDS_BY_KEY[key]
        try:
            value, problems = _parse_field(field, items, catalog)
        except Exception:  # noqa: BLE001 - a parser bug must not turn a bad link into a crash
            value, problems = ..., ["could not be read"]
        for problem in problems:
            notices.append(Notice(key, shown_value, problem + ("" if value is not ... else "; using the default")))
        if value is not ...:
            values[key] = value
    if len(notices) > MAX_NOTICES:
        extra = len(notices) - MAX_NOTICES
        notices = [*notices[:MAX_NOTICES], Notice("…", "", f"and {extra} more ignored parameter(s)")]
    return dataclasses.replace(defaults, **values), notices


def _url_value(field: Field, value: Any) -> str | list[str]:
    if field.kind == "choices":
        return list(value)
    if field.kind == "per_chip":
        return per_chip_items(field, value)
    if field.kind == "float":
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))
    return str(value)


def to_query(scenario: Scenario, catalog: Catalog) -> dict[str, str | list[str]]:
    """The non-default parameters of ``scenario`` plus the version: what a share link needs."""
    defaults = default_scenario(catalog)
    out: dict[str, str | list[str]] = {VERSION_PARAM: str(SCENARIO_VERSION)}
    for field in FIELDS:
        value = getattr(scenario, field.key)
        if value != getattr(defaults, field.key) and value is not None:
            out[field.key] = _url_value(field, value)
    if scenario.custom:
        out[CUSTOM_PARAM] = scenario.custom
    return out


def share_url(base_url: str, params: Mapping[str, str | Sequence[str]]) -> str:
    """``base_url`` (any query dropped) with ``params`` as its query string."""
    parts = urlsplit(base_url)
    query = urlencode({k: (v if isinstance(v, str) else list(v)) for k, v in params.items()}, doseq=True)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
