"""Size a deployment: placeholder until the model-driven page lands; it reads the shared scenario."""

import streamlit as st

from ui.page import run_page
from ui.scenario import Context


def body(ctx: Context) -> None:
    """Coming soon: shows the scenario this page will compute."""
    st.title("Size a deployment")
    st.write("Chips, racks, megawatts and dollars for your targets, chip by chip.")
    st.info("Coming soon: this page is being built on the calculators.", icon=":material/construction:")
    st.json(ctx.scenario.as_dict(), expanded=False)


run_page(body)
