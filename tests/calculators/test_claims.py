"""The claims registry (records, loader) and calculators.claims: verdicts from constructed claims and inputs.

No test pins a model number: each builds a claim far below or far above what the calculators return for its
scenario (read from the calculators in the test), or feeds constructed numbers to the verdict ladders."""

from __future__ import annotations

import json

import pytest

from calculators import default_catalog
from calculators.assumptions import resolve_assumptions
from calculators.catalog import catalog_from_texts, read_files, shipped_catalog_files
from calculators.claims import STATUS_LABELS, check_claim, check_claims, hbm_reads_chip, ratio_verdict, story
from calculators.cli import main
from calculators.decode import predict
from calculators.deployment import Deployment
from calculators.errors import CatalogError
from calculators.records import Claim
from calculators.search import mtp_candidates

CATALOG = default_catalog()


def _claim(**changes) -> Claim:
    data = {"id": "t", "vendor": "V", "claim": "words", "source": "sn40l-paper", "date": "2025-01-01",
            "kind": "per-user-speed", "claimed": 1.0,
            "scenario": {"model": "deepseek-r1", "accelerator": "h200-sxm", "chips": 8, "precision": "fp8",
                         "concurrency": 1}}
    scenario = changes.pop("scenario", {})
    data.update(changes)
    data["scenario"] = {**data["scenario"], **scenario}
    return Claim.model_validate(data, strict=False)


def _batch1(chip="h200-sxm", chips=8, precision="fp8") -> float:
    """The fastest batch-1 speed over the MTP depths a claim tries (none and the engine's recipe depth)."""
    depths = mtp_candidates(CATALOG.models["deepseek-r1"], resolve_assumptions(CATALOG, chip))
    return max(predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, chips=chips, precision=precision,
                       concurrency=1, context_tokens=2000, mtp_layers=k)).per_user_tokens_per_s for k in depths)


def test_registry_has_sourced_claims_from_several_vendors():
    """The shipped registry holds at least 8 claims from at least 4 vendors, each citing a known source."""
    assert len(CATALOG.claims) >= 8
    assert len({c.vendor for c in CATALOG.claims.values()}) >= 4
    for c in CATALOG.claims.values():
        assert c.source in CATALOG.sources and CATALOG.sources[c.source].url


