"""The claim, sizing, frontier and sensitivity pages through AppTest: they run on defaults and on linked scenarios,
and what they show is exactly what the calculators return for the same scenario, formatted by ui.format."""

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from calculators import default_catalog
from calculators.assumptions import resolve_assumptions
from calculators.deployment import Demand
from calculators.fleet import size
from tests.ui.apptest_pages import open_page
from ui import codec, comparison
from ui import format as fmt
from ui.claims import story_checks
from ui.page import VERDICT_BADGE
from ui.params import default_scenario

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CATALOG = default_catalog()
PAGES = ["ui/pages/claim.py", "ui/pages/size.py", "ui/pages/frontier.py", "ui/pages/sensitivity.py"]


def _page(path: str, **params) -> AppTest:
    return open_page(path, timeout=120, **params)


def _size(chip: str, precision: str, per_user=198.0, total=20_000.0, input_tokens=1000, output_tokens=2000,
          context=2000, **overrides):
    a = resolve_assumptions(CATALOG, chip, **overrides)
    return size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision=precision,
                                per_user_tokens_per_s=per_user,
                                total_output_tokens_per_s=total, input_tokens=input_tokens, output_tokens=output_tokens,
                                context_tokens=context, assumptions=a))


def _metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


@pytest.mark.parametrize("params", [{}, {"gpu": "b200", "precision": "fp4", "per_user_tokens_per_s": "100"},
                                    {"total_output_tokens_per_s": "1000000", "pue": "1.5", "engine": "generic-2024",
                                     "accelerators": ["h100-sxm", "sn40l", "gb200"], "accelerator": "gb200"}])
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_on_defaults_and_linked_scenarios(page, params):
    """Each model page renders with no exception and no error element on defaults and on two linked scenarios."""
    at = _page(page, **params)
    assert not at.error, [e.value for e in at.error]


def test_claim_metrics_are_the_sizings_of_both_sides():
    """The claim page's metrics are fleet.size for 16-chip-rack SN40L (BF16) and the GPU side, formatted."""
    at = _page("ui/pages/claim.py")
    sn, gpu = _size("sn40l", "bf16"), _size("h200-sxm", "best")
    expected = []
    for s in (sn, gpu):
        expected += [("Racks", fmt.number(s.racks)), ("Facility power", fmt.power_kw(s.facility_power_kw)),
                     ("Energy per token (J)", fmt.number(s.joules_per_output_token)),
                     (comparison.cost_label("$/M tokens", s.cost_kind),
                      fmt.usd(s.usd_per_million_output_tokens))]
    assert _metrics(at) == expected
    table = at.table[0].value.set_index("Quantity")
    gpu_side = f"{CATALOG.accelerators['h200-sxm'].name} ({gpu.precision.upper()})"
    assert table.loc["Racks", gpu_side] == fmt.racks(gpu.racks)
    assert table.loc["Energy per day (facility)", f"{CATALOG.accelerators['sn40l'].name} (BF16)"] == \
        fmt.energy_j(sn.energy_per_day_kwh * 3.6e6)
    answer = " ".join(m.value for m in at.markdown)
    for s in (sn, gpu):  # the answer above the fold: racks, facility power and $/M tokens of each side
        assert fmt.escape_markdown(f"{fmt.racks(s.racks)}, {fmt.power_kw(s.facility_power_kw)} at the facility, "
                                   f"{fmt.usd(s.usd_per_million_output_tokens)} per million") in answer


def test_claim_verdicts_are_the_registry_story_checked_for_the_sidebar():
    """The verdict badges are the registry's story claims in order, each with the status calculators.claims
    returns for the sidebar's scenario (the verdict logic itself is pinned in tests/calculators/test_claims.py)."""
    from calculators.claims import STATUS_LABELS

    at = _page("ui/pages/claim.py", gpu="b200")
    scenario = dataclasses.replace(default_scenario(CATALOG), gpu="b200")
    expected = story_checks(CATALOG, scenario)
    assert len(expected) >= 5
    lines = [m.value for m in at.markdown if "-badge[" in m.value]
    assert lines[:len(expected)] == [
        f":{c}-badge[{i} {fmt.escape_markdown(STATUS_LABELS[v.status])}] {fmt.escape_markdown(f'({k}) {v.claim}')}"
        for k, v in expected for c, i in [VERDICT_BADGE[v.status]]]
    assert [m.help for m in at.markdown if "-badge[" in m.value][:len(expected)] == [v.verdict for _, v in expected]
    racks = next(v for _, v in expected if v.kind == "racks-for-target")
    assert racks.scenario["accelerator"] == "b200"
    assert racks.predicted == _size("b200", racks.scenario["precision"]).racks


