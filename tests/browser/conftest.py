"""Browser-test fixtures: a real ``streamlit run app.py`` on a free port and Debian's Chromium through Playwright.

The server starts once per session and is killed afterwards. Chromium is /usr/bin/chromium (never a Playwright
download); if it or the playwright package is missing, the browser tests fail loudly rather than skip, because
``.ci/run`` installs both.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.appserver import CHROMIUM, CHROMIUM_ARGS, streamlit_server


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of a ``streamlit run app.py`` started for this test session."""
    with streamlit_server("browser") as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no shared state) and page, downloads allowed."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()
