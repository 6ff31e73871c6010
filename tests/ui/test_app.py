"""App wiring through AppTest: every page runs, query params seed widgets, bad params give one notice."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from ui import codec

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ["ui/pages/claim.py", "ui/pages/size.py", "ui/pages/frontier.py", "ui/pages/sensitivity.py",
         "ui/pages/catalog.py", "ui/pages/method.py"]


def _app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    return at


@pytest.mark.parametrize("page", PAGES)
def test_each_page_runs_without_exception(page):
    """Each of the six pages renders on the shipped catalog with no exception element."""
    at = _app()
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_query_params_seed_the_sidebar():
    """Values in the URL become the widgets' values (scalar, optional and list parameters)."""
    at = _app(per_user_tokens_per_s="250", input_tokens="4096", pue="1.4", accelerators=["sn40l", "b200"],
              model="llama-3.1-70b")
    at.run()
    assert not at.exception
    assert at.number_input(key="per_user_tokens_per_s").value == 250.0
    assert at.number_input(key="input_tokens").value == 4096
    assert at.number_input(key="pue").value == 1.4
    assert at.multiselect(key="accelerators").value == ["sn40l", "b200"]
    assert at.selectbox(key="model").value == "llama-3.1-70b"
    assert not at.warning


def test_bad_params_give_one_notice_and_defaults():
    """Bad parameters are named in a single warning, removed from the URL, and their widgets keep defaults."""
    at = _app(pue="nan", gpu="not-a-chip", foo="1", per_user_tokens_per_s="250")
    at.run()
    assert not at.exception
    assert len(at.warning) == 1
    text = at.warning[0].value
    assert "pue" in text and "gpu" in text and "foo" in text
    assert at.number_input(key="pue").value is None
    assert at.selectbox(key="gpu").value == "h200-sxm"
    assert at.number_input(key="per_user_tokens_per_s").value == 250.0
    assert "pue" not in at.query_params and "foo" not in at.query_params


def test_notice_goes_away_once_the_scenario_changes():
    """The notice stays while the user looks at the opened link and disappears after they change an input."""
    at = _app(pue="oops")
    at.run()
    assert len(at.warning) == 1
    at.number_input(key="per_user_tokens_per_s").set_value(300.0).run()
    assert not at.warning


def test_custom_chip_in_the_link_is_offered():
    """A chip carried in the custom parameter appears in the chip choices; a damaged one gives a notice."""
    chip = default_catalog().accelerators["sn40l"].model_dump(mode="python", exclude_none=True)
    chip.update(id="sn40l-plus", name="SN40L plus")
    code = codec.encode({"accelerators": [codec._jsonable(chip)]})
    at = _app(custom=code, accelerators=["sn40l-plus"])
    at.run()
    assert not at.exception and not at.warning
    assert "sn40l-plus" in at.multiselect(key="accelerators").options
    assert at.multiselect(key="accelerators").value == ["sn40l-plus"]
    bad = _app(custom=code[:-5])
    bad.run()
    assert not bad.exception and len(bad.warning) == 1 and "damaged" in bad.warning[0].value


def test_share_box_shows_the_link():
    """The sidebar's share box shows a link with v and the non-default parameters only."""
    at = _app(output_tokens="512")
    at.run()
    links = [c.value for c in at.sidebar.code]
    assert any("output_tokens=512" in link and "v=1" in link and "model=" not in link for link in links)
