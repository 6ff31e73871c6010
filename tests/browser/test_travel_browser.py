"""Everything travels (issue 17): a chip added on the Catalog page and a claim added on the Claims page, plus a
page-local setting, stay in the URL and the share link on every page reached through the sidebar, and the chip
joins "Chips to compare"."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from calculators import default_catalog
from tests.appserver import open_page, wait_idle

pytestmark = pytest.mark.browser

PAGES = ["Size a deployment", "Claims", "Speed vs throughput", "Sensitivity", "Catalog", "Method and validation",
         "The claim"]
CHIP = "my-sn40l"


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def _share(pg) -> str:
    return pg.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().replace("\n", "").strip()


def _add_chip(pg) -> None:
    chip = default_catalog().accelerators["sn40l"].model_dump(mode="json", exclude_none=True)
    chip.update(id=CHIP, name="My SN40L")
    good = yaml.safe_dump({"accelerators": [chip]}).encode()
    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "mine.yaml", "mimeType": "application/x-yaml", "buffer": good}])
    pg.get_by_role("button", name="Use these entries in this scenario").click()
    pg.wait_for_function(f"() => location.search.includes('accelerators={CHIP}')", timeout=30_000)
    wait_idle(pg)


def _add_claim(pg) -> None:
    form = pg.locator('[data-testid="stForm"]')
    form.get_by_role("textbox", name="Vendor").fill("Acme Silicon")
    form.get_by_role("textbox", name="The claim, word for word").fill("A million tokens per second per user")
    claimed = form.get_by_role("spinbutton", name="Claimed number")
    claimed.fill("1000000")
    claimed.press("Tab")
    before = _query(pg.url)["custom"]
    form.get_by_role("button", name="Check this claim").click()
    pg.wait_for_function(f"() => !location.search.includes({before[0]!r})", timeout=30_000)
    wait_idle(pg)


def _go(pg, title: str) -> None:
    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    pg.wait_for_timeout(500)
    wait_idle(pg)


def test_custom_chip_claim_and_page_settings_survive_every_page_switch(page, app_url):
    """Add a chip (Catalog) and a claim (Claims), pick per-rack on the frontier page and larger replica shapes on the
    sizing page, then visit every page: the URL and the share link keep the same ``custom`` layer, the chip among
    the compared chips and both page settings; no page warns about an unknown id."""
    open_page(page, f"{app_url}/catalog")
    _add_chip(page)
    assert CHIP in _query(page.url)["accelerators"], "an added chip joins 'Chips to compare'"
    _go(page, "Claims")
    assert "custom" in _query(page.url), "the chip's layer was dropped by the page switch"
    _add_claim(page)
    custom = _query(page.url)["custom"]
    _go(page, "Speed vs throughput")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Output tok/s per rack", exact=True).click()
    page.wait_for_function("() => location.search.includes('frontier_metric=')", timeout=20_000)
    wait_idle(page)
    metric = _query(page.url)["frontier_metric"]
    _go(page, "Size a deployment")
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Larger, assumed", exact=True).click()
    page.wait_for_function("() => location.search.includes('size_topology=')", timeout=20_000)
    wait_idle(page)
    assert _query(page.url)["size_topology"] == ["Larger, assumed"]

    for title in PAGES:
        _go(page, title)
        url, share = _query(page.url), _query(_share(page))
        for where, q in (("URL", url), ("share link", share)):
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
