"""Catalog page: every chip, system and model with each number's source, date and kind; add, edit or upload chips.

User entries are validated by the same loader as the shipped YAML files (layered over them, errors shown as
``file:line: field: message``), then carried in the link's ``custom`` parameter so a shared link brings them along.
The shipped files are never written.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
import yaml

from calculators.catalog import catalog_from_texts
from calculators.errors import CatalogError
from ui import codec, export, params, state, tables
from ui import format as fmt
from ui.format import escape_markdown
from ui.page import run_page, show_catalog_error
from ui.scenario import Context, set_custom_layer

MAX_UPLOAD_BYTES = 200_000
MAX_EDIT_CHARS = 100_000
ALL = params.ALL_CHIPS


def _download(frame: pd.DataFrame, ctx: Context, name: str, title: str, key: str) -> None:
    ids = export.sources_used(ctx.catalog, accelerators=ctx.catalog.accelerators, models=ctx.catalog.models)
    st.download_button(
        f"Download {title} (CSV)", data=export.to_csv(frame, title=title, scenario=ctx.csv_scenario(),
                                                       catalog=ctx.catalog, source_ids=ids),
        file_name=f"rackscale-{name}.csv", mime="text/csv", on_click="ignore", key=key,
        icon=":material/download:",
    )


def _link_column(frame: pd.DataFrame, column: str) -> dict[str, Any]:
    return {column: st.column_config.LinkColumn(column)} if column in frame else {}


def _tables(ctx: Context) -> None:
    chips, systems, models = (tables.accelerators_frame(ctx.catalog), tables.systems_frame(ctx.catalog),
                              tables.models_frame(ctx.catalog))
    tab_chips, tab_systems, tab_models, tab_prov, tab_sources = st.tabs(
        ["Accelerators", "Systems", "Models", "Where each number comes from", "Sources"])
    with tab_chips:
        st.caption(f"{len(chips)} accelerators. Peak FLOP/s are dense (never sparse); link bandwidths are per "
                   f"direction. \"{tables.MISSING}\" marks a number the chip does not have or nobody publishes: "
                   "hover the column's name for which chips and why. Open the provenance tab for each number's "
                   "source, date and kind.")
        # Tall enough to show every chip at once (no inner scrolling to miss one).
        # "—" for a gap (never "None"); the column's hover names the chips with a gap and why
        helps = tables.missing_reasons_by_column(ctx.catalog, chips)
        config: dict[str, Any] = {c: st.column_config.Column(c, help=h) for c, h in helps.items()}
        config["id"] = st.column_config.TextColumn("id", pinned=True)
        st.dataframe(tables.display_frame(chips), hide_index=True,
                     width="stretch", height=38 + 35 * len(chips), key="accelerators_table", column_config=config)
        _download(chips, ctx, "accelerators", "accelerators", "dl_accelerators")
    with tab_systems:
        st.caption(f"{len(systems)} systems: the node and rack each chip ships in.")
        st.dataframe(tables.display_frame(systems), hide_index=True,
                     width="stretch")
        _download(systems, ctx, "systems", "systems", "dl_systems")
    with tab_models:
        st.caption("Models are described by architecture; parameter totals and KV bytes per token are derived "
                   "by the calculators, not typed.")
        st.dataframe(tables.display_frame(models), hide_index=True,
                     width="stretch")
        _download(models, ctx, "models", "models", "dl_models")
    with tab_prov:
        choice = st.selectbox("Show the numbers behind", [ALL, *ctx.catalog.accelerators], key="provenance_chip",
                              bind="query-params",
                              help="One chip with its system, chip class and default engine, or the whole catalog.")
        frame = (tables.provenance_frame(ctx.catalog) if choice == ALL
                 else tables.chip_provenance(ctx.catalog, choice))
        kinds = st.multiselect("Kinds", list(params.PROVENANCE_KINDS), key="provenance_kinds",
                               placeholder="every kind", bind="query-params")
        if kinds:
            frame = frame[frame["kind"].isin(kinds)]
        st.caption(f"{len(frame)} numbers. 'assumption' means nobody could find the number; its note says why.")
        st.dataframe(fmt.table(frame, reasons=tables.PROVENANCE_GAPS), hide_index=True, width="stretch",
                     column_config={fmt.column_label("source_url"): st.column_config.LinkColumn()})
        _download(frame, ctx, "provenance", "provenance", "dl_provenance")
    with tab_sources:
        frame = tables.sources_frame(ctx.catalog)
        st.dataframe(frame, hide_index=True, width="stretch", column_config=_link_column(frame, "url"))
        _download(frame, ctx, "sources", "sources", "dl_sources")


def _template(ctx: Context, chip_id: str) -> str:
    chip = ctx.catalog.accelerators[chip_id].model_dump(mode="python", exclude_none=True)
    body = yaml.safe_dump({"accelerators": [codec._jsonable(chip)]}, sort_keys=False, width=1000)
    return ("# Keep the id to override this chip in your scenario, or change it to add a new chip.\n"
            "# Sections 'systems' and 'sources' may be added too; every number needs a source or a note.\n" + body)


def _validate(ctx: Context, name: str, text: str | bytes) -> dict[str, Any] | None:
    """The entries of ``text`` if they load over the shipped catalog and the current layer, else None (errors shown)."""
    files = [*state.shipped_texts()]
    if ctx.layer:
        files.append(state.layer_file(ctx.layer))
    try:
        catalog_from_texts([*files, (name, text)])
        layer = codec.merge_layers(ctx.layer or {}, codec.layer_from_yaml(
            text.decode("utf-8") if isinstance(text, bytes) else text))
        state.catalog_with_layer(layer)
        codec.encode(layer)
    except CatalogError as exc:
        show_catalog_error(exc, name)
        return None
    except codec.CodecError as exc:
        st.error(escape_markdown(str(exc)), icon=":material/error:")
        return None
    return layer


def _editor(ctx: Context) -> None:
    st.subheader("Add or edit a chip")
    st.write("Start from an existing chip, change what you need and check it: it is validated exactly like a "
             "catalog file. Valid chips join this scenario and travel in its link.")
    start = st.selectbox("Start from", list(ctx.catalog.accelerators), key="edit_start",
                         bind="query-params")
    with st.form("chip_form"):
        text = st.text_area("Chip YAML", value=_template(ctx, start), height=420, key=f"chip_yaml_{start}",
                            max_chars=MAX_EDIT_CHARS)
        submitted = st.form_submit_button("Check and add to this scenario", icon=":material/add:")
    if submitted:
        layer = _validate(ctx, "your chip", text)
        if layer is not None:
            set_custom_layer(layer)


def _upload(ctx: Context) -> None:
    st.subheader("Upload a catalog file")
    st.write("A YAML file in the catalog's format (any sections), layered over the shipped catalog: entries with "
             "an existing id replace it, new ids are added. The shipped files are not changed.")
    upload = st.file_uploader("Catalog YAML", type=["yaml", "yml"], key="catalog_upload",
                              max_upload_size=1)
    if upload is None:
        return
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.error(f"The file is {len(data):,} bytes; the limit is {MAX_UPLOAD_BYTES:,}.", icon=":material/error:")
        return
    layer = _validate(ctx, upload.name, data)
    if layer is not None:
        st.success("The file is valid.", icon=":material/check:")
        if st.button("Use these entries in this scenario", key="use_upload"):
            set_custom_layer(layer)


def _mine(ctx: Context) -> None:
    if not ctx.layer:
        return
    ids = [e.get("id") for e in ctx.layer.get("accelerators", []) if isinstance(e, dict)]
    others = [s for s in ctx.layer if s != "accelerators"]
    st.info("Your entries in this scenario's link: " + escape_markdown(", ".join(map(str, ids)) or "no chips")
            + (f" (plus {escape_markdown(', '.join(others))})" if others else ""), icon=":material/person:")
    if st.button("Remove my entries", key="remove_custom"):
        set_custom_layer(None)


def body(ctx: Context) -> None:
    """The catalog page."""
    st.title("Catalog")
    c = ctx.catalog
    st.write(f"{len(c.accelerators)} accelerators, {len(c.systems)} systems, {len(c.models)} models and "
             f"{len(c.sources)} sources. Every number carries its source, the date it was read and its kind.")
    _mine(ctx)
    header = (f"Rackscale catalog, app version {export.app_version()}\n"
              f"Shared link: {ctx.share_url}")
    st.download_button("Download the catalog (YAML)", data=lambda: export.catalog_yaml(c, header=header),
                       file_name="rackscale-catalog.yaml", mime="application/x-yaml", on_click="ignore",
                       icon=":material/download:", key="dl_catalog_yaml")
    _tables(ctx)
    left, right = st.columns(2)
    with left:
        _editor(ctx)
    with right:
        _upload(ctx)


run_page(body)
