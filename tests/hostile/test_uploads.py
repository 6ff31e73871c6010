"""Hostile uploads through the app: the catalog page's file uploader, not just the loader.

tests/calculators/test_catalog.py already pins one loader test per bad-file class; these run the same fixture
files (plus an oversize one) through the page a user actually uses: no exception, the problem shown as an
error naming the file, nothing joins the link, and the shipped catalog files are byte-for-byte untouched.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from calculators.catalog import shipped_catalog_files

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
FIXTURES = ROOT / "tests" / "fixtures" / "catalog"
BAD = sorted(p.name for p in FIXTURES.glob("*.yaml") if p.name != "good_chip.yaml")


def _shipped_digest() -> str:
    h = hashlib.sha256()
    for path in shipped_catalog_files():
        h.update(path.read_bytes())
    return h.hexdigest()


def _upload(name: str, data: bytes) -> tuple[AppTest, float]:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("ui/pages/catalog.py")
    at.run()
    start = time.monotonic()
    at.file_uploader(key="catalog_upload").set_value((name, data, "application/x-yaml")).run()
    return at, time.monotonic() - start


@pytest.mark.parametrize("name", BAD)
def test_bad_upload_is_refused_on_the_page(name, hostile_report):
    """Each bad catalog file uploaded on the catalog page shows an error naming it, quickly, and changes nothing."""
    before = _shipped_digest()
    at, seconds = _upload(name, (FIXTURES / name).read_bytes())
    hostile_report("uploads", cases=1, max_upload_s=round(seconds, 2))
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, f"{name}: no error shown"
    shown = " ".join(str(e.value) for e in at.error) + " ".join(str(c.value) for c in at.code)
    assert name.replace("_", "\\_") in shown or name in shown, shown[:500]
    assert not at.success and "use_upload" not in [b.key for b in at.button]
    assert "custom" not in at.query_params
    assert seconds < 20, f"{name} took {seconds:.1f} s"
    assert _shipped_digest() == before


def test_oversize_upload_is_refused_with_the_limit():
    """A 300 kB upload is refused with a message giving its size and the limit; nothing is parsed or kept."""
    data = b"# padding\n" * 30_000
    at, _ = _upload("big.yaml", data)
    assert not at.exception
    assert any("limit" in str(e.value) and "300,000" in str(e.value) for e in at.error), [e.value for e in at.error]
    assert "custom" not in at.query_params


def test_good_upload_is_offered_and_joins_the_link():
    """The good fixture validates, and 'Use these entries' puts it in the link's custom parameter."""
    at, _ = _upload("good_chip.yaml", (FIXTURES / "good_chip.yaml").read_bytes())
    assert not at.exception and not at.error
    assert at.success
    at.button(key="use_upload").click().run()
    assert not at.exception
    assert "custom" in at.query_params


def test_hostile_file_name_is_shown_as_text():
    """An uploaded file's name reaches the error message markdown-escaped (no live link, no markup).

    Bug pinned (fixed): ui/page.show_catalog_error put the file name into st.error's markdown as given, so a file
    named '[pwn](https://evil.example).yaml' turned the error heading into a live link.
    """
    at, _ = _upload("[pwn](https://evil.example) **x**.yaml", (FIXTURES / "wrong_type.yaml").read_bytes())
    assert not at.exception and at.error
    texts = [str(e.value) for e in at.error]
    assert any("pwn" in t for t in texts)
    assert not any("[pwn](" in t or "**x**" in t for t in texts), texts
