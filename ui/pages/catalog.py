"""Catalog page (placeholder, replaced below)."""

import streamlit as st

st.title("Catalog")
