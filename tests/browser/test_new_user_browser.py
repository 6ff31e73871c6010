"""A new user's whole path in Chromium (issue 17's "done when"): read the verdict above the fold, add a chip and find
it still compared and in the link on another page, set a time-to-first-token target, download the report and the
Claims CSV."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.appserver import open_page, wait_idle
from tests.browser.steps import CHIP, add_chip, go, query, share

pytestmark = pytest.mark.browser


def test_a_new_user_reads_adds_a_chip_sets_ttft_and_downloads(browser, app_url, tmp_path):
    """One session: verdicts above 900 px, a custom chip compared on the Size page and kept in the link, a TTFT target
    in the link, then a coloured report and a Claims CSV that parses."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    try:
        pg = context.new_page()
        open_page(pg, app_url)
        box = pg.locator(".st-key-verdict_badges").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, box

        go(pg, "Catalog")
        add_chip(pg)
        go(pg, "Size a deployment")
        assert CHIP in query(pg.url).get("accelerators", []), pg.url
        assert CHIP in share(pg) and "custom=" in share(pg)
        pg.get_by_text("My SN40L").first.wait_for(state="attached", timeout=60_000)  # its row in the ranked grid

        ttft = pg.get_by_role("spinbutton", name="Max time to first token (s)", exact=True)
        ttft.fill("2")
        ttft.press("Enter")
        wait_idle(pg)
        assert query(pg.url).get("max_time_to_first_token_s") == ["2"], pg.url
        assert "max_time_to_first_token_s=2" in share(pg)

        go(pg, "The claim")
        assert CHIP in query(pg.url).get("accelerators", []) and "max_time_to_first_token_s" in pg.url
        with pg.expect_download(timeout=90_000) as info:
            pg.get_by_role("button", name="Download report").click()
        report = tmp_path / "report.html"
        info.value.save_as(report)
        viewer = context.new_page()
        viewer.goto(report.as_uri())
        viewer.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        colours = viewer.evaluate("() => document.querySelector('.js-plotly-plot').data"
                                  ".filter(t => t.mode === 'lines+markers').map(t => t.line.color)")
        assert colours and not any(str(c).startswith("#0000") for c in colours), colours

        go(pg, "Claims")
        with pg.expect_download(timeout=60_000) as info:
            pg.get_by_role("button", name="Download the claims (CSV)").click()
        frame = pd.read_csv(io.StringIO(info.value.path().read_text()), comment="#")
        assert len(frame) >= 10 and "verdict" in frame.columns
        assert pg.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
