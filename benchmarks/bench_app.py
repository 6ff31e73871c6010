"""Benchmark (printed, not a test): how long the live app takes to re-render after the per-user target changes.

Starts ``streamlit run app.py`` on a free localhost port (:mod:`tests.appserver`), drives it with Playwright and
Debian's Chromium (/usr/bin/chromium, never a download), and for the Size and landing pages prints the first render
and, for each of several new per-user targets typed into the sidebar, the time from pressing Enter until the run
has finished with the new target in the share link. Each target is new to the server, so no result is served from
a cache of that target; what may be cached is what does not depend on it (the catalog, the validation evidence,
sweeps).

Run: ``python benchmarks/bench_app.py [--targets 150 120 ...] [--pages size claim]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.appserver import APP_IDLE, CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_idle  # noqa: E402

PAGES = {"claim": "", "size": "size"}
TARGET_LABEL = "Per-user speed (tok/s)"


def _rendered_with(pg, value: str, timeout_ms: int = 120_000) -> None:
    """Wait until the share link carries ``per_user_tokens_per_s=value`` and the script run is over."""
    pg.wait_for_function(
        """([value, idle]) => {
            const app = document.querySelector(idle);
            if (!app || document.querySelector('[data-testid="stSkeleton"]')) return false;
            return [...document.querySelectorAll('[data-testid="stCode"] code, code')]
                .some(c => c.textContent.includes('per_user_tokens_per_s=' + value));
        }""", arg=[value, APP_IDLE], timeout=timeout_ms)


def measure(pg, base_url: str, page: str, targets: list[float]) -> dict:
    """First render of ``page`` and the re-render time for each target."""
    start = time.perf_counter()
    pg.goto(f"{base_url}/{PAGES[page]}", wait_until="domcontentloaded")
    wait_idle(pg, timeout_ms=120_000)
    first = time.perf_counter() - start
    box = pg.get_by_role("spinbutton", name=TARGET_LABEL, exact=True)
    times = []
    for target in targets:
        text = f"{target:g}"
        box.fill(text)
        start = time.perf_counter()
        box.press("Enter")
        _rendered_with(pg, text)
        times.append(time.perf_counter() - start)
    return {"first": first, "rerenders": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=float, nargs="+", default=[150, 120, 100, 90, 75, 60])
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=["size", "claim"])
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with streamlit_server("bench") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        print(f"server {server.url} (pid {server.pid}); targets {', '.join(f'{t:g}' for t in args.targets)} "
              "tok/s/user, each new to the server")
        for i, page in enumerate(args.pages):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            pg = context.new_page()
            # a different total per page, so no page reuses another's sizing of the same target from the cache
            targets = [t + 0.5 * i for t in args.targets]
            r = measure(pg, server.url, page, targets)
            times = r["rerenders"]
            print(f"{page:>6}: first render {r['first']:.2f} s; re-render after a new per-user target: "
                  + ", ".join(f"{t:.2f}" for t in times)
                  + f" s (median {statistics.median(times):.2f}, max {max(times):.2f})")
            context.close()
        print(f"server RSS {server.rss_mb():.0f} MB")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
