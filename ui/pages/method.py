"""Method page (placeholder, replaced below)."""

import streamlit as st

st.title("Method and validation")
