"""ui.report: the stakeholder report for a link's query string, built without Streamlit or a network.

The numbers it shows are the calculators' for the link's scenario, formatted like the pages; every text a link can
carry is escaped; plotly.js is inline; the share link in the report reopens the same scenario."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from calculators import default_catalog
from calculators.cli import main
from ui import claims, codec, comparison, params, report

CATALOG = default_catalog()
QUERY = "v=1&gpu=b200&precision=fp8&per_user_tokens_per_s=150"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parse(html_text: str) -> _Collect:
    p = _Collect()
    p.feed(html_text)
    return p


@pytest.fixture(scope="module")
def built() -> tuple[report.LinkScenario, str]:
    link = report.read_link(QUERY)
    return link, report.build_report(link, today=dt.date(2026, 1, 2), version="9.9.9")


def test_report_is_self_contained(built):
    """No script, stylesheet or image is fetched from anywhere: plotly.js is inline and the chart is there."""
    _, text = built
    parsed = _parse(text)
    for tag, attrs in parsed.tags:
        if tag in ("script", "img", "iframe"):
            assert "src" not in attrs, attrs
        if tag == "link":
            assert attrs.get("rel") != "stylesheet", attrs
    assert "Plotly.newPlot" in text and len(text) > 1_000_000


def test_report_shows_the_scenarios_side_by_side_numbers(built):
    """The side-by-side table is comparison.side_by_side of fleet.size for the link's scenario (same formatting)."""
    link, text = built
    s = link.scenario
    assert (s.gpu, s.per_user_tokens_per_s) == ("b200", 150.0)
    sn = report._sizing(link.catalog, s, "deepseek-r1", claims.CLAIM_CHIP, claims.CLAIM_PRECISION)
    gpu = report._sizing(link.catalog, s, "deepseek-r1", "b200", "fp8")
    table = comparison.side_by_side(sn, gpu, "a", "b")
    for value in [*table["a"], *table["b"]]:
        assert report.e(value) in text


def test_report_holds_verdicts_version_date_link_and_sources(built):
    """Each story verdict with its hinges, the version, the date, the share link and the claims' sources appear."""
    link, text = built
    for _, check in claims.story_checks(link.catalog, link.scenario):
        assert report.e(check.verdict) in text
        for hinge in check.hinges:
            assert report.e(hinge) in text
        assert report.e(link.catalog.sources[check.source].title) in text
    assert "9.9.9" in text and "2026-01-02" in text
    share = params.share_url(report.DEFAULT_BASE_URL, params.to_query(link.scenario, link.catalog))
    assert report.e(share) in text


def test_the_reports_link_reopens_the_same_scenario(built):
    """The share link printed in the report, read again, gives the same scenario."""
    link, text = built
    href = re.search(r'<a href="([^"]+)"><code>', text).group(1).replace("&amp;", "&")
    again = report.read_link(urlsplit(href).query)
    assert again.scenario == link.scenario


def test_bad_link_parameters_become_notices_not_errors():
    """A link with a bad value and a damaged custom layer still builds, naming both in the report."""
    text = report.report_for_query("pue=abc&custom=c1.000.xyz")
    assert "pue=abc" in text and "custom" in text


def test_hostile_names_are_escaped():
    """A custom chip and a user claim named with HTML reach the report only as escaped text."""
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    chip = codec._jsonable(CATALOG.accelerators["h200-sxm"].model_dump(mode="python", exclude_none=True))
    chip.update(id="evil-chip", name=evil, vendor=evil)
    layer = claims.user_claim_layer({"vendor": evil, "claim": evil, "url": "javascript:alert(3)",
                                     "date": dt.date(2025, 1, 1), "kind": "per-user-speed", "claimed": 10.0,
                                     "model": "deepseek-r1", "accelerator": "evil-chip", "chips": 8,
                                     "precision": "fp8"}, {"accelerators": [chip]})
    query = f"v=1&gpu=evil-chip&accelerators=evil-chip&custom={codec.encode(layer)}"
    text = report.report_for_query(query)
    assert "evil-chip" in text and report.e(evil) in text
    assert "<script>alert" not in text and "<img src=x" not in text  # plotly.js itself has neither
    assert 'href="javascript:' not in text


