"""calculators.precision and fleet.size with precision='best': the per-chip choice, its order and its reasons."""

import pytest

from calculators import default_catalog
from calculators.deployment import Demand
from calculators.errors import ScenarioError
from calculators.fleet import size
from calculators.precision import BEST, candidate_precisions
from calculators.records import SourcedChoice

CATALOG = default_catalog()
TARGETS = dict(model="deepseek-r1", per_user_tokens_per_s=198.0, total_output_tokens_per_s=20_000.0,
               input_tokens=1000, output_tokens=2000, context_tokens=2000)


@pytest.mark.parametrize("chip", ["h200-sxm", "b200", "gb200", "sn40l"])
def test_best_is_the_fewest_racks_then_cheapest_of_the_fixed_precisions(chip):
    """'best' sizes each candidate precision and keeps the one with the fewest racks, then the lowest cost."""
    best = size(CATALOG, Demand(accelerator=chip, precision=BEST, **TARGETS))
    fixed = [size(CATALOG, Demand(accelerator=chip, precision=p, **TARGETS))
             for p in candidate_precisions(CATALOG, CATALOG.models["deepseek-r1"], CATALOG.accelerators[chip])]
    ok = [s for s in fixed if s.feasible]
    assert best.feasible and ok
    fewest = min(s.racks for s in ok)
    cheapest = min(s.usd_per_million_output_tokens for s in ok if s.racks == fewest)
    assert best.racks == fewest
    assert best.usd_per_million_output_tokens == pytest.approx(cheapest)
    assert best.precision_requested == BEST and best.precision in best.precision_choice


def test_candidates_are_the_chips_formats_the_model_is_served_in():
    """A chip's candidates are its own math formats restricted to the model's serving precisions, native first."""
    model = CATALOG.models["deepseek-r1"]
    b200 = CATALOG.accelerators["b200"]
    got = candidate_precisions(CATALOG, model, b200)
    assert got[0] == model.native_precision
    assert set(got) == set(b200.precisions) & {c.value for c in model.serving_precisions}
    only_bf16 = model.model_copy(update={"serving_precisions": (SourcedChoice(
        value="bf16", kind="assumption", note="test: a model published in BF16 only"),)})
    assert candidate_precisions(CATALOG, only_bf16, b200) == ["bf16"]


def test_a_chip_with_no_format_the_model_is_served_in_gets_a_reason_about_the_chip():
    """No candidate precision: an infeasible answer naming the chip's formats and the model's, not an exception."""
    model = CATALOG.models["deepseek-r1"].model_copy(update={"serving_precisions": (SourcedChoice(
        value="fp4", kind="assumption", note="test: FP4 only"),)})
    catalog = CATALOG.model_copy(update={"models": {**CATALOG.models, "deepseek-r1": model}})
    s = size(catalog, Demand(accelerator="sn40l", precision=BEST, **TARGETS))
    assert not s.feasible
    assert "sn40l" in s.reason and "bf16" in s.reason and "fp4" in s.reason


def test_no_precision_meeting_the_targets_lists_each_reason():
    """When no candidate meets the targets, the reason names every precision tried and why it failed."""
    s = size(CATALOG, Demand(accelerator="tpu7x", precision=BEST, **{**TARGETS, "per_user_tokens_per_s": 5000.0}))
    assert not s.feasible
    for p in candidate_precisions(CATALOG, CATALOG.models["deepseek-r1"], CATALOG.accelerators["tpu7x"]):
        assert f"at {p}:" in s.reason


def test_an_unknown_precision_names_best_among_the_valid_ones():
    """A precision that is neither 'best' nor a catalog id is a ScenarioError listing both."""
    with pytest.raises(ScenarioError, match="best"):
        size(CATALOG, Demand(accelerator="b200", precision="fp3", **TARGETS))


def test_sweep_best_covers_each_chips_candidates_and_names_them():
    """sweep(precisions=['best']) has, per chip, exactly its candidate precisions, each row naming its own."""
    from calculators.sweep import SweepSpec, sweep

    frame = sweep(CATALOG, SweepSpec(model="deepseek-r1", accelerators=["sn40l", "b200"], precisions=[BEST],
                  concurrencies=[1, 64], mtp_layers=(0,), context_tokens=2000, max_replica_nodes=4))
    model = CATALOG.models["deepseek-r1"]
    for chip in ("sn40l", "b200"):
        got = set(frame.loc[frame["accelerator"] == chip, "precision"])
        assert got == set(candidate_precisions(CATALOG, model, CATALOG.accelerators[chip]))


def test_cli_size_best_json_names_the_precision_chosen(capsys):
    """`size --precision best --json` reports the chosen precision, the request and how each candidate did."""
    import json

    from calculators.cli import main

    args = ["size", "--model", "deepseek-r1", "--accelerator", "b200", "--precision", "best",
            "--per-user-tokens-per-s", "198", "--total-output-tokens-per-s", "20000", "--input-tokens", "1000",
            "--output-tokens", "2000", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["precision_requested"] == BEST and out["precision"] in CATALOG.accelerators["b200"].precisions
    assert all(p in out["precision_choice"] for p in CATALOG.accelerators["b200"].precisions)
