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
    return compute.sweep_chips(catalog, t, (chip,), precision)[0]


# --- HTML ---------------------------------------------------------------------------------------------------------


def e(text: Any) -> str:
    """Any value as inert HTML text."""
    return html.escape("" if text is None else str(text), quote=True)


def _table(frame: pd.DataFrame, cls: str = "") -> str:
    """``frame`` as an HTML table; cells through :func:`ui.format.cell` unless already text."""
    head = "".join(f"<th>{e(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(_td(fmt.cell(v)) for v in row) + "</tr>" for row in frame.itertuples(index=False))
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _td(text: str) -> str:
    """One cell; a long unbroken token (a link, an id, a layout) may wrap anywhere so the table fits the page."""
    long = any(len(word) > 10 for word in text.split())
    return f'<td class="long">{e(text)}</td>' if long else f"<td>{e(text)}</td>"


def _verdict_html(label: str, c: ClaimCheck, yours: bool) -> str:
    hinges = "".join(f"<li>{e(h)}</li>" for h in c.hinges)
    source = e(c.source_title) + (f' (<a href="{e(c.source_url)}">{e(c.source_url)}</a>)'
                                  if c.source_url and c.source_url.startswith(("http://", "https://")) else "")
    return (f'<div class="claim" id="claim-{e(c.id)}"><p class="quote"><b>{e(label)}</b> {e(c.vendor)}'
            f'{" (entered by the user)" if yours else ""}, {e(c.date)}: &ldquo;{e(c.claim)}&rdquo;</p>'
            f'<p><span class="badge" style="background:{STATUS_COLOURS[c.status]}">{e(STATUS_LABELS[c.status])}'
            f'</span> <b>{e(c.verdict)}</b></p>'
            f'<p>Claimed: {e(fmt.cell(c.claimed))} {e(c.unit)}; the model: {e(fmt.cell(c.predicted))} {e(c.unit)}.</p>'
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
            rows.append({"chip": chip, "assumption": fmt.assumption_label(r.name), "value": value, "low": r.low,
                         "high": r.high,
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
color:#31333f;line-height:1.45}
h1{font-size:1.7em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;font-size:.85em;margin:.5em 0;table-layout:auto}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:break-word;
hyphens:auto}th{background:#f0f2f6}table.wide{font-size:.78em}td.long{overflow-wrap:anywhere}
.answer{border:1px solid #ddd;border-radius:8px;padding:.6em 1.2em;margin:1em 0;background:#fafafa}
.answer p{margin:.4em 0}.verdicts{list-style:none;padding:0;margin:.4em 0}.verdicts li{margin:.3em 0}
.claim{border:1px solid #ddd;border-radius:6px;padding:.2em 1em;margin:.8em 0;break-inside:avoid}
.badge{color:#fff;border-radius:4px;padding:.1em .5em;font-size:.85em;white-space:nowrap}
.note{color:#555;font-size:.9em}.meta{color:#555}code{word-break:break-all}
@page{size:auto;margin:15mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr,.answer,.js-plotly-plot{break-inside:avoid}table{font-size:8.5pt}
.wide th,.wide td{padding:.2em .25em}
.badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}.modebar{display:none!important}}
"""


def _badge(status: str) -> str:
    return (f'<span class="badge" style="background:{STATUS_COLOURS.get(status, STATUS_COLOURS["unknown"])}">'
            f"{e(STATUS_LABELS.get(status, status))}</span>")


def _answer_html(sides: Sequence[tuple[str, object]], story: Sequence[tuple[str, ClaimCheck]]) -> str:
    """The answer the report opens with: one sentence per side, then one badge per verdict."""
    sentences = []
    for label, result in sides:
        head, _, rest = comparison.answer_sentence(label, result).partition(": ")
        sentences.append(f"<p><b>{e(head)}</b>: {e(rest)}</p>")
    verdicts = "".join(f"<li>{_badge(c.status)} {e(comparison.verdict_line(letter, c)[2])}: {e(c.verdict)}</li>"
                       for letter, c in story)
    return (f'<div class="answer">{"".join(sentences)}'
            + (f'<ul class="verdicts">{verdicts}</ul>' if verdicts else "") + "</div>")


def _compared_chips(frame: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """The sizing page's ranked table narrowed to what fits a printed page: the chip range in one cell, an
    infeasible chip's cells as "—" (the list below the table says why)."""
    shown = frame[[c for c in SIZE_COLUMNS if c in frame]].copy()
    ranges = [None if fmt.is_missing(lo) else f"{fmt.cell(lo)}–{fmt.cell(hi)}"
              for lo, hi in zip(shown.get("chips_low", []), shown.get("chips_high", []), strict=True)]
    if "chips_low" in shown:
        shown.insert(shown.columns.get_loc("chips_low"), "chips_range", ranges)
        shown = shown.drop(columns=["chips_low", "chips_high"])
    text = fmt.table(shown.drop(columns=["feasible"], errors="ignore"), names=names,
                     formats={"usd_per_million_output_tokens": fmt.usd},
                     labels={"chips_range": "Chips (range)", "joules_per_output_token": "J per output token",
                             "usd_per_million_output_tokens": "$ per M output tokens",
                             "per_user_tokens_per_s": "Per-user tok/s", "facility_power_kw": "Facility kW"})
    return text


def _names(catalog: Catalog) -> dict[str, str]:
    return {i: a.name for i, a in catalog.accelerators.items()}


def build_report(link: LinkScenario, *, base_url: str = DEFAULT_BASE_URL, today: dt.date | None = None,
                 version: str | None = None) -> str:
    """The report for a scenario read by :func:`read_link`, as one HTML document: the answer first (one sentence
    per side, the verdicts as badges), then the scenario, the tables, the claims, the chart, the assumptions and the
    sources. Deterministic: the same link, base URL and date give the same bytes, in the app or the CLI."""
    s, cat = link.scenario, link.catalog
    today = today or dt.date.today()
    version = version or export.app_version()
    share = params.share_url(base_url, {**params.to_query(s, cat), **params.page_values(link.page_params, cat)})
    topology = link.page_params.get("size_topology", SHIPPED)
    model = "deepseek-r1" if "deepseek-r1" in cat.models else (s.model or "")
    model_name = cat.models[model].name if model in cat.models else model
    names = _names(cat)
    gpu_ok = bool(s.gpu and s.gpu in cat.accelerators and s.precision)
    sn_ok = claims.CLAIM_CHIP in cat.accelerators
    sides: list[tuple[str, object]] = []
    sn = gpu = None
    sn_label = gpu_label = ""
    if sn_ok and gpu_ok and model:
        sn = _sizing(cat, s, model, claims.CLAIM_CHIP, claims.CLAIM_PRECISION)
        gpu = _sizing(cat, s, model, s.gpu, s.precision)
        sn_label = comparison.side_label(names[claims.CLAIM_CHIP], claims.CLAIM_PRECISION)
        # a precision keyword ('best') is labelled with the precision the GPU side's sizing chose
        gpu_label = comparison.side_label(names[s.gpu], getattr(gpu, "precision", "") or s.precision)
        sides = [(f"SambaNova, {sn_label}", sn), (f"GPU side, {gpu_label}", gpu)]
    story = claims.story_checks(cat, s) if sn_ok else []

    parts: list[str] = []
    parts.append(f"<h1>Rackscale report: {e(model_name)} at {e(fmt.tokens_per_s(s.per_user_tokens_per_s))} per "
                 f"user and {e(fmt.tokens_per_s(s.total_output_tokens_per_s))} in total</h1>")
    if sides or story:
        parts.append(_answer_html(sides, story))
    parts.append(f'<p class="meta">Rackscale {e(version)}, {e(today.isoformat())}. Reopen this scenario in the app: '
                 f'<a href="{e(share)}"><code>{e(share)}</code></a></p>')
    if link.notices:
        items = "".join(f"<li>{e(str(n))}</li>" for n in link.notices)
        parts.append(f"<p><b>The link had parameters that could not be used (defaults used instead):</b></p>"
                     f"<ul>{items}</ul>")

    # side by side (the landing page) and the compared chips (the sizing page)
    parts.append("<h2>Side by side, same targets</h2>")
    parts.append(f"<p>Both sides sized by the model for {e(fmt.tokens_per_s(s.per_user_tokens_per_s))} per user "
                 f"and {e(fmt.tokens_per_s(s.total_output_tokens_per_s))} in total ({s.input_tokens:,} tokens in, "
                 f"{s.output_tokens:,} out): SambaNova SN40L (BF16, its only format) against the GPU side "
                 f"({e(names.get(s.gpu or '', s.gpu))} at {e(s.precision)}).</p>")
    if sides:
        table = comparison.side_by_side(sn, gpu, sn_label, gpu_label).rename(columns={"quantity": "Quantity"})
        parts.append(_table(table, "side"))
        for label, result in ((sn_label, sn), (gpu_label, gpu)):
            parts.append(f'<p class="note">How {e(label)} is sized: '
                         f"{e(getattr(result, 'reason', ''))}.</p>")
    else:
        parts.append("<p>The catalog needs the SN40L, a GPU side and a precision for this comparison.</p>")
    if s.model and s.precision and s.accelerators:
        sized = {chip: compute.size_chip(cat, compute.targets(s), chip, s.precision, topology=topology)
                 for chip in s.accelerators}
        frame = analysis.comparison_frame(sized)
        text = _compared_chips(frame, names)
        model_label = cat.models[s.model].name if s.model in cat.models else s.model
        parts.append(f"<h2>The compared chips ({e(model_label)} at {e(s.precision)})</h2>" + _table(text, "wide"))
        why = "".join(f"<li><b>{e(names.get(r.accelerator, r.accelerator))}</b>: {e(r.reason)}</li>"
                      for r in frame.itertuples())
        parts.append(f'<p class="note">A row of "{fmt.DASH}" is a chip that cannot meet the targets. Why / how each '
                     f'chip is sized:</p><ul class="note">{why}</ul>')
        parts.append('<p class="note">Ranked by racks, then cost; chips (low/high) is the range the model\'s '
                     f"uncertainty allows; replica shapes: {e(params.TOPOLOGY_LABELS.get(topology, topology))}. "
                     "The same table as the sizing page.</p>")

    # verdicts
    parts.append("<h2>The claims, checked</h2>")
    for letter, check in story:
        parts.append(_verdict_html(f"({letter})", check, False))
    yours = claims.user_claim_ids(link.layer)
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
                                     names={claims.CLAIM_CHIP: sn_label or claims.CLAIM_CHIP,
                                            s.gpu or "": gpu_label or (s.gpu or "")})
        parts.append(charts.styled_for_export(fig).to_html(
            include_plotlyjs=True, full_html=False, default_width="100%", div_id="rackscale-frontier",
            config={"displaylogo": False, "responsive": True}))
        parts.append('<p class="note">Each line is the best a chip can do: moving right serves each user faster, '
                     "moving up gets more tokens out of a rack. The dashed lines are the per-user target and the "
                     "per-rack goal.</p>")

    # the scenario in full
    rows = [{"Input": f.label, "Link parameter": f.key, "Value": ", ".join(getattr(s, f.key))
             if isinstance(getattr(s, f.key), tuple) else getattr(s, f.key)} for f in FIELDS]
    custom_chips = [x.get("id") for x in (link.layer or {}).get("accelerators", []) if isinstance(x, dict)]
    if custom_chips:
        rows.append({"Input": "Chips added in the link", "Link parameter": "custom", "Value": ", ".join(custom_chips)})
    if yours:
        rows.append({"Input": "Claims added in the link", "Link parameter": "custom", "Value": ", ".join(yours)})
    parts.append("<h2>The scenario</h2>" + _table(fmt.table(pd.DataFrame(rows), labels={
        "Input": "Input", "Link parameter": "Link parameter", "Value": "Value"},
        reasons={"Value": "catalog default"})))

    # assumptions and sources
    chips = [c for c in (claims.CLAIM_CHIP, s.gpu, *s.accelerators) if c]
    parts.append("<h2>Assumptions</h2>")
    assumptions = _assumptions_frame(cat, s, chips)
    parts.append(_table(fmt.table(assumptions, names=names, reasons={"low": "no range", "high": "no range"}),
                        "wide") if not assumptions.empty else "<p>None.</p>")
    ids = export.sources_used(cat, accelerators=chips, models=[m for m in (model, s.model) if m])
    ids += [c.source for _, c in story] + [cat.claims[i].source for i in yours if i in cat.claims]
    measured = [c.scenario.get("baseline_measurement") for _, c in story]
    ids += [cat.validation[m].source for m in measured if m in cat.validation]
    ids += [r for r in assumptions.get("source", pd.Series(dtype=str)) if r in cat.sources]
    parts.append("<h2>Sources</h2>" + _table(fmt.table(_sources_frame(cat, ids), raw=()), "wide"))
    parts.append(f'<p class="meta">Generated by Rackscale {e(version)} on {e(today.isoformat())} from the link '
                 f'<a href="{e(share)}"><code>{e(share)}</code></a>.</p>')
    title = f"Rackscale report: {model_name}"
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
                 base_url: str = DEFAULT_BASE_URL, today: dt.date | None = None) -> Path:
    """The CLI's ``report``: write the HTML for a link's query string to ``out`` (the same function, hence the same
    bytes, as the app's "Download report" for that link); returns the path."""
    path = Path(out)
    text = report_for_query(query, extra_files=read_files(extra_catalogs), base_url=base_url, today=today)
    path.write_text(text, encoding="utf-8")
    return path