def test_claims_json_lists_every_claim_with_a_verdict(capsys):
    """claims --json prints one entry per registry claim with the contract's keys and a known status."""
    assert main(["claims", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(CATALOG.claims)
    for r in rows:
        for key in ("id", "vendor", "claim", "source", "date", "verdict", "claimed", "predicted", "status",
                    "hinges"):
            assert key in r
        assert r["status"] in STATUS_LABELS


def test_claims_unknown_id_is_a_clear_error(capsys):
    """claims --id with an unknown id exits 2 naming it."""
    assert main(["claims", "--id", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_loader_names_a_claims_unknown_reference():
    """A claim citing an unknown chip is a catalog problem naming the claim, the field and the value."""
    bad = ("claims:\n  - {id: x, vendor: V, claim: w, source: sn40l-paper, date: 2025-01-01, kind: per-user-speed,\n"
           "     claimed: 5, scenario: {model: deepseek-r1, accelerator: no-such-chip, precision: fp8}}\n")
    with pytest.raises(CatalogError) as err:
        catalog_from_texts([*read_files(shipped_catalog_files()), ("mine.yaml", bad)])
    assert any("claims[x].scenario.accelerator" in str(p) and "no-such-chip" in str(p) for p in err.value.problems)


def test_claim_shape_rules():
    """A ratio claim needs what it divides and a baseline; a throughput claim needs its chip count; at-most is for
    racks and cost only; a date may be a day, a month or a year but nothing else."""
    with pytest.raises(ValueError, match="ratio_of"):
        _claim(kind="efficiency-ratio")
    with pytest.raises(ValueError, match="chips"):
        _claim(kind="throughput", scenario={"chips": None})
    with pytest.raises(ValueError, match="at-most"):
        _claim(bound="at-most")
    assert _claim(date="2025").date == "2025" and _claim(date="2025-06").date == "2025-06"
    with pytest.raises(ValueError):
        _claim(date="last spring")


def test_per_user_claim_below_the_model_holds_and_far_above_fails():
    """A per-user claim at half the model's batch-1 speed holds; at 100x it does not hold, with hinges."""
    speed = _batch1()
    low = check_claim(CATALOG, _claim(claimed=speed / 2))
    high = check_claim(CATALOG, _claim(claimed=speed * 100))
    assert (low.status, low.verdict) == ("holds", "Holds")
    assert high.status == "fails" and high.hinges
    assert low.predicted == pytest.approx(speed)


def test_per_user_claim_inside_the_band_cannot_be_told():
    """A claim just under the top of the uncertainty band (and out of reach of every favourable end) is 'Can't
    tell', or a named condition when a favourable end reaches it: never 'Holds' or 'Does not hold'."""
    c = check_claim(CATALOG, _claim(claimed=_batch1() * 1.01))
    assert c.status in ("unknown", "conditional")
    assert c.predicted < c.claimed <= c.predicted_high


def test_calibrated_claim_holds_only_by_construction():
    """A claim equal to a calibration measurement of the same configuration is flagged as agreeing by construction."""
    point = CATALOG.validation["sambanova-sn40l-16-batch1"]
    c = check_claim(CATALOG, _claim(claimed=point.measured, scenario={"accelerator": "sn40l", "chips": 16,
                                                                       "precision": "bf16"}))
    assert any("by construction" in h for h in c.hinges)
    if c.predicted >= c.claimed:
        assert c.status == "conditional" and "by construction" in c.verdict


def test_throughput_claim_reachable_only_slower_is_conditional():
    """A system output reachable only below the claim's per-user floor is 'Holds only at ... or slower'."""
    any_batch = {"concurrency": None}
    base = check_claim(CATALOG, _claim(kind="throughput", claimed=1.0, scenario=any_batch))
    most = base.predicted
    floor = check_claim(CATALOG, _claim(kind="throughput", claimed=most * 0.9,
                                        scenario={**any_batch, "per_user_tokens_per_s": _batch1() * 0.99}))
    assert base.status == "holds"
    assert floor.status == "conditional" and floor.verdict.startswith("Holds only at")
    assert check_claim(CATALOG, _claim(kind="throughput", claimed=most * 1000, scenario=any_batch)).status == "fails"


def test_ratio_verdict_ladder():
    """Ratios: even the unfavourable end reaches it -> holds; only the central estimate -> conditional; only the
    favourable end -> can't tell; none -> does not hold."""
    assert ratio_verdict(claimed=2, central=3, worst=2.1, best=4)[1] == "holds"
    assert ratio_verdict(claimed=2, central=2.5, worst=1.5, best=4)[1] == "conditional"
    assert ratio_verdict(claimed=2, central=1.5, worst=1, best=2.5)[1] == "unknown"
    assert ratio_verdict(claimed=2, central=1, worst=0.5, best=1.5)[1] == "fails"


def test_speed_ratio_falls_back_on_a_measured_baseline():
    """A speed ratio the modelled baseline misses but a slow measured baseline meets is conditional on it."""
    point = "deepseek-prod-h800-per-user"
    scenario = {"accelerator": "sn40l", "chips": 16, "precision": "bf16", "ratio_of": "per_user_tokens_per_s",
                "baseline_accelerator": "h200-sxm", "baseline_chips": 8, "baseline_precision": "fp8",
                "baseline_measurement": point}
    sn, gpu = _batch1("sn40l", 16, "bf16"), _batch1()
    between = (sn / CATALOG.validation[point].measured + sn / gpu) / 2
    if sn / gpu < between < sn / CATALOG.validation[point].measured:
        c = check_claim(CATALOG, _claim(kind="efficiency-ratio", claimed=between, scenario=scenario))
        assert c.status == "conditional" and point in c.verdict
    easy = check_claim(CATALOG, _claim(kind="efficiency-ratio", claimed=sn / gpu / 2, scenario=scenario))
    assert easy.status == "holds"


def test_racks_claim_compares_with_fleet_size():
    """'needs N racks' holds when the model sizes at least N racks and not otherwise; at-most mirrors it."""
    scenario = {"per_user_tokens_per_s": 50.0, "total_output_tokens_per_s": 20_000.0}
    racks = check_claim(CATALOG, _claim(kind="racks-for-target", claimed=1, scenario=scenario)).predicted
    assert check_claim(CATALOG, _claim(kind="racks-for-target", claimed=racks, scenario=scenario)).status == "holds"
    assert check_claim(CATALOG, _claim(kind="racks-for-target", claimed=racks + 1,
                                       scenario=scenario)).status == "fails"
    assert check_claim(CATALOG, _claim(kind="racks-for-target", claimed=racks + 1, bound="at-most",
                                       scenario=scenario)).status == "holds"


def test_cost_claim_on_a_priced_chip_compares_with_fleet_size():
    """A cost claim far above the modelled $ per million tokens holds (at-most); far below it does not."""
    scenario = {"chips": None, "per_user_tokens_per_s": 20.0, "total_output_tokens_per_s": 20_000.0}
    cost = check_claim(CATALOG, _claim(kind="cost", claimed=1.0, bound="at-most", scenario=scenario)).predicted
    assert cost is not None and cost > 0
    assert check_claim(CATALOG, _claim(kind="cost", claimed=cost * 100, bound="at-most",
                                       scenario=scenario)).status == "holds"
    assert check_claim(CATALOG, _claim(kind="cost", claimed=cost / 100, bound="at-most",
                                       scenario=scenario)).status == "fails"


def test_cost_claim_without_a_price_cannot_be_told():
    """A cost claim on a chip the catalog has no price for is 'Can't tell' naming the missing price."""
    # every shipped chip has a price since issue 17, so one (a user's chip, say) has its prices taken away here
    chip = CATALOG.accelerators["h20"]
    unpriced = chip.model_copy(update={"price_usd": None, "rental_usd_per_hour": None})
    system = CATALOG.systems[chip.system].model_copy(update={"price_usd": None})
    catalog = CATALOG.model_copy(update={"accelerators": {**CATALOG.accelerators, "h20": unpriced},
                                         "systems": {**CATALOG.systems, chip.system: system}})
    c = check_claim(catalog, _claim(kind="cost", claimed=1.0, bound="at-most",
                                    scenario={"model": "llama-3.1-70b", "accelerator": "h20",
                                              "precision": "bf16", "chips": None, "per_user_tokens_per_s": 20.0,
                                              "total_output_tokens_per_s": 1000.0}))
    assert c.status == "unknown" and "no price" in c.verdict


def test_a_refused_scenario_is_a_cant_tell_verdict():
    """A precision the chip lacks is a 'Can't tell' naming the calculators' reason, not an exception."""
    c = check_claim(CATALOG, _claim(scenario={"accelerator": "sn40l", "precision": "fp8", "chips": 16}))
    assert c.status == "unknown" and "fp8" in c.finding


def test_changes_replace_scenario_fields_and_bad_changes_are_refused():
    """changes= swaps the scenario (the checked scenario says so); an invalid change is a Can't-tell verdict."""
    c = check_claim(CATALOG, _claim(), changes={"accelerator": "b200", "precision": "fp4"})
    assert c.scenario["accelerator"] == "b200"
    assert check_claim(CATALOG, _claim(), changes={"chips": -1}).status == "unknown"


def test_story_is_ordered_and_every_claim_checks():
    """The landing page's story claims come in id order and every shipped claim gets a verdict."""
    ids = [c.id for c in story(CATALOG, "sambanova-2025-02")]
    assert ids == sorted(ids) and len(ids) == 5
    assert all(c.status in STATUS_LABELS for c in check_claims(CATALOG))


def test_hbm_reads_what_if_chip():
    """The what-if copy reads DDR at HBM bandwidth; a chip without both tiers has none."""
    what_if = hbm_reads_chip(CATALOG, "sn40l")
    chip = what_if.accelerators["sn40l-hbm-reads"]
    bandwidth = {t.tier: t.bandwidth_gb_s.value for t in chip.memory_tiers}
    assert bandwidth["ddr"] == bandwidth["hbm"]
    assert "sn40l-hbm-reads" not in CATALOG.accelerators
    assert hbm_reads_chip(CATALOG, "groq-lpu") is None


def test_calculators_never_import_ui_or_streamlit():
    """Importing the CLI (claims and report commands included) and calculators.claims loads no ui or Streamlit
    module: the report command imports ui.report only when it runs."""
    import subprocess
    import sys

    code = ("import sys, calculators.cli, calculators.commands, calculators.claims; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('ui', 'streamlit')]; print(bad); "
            "sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_claim_on_too_few_chips_says_how_much_memory_it_needs():
    """A per-user claim on one H200 for DeepSeek-R1 (far too little memory) names the memory it would need and is
    never 'Holds'."""
    c = check_claim(CATALOG, _claim(claimed=10.0, scenario={"chips": 1}))
    assert "of their memory" in c.finding and c.status != "holds"
