"""The Claims page, the user-claim form and the stakeholder report in Chromium: filtering, a claim that survives a
link into a fresh browser, and a report downloaded from the landing page that opens offline with the numbers the
page showed."""

from __future__ import annotations

import dataclasses

import pytest

from calculators import default_catalog
from tests.appserver import open_page, wait_idle
from tests.browser.steps import add_claim
from ui.claims import story_checks
from ui.params import default_scenario

pytestmark = pytest.mark.browser
CATALOG = default_catalog()
CLAIMS = CATALOG.claims


def _grid_text(pg, nth: int = 0) -> str:
    table = pg.locator('[data-testid="stDataFrame"]').nth(nth).locator("table").first
    table.wait_for(state="attached", timeout=20_000)
    return table.inner_text()


def test_claims_page_lists_every_claim_and_filters_by_vendor(page, app_url):
    """Every registry id is in the table; picking one vendor leaves only that vendor's claims."""
    open_page(page, f"{app_url}/claims")
    text = _grid_text(page)
    missing = [i for i in CLAIMS if i not in text]
    assert not missing, missing
    page.locator('[data-testid="stMultiSelect"]').filter(has_text="Vendors").click()
    page.get_by_role("option", name="Cerebras").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    page.wait_for_function("() => !(document.querySelector('[data-testid=\"stDataFrame\"] table')?.innerText || '')"
                           ".includes('nvidia-')", timeout=20_000)
    text = _grid_text(page)
    assert all((i in text) == (c.vendor == "Cerebras") for i, c in CLAIMS.items())


def test_user_claim_round_trips_through_a_link(browser, page, app_url):
    """A claim entered in the form is checked, its link carries it, and a fresh browser opening the link sees it."""
    open_page(page, f"{app_url}/claims")
    add_claim(page)
    page.get_by_text("(your claim)").first.wait_for(timeout=20_000)
    url = page.url
    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        open_page(other, url)
        other.get_by_text("(your claim)").first.wait_for(timeout=20_000)
        assert "A million tokens per second per user" in other.locator('[data-testid="stMain"]').inner_text()
        assert other.locator('[data-testid="stException"]').count() == 0
    finally:
        fresh.close()


def test_report_downloads_from_the_landing_page_and_opens_offline(browser, page, app_url, tmp_path):
    """'Download report' gives one HTML file that opens with the network cut, draws its chart, and holds the
    racks, the verdicts and the share link of the scenario on screen."""
    open_page(page, f"{app_url}/?v=1&gpu=b200&per_user_tokens_per_s=150")
    racks = [v for label, v in zip(page.locator('[data-testid="stMetricLabel"]').all_inner_texts(),
                                   page.locator('[data-testid="stMetricValue"]').all_inner_texts(), strict=True)
             if label.strip() == "Racks"]
    verdict_text = page.locator('[data-testid="stMain"]').inner_text()
    share = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().strip()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download report").click()
    download = info.value
    assert download.suggested_filename == "rackscale-report.html"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    offline = browser.new_context(offline=True)
    try:
        report = offline.new_page()
        requests: list[str] = []
        report.on("request", lambda r: requests.append(r.url))
        report.goto(path.as_uri())
        report.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        text = report.locator("body").inner_text()
        # coloured series (never Streamlit's placeholder colorway #000001...) and nothing wider than the window
        colours = report.evaluate("() => document.querySelector('.js-plotly-plot').data"
                                  ".filter(t => t.mode === 'lines+markers').map(t => t.line.color)")
        fits = report.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        report.emulate_media(media="print")
        report.set_viewport_size({"width": 680, "height": 900})  # A4 less 15 mm margins at 96 dpi
        tables_fit = report.evaluate("() => [...document.querySelectorAll('table')].every(t => t.scrollWidth <= 680)")
    finally:
        offline.close()
    assert all(u.startswith("file:") or u.startswith("data:") for u in requests), requests
    assert len(colours) == 2 and len(set(colours)) == 2 and not any(c.startswith("#0000") for c in colours), colours
    assert fits and tables_fit
    assert len(racks) == 2 and all(r in text for r in racks)
    assert "150 tok/s per user" in text and share in text.replace("\n", "")
    scenario = dataclasses.replace(default_scenario(CATALOG), gpu="b200", per_user_tokens_per_s=150.0)
    verdicts = [c.verdict for _, c in story_checks(CATALOG, scenario)]
    assert len(verdicts) >= 5
    assert all(v in verdict_text for v in verdicts), verdict_text  # what the page showed ...
    assert all(v in text for v in verdicts), verdicts  # ... is in the report
