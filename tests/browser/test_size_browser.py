"""The default Size page in Chromium: every default chip is in the ranked table (what a stakeholder opening the
'Size a deployment' link sees)."""

from __future__ import annotations

import pytest

from calculators import default_catalog
from tests.appserver import open_page
from ui.params import default_scenario

pytestmark = pytest.mark.browser


def test_default_size_page_lists_all_eight_chips(page, app_url):
    """With no parameters the ranked comparison grid has a row for each of the default chips, by name."""
    catalog = default_catalog()
    ids = default_scenario(catalog).accelerators
    assert len(ids) == 8
    chips = [catalog.accelerators[c].name for c in ids]
    open_page(page, f"{app_url}/size")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    missing = list(chips)
    for _ in range(60):  # the grid's accessible cells fill in after the canvas draws: poll up to ~30 s
        cells = " ".join(grid.locator('[role="gridcell"]').all_inner_texts())
        missing = [c for c in chips if c not in cells]
        if not missing:
            break
        page.wait_for_timeout(500)
    assert not missing, missing
    assert page.locator('[data-testid="stException"]').count() == 0
