"""Load: many concurrent browser-less sessions on a real ``streamlit run``, every page, nothing breaks.

Each session is a websocket client (``stclient.Session``) that opens the app with a query string and walks
every page, as a user clicking through the navigation would. All sessions connect first and are held open
together, then run their pages at the same time. Bounded: a fixed number of sessions and runs, a wall-clock cap.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from urllib.parse import urlencode

from stclient import RunResult, Session

SESSIONS = 20
WALL_CAP_S = 150.0  # generous for 2 slow CI cores; a healthy run takes well under a minute
RSS_GROWTH_CAP_MB = 600.0

# What the sessions open: no parameters, a valid non-default scenario, and a hostile link (bad values named
# in a notice, the rest defaults). Every one must render every page without an error.
QUERIES = (
    "",
    urlencode({"per_user_tokens_per_s": "250", "accelerators": ["sn40l", "b200"], "pue": "1.3"}, doseq=True),
    urlencode({"pue": "nan", "gpu": "<script>alert(1)</script>", "input_tokens": "1e999", "zz": "=1+1", "v": "0"}),
    urlencode({"custom": "c1.deadbeef0000.AAAA"}),
)
# For each hostile link: a parameter its first run's notice must name.
NAMED = {QUERIES[2]: "gpu", QUERIES[3]: "custom"}


async def _walk(session: Session, pages: list[str], query: str) -> list[RunResult]:
    results = [await session.run(query_string=query)]
    for page in pages:
        results.append(await session.run(page=page))
    return results


async def _load(url: str, pid_rss) -> dict:
    # Learn the page list from one run, then warm the caches the way the first real visitor would.
    async with Session(url) as probe:
        first = await probe.run()
        pages = list(probe.pages)
        warm = [first] + [await probe.run(page=p) for p in pages]
    rss_warm = pid_rss()

    sessions = [Session(url, timeout=120) for _ in range(SESSIONS)]
    peak = {"rss": rss_warm, "held": 0}
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            peak["rss"] = max(peak["rss"], pid_rss())
            await asyncio.sleep(0.25)

    sampler = asyncio.create_task(sample())
    start = time.monotonic()
    try:
        await asyncio.gather(*(s.__aenter__() for s in sessions))
        peak["held"] = len(sessions)  # every session's websocket is open at once before any run starts
        walks = await asyncio.gather(*(
            _walk(s, pages[i % len(pages):] + pages[: i % len(pages)], QUERIES[i % len(QUERIES)])
            for i, s in enumerate(sessions)
        ))
    finally:
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in sessions), return_exceptions=True)
        done.set()
        await sampler
    wall = time.monotonic() - start
    await asyncio.sleep(1.0)
    return {"pages": pages, "warm": warm, "walks": walks, "wall": wall, "rss_warm": rss_warm,
            "rss_peak": peak["rss"], "rss_after": pid_rss(), "held": peak["held"]}


def test_concurrent_sessions_walk_every_page_without_errors(app_server, hostile_report):
    """20 concurrent websocket sessions each render all seven pages (good and hostile links) with zero errors."""
    # Its own thread: the browser tests' Playwright (sync API) keeps an event loop running on the main thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        out = pool.submit(asyncio.run, asyncio.wait_for(_load(app_server.url, app_server.rss_mb),
                                                        WALL_CAP_S + 60)).result()
    pages, walks = out["pages"], out["walks"]
    runs = [r for walk in walks for r in walk]
    errors = [f"{r.page} [{r.query_string[:60]}]: {e}" for r in runs + out["warm"] for e in r.errors]
    growth = out["rss_after"] - out["rss_warm"]
    slowest = max(r.seconds for r in runs)
    hostile_report("load", sessions=len(walks), held=out["held"], runs=len(runs), errors=len(errors),
                   rss_warm_mb=round(out["rss_warm"], 1), rss_peak_mb=round(out["rss_peak"], 1),
                   rss_growth_mb=round(growth, 1), wall_s=round(out["wall"], 1), max_run_s=round(slowest, 1))
    print(f"load: sessions={len(walks)} runs={len(runs)} errors={len(errors)} wall={out['wall']:.1f}s "
          f"rss warm={out['rss_warm']:.0f}MB peak={out['rss_peak']:.0f}MB growth={growth:.1f}MB")

    assert len(pages) == 7, f"expected the seven pages in the navigation, got {pages}"
    assert out["held"] == SESSIONS
    assert not errors, "\n".join(errors[:20])
    assert len(runs) == SESSIONS * (len(pages) + 1)
    # Each run really rendered its page (not an empty delta stream): widgets of the sidebar plus page content.
    thin = [(r.page, sum(r.elements.values())) for r in runs if sum(r.elements.values()) < 15]
    assert not thin, f"runs that rendered almost nothing: {thin[:10]}"
    # The hostile link was answered with a notice on its first run, not silently accepted.
    named = [(NAMED[QUERIES[i % len(QUERIES)]], walk[0]) for i, walk in enumerate(walks)
             if QUERIES[i % len(QUERIES)] in NAMED]
    unnamed = [(key, r.warnings) for key, r in named if not any(key in w for w in r.warnings)]
    assert len(named) >= 2 and not unnamed, unnamed
    assert out["wall"] < WALL_CAP_S, f"load took {out['wall']:.0f} s"
    assert growth < RSS_GROWTH_CAP_MB, f"server RSS grew {growth:.0f} MB under load"
    log = app_server.log_tail(200_000)
    assert "Traceback" not in log, log[-4000:]
