"""Take a screenshot of every page for the README: ``python docs/screenshots.py``.

Starts ``streamlit run app.py`` on a free local port (tests/appserver.py, the same launcher the browser tests use),
drives Debian's /usr/bin/chromium through Playwright (no browser download), waits for each page to finish running
and saves ``docs/<page>.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.appserver import APP_IDLE, CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

PAGES = {"claim": "", "size": "size", "claims": "claims", "frontier": "frontier", "sensitivity": "sensitivity",
         "catalog": "catalog", "method": "method"}


def main() -> int:
    """Start the app, screenshot each page, stop the app."""
    with streamlit_server("screenshots") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        for name, path in PAGES.items():
            page.goto(f"{server.url}/{path}", wait_until="domcontentloaded")
            page.wait_for_selector(APP_IDLE, timeout=60_000)
            page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
            page.wait_for_timeout(1500)  # the first run's URL clean-up triggers a second run; let it settle
            page.wait_for_selector(APP_IDLE, timeout=60_000)
            page.screenshot(path=str(ROOT / "docs" / f"{name}.png"))
            print(f"docs/{name}.png")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
