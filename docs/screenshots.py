"""Take a screenshot of every page for the README: ``python docs/screenshots.py``.

Starts ``streamlit run app.py`` on a free local port, drives Debian's /usr/bin/chromium through Playwright (no
browser download), waits for each page to finish running and saves ``docs/<page>.png``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
PAGES = {"claim": "", "size": "size", "frontier": "frontier", "sensitivity": "sensitivity", "catalog": "catalog",
         "method": "method"}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    """Start the app, screenshot each page, stop the app."""
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            for name, path in PAGES.items():
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                page.wait_for_selector(IDLE, timeout=60_000)
                page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
                page.wait_for_timeout(1500)
                page.wait_for_selector(IDLE, timeout=60_000)
                page.screenshot(path=str(ROOT / "docs" / f"{name}.png"))
                print(f"docs/{name}.png")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
