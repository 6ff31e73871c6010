"""The catalog page in Chromium: all twenty accelerators visible, and a CSV download that parses."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from calculators import default_catalog
from tests.appserver import open_page, wait_idle

pytestmark = pytest.mark.browser

ACCELERATORS = ["h100-sxm", "h800-sxm", "h20", "h200-sxm", "b200", "b300", "gb200", "gb300", "mi300x", "mi325x",
                "mi355x", "gaudi3", "tpu-v5e", "tpu-v5p", "tpu-v6e", "tpu7x", "trainium2", "sn40l", "groq-lpu",
                "cerebras-wse3"]


def _grid_cells(pg) -> set[str]:
    table = pg.locator('[data-testid="stDataFrame"] table').first
    table.wait_for(state="attached", timeout=20_000)
    pg.wait_for_function(
        "() => (document.querySelector('[data-testid=\"stDataFrame\"] table')?.innerText || '')"
        ".includes('cerebras-wse3')", timeout=20_000)
    return {t.strip() for t in table.locator("td, th").all_inner_texts()}


def test_catalog_table_shows_all_twenty_accelerators(page, app_url):
    """The accelerators table lists each of the twenty ids the foundation issue requires."""
    open_page(page, f"{app_url}/catalog")
    cells = _grid_cells(page)
    missing = [a for a in ACCELERATORS if a not in cells]
    assert not missing, missing


def test_csv_download_arrives_and_parses(page, app_url):
    """The accelerators CSV downloads, has the provenance header and parses with one row per chip."""
    open_page(page, f"{app_url}/catalog")
    with page.expect_download(timeout=20_000) as info:
        page.get_by_role("button", name="Download accelerators (CSV)").click()
    download = info.value
    assert download.suggested_filename == "rackscale-accelerators.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("# Rackscale export: accelerators")
    assert "# app_version: " in text and "# sources:" in text
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert set(ACCELERATORS) <= set(frame["id"]) and "hbm_bandwidth_gb_s" in frame.columns


def test_uploaded_catalog_is_validated_and_joins_the_link(page, app_url):
    """A bad upload lists 'file:line:' problems; a good one, once used, puts the chip in the link's custom param."""
    open_page(page, f"{app_url}/catalog")
    dropzone = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    bad = b"accelerators:\n  - id: my-chip\n    vendor: Me\n"
    dropzone.set_input_files(files=[{"name": "mine.yaml", "mimeType": "application/x-yaml", "buffer": bad}])
    page.get_by_text("mine.yaml:2: accelerators[my-chip].name: missing field").wait_for(timeout=20_000)
    chip = default_catalog().accelerators["sn40l"].model_dump(mode="json", exclude_none=True)
    chip["id"] = "my-sn40l"
    good = yaml.safe_dump({"accelerators": [chip]}).encode()
    dropzone.set_input_files(files=[{"name": "ok.yaml", "mimeType": "application/x-yaml", "buffer": good}])
    page.get_by_role("button", name="Use these entries in this scenario").click()
    page.wait_for_function("() => location.search.includes('custom=c1.')", timeout=20_000)
    wait_idle(page)
    page.get_by_text("Your entries in this scenario's link: my-sn40l").wait_for(timeout=20_000)
    assert page.locator('[data-testid="stException"]').count() == 0
