"""What the market charges beside what the hardware costs: the catalog's public API list prices for a model, shown
on the Size and claim pages by one call (:func:`show_market_prices`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from calculators.records import Catalog
from ui import export, tables
from ui import format as fmt
from ui.format import escape_markdown

PRICE_COLUMNS = {
    "provider": st.column_config.TextColumn("Provider", pinned=True),
    "offering": st.column_config.TextColumn("Offering"),
    "usd_per_million_input_tokens": st.column_config.TextColumn("$ per M input tokens"),
    "usd_per_million_output_tokens": st.column_config.TextColumn("$ per M output tokens"),
    "output_tokens_per_s": st.column_config.TextColumn("Advertised tok/s per user",
                                                       help="Only where the provider states one."),
    "kind": st.column_config.TextColumn("Kind", help="vendor-spec: read on the provider's own page; third-party: "
                                                     "relayed by a gateway or price aggregator."),
    "date": st.column_config.TextColumn("Read on"),
    "source_url": st.column_config.LinkColumn("Source"),
}


def show_market_prices(catalog: Catalog, model: str, *, modelled_usd_per_million: float | None = None,
                       modelled_label: str = "", key: str = "market_prices",
                       scenario: Mapping[str, Any] | None = None) -> None:
    """A sourced, dated table of public API list prices for ``model``, and (given) the modelled hardware cost per
    million output tokens beside them, with a CSV download (``scenario`` goes in its header; default: the model)."""
    frame = tables.api_prices_frame(catalog, model)
    st.subheader("What the market charges")
    if frame.empty:
        st.caption(f"The catalog has no public API prices for {escape_markdown(model)}.")
        return
    low, high = frame["usd_per_million_output_tokens"].min(), frame["usd_per_million_output_tokens"].max()
    beside = ""
    if modelled_usd_per_million is not None:
        label = f" for {escape_markdown(modelled_label)}" if modelled_label else ""
        beside = (f" The model's hardware cost here{label}"
                  f" is {fmt.usd_per_million_tokens(modelled_usd_per_million)} "
                  "(hardware and energy only: no margin, staff, idle capacity or prefill pricing).")
    st.write(f"Public list prices for {escape_markdown(model)} from {frame['provider'].nunique()} providers: "
             f"{fmt.usd(low)} to {fmt.usd(high)} per million output tokens."
             + beside)
    shown = fmt.table(frame[[c for c in PRICE_COLUMNS if c in frame]], labels={c: c for c in PRICE_COLUMNS},
                      formats={"usd_per_million_input_tokens": fmt.usd, "usd_per_million_output_tokens": fmt.usd},
                      reasons={"output_tokens_per_s": "not stated", "usd_per_million_input_tokens": "not listed",
                               "offering": "not named", "kind": "not stated", "date": "not dated"})
    st.dataframe(shown, hide_index=True, width="stretch",
                 height=tables.full_height(len(frame)), column_config=PRICE_COLUMNS, key=key)
    st.download_button("Download the prices (CSV)",
                       data=export.api_prices_csv(catalog, model, scenario=scenario or {"model": model}),
                       file_name="rackscale-market-prices.csv", mime="text/csv", on_click="ignore",
                       key=f"dl_{key}", icon=":material/download:")
    st.caption("List prices change often and exclude discounts (off-peak, batch, cache hits); each row says the "
               "day it was read. They include the provider's margin and idle capacity, so they sit above a "
               "hardware-only cost.")
