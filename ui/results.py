"""Calculator calls for the pages, cached on hashable arguments (the catalog files' bytes and plain values).

Nothing here computes: each function calls one calculator (``fleet.size``, ``decode.predict``, ``sweep.sweep``,
``assumptions.assumption_ranges``) with the scenario's values and returns its result unchanged. A
:class:`~calculators.errors.ScenarioError` (a chip without the chosen precision, a bad override) is returned as an
:class:`Unavailable` with the calculator's own message, so one chip's problem never hides the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from calculators.assumptions import AssumptionRange, assumption_ranges
from calculators.errors import ScenarioError
from calculators.fleet import Sizing
from calculators.shapes import SHIPPED
from ui import compute
from ui.compute import Files, Overrides, Targets, Unavailable, targets  # noqa: F401 - the pages' names
from ui.params import Scenario
from ui.state import catalog_from_files


@st.cache_data(max_entries=2048, show_spinner=False)
def sizing(files: Files, t: Targets, accelerator: str, precision: str,
           extra: Overrides = (), topology: str = SHIPPED) -> Sizing | Unavailable:
    """``calculators.fleet.size`` for one chip (:func:`ui.compute.size_chip`, cached on the files' bytes);
    ``topology`` is the replica shape (``shipped`` by the vendor, or a larger ``assumed`` one)."""
    return compute.size_chip(catalog_from_files(files), t, accelerator, precision, extra, topology)


@st.cache_data(max_entries=64, show_spinner="Sweeping batch sizes and layouts…")
def sweep_frame(files: Files, t: Targets, accelerators: tuple[str, ...],
                precision: str) -> tuple[pd.DataFrame, tuple[Unavailable, ...]]:
    """``calculators.sweep.sweep`` for the chips that support ``precision`` (:func:`ui.compute.sweep_chips`)."""
    return compute.sweep_chips(catalog_from_files(files), t, accelerators, precision)


@st.cache_data(max_entries=64, show_spinner=False)
def ranges(files: Files, accelerator: str, engine: str | None) -> list[AssumptionRange] | Unavailable:
    """``calculators.assumptions.assumption_ranges`` for one chip."""
    try:
        return assumption_ranges(catalog_from_files(files), accelerator, engine=engine)
    except ScenarioError as exc:
        return Unavailable(accelerator, str(exc))


@st.cache_data(max_entries=64, show_spinner="Checking the claims…")
def story_checks(files: Files, scenario: Scenario) -> list:
    """:func:`ui.claims.story_checks`: the landing page's story claims checked for this scenario."""
    from ui.claims import story_checks as check

    return check(catalog_from_files(files), scenario)


@st.cache_data(max_entries=16, show_spinner="Checking the claims…")
def all_claim_checks(files: Files) -> list:
    """``calculators.claims.check_claims`` on every claim of these catalog files, as the registry states them."""
    from calculators.claims import check_claims

    return check_claims(catalog_from_files(files))


def sizings(files: Files, t: Targets, accelerators: Sequence[str], precision: str,
            topology: str = SHIPPED) -> dict[str, Sizing | Unavailable]:
    """:func:`sizing` for each chip, in order."""
    return {chip: sizing(files, t, chip, precision, topology=topology) for chip in accelerators}
