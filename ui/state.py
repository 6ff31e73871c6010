"""The catalog the app works on: the shipped files plus the user's layer from the link, cached on their bytes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from calculators.catalog import catalog_from_texts, read_files, shipped_catalog_files
from calculators.records import Catalog
from ui import codec

LINK_LAYER_NAME = "link"


def shipped_texts() -> tuple[tuple[str, bytes], ...]:
    """The shipped catalog files as (name, bytes), named by file name so messages stay short."""
    return tuple((path.name, data) for path, (_, data) in
                 zip(shipped_catalog_files(), read_files(shipped_catalog_files()), strict=True))


@st.cache_resource(max_entries=64, show_spinner=False)
def catalog_from_files(files: tuple[tuple[str, bytes], ...]) -> Catalog:
    """Validate and merge catalog files (cached on the exact bytes); raises CatalogError listing every problem.

    A resource cache, not a data cache: every caller gets the same Catalog object (its records are frozen), so what
    the calculators keep in its memo (``catalog.memo``: the validation evidence and uncertainty bands,
    ``calculators.validation.validate_cached``) is computed once per catalog instead of on every call, as it was
    not when each call got a fresh unpickled copy (an unpickled catalog starts with an empty memo)."""
    return catalog_from_texts(list(files))


def shipped_catalog() -> Catalog:
    """The shipped catalog (raises CatalogError if a shipped file is broken)."""
    return catalog_from_files(shipped_texts())


def layer_file(layer: dict[str, Any]) -> tuple[str, bytes]:
    """The user's layer as a named catalog file for the loader."""
    return LINK_LAYER_NAME, codec.layer_yaml(layer).encode("utf-8")


def catalog_with_layer(layer: dict[str, Any] | None) -> Catalog:
    """The shipped catalog with the user's layer over it (raises CatalogError naming the layer's problems)."""
    if not layer:
        return shipped_catalog()
    return catalog_from_files((*shipped_texts(), layer_file(layer)))


def files_for(layer: dict[str, Any] | None) -> tuple[tuple[str, bytes], ...]:
    """The catalog files behind a context (shipped + the user's layer): a cache key for expensive results."""
    return (*shipped_texts(), layer_file(layer)) if layer else shipped_texts()


@st.cache_data(show_spinner=False, max_entries=8)
def engine_evidence_table(files: tuple[tuple[str, bytes], ...]) -> pd.DataFrame:
    """``calculators.validation.engine_evidence`` for these catalog files, one row per engine."""
    from calculators.validation import engine_evidence_by_id

    rows = [e.to_dict() for e in engine_evidence_by_id(catalog_from_files(files)).values()]
    for r in rows:
        r["accelerators"] = ", ".join(r["accelerators"]) or "(none by default)"
        r["calibrate_points"] = len(r["calibrate_points"])
        r["test_points"] = len(r["test_points"])
    return pd.DataFrame(rows)


@st.cache_data(max_entries=8, show_spinner="Leaving each source out and re-solving the engines' numbers…")
def cross_validation_table(files: tuple[tuple[str, bytes], ...]) -> pd.DataFrame:
    """``calculators.crossval.summarise`` of the leave-one-source-out validation of these catalog files: per regime
    and chip class, count, median and p90 |error| (computed once per catalog: ``crossval.cross_validated``)."""
    from calculators.crossval import REGIMES, cross_validated, summarise

    rows = [s.to_dict() for s in summarise(cross_validated(catalog_from_files(files)))]
    for r in rows:
        r["regime"] = "overall" if r["regime"] == "all" else REGIMES[r["regime"]]
    return pd.DataFrame(rows)


@st.cache_data(max_entries=16, show_spinner="Comparing the model with published measurements…")
def validation_table(files: tuple[tuple[str, bytes], ...]) -> pd.DataFrame:
    """``calculators.validation.validate`` on these catalog files, as a frame (cached on the files' bytes)."""
    from calculators.validation import validate, validation_frame

    return validation_frame(validate(catalog_from_files(files)))
