"""Rackscale's calculators: the catalog loader and the performance, sizing and cost model.

Pure Python with no UI import: usable as a library, from the command line (``python -m calculators``) and by the
Streamlit app, which all call the same functions.
"""

from calculators.catalog import catalog_from_texts, default_catalog, load_catalog
from calculators.errors import CatalogError, RackscaleError, ScenarioError

__all__ = ["CatalogError", "RackscaleError", "ScenarioError", "catalog_from_texts", "default_catalog", "load_catalog"]
