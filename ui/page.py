"""Running a page body so that no traceback ever reaches the browser."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from calculators.errors import CatalogError, ScenarioError
from ui.format import escape_markdown
from ui.scenario import Context, current

_LOG = logging.getLogger("rackscale.ui")

VERDICT_BADGE = {"holds": ("green", ":material/check_circle:"), "conditional": ("orange", ":material/rule:"),
                 "fails": ("red", ":material/cancel:"), "unknown": ("gray", ":material/help:")}
"""Badge colour and icon of each claim status, the same on the landing page, the Claims page and the report."""


def verdict_box(check, heading: str, source: str) -> None:
    """One checked claim: ``heading`` (markdown the caller has escaped), its verdict badge, the finding, what it
    hinges on, any note and ``source`` (escaped here)."""
    colour, icon = VERDICT_BADGE[check.status]
    with st.container(border=True):
        st.markdown(heading)
        st.badge(check.verdict, color=colour, icon=icon)
        st.write(escape_markdown(check.finding))
        if check.hinges:
            st.caption("Hinges on: " + " ".join(escape_markdown(h) for h in check.hinges))
        if check.note:
            st.caption(escape_markdown(check.note))
        st.caption(f"Source: {escape_markdown(source)}")


def show_catalog_error(exc: CatalogError, what: str = "The catalog") -> None:
    """Every catalog problem as a ``file:line: field: message`` line, rendered as plain text."""
    st.error(f"{escape_markdown(what)} has {len(exc.problems)} problem(s):", icon=":material/error:")
    st.code("\n".join(str(p) for p in exc.problems), language=None, wrap_lines=True)


def run_page(body: Callable[[Context], None]) -> None:
    """Run ``body(context)``; expected errors become messages saying what and where, others a short error."""
    try:
        body(current())
    except CatalogError as exc:
        show_catalog_error(exc)
    except ScenarioError as exc:
        st.error(f"This scenario cannot be computed: {escape_markdown(str(exc))}", icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - the last line of defence: log the traceback, show a message
        _LOG.exception("page failed")
        st.error(f"Something went wrong on this page ({type(exc).__name__}): {escape_markdown(str(exc))}. "
                 "The details are in the server log.", icon=":material/error:")
