"""What a user does in the app, as Playwright steps the browser tests share: add a chip, add a claim, switch page,
read the URL and the share link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import yaml

from calculators import default_catalog
from tests.appserver import wait_idle

CHIP = "my-sn40l"


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def share(pg) -> str:
    return pg.locator('[data-testid="stSidebar"] [data-testid="stCode"]').first.inner_text().replace("\n", "").strip()


def add_chip(pg) -> None:
    chip = default_catalog().accelerators["sn40l"].model_dump(mode="json", exclude_none=True)
    chip.update(id=CHIP, name="My SN40L")
    good = yaml.safe_dump({"accelerators": [chip]}).encode()
    pg.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": "mine.yaml", "mimeType": "application/x-yaml", "buffer": good}])
    pg.get_by_role("button", name="Use these entries in this scenario").click()
    pg.wait_for_function(f"() => location.search.includes('accelerators={CHIP}')", timeout=30_000)
    wait_idle(pg)


def add_claim(pg) -> None:
    form = pg.locator('[data-testid="stForm"]')
    form.get_by_role("textbox", name="Vendor").fill("Acme Silicon")
    form.get_by_role("textbox", name="The claim, word for word").fill("A million tokens per second per user")
    claimed = form.get_by_role("spinbutton", name="Claimed number")
    claimed.fill("1000000")
    claimed.press("Tab")
    before = query(pg.url).get("custom", [""])[0]
    form.get_by_role("button", name="Check this claim").click()
    # the link's custom layer is new: it appears, or (with a chip already added) it changes
    changed = f"!location.search.includes({before!r})" if before else "location.search.includes('custom=c1.')"
    pg.wait_for_function(f"() => {changed}", timeout=30_000)
    wait_idle(pg)


def go(pg, title: str) -> None:
    pg.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    pg.wait_for_timeout(500)
    wait_idle(pg)