def test_cli_report_writes_the_file(tmp_path, capsys):
    """report --query ... --out writes one HTML file and says where."""
    out = tmp_path / "r.html"
    assert main(["report", "--query", f"http://localhost:8501/size?{QUERY}", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert str(out) in capsys.readouterr().out


def test_report_builder_imports_no_streamlit():
    """ui.report (with ui.claims, ui.compute and ui.comparison) is pure: importing it loads no Streamlit."""
    import subprocess
    import sys

    code = ("import sys, ui.report; bad = [m for m in sys.modules if m.split('.')[0] == 'streamlit']; "
            "sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _figure_json(html_text: str) -> tuple[list[dict], dict]:
    """The data and layout of the report's Plotly figure, read from its inline ``Plotly.newPlot`` call."""
    import json

    start = html_text.index('Plotly.newPlot(') + len('Plotly.newPlot(')
    start = html_text.index(",", start) + 1
    decoder = json.JSONDecoder()
    data, end = decoder.raw_decode(html_text[start:].lstrip())
    rest = html_text[start:].lstrip()[end:].lstrip().lstrip(",").lstrip()
    layout, _ = decoder.raw_decode(rest)
    return data, layout


@pytest.fixture
def streamlit_template():
    """Plotly's default template as it is inside the app: Streamlit's, with placeholder colours #000001, ..."""
    import plotly.io as pio
    from streamlit.elements.lib.streamlit_plotly_theme import configure_streamlit_plotly_theme

    before = pio.templates.default
    configure_streamlit_plotly_theme()
    assert pio.templates.default == "streamlit"
    yield
    pio.templates.default = before


PLACEHOLDER = re.compile(r"^#0000[0-9a-f]{2}$", re.IGNORECASE)


def test_report_figure_has_explicit_colours_even_under_streamlits_template(streamlit_template):
    """Built where Streamlit's template is active (the app), every series of the report's chart has a real colour,
    the template is explicit and its colorway has no placeholder; the legend names the precision each side runs."""
    text = report.report_for_query("v=1&gpu=b200", today=dt.date(2026, 1, 2))
    data, layout = _figure_json(text)
    series = [t for t in data if t.get("mode", "") == "lines+markers"]  # the two chips (guides are plain lines)
    assert len(series) == 2
    for trace in series:
        colours = {trace.get("line", {}).get("color"), trace.get("marker", {}).get("color")} - {None}
        assert colours and not any(PLACEHOLDER.match(c) for c in colours), trace.get("name")
    colorway = layout["template"]["layout"].get("colorway", [])
    assert colorway and not any(PLACEHOLDER.match(c) for c in colorway)
    names = [t["name"] for t in series]
    assert not any("BEST" in n for n in names), names
    assert any(n.endswith(("(FP4)", "(FP8)", "(INT8)", "(BF16)")) for n in names if "SN40L" not in n), names


def test_the_apps_download_and_the_cli_write_the_same_file(tmp_path, streamlit_template):
    """The app's 'Download report' (report_for_share_url of the share link, inside Streamlit's process) and
    ``report --query ... --base-url ...`` give the same bytes for the same link, apart from the date."""
    base = "http://rackscale.example:8501/"
    in_app = report.report_for_share_url(f"{base}?{QUERY}")
    out = tmp_path / "cli.html"
    assert main(["report", "--query", QUERY, "--out", str(out), "--base-url", base]) == 0
    from_cli = out.read_text(encoding="utf-8")
    today = dt.date.today().isoformat()
    assert in_app.replace(today, "DATE") == from_cli.replace(today, "DATE")


def test_report_opens_with_the_answer_and_prints_cleanly(built):
    """Before any table: one sentence per side (racks, facility power, $/M tokens) and a badge per verdict; the
    stylesheet has print rules; table headers are words with units, not snake_case keys."""
    link, text = built
    answer = text[text.index('<div class="answer">'):text.index("</div>", text.index('<div class="answer">'))]
    assert text.index('<div class="answer">') < text.index("<table")
    assert answer.count('class="badge"') == len(claims.story_checks(link.catalog, link.scenario)) >= 5
    assert answer.count(" at the facility, ") == 2 and answer.count("per million output tokens") == 2
    assert "@media print" in text
    headers = re.findall(r"<th>([^<]*)</th>", text)
    assert headers and not [h for h in headers if "_" in h], headers


def test_report_reads_the_replica_shapes_the_sizing_page_writes():
    """The sizing page's link carries 'size_topology=Larger, assumed' (Streamlit writes the label): the report
    sizes with the assumed topology and its share link keeps the setting."""
    text = report.report_for_query("v=1&size_topology=Larger%2C+assumed", today=dt.date(2026, 1, 2))
    assert "replica shapes: Larger, assumed" in text
    assert "size_topology=Larger%2C+assumed" in text