def test_claim_switches_gpu_side_from_the_link():
    """gpu=b200 in the link puts B200's sizing on the right-hand side."""
    at = _page("ui/pages/claim.py", gpu="b200")
    b200 = _size("b200", "best")
    assert _metrics(at)[4] == ("Racks", fmt.number(b200.racks))
    assert f"{CATALOG.accelerators['b200'].name} ({b200.precision.upper()})" in at.table[0].value.columns


def test_size_table_matches_fleet_size_and_shows_infeasible_reason():
    """The ranked table's rows are fleet.size per chip; a chip without the precision is infeasible with why."""
    at = _page("ui/pages/size.py", accelerators=["b200", "h200-sxm", "sn40l"], pue="1.4", precision="fp8")
    names = {CATALOG.accelerators[c].name: c for c in ("b200", "h200-sxm", "sn40l")}
    table = at.dataframe[0].value.set_index("accelerator").rename(index=names)
    for chip in ("b200", "h200-sxm"):
        s = _size(chip, "fp8", pue=1.4)
        assert table.loc[chip, "racks"] == fmt.cell(s.racks) and table.loc[chip, "chips"] == fmt.cell(s.chips)
        assert table.loc[chip, "facility_power_kw"] == fmt.cell(s.facility_power_kw)
    assert not table.loc["sn40l", "feasible"] and "no 'fp8' math" in table.loc["sn40l", "reason"]
    assert table.loc["sn40l", "racks"] == "— (infeasible)"
    top = table[table["rank"] == "1"].index[0]
    assert ("Racks", fmt.racks(_size(top, "fp8", pue=1.4).racks)) in _metrics(at)
    assert any("sn40l" in w.value for w in at.warning)


def test_frontier_selector_switches_metric():
    """Choosing 'per rack' redraws the frontier table sorted on output tok/s per rack."""
    at = _page("ui/pages/frontier.py", accelerators=["b200", "gb200"])
    at.segmented_control(key="frontier_metric").set_value("output_tokens_per_s_per_rack").run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert set(frame["accelerator"]) == {"b200", "gb200"}
    for _, part in frame.groupby("accelerator"):
        assert part["output_tokens_per_s_per_rack"].is_monotonic_decreasing


def test_sensitivity_baseline_is_the_focus_chip_sizing():
    """The tornado's baseline metric and table baseline are fleet.size for the focus chip."""
    at = _page("ui/pages/sensitivity.py", accelerator="h200-sxm")
    s = _size("h200-sxm", "best")
    assert _metrics(at)[0][1] == fmt.racks(s.racks)
    table = at.dataframe[0].value
    assert (table["At the defaults"] == fmt.racks(s.racks)).all()
    # each assumption moves at the precision 'best' chose for the baseline; rows that never move it are left out
    at_high = _size("h200-sxm", s.precision, pue=1.56).racks
    rows = table.set_index("Assumption")
    if "PUE" in rows.index:
        assert rows.loc["PUE", "At the high end"] == fmt.racks(at_high)
    else:
        assert at_high == s.racks


def test_sensitivity_unpriced_chip_explains_instead_of_failing():
    """Asking for $ per million tokens on a chip without a price gives an info message, not an error."""
    # every shipped chip has a price (issue 17): the unpriced chip is a user's, an MI300X copy without its price
    chip = CATALOG.accelerators["mi300x"].model_dump(mode="python", exclude_none=True)
    chip.pop("price_usd")
    chip.update(id="mi300x-unpriced", name="MI300X without a price")
    assert CATALOG.systems[chip["system"]].price_usd is None and "rental_usd_per_hour" not in chip
    code = codec.encode({"accelerators": [codec._jsonable(chip)]})
    at = _page("ui/pages/sensitivity.py", custom=code, accelerators=["mi300x-unpriced"], accelerator="mi300x-unpriced")
    at.segmented_control(key="sensitivity_metric").set_value("usd_per_million_output_tokens").run()
    assert not at.exception and not at.error
    assert any("no price" in i.value for i in at.info)
