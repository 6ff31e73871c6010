"""Rackscale's Streamlit entry point: page config, the shared scenario sidebar and navigation. Nothing else.

Layering: ``calculators`` (pure, no Streamlit) <- ``ui`` (widgets, pages, formatting, exports) <- this file.
"""

import logging
from pathlib import Path

import streamlit as st

from calculators.errors import CatalogError
from ui.page import show_catalog_error
from ui.scenario import remember, sidebar

# a local file: an emoji or :material: icon makes the browser fetch the favicon from a CDN (fails offline)
PAGE_ICON = Path(__file__).parent / "ui" / "static" / "rackscale-icon.png"
st.set_page_config(page_title="Rackscale", page_icon=str(PAGE_ICON), layout="wide")

PAGES = [
    st.Page("ui/pages/claim.py", title="The claim", icon=":material/gavel:", default=True),
    st.Page("ui/pages/size.py", title="Size a deployment", icon=":material/calculate:"),
    st.Page("ui/pages/claims.py", title="Claims", icon=":material/fact_check:"),
    st.Page("ui/pages/frontier.py", title="Speed vs throughput", icon=":material/show_chart:"),
    st.Page("ui/pages/sensitivity.py", title="Sensitivity", icon=":material/tune:"),
    st.Page("ui/pages/catalog.py", title="Catalog", icon=":material/inventory_2:"),
    st.Page("ui/pages/method.py", title="Method and validation", icon=":material/functions:"),
]

page = st.navigation(PAGES)
try:
    sidebar()
except CatalogError as exc:
    show_catalog_error(exc, "The shipped catalog")
    st.stop()
except Exception as exc:  # noqa: BLE001 - never show a traceback; the log has it
    logging.getLogger("rackscale.ui").exception("scenario sidebar failed")
    st.error(f"The scenario could not be read ({type(exc).__name__}). Open the app without parameters to start over.")
    st.stop()
page.run()
remember()  # after the page: its widgets decide which of their parameters stay in the URL
