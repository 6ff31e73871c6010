"""Hostile-input fixtures: a counter reported in pytest's terminal summary, and a real server for the load test.

Every hostile test that tries many cases calls ``hostile_report(kind, **counts)``; the counts are added up per
kind and printed at the end of the run as ``hostile: <kind> key=value ...`` lines (and attached to the test as
``record_property`` entries, so they reach JUnit XML too). They appear without ``-s``.
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
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Server:
    """A ``streamlit run app.py`` on 127.0.0.1 (its pid for RSS, its base URL, its log path)."""

    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path) -> None:
        self.proc, self.url, self.log_path = proc, url, log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def app_server() -> Iterator[Server]:
    """A fresh headless server for one test module; always killed (its whole process group) afterwards."""
    port = free_port()
    log_path = Path(tempfile.gettempdir()) / f"rackscale-hostile-{port}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not become healthy within 60 s:\n{server.log_tail()}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
