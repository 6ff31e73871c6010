"""Opening one page of the app under AppTest with query parameters, asserting it ran without an exception."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_page(path: str, *, timeout: float = 300, **params) -> AppTest:
    """Run the app with ``params`` in the URL, switch to ``path`` and return it (no exception on the page)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at
