"""The shared scenario: sidebar widgets bound to the URL, validated before any widget exists, and the share link.

``app.py`` calls :func:`sidebar` once per run, before ``st.navigation(...).run()``; pages call :func:`current` to
get the :class:`Context` (the validated scenario, the catalog with the user's chips, and the share link). The
widgets live in the entry point so the scenario survives page switches (a widget bound to the URL from inside a
page would drop its parameter when the user leaves that page).

Streamlit keeps only the parameters bound to widgets of the entry point when the user switches pages; the rest
(``custom``, ``v`` and each page's own widgets, see :data:`ui.params.PAGE_PARAMS`) would vanish from the URL and the
share link. :func:`sidebar` puts them back from the session (:func:`remember` records them at the end of each run),
so everything the user set travels with the link, whichever page is open.

On a session's first run every incoming parameter is checked by :func:`ui.params.parse_query` (pure, tested).
Bad ones are removed from the URL and the run restarts, so Streamlit seeds the widgets only from values that
passed; one warning names each ignored parameter and why. It stays up until the user changes the scenario.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Any

import streamlit as st

from calculators.errors import CatalogError
from calculators.records import Catalog
from ui import codec, params, state
from ui.format import escape_markdown
from ui.params import CUSTOM_PARAM, FIELDS, VERSION_PARAM, Field, Notice, Scenario

_CONTEXT = "_rackscale_context"
_SEEDED = "_rackscale_seeded"
_NOTICES = "_rackscale_notices"
_PER_CHIP = "_rackscale_per_chip"
_STICKY = "_rackscale_sticky"
_JOIN = "_rackscale_join_chips"
STICKY_PARAMS = (CUSTOM_PARAM, VERSION_PARAM, *params.PAGE_PARAMS)
_FALLBACK_URL = "http://localhost:8501/"
_FORMATS = {"per_user_tokens_per_s": "%.1f", "total_output_tokens_per_s": "%.0f", "pue": "%.2f",
            "electricity_usd_per_kwh": "%.3f", "rack_power_budget_kw": "%.1f", "max_time_to_first_token_s": "%.3f"}
PER_CHIP_FIELDS = tuple(f for f in FIELDS if f.kind == "per_chip")
_GROUPS = (("Workload", True), ("Chips", True), ("Datacenter", False))


@dataclass(frozen=True)
class Context:
    """What a page needs: the validated scenario, the catalog it refers to and the link that reproduces it."""

    scenario: Scenario
    catalog: Catalog
    layer: dict[str, Any] | None
    notices: tuple[Notice, ...]
    query: dict[str, str | list[str]]
    share_url: str

    def csv_scenario(self) -> dict[str, Any]:
        """The scenario as CSV header entries (the custom layer summarised, not dumped)."""
        values = self.scenario.as_dict()
        values.pop("custom", None)
        if self.layer:
            values["custom_accelerators"] = [e.get("id") for e in self.layer.get("accelerators", [])
                                             if isinstance(e, dict)]
            values["share_url"] = self.share_url
        return values


def _raw_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _restore_sticky() -> None:
    """Put back the parameters Streamlit dropped on a page switch (``custom``, ``v``, other pages' widgets), and
    write a page option given by its id (an older link, the CLI) as the label its widget reads from the URL."""
    for key, spec in params.PAGE_PARAMS.items():
        value = st.query_params.get_all(key) if spec.labels else []
        if len(value) == 1 and spec.to_url(value[0]) != value[0]:
            # already bound to its widget (which has read the value): leave it
            with contextlib.suppress(Exception):
                st.query_params[key] = spec.to_url(value[0])
    stored: dict[str, list[str]] = st.session_state.get(_STICKY) or {}
    for key, values in stored.items():
        if key in st.query_params:
            continue
        try:
            st.query_params[key] = values if len(values) > 1 else values[0]
        except Exception:  # noqa: BLE001 - bound to a widget on this page (at its default): the widget decides
            continue


def remember() -> None:
    """Record this run's non-widget and page-local parameters so :func:`sidebar` can restore them after a page
    switch (``app.py`` calls it after the page ran: a page widget set back to its default has left the URL)."""
    stored = {key: st.query_params.get_all(key) for key in STICKY_PARAMS if key in st.query_params}
    st.session_state[_STICKY] = {k: v for k, v in stored.items() if v and v != [""]}


def _join_added_chips(parsed: Scenario, catalog: Catalog) -> None:
    """Chips the user just added (see :func:`set_custom_layer`) join "Chips to compare", and chips just removed
    leave it, before its widget exists."""
    pending = st.session_state.pop(_JOIN, None)
    if pending is None:
        return
    field = params.FIELDS_BY_KEY["accelerators"]
    current = st.session_state.get(field.key) or list(parsed.accelerators)
    chosen = [c for c in dict.fromkeys([*current, *pending]) if c in catalog.accelerators][: params.MAX_LIST_ITEMS]
    st.session_state[field.key] = chosen or list(field.default_for(catalog))


def _drop_removed_chips(raw: dict[str, list[str]], catalog: Catalog) -> None:
    """A chip the user just removed leaves the compared chips quietly (no 'unknown id' notice for it)."""
    if _JOIN in st.session_state and "accelerators" in raw:
        raw["accelerators"] = [c for c in raw["accelerators"] if c in catalog.accelerators] or raw["accelerators"]


def _load_layer(raw: dict[str, list[str]], notices: list[Notice]) -> tuple[dict[str, Any] | None, Catalog]:
    """Decode the ``custom`` parameter and layer it over the shipped catalog; a bad layer becomes a notice."""
    base = state.shipped_catalog()
    values = raw.get(CUSTOM_PARAM)
    if not values or values == [""] or len(values) != 1 or len(values[0]) > params.MAX_CUSTOM_CHARS:
        return None, base  # parse_query reports the malformed shapes
    try:
        layer = codec.decode(values[0])
        return layer, state.catalog_with_layer(layer)
    except codec.CodecError as exc:
        notices.append(Notice(CUSTOM_PARAM, "", f"{exc}; the shipped catalog is used"))
    except CatalogError as exc:
        first = "; ".join(str(p) for p in exc.problems[:3])
        more = f" and {len(exc.problems) - 3} more" if len(exc.problems) > 3 else ""
        notices.append(Notice(CUSTOM_PARAM, "", f"the custom chips are not a valid catalog ({first}{more}); "
                                                "the shipped catalog is used"))
    # Keep the key (emptied) so _clean_url removes the refused blob from the URL; left there, the reseed rerun
    # would read it again and its notice would replace the one naming every other bad parameter.
    raw[CUSTOM_PARAM] = [""]
    return None, base


def _clean_url(raw: dict[str, list[str]], parsed: Scenario, notices: list[Notice], catalog: Catalog) -> bool:
    """Remove or repair every parameter that did not pass; True if a widget's seed value changed."""
    changed_seed = False
    noticed = {n.param for n in notices}
    for key in list(raw):
        if key in params.STREAMLIT_PARAMS or key not in noticed and key in params.known_params():
            continue
        field = params.FIELDS_BY_KEY.get(key)
        try:
            if field is not None and field.kind == "choices" and getattr(parsed, key) != field.default_for(catalog):
                st.query_params[key] = list(getattr(parsed, key))
            elif field is not None and field.kind == "per_chip" and getattr(parsed, key):
                st.query_params[key] = params.per_chip_items(field, getattr(parsed, key))
            elif key == CUSTOM_PARAM and parsed.custom:
                continue
            else:
                del st.query_params[key]
        except Exception:  # noqa: BLE001 - a parameter already bound to a widget cannot be removed; keep going
            continue
        changed_seed = changed_seed or field is not None
    return changed_seed


def _notice_box(notices: list[Notice] | tuple[Notice, ...]) -> None:
    lines = "\n".join(f"- {escape_markdown(str(n))}" for n in notices)
    st.warning(f"This link had parameters that could not be used; they were ignored and defaults used instead:\n\n"
               f"{lines}", icon=":material/link_off:")


def _catalog_default_hint(field: Field, catalog: Catalog) -> str:
    serving = catalog.serving
    if field.key in ("pue", "electricity_usd_per_kwh") and serving is not None:
        return f"catalog default: {getattr(serving, field.key).value:g}"
    if field.key == "rack_power_budget_kw":
        return "each system's own rack power"
    if field.key == "engine":
        return "each chip's default engine"
    if field.key == "max_time_to_first_token_s":
        return "no target"
    return "default"


def _widget(field: Field, catalog: Catalog) -> Any:
    common: dict[str, Any] = {"key": field.key, "help": field.help, "bind": "query-params"}
    default = field.default_for(catalog)
    if field.kind == "choice":
        options = field.choices(catalog)
        index = options.index(default) if default in options else (None if field.optional or not options else 0)
        return st.selectbox(field.label, options, index=index, placeholder=_catalog_default_hint(field, catalog),
                            **common)
    if field.kind == "choices":
        options = field.choices(catalog)
        return st.multiselect(field.label, options, default=[c for c in default or () if c in options],
                              max_selections=params.MAX_LIST_ITEMS, **common)
    if field.kind == "int":
        return st.number_input(field.label, min_value=int(field.low or 0), max_value=int(field.high or 10**9),
                               value=default, step=int(field.step or 1), **common)
    return st.number_input(field.label, min_value=float(field.low or 0.0), max_value=float(field.high or 1e12),
                           value=None if default is None else float(default), step=float(field.step or 1.0),
                           format=_FORMATS.get(field.key, "%.2f"),
                           placeholder=_catalog_default_hint(field, catalog), **common)


def _caption(field: Field, value: Any, catalog: Catalog) -> None:
    """The catalog name under a widget that holds ids (the link keeps ids: Streamlit binds a widget to the URL by
    the label it shows, so the options stay ids and the names are said here)."""
    records = getattr(catalog, field.options or "", {})
    if field.key == "accelerators" and isinstance(value, list | tuple) and value:
        names = [getattr(records.get(v), "name", v) for v in value]
        st.caption("Comparing: " + "; ".join(escape_markdown(n) for n in names))
        return
    name = getattr(records.get(value) if isinstance(value, str) else None, "name", None)
    if name and field.key in ("model", "accelerator", "gpu"):
        st.caption(escape_markdown(name))


def _widgets(catalog: Catalog) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for group, expanded in _GROUPS:
        with st.sidebar.expander(group, expanded=expanded):
            for field in (f for f in FIELDS if f.group == group):
                values[field.key] = _widget(field, catalog)
                _caption(field, values[field.key], catalog)
    return values


def _restore_per_chip(raw: dict[str, list[str]]) -> None:
    """Put back the per-chip parameters a page switch dropped from the URL (no widget is bound to them, so
    Streamlit's navigation does not keep them); this session's last validated values are in session state."""
    kept = st.session_state.get(_PER_CHIP) or {}
    for key, items in kept.items():
        if key not in raw and items:
            st.query_params[key] = list(items)
            raw[key] = list(items)


_PER_CHIP_FORMATS = {"chip_usd_per_hour": "%.2f", "chip_capex_usd": "%.0f", "chip_lifetime_years": "%.1f"}


def with_chip_value(items: tuple[tuple[str, Any], ...], chip: str, value: Any) -> tuple[tuple[str, Any], ...]:
    """A per-chip field's value with ``chip`` set to ``value`` (None: removed), the other chips kept in order."""
    kept = [(c, v) for c, v in items if c != chip]
    return (*kept, (chip, value)) if value is not None else tuple(kept)


def _per_chip_editor(scenario: Scenario, catalog: Catalog, chips: list[str]) -> None:
    """Engine, $ per chip-hour, capex and lifetime for one chip at a time (picked from the compared chips and any
    chip with a setting), written to the URL as the per-chip link parameters."""
    with st.sidebar.expander("Per chip: engine and prices", icon=":material/sell:"):
        set_chips = [c for f in PER_CHIP_FIELDS for c, _ in getattr(scenario, f.key)]
        options = [c for c in dict.fromkeys([*chips, *set_chips]) if c in catalog.accelerators]
        if not options:
            st.caption("Pick chips to compare first.")
            return
        chip = st.selectbox("Chip", options, key="per_chip_chip",
                            format_func=lambda c: catalog.accelerators[c].name,
                            help="The chip whose engine and prices you set below.")
        current = {f.key: dict(getattr(scenario, f.key)).get(chip) for f in PER_CHIP_FIELDS}
        # keyed on the chip and its values in the link, so a new link state starts fresh widgets
        stamp = hashlib.sha1(repr((chip, sorted(current.items()))).encode()).hexdigest()[:12]
        chosen: dict[str, Any] = {}
        for f in PER_CHIP_FIELDS:
            key = f"per_chip_{f.key}_{stamp}"
            value = current[f.key]
            if f.value_kind == "choice":
                choices = f.choices(catalog)
                chosen[f.key] = st.selectbox(f.label, choices, index=choices.index(value) if value in choices else None,
                                             placeholder="the sidebar's engine", key=key, help=f.help)
            else:
                chosen[f.key] = st.number_input(f.label, min_value=float(f.low or 0.0), max_value=float(f.high or 1e12),
                                                value=value, step=None, format=_PER_CHIP_FORMATS.get(f.key, "%.2f"),
                                                placeholder="the catalog's", key=key, help=f.help)
        lines = [f"{escape_markdown(catalog.accelerators[c].name)}: "
                 + ", ".join(f"{f.label.lower()} {escape_markdown(str(v))}" for f in PER_CHIP_FIELDS
                             for cc, v in getattr(scenario, f.key) if cc == c)
                 for c in dict.fromkeys(set_chips) if c in catalog.accelerators]
        st.caption("Empty: the sidebar's engine and the catalog's prices and lifetime."
                   + ("\n\nSet: " + "; ".join(lines) if lines else ""))
    changed = {f.key for f in PER_CHIP_FIELDS
               if (float(chosen[f.key]) if f.value_kind == "float" and chosen[f.key] is not None else chosen[f.key])
               != current[f.key]}
    if not changed:
        return
    store = {}
    for f in PER_CHIP_FIELDS:
        value = chosen[f.key]
        value = float(value) if f.value_kind == "float" and value is not None else value
        items = params.per_chip_items(f, with_chip_value(getattr(scenario, f.key), chip, value))
        store[f.key] = items
        if items:
            st.query_params[f.key] = items
        elif f.key in st.query_params:
            del st.query_params[f.key]
    st.query_params[VERSION_PARAM] = str(params.SCENARIO_VERSION)
    st.session_state[_PER_CHIP] = store
    st.rerun()


def _scenario_from_widgets(values: dict[str, Any], fallback: Scenario, custom: str | None) -> Scenario:
    clean: dict[str, Any] = {}
    for field in FIELDS:
        value = values.get(field.key)
        if field.kind == "choices":
            value = tuple(value or ()) or getattr(fallback, field.key)
        elif value is None and not field.optional:
            value = getattr(fallback, field.key)
        elif field.kind == "float" and value is not None:
            value = float(value)
        clean[field.key] = value
    return dataclasses.replace(fallback, **clean, custom=custom)


def sidebar() -> Context:
    """Validate the URL, draw the scenario widgets and the share box, and return this run's Context."""
    _restore_sticky()
    raw = _raw_params()
    _restore_per_chip(raw)
    notices: list[Notice] = []
    layer, catalog = _load_layer(raw, notices)
    _drop_removed_chips(raw, catalog)
    parsed, parse_notices = params.parse_query(raw, catalog)
    notices += parse_notices
    first_run = not st.session_state.get(_SEEDED, False)
    if notices:
        reseed = _clean_url(raw, parsed, notices, catalog)
        st.session_state[_NOTICES] = (tuple(notices), parsed)
        if first_run and reseed:
            st.session_state[_SEEDED] = True
            st.rerun()
    st.session_state[_SEEDED] = True

    _join_added_chips(parsed, catalog)
    values = _widgets(catalog)
    custom = parsed.custom if layer is not None else None
    scenario = _scenario_from_widgets(values, parsed, custom)
    st.session_state[_PER_CHIP] = {f.key: params.per_chip_items(f, getattr(scenario, f.key)) for f in PER_CHIP_FIELDS}
    _per_chip_editor(scenario, catalog, list(scenario.accelerators))
    query = {**params.to_query(scenario, catalog), **params.page_values(_raw_params(), catalog)}
    if len(query) > 1 and st.query_params.get(VERSION_PARAM) != str(params.SCENARIO_VERSION):
        st.query_params[VERSION_PARAM] = str(params.SCENARIO_VERSION)
    try:
        base = st.context.url or _FALLBACK_URL
    except Exception:  # noqa: BLE001 - no browser context (tests, bare mode)
        base = _FALLBACK_URL
    link = params.share_url(base, query)
    with st.sidebar.expander("Share this scenario", expanded=True, icon=":material/share:"):
        st.caption("This link reopens exactly this scenario, including chips you added, in any browser.")
        st.code(link, language=None, wrap_lines=True)

    shown: tuple[Notice, ...] = ()
    stored = st.session_state.get(_NOTICES)
    if stored and stored[1] == dataclasses.replace(scenario, custom=stored[1].custom):
        shown = stored[0]
    elif stored:
        del st.session_state[_NOTICES]
    if shown:
        _notice_box(shown)
    ctx = Context(scenario, catalog, layer, shown, query, link)
    st.session_state[_CONTEXT] = ctx
    return ctx


def current() -> Context:
    """This run's Context (set by ``app.py`` through :func:`sidebar`)."""
    ctx = st.session_state.get(_CONTEXT)
    if ctx is None:
        ctx = sidebar()
    return ctx


def set_custom_layer(layer: dict[str, Any] | None) -> None:
    """Put the user's catalog layer in the URL (``custom``) and rerun so every page sees the new chips.

    Chips the layer adds (ids the previous layer did not have) join "Chips to compare". Raises CodecError when the
    layer cannot be carried in a link (too big).
    """
    stored = dict(st.session_state.get(_STICKY) or {})
    before = current().layer if _CONTEXT in st.session_state else None
    if layer:
        code = codec.encode(layer)
        st.query_params[CUSTOM_PARAM] = code
        st.query_params[VERSION_PARAM] = str(params.SCENARIO_VERSION)
        stored[CUSTOM_PARAM] = [code]
        st.session_state[_JOIN] = [i for i in _chip_ids(layer) if i not in _chip_ids(before)]
    else:
        if CUSTOM_PARAM in st.query_params:
            del st.query_params[CUSTOM_PARAM]
        stored.pop(CUSTOM_PARAM, None)
        st.session_state[_JOIN] = []  # the compared chips drop the removed ones on the rerun
    st.session_state[_STICKY] = stored
    st.rerun()


def _chip_ids(layer: dict[str, Any] | None) -> list[str]:
    return [str(e["id"]) for e in (layer or {}).get("accelerators", []) if isinstance(e, dict) and e.get("id")]
