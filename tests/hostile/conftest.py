"""Hostile-input fixtures: a counter reported in pytest's terminal summary, and a real server for the load test.

Every hostile test that tries many cases calls ``hostile_report(kind, **counts)``; the counts are added up per
kind and printed at the end of the run as ``hostile: <kind> key=value ...`` lines (and attached to the test as
``record_property`` entries, so they reach JUnit XML too). They appear without ``-s``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.appserver import Server, streamlit_server

ROOT = Path(__file__).resolve().parents[2]
_COUNTS = pytest.StashKey[dict[str, dict[str, float]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_COUNTS] = {}


def _fmt(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not float(value).is_integer() else f"{int(value)}"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    counts = config.stash.get(_COUNTS, {})
    if not counts:
        return
    terminalreporter.section("hostile input and load")
    for kind, values in counts.items():
        terminalreporter.write_line(f"hostile: {kind} " + " ".join(f"{k}={_fmt(v)}" for k, v in values.items()))


@pytest.fixture
def hostile_report(request: pytest.FixtureRequest, record_property) -> Callable[..., None]:
    """``report(kind, cases=n, ...)``: add counts (summed per kind; ``*_mb``/``max_*`` keys keep the largest)."""
    store = request.config.stash[_COUNTS]

    def report(kind: str, **values: float) -> None:
        bucket = store.setdefault(kind, {})
        for key, value in values.items():
            if key.endswith("_mb") or key.startswith("max_") or key.endswith("_s"):
                bucket[key] = max(bucket.get(key, value), value)
            else:
                bucket[key] = bucket.get(key, 0) + value
            record_property(f"hostile.{kind}.{key}", value)

    return report


@pytest.fixture(scope="module")
def app_server() -> Iterator[Server]:
    """A fresh headless server for one test module; always killed (its whole process group) afterwards."""
    with streamlit_server("hostile") as server:
        yield server
