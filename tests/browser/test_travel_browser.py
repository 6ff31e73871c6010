"""Everything travels (issue 17): a chip added on the Catalog page and a claim added on the Claims page, plus a
page-local setting, stay in the URL and the share link on every page reached through the sidebar, and the chip
joins "Chips to compare"."""

from __future__ import annotations

import pytest

from tests.appserver import open_page, wait_idle
from tests.browser.steps import CHIP, add_chip, add_claim, go, query, share

pytestmark = pytest.mark.browser

PAGES = ["Size a deployment", "Claims", "Speed vs throughput", "Sensitivity", "Catalog", "Method and validation",
         "The claim"]


def test_custom_chip_claim_and_page_settings_survive_every_page_switch(page, app_url):
    """Add a chip (Catalog) and a claim (Claims), pick per-rack on the frontier page and larger replica shapes on the
    sizing page, then visit every page: the URL and the share link keep the same ``custom`` layer, the chip among
    the compared chips and both page settings; no page warns about an unknown id."""
    open_page(page, f"{app_url}/catalog")
    add_chip(page)
    assert CHIP in query(page.url)["accelerators"], "an added chip joins 'Chips to compare'"
    go(page, "Claims")
    assert "custom" in query(page.url), "the chip's layer was dropped by the page switch"
    add_claim(page)
    custom = query(page.url)["custom"]
    go(page, "Speed vs throughput")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Output tok/s per rack", exact=True).click()
    page.wait_for_function("() => location.search.includes('frontier_metric=')", timeout=20_000)
    wait_idle(page)
    metric = query(page.url)["frontier_metric"]
    go(page, "Size a deployment")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Larger, assumed", exact=True).click()
    page.wait_for_function("() => location.search.includes('size_topology=')", timeout=20_000)
    wait_idle(page)
    assert query(page.url)["size_topology"] == ["Larger, assumed"]

    for title in PAGES:
        go(page, title)
        url, link = query(page.url), query(share(page))
        for where, q in (("URL", url), ("share link", link)):
            assert q.get("custom") == custom, (title, where, "custom")
            assert CHIP in q.get("accelerators", []), (title, where, "accelerators")
            assert q.get("frontier_metric") == metric, (title, where, "frontier_metric")
            assert q.get("size_topology") == ["Larger, assumed"], (title, where, "size_topology")
            assert q.get("v") == ["1"], (title, where, "v")
        main = page.locator('[data-testid="stMain"]').inner_text()
        assert "unknown id" not in main, title
        assert page.locator('[data-testid="stException"]').count() == 0, title
        assert page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').get_by_text(CHIP).count(), \
            title
