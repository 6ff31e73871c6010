"""What only a browser shows: pages render, the URL follows the inputs, a link reproduces the numbers."""

from __future__ import annotations

import pytest

from tests.appserver import open_page, wait_idle

pytestmark = pytest.mark.browser

PATHS = ["", "size", "frontier", "sensitivity", "catalog", "method"]


def test_every_page_renders_without_an_exception(page, app_url):
    """Each page loads in Chromium with no exception element and no error box."""
    for path in PATHS:
        open_page(page, f"{app_url}/{path}")
        assert page.locator('[data-testid="stException"]').count() == 0, path
        assert page.locator('[data-testid="stMain"] h1').count() >= 1, path


def _main_numbers(pg) -> list[str]:
    """The visible numbers a user would compare: metric values, then the main area's text."""
    metrics = pg.locator('[data-testid="stMetricValue"]').all_inner_texts()
    return [*metrics, pg.locator('[data-testid="stMain"]').inner_text()]


def test_changing_an_input_updates_the_url_and_the_link_reproduces_it(browser, page, app_url):
    """Typing a new per-user speed writes it to the URL; that URL in a new context shows the same numbers."""
    open_page(page, f"{app_url}/size")
    box = page.get_by_role("spinbutton", name="Per-user speed (tok/s)")
    box.fill("321.5")
    box.press("Enter")
    page.wait_for_function("() => location.search.includes('per_user_tokens_per_s=321.5')", timeout=15_000)
    wait_idle(page)
    url = page.url
    assert "v=1" in url
    share = page.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text()
    assert "per_user_tokens_per_s=321.5" in share
    before = _main_numbers(page)

    fresh = browser.new_context()
    try:
        other = fresh.new_page()
        open_page(other, url)
        assert other.get_by_role("spinbutton", name="Per-user speed (tok/s)").input_value() == "321.5"
        assert _main_numbers(other) == before
    finally:
        fresh.close()


def test_a_malformed_link_opens_with_a_notice(page, app_url):
    """A link with bad parameters opens with one warning naming them, and no exception."""
    open_page(page, f"{app_url}/?pue=abc&gpu=%3Cscript%3E&zzz=1")
    alert = page.locator('[data-testid="stAlertContentWarning"]')
    assert alert.count() == 1
    text = alert.inner_text()
    assert "pue" in text and "gpu" in text and "zzz" in text
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "pue=" not in page.url


def test_scenario_survives_a_page_switch(page, app_url):
    """Moving to another page through the navigation keeps the scenario's parameters in the URL and the inputs."""
    open_page(page, f"{app_url}/size?v=1&per_user_tokens_per_s=250&accelerators=sn40l&accelerators=b200")
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Catalog", exact=True).click()
    page.wait_for_function("() => location.pathname.endsWith('/catalog')", timeout=15_000)
    wait_idle(page)
    assert "per_user_tokens_per_s=250" in page.url and "accelerators=sn40l" in page.url
    assert page.get_by_role("spinbutton", name="Per-user speed (tok/s)").input_value() == "250.0"


def test_landing_page_answers_above_the_fold(browser, app_url):
    """At 1400x900 the landing page shows one sentence per side (racks, power, $/M tokens) and all five verdict
    badges before the first 900 px, and no table scrolls inside itself."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        pg = context.new_page()
        open_page(pg, app_url)
        answer = pg.locator(".st-key-answer")
        text = answer.inner_text()
        for side in ("SambaNova", "GPU side"):
            line = next(x for x in text.splitlines() if x.startswith(side))
            assert "rack" in line and "W at the facility" in line and "per million output tokens" in line, line
        badges = pg.locator(".st-key-verdict_badges [data-testid='stMarkdownContainer']")
        assert badges.count() == 5
        box = pg.locator(".st-key-verdict_badges").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, box
        for grid in pg.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').all():
            rows = int(grid.locator('[role="grid"]').first.get_attribute("aria-rowcount") or 0)
            assert grid.bounding_box()["height"] >= 35 * rows, (rows, grid.bounding_box())
        values = pg.locator('[data-testid="stMetricValue"]')
        assert values.count() >= 4
        clipped = [v.inner_text() for v in values.all() if v.evaluate(
            "e => [e, ...e.querySelectorAll('*')].some(n => n.scrollWidth > n.clientWidth + 1)")]
        assert not clipped, clipped
    finally:
        context.close()
