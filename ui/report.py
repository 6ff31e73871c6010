"""The stakeholder report: one self-contained HTML file for the scenario a share link describes (no Streamlit).

:func:`build_report` reads the link's query string exactly as the app does (:func:`ui.params.parse_query`, the
``custom`` layer through :mod:`ui.codec` and the catalog loader), calls the same calculators for the same inputs as
the landing page and the sizing page, and writes: the scenario, the side-by-side sizing (one SambaRack vs the GPU
side) and the compared chips, every claim's verdict with what it hinges on, the speed-vs-throughput chart (Plotly,
with plotly.js inline so the file opens offline), the assumptions and every source behind the numbers, the app
version and date, and the share link that reopens it.

Where it lives: it is a view of the app's scenario (link parsing, formatting and charts are ``ui``'s), and
``calculators`` must not depend on ``ui``; so the builder is here, pure like the other ``ui`` modules, and the
CLI's ``report`` command is a thin wrapper that imports it at run time. All text that a link can carry (custom chip
and claim names, vendors, claim words) is HTML-escaped; Plotly labels are escaped as on the pages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from calculators.assumptions import assumption_ranges
from calculators.catalog import catalog_from_texts, read_files, shipped_catalog_files
from calculators.claims import STATUS_LABELS, ClaimCheck, check_claims
from calculators.errors import CatalogError, ScenarioError
from calculators.fleet import Sizing
from calculators.records import Catalog
from calculators.shapes import SHIPPED
from ui import analysis, charts, claims, codec, comparison, compute, export, params
from ui import format as fmt
from ui.params import FIELDS, Notice, Scenario

DEFAULT_BASE_URL = "http://localhost:8501/"
MAX_QUERY_CHARS = 60_000
STATUS_COLOURS = {"holds": "#1b7a1b", "conditional": "#b35c00", "fails": "#b00020", "unknown": "#555555"}
SIZE_COLUMNS = ["rank", "accelerator", "feasible", "precision", "replica_shape", "racks", "chips", "chips_low",
                "chips_high", "facility_power_kw", "joules_per_output_token", "usd_per_million_output_tokens",
                "per_user_tokens_per_s", "bound_by", "layout"]


@dataclasses.dataclass(frozen=True)
class LinkScenario:
    """A share link read the way the app reads it: the scenario, the catalog with the link's layer, the layer and
    its catalog files, and one notice per ignored parameter."""

    scenario: Scenario
    catalog: Catalog
    layer: dict[str, Any] | None
    files: tuple[tuple[str, bytes], ...]
    notices: tuple[Notice, ...]
    page_params: dict[str, Any] = dataclasses.field(default_factory=dict)


def _query_params(query: str) -> dict[str, list[str]]:
    text = query.strip()
    if "?" in text:
        text = urlsplit(text).query if "://" in text else text.split("?", 1)[1]
    if len(text) > MAX_QUERY_CHARS:
        raise ScenarioError(f"the query string is {len(text):,} characters; the limit is {MAX_QUERY_CHARS:,}")
    return parse_qs(text.lstrip("?"), keep_blank_values=True)


def read_link(query: str, *, extra_files: Sequence[tuple[str, bytes]] = ()) -> LinkScenario:
    """The scenario of a share link (its query string, with or without the address in front). Never raises for a
    bad parameter: like the app, it ignores it and says why in a notice."""
    raw = _query_params(query)
    base = tuple((p.name, data) for p, (_, data) in zip(shipped_catalog_files(),
                                                         read_files(shipped_catalog_files()), strict=True))
    files = (*base, *extra_files)
    notices: list[Notice] = []
    layer = None
    custom = raw.get(params.CUSTOM_PARAM)
    catalog = catalog_from_texts(list(files))
    if custom and custom != [""] and len(custom) == 1 and len(custom[0]) <= params.MAX_CUSTOM_CHARS:
        try:
            candidate = codec.decode(custom[0])
            link_file = ("link", codec.layer_yaml(candidate).encode("utf-8"))
            catalog = catalog_from_texts([*files, link_file])
            layer, files = candidate, (*files, link_file)
        except codec.CodecError as exc:
            notices.append(Notice(params.CUSTOM_PARAM, "", f"{exc}; the shipped catalog is used"))
        except CatalogError as exc:
            first = "; ".join(str(p) for p in exc.problems[:3])
            notices.append(Notice(params.CUSTOM_PARAM, "", f"the custom layer is not a valid catalog ({first}); "
                                                          "the shipped catalog is used"))
    scenario, parse_notices = params.parse_query(raw, catalog)
    if layer is None:
        scenario = dataclasses.replace(scenario, custom=None)
    # page-local settings that change the numbers (the sizing page's replica shapes), when valid
    page = params.page_ids(raw, catalog)
    return LinkScenario(scenario, catalog, layer, files, (*notices, *parse_notices), page)


# --- the numbers: the same calculator calls as the pages -------------------------------------------------------------


def _sizing(catalog: Catalog, s: Scenario, model: str, chip: str, precision: str) -> Sizing | compute.Unavailable:
    """``ui.compute.size_chip``: the same call, for the same targets, as the pages' ``results.sizing``."""
    return compute.size_chip(catalog, compute.targets(s, model=model), chip, precision)


