"""Claims: every vendor claim of the registry with the model's verdict, filterable by vendor, each linking to its
scenario on the sizing page; and a form to enter a claim of one's own, checked the same way and carried in the
link's ``custom`` layer like a custom chip (validated by the catalog loader, never code)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from calculators.claims import STATUS_LABELS, ClaimCheck
from calculators.errors import CatalogError
from calculators.records import CLAIM_UNITS
from ui import claims, codec, export, params, results, state
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import run_page, show_catalog_error, verdict_box
from ui.scenario import Context, set_custom_layer

KIND_HELP = {"per-user-speed": "tok/s per user on the chips given (or the fewest that reach it)",
             "throughput": "total tok/s of one system of the chips given",
             "efficiency-ratio": "x times better than a baseline chip",
             "racks-for-target": "racks needed for a per-user speed and a total",
             "cost": "$ per million output tokens for a per-user speed and a total"}
RATIOS = {"": "(not a ratio claim)", "per_user_tokens_per_s": "per-user speed (one user)",
          "output_tokens_per_s_per_chip": "output per chip", "joules_per_output_token": "energy per output token"}


def _size_page(ctx: Context) -> str:
    parts = urlsplit(ctx.share_url)
    return urlunsplit((parts.scheme, parts.netloc, "/size", "", ""))


def _link(ctx: Context, check: ClaimCheck) -> str:
    scenario = claims.scenario_for_claim(ctx.catalog, check, ctx.scenario.custom)
    return params.share_url(_size_page(ctx), params.to_query(scenario, ctx.catalog))


def claims_frame(checks: list[ClaimCheck], yours: set[str], links: dict[str, str]) -> pd.DataFrame:
    """One row per claim, as people read it (the CSV of ``claims --json`` has every field)."""
    return pd.DataFrame([{
        "id": c.id, "status": STATUS_LABELS[c.status], "vendor": c.vendor, "claimed": c.claimed,
        "predicted": c.predicted, "unit": c.unit, "verdict": c.verdict, "claim": c.claim,
        "scenario": links.get(c.id), "date": c.date, "kind": c.kind, "yours": c.id in yours, "source": c.source_title,
    } for c in checks])


def _box(c: ClaimCheck, yours: bool) -> None:
    who = " (your claim)" if yours else ""
    verdict_box(c, f"**{escape_markdown(c.vendor)}**{who}, {escape_markdown(c.date)}: \"{escape_markdown(c.claim)}\"",
                c.source_title)


def _form(ctx: Context) -> None:
    cat = ctx.catalog
    yours = claims.user_claim_ids(ctx.layer)
    with st.form("user_claim", clear_on_submit=False, border=True):
        st.markdown("**Check a claim of your own**")
        a, b = st.columns(2)
        vendor = a.text_input("Vendor", max_chars=100, key="uc_vendor")
        url = b.text_input("Source (URL)", max_chars=500, key="uc_url")
        text = st.text_area("The claim, word for word", max_chars=1000, key="uc_claim")
        c1, c2, c3, c4 = st.columns(4)
        kind = c1.selectbox("Kind", list(CLAIM_UNITS), key="uc_kind", format_func=lambda k: f"{k}",
                            help="; ".join(f"{k}: {v}" for k, v in KIND_HELP.items()))
        claimed = c2.number_input("Claimed number", min_value=0.0, max_value=1e12, value=None, key="uc_claimed",
                                  help="In the kind's unit: tok/s/user, tok/s, x, racks or $ per million tokens.")
        bound = c3.selectbox("Holds when the model is", ["at-least", "at-most"], key="uc_bound",
                             help="at-most: for racks or cost claims that say 'only N racks' or 'as little as'.")
        when = c4.date_input("Date of the claim", value=dt.date.today(), min_value=dt.date(2000, 1, 1),
                             max_value=dt.date.today(), key="uc_date")
        d1, d2, d3, d4 = st.columns(4)
        model = d1.selectbox("Model", list(cat.models), key="uc_model")
        chip = d2.selectbox("Chip", list(cat.accelerators), key="uc_accelerator")
        chips = d3.number_input("Chips (0 = the fewest that reach it)", min_value=0, max_value=100_000, value=0,
                                step=1, key="uc_chips")
        precision = d4.selectbox("Precision", list(cat.precisions), key="uc_precision")
        e1, e2, e3 = st.columns(3)
        concurrency = e1.number_input("Users at once (0 = the model's choice)", min_value=0, max_value=1_000_000,
                                      value=0, step=1, key="uc_concurrency")
        per_user = e2.number_input("Per-user speed (tok/s, 0 = none)", min_value=0.0, max_value=100_000.0,
                                   value=0.0, key="uc_per_user")
        total = e3.number_input("Total output (tok/s, 0 = none)", min_value=0.0, max_value=1e9, value=0.0,
                                key="uc_total")
        f1, f2, f3, f4 = st.columns(4)
        ratio_of = f1.selectbox("Ratio of", list(RATIOS), format_func=RATIOS.get, key="uc_ratio_of")
        baseline = f2.selectbox("Baseline chip", ["", *cat.accelerators], key="uc_baseline",
                                format_func=lambda c: c or "(none)")
        baseline_chips = f3.number_input("Baseline chips", min_value=0, max_value=100_000, value=0, step=1,
                                         key="uc_baseline_chips")
        baseline_precision = f4.selectbox("Baseline precision", ["", *cat.precisions], key="uc_baseline_precision",
                                          format_func=lambda p: p or "(same)")
        submitted = st.form_submit_button("Check this claim", icon=":material/fact_check:")
    if not submitted:
        return
    if len(yours) >= claims.MAX_USER_CLAIMS:
        st.error(f"A link carries at most {claims.MAX_USER_CLAIMS} claims of your own; remove some first.")
        return
    form: dict[str, Any] = {"vendor": vendor.strip(), "claim": text.strip(), "url": url.strip(), "date": when,
                            "kind": kind, "claimed": claimed, "bound": bound, "model": model, "accelerator": chip,
                            "chips": int(chips), "precision": precision, "concurrency": int(concurrency),
                            "per_user_tokens_per_s": per_user, "total_output_tokens_per_s": total,
                            "ratio_of": ratio_of, "baseline_accelerator": baseline,
                            "baseline_chips": int(baseline_chips), "baseline_precision": baseline_precision}
    missing = [name for name, value in (("vendor", form["vendor"]), ("the claim", form["claim"]),
                                        ("the claimed number", claimed)) if not value]
    if missing:
        st.error(f"Please give {', '.join(missing)}.", icon=":material/error:")
        return
    layer = claims.user_claim_layer(form, ctx.layer)
    try:
        state.catalog_with_layer(layer)
    except CatalogError as exc:
        show_catalog_error(exc, "Your claim")
        return
    try:
        set_custom_layer(layer)
    except codec.CodecError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")


def _remove(ctx: Context) -> None:
    yours = claims.user_claim_ids(ctx.layer)
    if not yours or not st.button("Remove your claims from the link", icon=":material/delete:", key="uc_remove"):
        return
    layer = {k: v for k, v in (ctx.layer or {}).items() if k != "claims"}
    sources = {k: v for k, v in layer.get("sources", {}).items() if k not in {f"{i}-source" for i in yours}}
    layer = {**layer, "sources": sources} if sources else {k: v for k, v in layer.items() if k != "sources"}
    set_custom_layer(layer if any(layer.values()) else None)


def body(ctx: Context) -> None:
    """The claims page."""
    st.title("Vendor claims, checked")
    st.write("Each claim is quoted with its source and date, stated as the scenario it implies, and checked by the "
             "same model as every other page: Holds, Conditional (holds only if something specific is true), "
             "Does not hold, or Can't tell (inside the model's uncertainty, or it cannot size it). Open a "
             "claim's scenario on the sizing page with its link.")
    files = state.files_for(ctx.layer)
    checks: list[ClaimCheck] = results.all_claim_checks(files)
    yours = set(claims.user_claim_ids(ctx.layer))
    vendors = sorted({c.vendor for c in checks})
    chosen = st.multiselect("Vendors", vendors, key="claims_vendors", placeholder="every vendor",
                            bind="query-params")
    shown = [c for c in checks if not chosen or c.vendor in chosen]
    links = {c.id: _link(ctx, c) for c in shown}
    frame = claims_frame(shown, yours, links)
    # Tall enough to show every claim at once (no inner scrolling to miss one).
    text = fmt.table(frame, labels={c: c for c in frame}, reasons={"predicted": "not sized"})
    st.dataframe(text, hide_index=True, width="stretch", height=38 + 35 * max(len(frame), 1), key="claims_table",
                 column_config={
        "id": st.column_config.TextColumn("ID", pinned=True),
        "claimed": st.column_config.TextColumn("Claimed"),
        "predicted": st.column_config.TextColumn("Model", help="What the model finds, in the claim's unit."),
        "unit": st.column_config.TextColumn("Unit"), "vendor": st.column_config.TextColumn("Vendor"),
        "date": st.column_config.TextColumn("Date"), "kind": st.column_config.TextColumn("Kind"),
        "source": st.column_config.TextColumn("Source"),
        "yours": st.column_config.CheckboxColumn("Yours"),
        "scenario": st.column_config.LinkColumn("Scenario", display_text="open on the sizing page"),
        "status": st.column_config.TextColumn("Verdict"),
        "verdict": st.column_config.TextColumn("In words", width="medium"),
        "claim": st.column_config.TextColumn("Claim", width="medium"),
    })
    st.caption(f"{len(shown)} of {len(checks)} claims. `python -m calculators claims --json` lists the same "
               "verdicts with every field.")
    st.download_button("Download the claims (CSV)",
                       data=export.claims_csv(shown, scenario=ctx.csv_scenario(), catalog=ctx.catalog),
                       file_name="rackscale-claims.csv", mime="text/csv", on_click="ignore", key="dl_claims",
                       icon=":material/download:", help="The claims shown, every field, with their sources.")
    for c in shown:
        _box(c, c.id in yours)
    st.header("Your own claim")
    st.caption("Your claim is checked like the registry's and travels in this page's link (the sidebar's share "
               "box), like a chip you add on the Catalog page.")
    _form(ctx)
    _remove(ctx)


run_page(body)
