"""Issue 17's inputs in Chromium: a TTFT target and a chip's own $/chip-hour set in the sidebar reach the URL and
stay there across page switches (Streamlit's navigation drops parameters no widget holds; the app puts them back); the
app fetches nothing from the network."""

from __future__ import annotations

import pytest

from tests.appserver import open_page, wait_idle

pytestmark = pytest.mark.browser


def test_ttft_and_chip_rate_survive_page_switches(page, app_url):
    """Type a TTFT target and a B200 rate; both are in the URL on the Size page and after visiting two others."""
    open_page(page, f"{app_url}/size?accelerators=b200&accelerators=h200-sxm")
    ttft = page.get_by_role("spinbutton", name="Max time to first token (s)", exact=True)
    ttft.fill("0.001")
    ttft.press("Enter")
    wait_idle(page)
    page.get_by_text("Per chip: engine and prices").click()
    rate = page.get_by_role("spinbutton", name="$ per chip-hour", exact=True)
    rate.fill("2.5")
    rate.press("Enter")
    wait_idle(page)
    assert "max_time_to_first_token_s=0.001" in page.url and "chip_usd_per_hour=b200%3A2.5" in page.url
    page.get_by_text("time to first token", exact=False).first.wait_for(timeout=30_000)  # infeasible: TTFT binds
    for link in ("Speed vs throughput", "Sensitivity"):
        page.get_by_role("link", name=link).click()
        wait_idle(page)
        assert "max_time_to_first_token_s=0.001" in page.url, (link, page.url)
        assert "chip_usd_per_hour=b200%3A2.5" in page.url, (link, page.url)
        assert page.locator('[data-testid="stException"]').count() == 0


def test_app_fetches_nothing_from_the_network_and_shows_no_deploy_button(page, app_url):
    """.streamlit/config.toml and the local page icon: every request goes to the app's own server, the favicon is
    served by it, and the toolbar has no Deploy button."""
    host = app_url.split("//", 1)[1]
    elsewhere: list[str] = []
    page.on("request", lambda r: elsewhere.append(r.url)
            if host not in r.url and not r.url.startswith(("data:", "blob:")) else None)
    open_page(page, f"{app_url}/")
    page.wait_for_timeout(1500)
    icons = page.evaluate("() => [...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    assert icons and all(host in href for href in icons), icons
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert not elsewhere, elsewhere