def _sweep(catalog: Catalog, s: Scenario, model: str, chip: str, precision: str) -> pd.DataFrame:
    """``ui.compute.sweep_chips`` as the landing page calls it (empty when the chip cannot be swept)."""
    if chip not in catalog.accelerators:
        return pd.DataFrame()
    t = compute.targets(s, model=model)
    return compute.sweep_chips(catalog, model, (chip,), precision, s.context_tokens, s.engine, t.overrides)[0]


# --- HTML ---------------------------------------------------------------------------------------------------------


def e(text: Any) -> str:
    """Any value as inert HTML text."""
    return html.escape("" if text is None else str(text), quote=True)


def _table(frame: pd.DataFrame, cls: str = "") -> str:
    head = "".join(f"<th>{e(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def _verdict_html(label: str, c: ClaimCheck, yours: bool) -> str:
    hinges = "".join(f"<li>{e(h)}</li>" for h in c.hinges)
    source = e(c.source_title) + (f' (<a href="{e(c.source_url)}">{e(c.source_url)}</a>)'
                                  if c.source_url and c.source_url.startswith(("http://", "https://")) else "")
    return (f'<div class="claim" id="claim-{e(c.id)}"><p class="quote"><b>{e(label)}</b> {e(c.vendor)}'
            f'{" (entered by the user)" if yours else ""}, {e(c.date)}: &ldquo;{e(c.claim)}&rdquo;</p>'
            f'<p><span class="badge" style="background:{STATUS_COLOURS[c.status]}">{e(STATUS_LABELS[c.status])}'
            f'</span> <b>{e(c.verdict)}</b></p>'
            f'<p>Claimed: {e(_cell(c.claimed))} {e(c.unit)}; the model: {e(_cell(c.predicted))} {e(c.unit)}.</p>'
            f"<p>{e(c.finding)}</p>" + (f"<p>Hinges on:</p><ul>{hinges}</ul>" if hinges else "")
            + (f'<p class="note">{e(c.note)}</p>' if c.note else "") + f'<p class="note">Source: {source}</p></div>')


def _assumptions_frame(catalog: Catalog, s: Scenario, chips: Iterable[str]) -> pd.DataFrame:
    rows = []
    for chip in dict.fromkeys(chips):
        if chip not in catalog.accelerators:
            continue
        try:
            ranges = assumption_ranges(catalog, chip, engine=s.engine)
        except ScenarioError:
            continue
        overrides = s.overrides()
        for r in ranges:
            value = overrides.get(r.name, r.value)
            rows.append({"chip": chip, "assumption": r.name, "value": value, "low": r.low, "high": r.high,
                         "unit": r.unit, "set in the link": r.name in overrides, "source": r.source or "assumption",
                         "note": r.note or ""})
    return pd.DataFrame(rows)


def _sources_frame(catalog: Catalog, ids: Iterable[str]) -> pd.DataFrame:
    rows = []
    for sid in dict.fromkeys(ids):
        src = catalog.sources.get(sid)
        if src is not None:
            rows.append({"id": sid, "title": src.title, "url": src.url or "", "section": src.section or "",
                         "accessed": src.accessed.isoformat()})
    return pd.DataFrame(rows)


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f4f4f4}
.claim{border:1px solid #ddd;border-radius:6px;padding:.2em 1em;margin:.8em 0}
.badge{color:#fff;border-radius:4px;padding:.1em .5em;font-size:.85em}
.note{color:#555;font-size:.9em}.meta{color:#555}code{word-break:break-all}
"""


def build_report(link: LinkScenario, *, base_url: str = DEFAULT_BASE_URL, today: dt.date | None = None,
                 version: str | None = None) -> str:
    """The report for a scenario read by :func:`read_link`, as one HTML document."""
    s, cat = link.scenario, link.catalog
    today = today or dt.date.today()
    version = version or export.app_version()
    share = params.share_url(base_url, {**params.to_query(s, cat), **params.page_values(link.page_params, cat)})
    topology = link.page_params.get("size_topology", SHIPPED)
    model = "deepseek-r1" if "deepseek-r1" in cat.models else (s.model or "")
    parts: list[str] = []
    parts.append(f"<h1>Rackscale report: {e(model)} at {e(fmt.tokens_per_s(s.per_user_tokens_per_s))} per user</h1>")
    parts.append(f'<p class="meta">Rackscale {e(version)}, {e(today.isoformat())}. Reopen this scenario in the app: '
                 f'<a href="{e(share)}"><code>{e(share)}</code></a></p>')
    if link.notices:
        items = "".join(f"<li>{e(str(n))}</li>" for n in link.notices)
        parts.append(f"<p><b>The link had parameters that could not be used (defaults used instead):</b></p>"
                     f"<ul>{items}</ul>")

    # scenario
    rows = [{"input": f.label, "parameter": f.key, "value": ", ".join(getattr(s, f.key))
             if isinstance(getattr(s, f.key), tuple) else getattr(s, f.key)} for f in FIELDS]
    yours = claims.user_claim_ids(link.layer)
    custom_chips = [x.get("id") for x in (link.layer or {}).get("accelerators", []) if isinstance(x, dict)]
    if custom_chips:
        rows.append({"input": "Chips added in the link", "parameter": "custom", "value": ", ".join(custom_chips)})
    if yours:
        rows.append({"input": "Claims added in the link", "parameter": "custom", "value": ", ".join(yours)})
    parts.append("<h2>The scenario</h2>" + _table(pd.DataFrame(rows)))
    parts.append('<p class="note">Empty values use the catalog\'s default (each chip\'s default engine, the '
                 "catalog's PUE and electricity price, each system's rack power).</p>")

    # side by side (the landing page) and the compared chips (the sizing page)
    gpu_ok = bool(s.gpu and s.gpu in cat.accelerators and s.precision)
    sn_ok = claims.CLAIM_CHIP in cat.accelerators
    parts.append("<h2>Side by side, same targets</h2>")
    parts.append(f"<p>Both sides sized by the model for {e(fmt.tokens_per_s(s.per_user_tokens_per_s))} per user "
                 f"and {e(fmt.tokens_per_s(s.total_output_tokens_per_s))} in total ({s.input_tokens:,} tokens in, "
                 f"{s.output_tokens:,} out): SambaNova SN40L (BF16, its only format) against the GPU side "
                 f"({e(s.gpu)} at {e(s.precision)}).</p>")
    if sn_ok and gpu_ok and model:
        sn = _sizing(cat, s, model, claims.CLAIM_CHIP, claims.CLAIM_PRECISION)
        gpu = _sizing(cat, s, model, s.gpu, s.precision)
        sn_label = f"{claims.CLAIM_CHIP} (BF16)"
        # a precision keyword (issue 10's 'best') is labelled with the precision the GPU side's sizing chose
        gpu_label = f"{s.gpu} ({(getattr(gpu, 'precision', '') or s.precision or '').upper()})"
        table = comparison.side_by_side(sn, gpu, sn_label, gpu_label)
        parts.append(_table(table, "side"))
        for label, result in ((sn_label, sn), (gpu_label, gpu)):
            parts.append(f'<p class="note">How {e(label)} is sized: '
                         f"{e(result.reason)}.</p>")
    else:
        parts.append("<p>The catalog needs the SN40L, a GPU side and a precision for this comparison.</p>")
    if s.model and s.precision and s.accelerators:
        sized = {chip: compute.size_chip(cat, compute.targets(s), chip, s.precision, topology=topology)
                 for chip in s.accelerators}
        frame = analysis.comparison_frame(sized)
        parts.append(f"<h2>The compared chips ({e(s.model)} at {e(s.precision)})</h2>"
                     + _table(frame[[c for c in SIZE_COLUMNS if c in frame]]))
        why = "".join(f"<li><b>{e(r.accelerator)}</b>: {e(r.reason)}</li>" for r in frame.itertuples())
        parts.append(f'<p class="note">Why / how each chip is sized:</p><ul class="note">{why}</ul>')
        parts.append('<p class="note">Ranked by racks, then cost; chips (low/high) is the range the model\'s '
                     f"uncertainty allows; replica shapes: {e(topology)}. The same table as the sizing page.</p>")

    # verdicts
    parts.append("<h2>The claims, checked</h2>")
    story = claims.story_checks(cat, s) if sn_ok else []
    for letter, check in story:
        parts.append(_verdict_html(f"({letter})", check, False))
    if yours:
        parts.append("<h3>Claims added in the link</h3>")
        for check in check_claims(cat, yours):
            parts.append(_verdict_html("", check, True))

    # chart
    parts.append("<h2>Speed per user against throughput per rack</h2>")
    frames = [f for f in (_sweep(cat, s, model, claims.CLAIM_CHIP, claims.CLAIM_PRECISION),
                          _sweep(cat, s, model, s.gpu or "", s.precision or "")) if not f.empty]
    frontier = (analysis.pareto_frontier(pd.concat(frames, ignore_index=True), "output_tokens_per_s_per_rack")
                if frames else pd.DataFrame())
    if frontier.empty:
        parts.append("<p>No configuration of either side fits in memory, so there is no frontier to draw.</p>")
    else:
        goal = next((c.claimed for _, c in story if c.kind == "throughput"), None)
        fig = charts.frontier_figure(frontier, "output_tokens_per_s_per_rack", axis_title="Output tok/s per rack",
                                     per_user_target=s.per_user_tokens_per_s, goal=goal,
                                     names={claims.CLAIM_CHIP: f"{claims.CLAIM_CHIP} (BF16)",
                                            s.gpu or "": f"{s.gpu} ({(s.precision or '').upper()})"})
        parts.append(fig.to_html(include_plotlyjs=True, full_html=False, default_width="100%",
                                 config={"displaylogo": False}))
        parts.append('<p class="note">Each line is the best a chip can do: moving right serves each user faster, '
                     "moving up gets more tokens out of a rack. The dashed lines are the per-user target and the "
                     "per-rack goal.</p>")

    # assumptions and sources
    chips = [c for c in (claims.CLAIM_CHIP, s.gpu, *s.accelerators) if c]
    parts.append("<h2>Assumptions</h2>")
    assumptions = _assumptions_frame(cat, s, chips)
    parts.append(_table(assumptions) if not assumptions.empty else "<p>None.</p>")
    ids = export.sources_used(cat, accelerators=chips, models=[m for m in (model, s.model) if m])
    ids += [c.source for _, c in story] + [cat.claims[i].source for i in yours if i in cat.claims]
    measured = [c.scenario.get("baseline_measurement") for _, c in story]
    ids += [cat.validation[m].source for m in measured if m in cat.validation]
    ids += [r for r in assumptions.get("source", pd.Series(dtype=str)) if r in cat.sources]
    parts.append("<h2>Sources</h2>" + _table(_sources_frame(cat, ids)))
    parts.append(f'<p class="meta">Generated by Rackscale {e(version)} on {e(today.isoformat())} from the link '
                 f'<a href="{e(share)}"><code>{e(share)}</code></a>.</p>')
    title = f"Rackscale report: {model}"
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(title)}</title>'
            f"<style>{CSS}</style></head><body>" + "\n".join(parts) + "</body></html>\n")


def report_for_query(query: str, *, extra_files: Sequence[tuple[str, bytes]] = (),
                     base_url: str = DEFAULT_BASE_URL, today: dt.date | None = None) -> str:
    """:func:`build_report` of :func:`read_link`: a share link's query string in, the HTML out."""
    return build_report(read_link(query, extra_files=extra_files), base_url=base_url, today=today)


def report_for_share_url(share_url: str, *, today: dt.date | None = None) -> str:
    """The report for the app's share link (the scenario on screen): its query is the scenario, its address the
    base of the link the report prints."""
    parts = urlsplit(share_url)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else DEFAULT_BASE_URL
    return report_for_query(parts.query, base_url=base, today=today)


def write_report(query: str, out: str | Path, *, extra_catalogs: Sequence[str | Path] = (),
                 base_url: str = DEFAULT_BASE_URL) -> Path:
    """The CLI's ``report``: write the HTML for a link's query string to ``out``; returns the path."""
    path = Path(out)
    text = report_for_query(query, extra_files=read_files(extra_catalogs), base_url=base_url)
    path.write_text(text, encoding="utf-8")
    return path
