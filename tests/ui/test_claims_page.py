"""The Claims page through AppTest: it lists what calculators.claims returns, filters by vendor, and a claim
entered in its form is checked and put in the link's custom layer (and read back from a link)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from calculators.claims import STATUS_LABELS, check_claims
from tests.ui.apptest_pages import open_page
from ui import claims, codec

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CATALOG = default_catalog()


def _claims_page(**params) -> AppTest:
    return open_page("ui/pages/claims.py", timeout=120, **params)


def test_claims_table_is_the_registry_checked():
    """One row per registry claim, each verdict and status exactly what check_claims returns, each with a link."""
    at = _claims_page()
    table = at.dataframe[0].value
    expected = check_claims(CATALOG)
    assert list(table["id"]) == [c.id for c in expected]
    assert list(table["verdict"]) == [c.verdict for c in expected]
    assert list(table["status"]) == [STATUS_LABELS[c.status] for c in expected]
    assert all("/size?" in link for link in table["scenario"])


def test_vendor_filter_keeps_only_that_vendor():
    """Choosing one vendor leaves only its claims."""
    at = _claims_page()
    at.multiselect(key="claims_vendors").set_value(["Cerebras"]).run()
    table = at.dataframe[0].value
    assert len(table) == sum(c.vendor == "Cerebras" for c in CATALOG.claims.values())
    assert set(table["vendor"]) == {"Cerebras"}


def test_form_claim_is_checked_and_joins_the_link():
    """A claim typed into the form lands in the custom parameter and is listed as yours with a verdict."""
    at = _claims_page()
    at.text_input(key="uc_vendor").input("Acme")
    at.text_area(key="uc_claim").input("Over 9000 tokens per second per user")
    at.number_input(key="uc_claimed").set_value(9000.0)
    at.selectbox(key="uc_accelerator").set_value("h200-sxm")
    at.selectbox(key="uc_precision").set_value("fp8")
    at.number_input(key="uc_chips").set_value(8)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    code = at.query_params["custom"]
    code = code[0] if isinstance(code, list) else code
    ids = claims.user_claim_ids(codec.decode(code))
    assert len(ids) == 1
    again = _claims_page(custom=code)
    table = again.dataframe[0].value.set_index("id")
    assert bool(table.loc[ids[0], "yours"]) and table.loc[ids[0], "status"] in set(STATUS_LABELS.values())


def test_form_without_the_claimed_number_says_what_is_missing():
    """Submitting without a vendor, words or number names what is missing and adds nothing to the link."""
    at = _claims_page()
    at.get("form_submit_button")[0].click().run()
    assert any("vendor" in e.value and "claimed number" in e.value for e in at.error)
    assert "custom" not in at.query_params


def test_remove_button_takes_the_users_claims_out_of_the_link():
    """'Remove your claims from the link' drops the claims (and their sources) from the custom layer."""
    layer = claims.user_claim_layer({"vendor": "Acme", "claim": "fast", "kind": "per-user-speed", "claimed": 5.0,
                                     "model": "deepseek-r1", "accelerator": "h200-sxm", "chips": 8,
                                     "precision": "fp8"})
    at = _claims_page(custom=codec.encode(layer))
    at.button(key="uc_remove").click().run()
    assert not at.exception
    assert "custom" not in at.query_params


def test_landing_and_size_pages_offer_the_report():
    """Both the landing page and the sizing page carry a 'Download report' button."""
    for page in ("ui/pages/claim.py", "ui/pages/size.py"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page(page).run()
        assert not at.exception
        labels = [b.proto.label for b in at.get("download_button")]
        assert "Download report" in labels, (page, labels)
