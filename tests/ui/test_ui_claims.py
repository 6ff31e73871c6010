"""ui.claims: the landing page's story as registry entries checked for the sidebar, a user's claim as a catalog
layer the strict loader accepts, and the sizing-page scenario a claim links to."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from calculators import default_catalog
from calculators.catalog import catalog_from_texts
from calculators.claims import check_claims
from calculators.errors import CatalogError
from ui import claims, codec, params, state

CATALOG = default_catalog()
FORM = {"vendor": "Acme", "claim": "1000 tok/s per user", "url": "https://example.com/claim",
        "date": dt.date(2025, 5, 1), "kind": "per-user-speed", "claimed": 1000.0, "bound": "at-least",
        "model": "deepseek-r1", "accelerator": "h200-sxm", "chips": 8, "precision": "fp8", "concurrency": 0,
        "per_user_tokens_per_s": 0.0, "total_output_tokens_per_s": 0.0, "ratio_of": "", "baseline_accelerator": "",
        "baseline_chips": 0, "baseline_precision": ""}


def _load(layer):
    return catalog_from_texts([*state.shipped_texts(), ("link", codec.layer_yaml(layer).encode("utf-8"))])


def test_story_changes_put_the_sidebar_gpu_and_targets_on_the_gpu_side_only():
    """The GPU side of each story claim becomes the sidebar's GPU and precision; the SN40L side stays; claims with
    targets take the sidebar's targets."""
    s = dataclasses.replace(params.default_scenario(CATALOG), gpu="b200", precision="fp4",
                            per_user_tokens_per_s=120.0, total_output_tokens_per_s=5000.0)
    by_id = {c.id: claims.story_changes(CATALOG, c, s) for c in CATALOG.claims.values() if c.story}
    assert "accelerator" not in by_id["sambanova-2025-02-a-198-per-user"]
    assert by_id["sambanova-2025-02-b-3x-faster"]["baseline_accelerator"] == "b200"
    assert by_id["sambanova-2025-02-e-40-gpu-racks"]["accelerator"] == "b200"
    assert by_id["sambanova-2025-02-c-5x-efficient"]["total_output_tokens_per_s"] == 5000.0
    assert by_id["sambanova-2025-02-d-20k-per-rack"]["per_user_tokens_per_s"] == 120.0


def test_landing_and_claims_page_agree_or_say_which_sidebar_choice_differs():
    """A story claim checked with the sidebar gives the Claims page's number when the sidebar changes nothing it
    uses; where it does, story_differences names the choice (chip and precision) in words."""
    registry = {c.id: c for c in check_claims(CATALOG)}
    s = params.default_scenario(CATALOG)
    for _, check in claims.story_checks(CATALOG, s):
        differs = claims.story_differences(CATALOG, CATALOG.claims[check.id], check)
        if differs is None:
            assert check.predicted == pytest.approx(registry[check.id].predicted, rel=0.02)
        else:
            assert "here" in differs and "on the Claims page" in differs
    as_written = dataclasses.replace(s, gpu="h200-sxm", precision="fp8")  # claim (c)'s baseline as registered
    energy = dict(claims.story_checks(CATALOG, as_written))["c"]
    assert claims.story_differences(CATALOG, CATALOG.claims[energy.id], energy) is None
    assert energy.predicted == pytest.approx(registry[energy.id].predicted, rel=0.02)


def test_user_claim_layer_loads_and_is_checked():
    """A form's claim becomes a claims entry with its own source that the loader accepts and the checker checks;
    a second claim gets a fresh id and keeps the first (and any chips in the layer)."""
    chip = codec._jsonable(CATALOG.accelerators["h200-sxm"].model_dump(mode="python", exclude_none=True))
    chip["id"] = "my-h200"
    first = claims.user_claim_layer(FORM, {"accelerators": [chip]})
    both = claims.user_claim_layer({**FORM, "claimed": 5.0}, first)
    catalog = _load(both)
    ids = claims.user_claim_ids(both)
    assert len(ids) == 2 and len(set(ids)) == 2 and "my-h200" in catalog.accelerators
    checks = check_claims(catalog, ids)
    assert {c.source_url for c in checks} == {"https://example.com/claim"}
    assert checks[0].claimed == 1000.0 and checks[1].claimed == 5.0


def test_user_claim_with_a_bad_shape_is_refused_by_the_loader():
    """A ratio claim without a baseline is a catalog problem naming the field, not a crash."""
    layer = claims.user_claim_layer({**FORM, "kind": "efficiency-ratio"})
    with pytest.raises(CatalogError) as err:
        _load(layer)
    assert any("ratio_of" in str(p) for p in err.value.problems)


def test_claim_link_opens_its_scenario_within_the_sidebar_bounds():
    """Every registry claim links to a sizing-page scenario that parse_query reads back without a notice."""
    for check in check_claims(CATALOG):
        scenario = claims.scenario_for_claim(CATALOG, check)
        query = params.to_query(scenario, CATALOG)
        parsed, notices = params.parse_query({k: v if isinstance(v, list) else [v] for k, v in query.items()},
                                             CATALOG)
        assert not notices, (check.id, notices)
        assert parsed.accelerator == check.scenario["accelerator"] and parsed.model == check.scenario["model"]


def test_a_precision_keyword_resolves_to_a_precision_the_gpu_has():
    """A sidebar precision that is not a catalog format (such as 'best') still gives the GPU side a format it
    computes in, never the keyword itself."""
    s = dataclasses.replace(params.default_scenario(CATALOG), gpu="h200-sxm", precision="best")
    chosen = claims.gpu_precision(CATALOG, s, "deepseek-r1")
    assert chosen in CATALOG.accelerators["h200-sxm"].peak_tflops
    changes = [claims.story_changes(CATALOG, c, s) for c in CATALOG.claims.values() if c.story]
    assert all(ch.get("precision", chosen) == chosen and ch.get("baseline_precision", chosen) == chosen
               for ch in changes)
