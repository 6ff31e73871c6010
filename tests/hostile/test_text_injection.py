"""User text that reaches the page or a file renders as text: no HTML, no markdown links, no spreadsheet formulas.

A user chip (carried in the link's ``custom`` parameter, exactly as the catalog page's editor puts it there) is
named with HTML, markdown and a spreadsheet formula. Every page that shows it must show it literally: markdown
elements escape it, Plotly (which reads a subset of HTML in trace names) gets it HTML-escaped, tables hold it as
plain text, and CSV exports neutralise formula-like cells.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from ui import analysis, claims, codec, export, report

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
EVIL_ID = "evil-chip"
SCRIPT = "<script>alert(1)</script>"
LINK = "[pwn](https://evil.example)"
FORMULA = '=HYPERLINK("http://x")'
EVIL_NAME = f"{SCRIPT} {LINK} <b>bold</b>"
# Raw sequences that would be live if the text reached markdown or Plotly unescaped.
MARKDOWN_LIVE = ("[pwn](", "<script>", "<b>")
PLOTLY_LIVE = ("<script>", "<b>", "<a ")


def _evil_code() -> str:
    chip = default_catalog().accelerators["h200-sxm"].model_dump(mode="python", exclude_none=True)
    chip.update(id=EVIL_ID, name=EVIL_NAME, vendor=FORMULA)
    layer = claims.user_claim_layer({"vendor": EVIL_NAME, "claim": EVIL_NAME, "url": "javascript:alert(1)",
                                     "kind": "per-user-speed", "claimed": 10.0, "model": "deepseek-r1",
                                     "accelerator": EVIL_ID, "chips": 8, "precision": "fp8"},
                                    {"accelerators": [codec._jsonable(chip)]})
    return codec.encode(layer)


@pytest.fixture(scope="module")
def evil_code() -> str:
    return _evil_code()


def _run(page: str, code: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in {"custom": code, "accelerators": [EVIL_ID, "sn40l"], "accelerator": EVIL_ID, "gpu": EVIL_ID,
                       "per_user_tokens_per_s": "20", "precision": "fp8"}.items():
        at.query_params[key] = value
    at.run()
    if page != "ui/pages/claim.py":
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_texts(at: AppTest) -> list[tuple[str, str]]:
    """(element, text) for every element whose text Streamlit renders as markdown (labels and tooltips too)."""
    out: list[tuple[str, str]] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        out += [(kind, str(e.value)) for e in getattr(at, kind)]
    for m in at.metric:
        out += [("metric.label", m.label), ("metric.help", m.proto.help)]
    for e in at.expander:
        out.append(("expander.label", e.label))
    for w in (*at.selectbox, *at.multiselect, *at.number_input):
        out.append((f"{w.type}.help", w.help or ""))
    return out


def _table_texts(at: AppTest) -> list[str]:
    return [str(v) for df in at.dataframe for v in df.value.astype(str).to_numpy().ravel()]


def _plotly_texts(at: AppTest) -> list[str]:
    texts = []
    for chart in at.get("plotly_chart"):
        fig = json.loads(chart.proto.spec)
        for trace in fig.get("data", []):
            texts += [str(trace.get("name", "")), str(trace.get("hovertemplate", ""))]
            texts += [str(t) for t in (trace.get("text") or []) if isinstance(trace.get("text"), list)]
        layout = fig.get("layout", {})
        texts += [str(a.get("text", "")) for a in layout.get("annotations", [])]
        title = layout.get("title")
        texts.append(str(title.get("text", "") if isinstance(title, dict) else title or ""))
    return texts


PAGES = ["ui/pages/claim.py", "ui/pages/size.py", "ui/pages/claims.py", "ui/pages/frontier.py",
         "ui/pages/sensitivity.py", "ui/pages/catalog.py", "ui/pages/method.py"]


# Pages whose markdown shows the focus/GPU chip's name (so the check below is not vacuous there).
NAME_IN_MARKDOWN = {"ui/pages/claim.py", "ui/pages/sensitivity.py", "ui/pages/claims.py"}


@pytest.mark.parametrize("page", PAGES)
def test_hostile_chip_name_is_escaped_in_markdown(page, evil_code, hostile_report):
    """Every markdown-rendered text (bodies, captions, alerts, metric labels, tooltips) shows the name escaped.

    Bug pinned (fixed): ui/pages/sensitivity.py put the focus chip's name unescaped in st.metric's label, which
    Streamlit renders as markdown, so a chip named '[pwn](https://evil.example)' became a live link.
    """
    at = _run(page, evil_code)
    mentions = [(kind, text) for kind, text in _markdown_texts(at)
                if "alert(1)" in text or "evil.example" in text or "bold" in text]
    live = [(kind, text[:160]) for kind, text in mentions if any(raw in text for raw in MARKDOWN_LIVE)]
    hostile_report("text", apptest_pages=1)
    assert not live, f"user text reaches markdown unescaped on {page}: {live}"
    if page in NAME_IN_MARKDOWN:
        assert mentions, f"the hostile name should be shown on {page}"


@pytest.mark.parametrize("page", ["ui/pages/size.py", "ui/pages/frontier.py", "ui/pages/sensitivity.py",
                                  "ui/pages/claim.py"])
def test_hostile_chip_name_is_html_escaped_in_charts(page, evil_code):
    """Plotly reads <a>, <b> and friends in trace names and labels: a user's chip name must reach it HTML-escaped.

    Bug pinned (fixed): ui/charts.frontier_figure used chip names as trace names as given, so a name with
    '<a href=...>' drew a live link in the frontier legend and '<script>x</script>' showed as 'x'.
    """
    at = _run(page, evil_code)
    texts = _plotly_texts(at)
    live = [t[:160] for t in texts if ("alert(1)" in t or "bold" in t) and any(raw in t for raw in PLOTLY_LIVE)]
    assert not live, f"user text reaches a Plotly chart as HTML on {page}: {live}"
    if page == "ui/pages/frontier.py":
        assert any("alert(1)" in t for t in texts), "the frontier legend should name the hostile chip"


def test_hostile_chip_name_reaches_tables_as_plain_text(evil_code):
    """The catalog page's tables hold the hostile name and vendor verbatim (dataframes show text, not markup)."""
    at = _run("ui/pages/catalog.py", evil_code)
    texts = _table_texts(at)
    assert EVIL_NAME in texts and FORMULA in texts


