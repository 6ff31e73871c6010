"""Rackscale's Streamlit entry point."""

import pandas as pd
import streamlit as st

from calculators import CatalogError, default_catalog

st.set_page_config(page_title="Rackscale", layout="wide")
st.title("Rackscale")
try:
    catalog = default_catalog()
except CatalogError as exc:
    st.error(f"The shipped catalog is invalid:\n\n{exc}")
    st.stop()
rows = [
    {"id": a.id, "vendor": a.vendor, "name": a.name, "memory_gb": sum(t.capacity_gb.value for t in a.memory_tiers)}
    for a in catalog.accelerators.values()
]
st.dataframe(pd.DataFrame(rows), hide_index=True)
