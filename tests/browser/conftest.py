"""Browser-test fixtures: a real ``streamlit run app.py`` on a free port and Debian's Chromium through Playwright.

The server starts once per session and is killed afterwards. Chromium is /usr/bin/chromium (never a Playwright
download); if it or the playwright package is missing, the browser tests fail loudly rather than skip, because
``.ci/run`` installs both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of a ``streamlit run app.py`` started for this test session."""
    port = _free_port()
    log_path = Path(tempfile.gettempdir()) / f"rackscale-streamlit-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed in the finally block
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy within 60 s")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


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


def wait_idle(pg, timeout_ms: int = 30_000) -> None:
    """Wait until the script run has finished and no skeleton placeholder is left."""
    pg.wait_for_selector(APP_IDLE, timeout=timeout_ms)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms)
    # A rerun triggered by the first run (URL clean-up) starts right after; let it settle too.
    pg.wait_for_timeout(300)
    pg.wait_for_selector(APP_IDLE, timeout=timeout_ms)


def open_page(pg, url: str) -> None:
    """Go to ``url`` and wait for the app to be idle."""
    pg.goto(url, wait_until="domcontentloaded")
    wait_idle(pg)