def test_hostile_chip_and_claim_are_escaped_in_the_report(evil_code):
    """The stakeholder report (ui.report) shows the hostile chip and claim only as escaped text: no tag, no
    javascript: link, outside plotly.js itself."""
    text = report.report_for_query(f"v=1&gpu={EVIL_ID}&accelerators={EVIL_ID}&custom={evil_code}")
    assert report.e(EVIL_NAME) in text
    live = [raw for raw in (SCRIPT, "<b>bold", '<a href="https://evil', 'href="javascript:') if raw in text]
    assert not live, f"user text reaches the report as HTML: {live}"


def test_no_user_text_reaches_unsafe_html():
    """No UI code turns on raw HTML (unsafe_allow_html, st.html, components.html): user text cannot reach it."""
    pattern = re.compile(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1\.html|components\.html\(")
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()}"
            for p in [ROOT / "app.py", *sorted((ROOT / "ui").rglob("*.py"))]
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not hits, "raw HTML output in the UI (check that no user text reaches it):\n" + "\n".join(hits)


HOSTILE_CELLS = [FORMULA, SCRIPT, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "=1", "-cmd|' /C calc'!A0",
                 "+", "-", "@", "=", " =1", "a\n=1"]
# A carriage return inside a cell: a spreadsheet (and Python's csv reader) ends the row there unless the cell is
# quoted, so whatever follows the CR starts a new row's first cell.
CR_CELLS = ['Evil\r=HYPERLINK("http://x")', "\r=1", "ok\r\n@SUM(A1)", "x\r+1+1"]


def _csv_rows(text: str) -> list[list[str]]:
    body = "\n".join(line for line in text.split("\n") if not line.startswith("#"))
    return list(csv.reader(io.StringIO(body, newline="")))


def test_comparison_csv_neutralises_hostile_names_and_reasons(hostile_report):
    """The size page's comparison CSV (from analysis.comparison_frame) escapes formula-like names and reasons."""
    catalog = default_catalog()
    sized = {f"chip-{i}": _Unavailable(reason=cell) for i, cell in enumerate(HOSTILE_CELLS)}
    names = {f"chip-{i}": cell for i, cell in enumerate(HOSTILE_CELLS)}
    frame = analysis.comparison_frame(sized, names)
    text = export.to_csv(frame, title=FORMULA, scenario={"gpu": FORMULA, "note": "x\n=1"}, catalog=catalog)
    rows = _csv_rows(text)
    cells = [c for row in rows for c in row]
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]
    hostile_report("text", csv_cells=len(cells))
    assert not live, f"formula-like cells left live in the CSV: {live}"
    assert all(any(("'" + cell) == c for c in cells) for cell in HOSTILE_CELLS if cell[:1] in "=+-@\t\r"), \
        "a hostile cell did not come back with its leading apostrophe"
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header and all(line.startswith("# ") for line in header)


def test_carriage_returns_cannot_start_a_row_with_a_formula():
    """A CR inside a user's text stays inside its quoted cell: the CSV keeps one row per table row, none live.

    Bug pinned (ui/export.py to_csv): pandas/csv with lineterminator="\\n" quotes cells containing LF but not a
    bare CR, so a chip named 'Evil\\r=HYPERLINK(...)' wrote an unquoted CR and the spreadsheet (or csv.reader)
    started a new row whose first cell was the live formula =HYPERLINK(...).
    """
    frame = pd.DataFrame({"name": CR_CELLS, "racks": range(len(CR_CELLS))})
    text = export.to_csv(frame, title="t", scenario={}, catalog=default_catalog())
    rows = _csv_rows(text)
    assert len(rows) == 1 + len(CR_CELLS), rows
    live = [c for row in rows for c in row if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]
    assert not live, f"a CR let formula-like text start a cell: {live}"


def test_frames_with_hostile_text_in_every_dtype_are_neutralised():
    """Object, pandas string and categorical text columns and hostile column names are all neutralised."""
    frame = pd.DataFrame({"obj": HOSTILE_CELLS, "num": range(len(HOSTILE_CELLS))})
    frame["str"] = frame["obj"].astype("string")
    frame["cat"] = frame["obj"].astype("category")
    frame[FORMULA] = 1
    text = export.to_csv(frame, title="t", scenario={}, catalog=default_catalog())
    cells = [c for row in _csv_rows(text) for c in row]
    live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _number(c)]
    assert not live, f"formula-like cells left live: {live}"


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


class _Unavailable:
    """A stand-in for a chip that could not be sized: comparison_frame shows its reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.feasible = False
