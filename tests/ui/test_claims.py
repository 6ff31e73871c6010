"""Claim verdicts (ui.claims): constructed calculator results in, the verdict text and status out."""

from calculators import default_catalog
from calculators.catalog import catalog_from_texts
from ui import claims, codec, state

CATALOG = default_catalog()


def _speed(**changes):
    args = {"claimed": 198.0, "predicted": 128.0, "predicted_high": 193.0, "mtp_layers": 1, "favourable": {},
            "all_favourable": 174.0, "hbm_reads": None, "fixed_latency_us": 20.0, "memory_note": "tiers"}
    args.update(changes)
    return claims.per_user_verdict(**args)


def test_speed_holds_when_the_model_reaches_the_claim():
    """(a) A batch-1 prediction at or above 198 tok/s reads 'Holds'."""
    v = _speed(predicted=205.0)
    assert (v.verdict, v.status) == ("Holds", "holds")


def test_speed_calibrated_on_the_claim_says_so():
    """(a) If the catalog calibrates an SN40L assumption on the 198 tok/s point, 'Holds' is flagged by construction."""
    v = _speed(predicted=205.0, calibrated_on_claim=True)
    assert v.verdict == "Holds by construction: the model is calibrated on this claim" and v.status == "conditional"
    assert "by construction" in v.hinges[-1]


def test_speed_names_the_single_assumption_that_gets_there():
    """(a) When one assumption at its favourable end reaches the claim, the verdict names it."""
    v = _speed(favourable={"the fixed latency is at its low end (2 µs/layer)": 201.0, "other": 150.0})
    assert v.verdict == "Holds only if the fixed latency is at its low end (2 µs/layer)"
    assert v.status == "conditional" and "201 tok/s" in v.finding


def test_speed_needs_all_assumptions_together():
    """(a) Only all favourable ends together reaching the claim gives the 'every assumption' verdict."""
    v = _speed(favourable={"a": 150.0}, all_favourable=199.0)
    assert v.verdict == "Holds only if every assumption is at its favourable end"


def test_speed_hinges_on_the_memory_tier():
    """(a) If only the HBM-reads what-if reaches the claim, the verdict says the weights must stream from HBM."""
    v = _speed(hbm_reads=307.0)
    assert v.verdict == "Holds only if the weights stream from HBM, not DDR"
    assert "307 tok/s" in v.finding and "174 tok/s" in v.finding
    assert any("20 µs" in h for h in v.hinges) and "tiers" in v.hinges


def test_speed_inside_band_is_cant_tell_and_below_is_does_not_hold():
    """(a) Within the band only: "Can't tell"; below the band with nothing reaching it: 'Does not hold'."""
    assert _speed(predicted_high=210.0).verdict.startswith("Can't tell")
    v = _speed(predicted_high=150.0)
    assert (v.verdict, v.status) == ("Does not hold", "fails")


def test_speedup_against_fastest_gpu_and_production():
    """(b) 3x over the fastest GPU holds; 3x only over DeepSeek's 22 tok/s is conditional; neither fails."""
    ok = claims.speedup_verdict(sn_per_user=750.0, sn_label="x", gpu_best_per_user=242.0, gpu_label="h200-sxm")
    assert ok.verdict == "Holds" and "3.1x" in ok.finding
    prod = claims.speedup_verdict(sn_per_user=128.0, sn_label="x", gpu_best_per_user=242.0, gpu_label="h200-sxm")
    assert prod.status == "conditional" and prod.verdict.startswith("Holds only against throughput-first")
    assert "0.53x" in prod.finding and "5.8x" in prod.finding and "0.82x" in prod.finding
    slow = claims.speedup_verdict(sn_per_user=50.0, sn_label="x", gpu_best_per_user=242.0, gpu_label="h200-sxm")
    assert slow.verdict == "Does not hold"


def test_speedup_without_a_gpu_configuration_is_cant_tell():
    """(b) No fitting GPU configuration gives a "Can't tell" naming the GPU."""
    v = claims.speedup_verdict(sn_per_user=128.0, sn_label="x", gpu_best_per_user=None, gpu_label="h20")
    assert v.status == "unknown" and "h20" in v.verdict


def _efficiency(sn, gpu, band=(0.8, 1.2)):
    return claims.efficiency_verdict(sn_joules=sn, sn_joules_low=sn * band[0], sn_joules_high=sn * band[1],
                                     gpu_joules=gpu, gpu_joules_low=gpu * band[0], gpu_joules_high=gpu * band[1],
                                     sn_chips=144, gpu_chips=104, gpu_label="h200-sxm", per_user=198.0)


def test_efficiency_uses_both_bands():
    """(c) 5x holds only if the worst case of both bands reaches it; the central estimate alone is conditional."""
    assert _efficiency(1.0, 10.0).verdict == "Holds"
    assert _efficiency(1.0, 5.5).verdict == "Holds only at the model's central estimate"
    assert _efficiency(1.0, 4.5).verdict.startswith("Can't tell")
    v = _efficiency(3.94, 4.84)
    assert v.verdict == "Does not hold" and "1.2x" in v.finding and "144 chips vs 104 chips" in v.finding


def test_rack_throughput_verdicts():
    """(d) Reaching 20k per rack at the target holds; only at a slower speed is conditional; never fails."""
    ok = claims.rack_throughput_verdict(per_user=198.0, best_at_target=25_000.0, batch_at_target=512,
                                        chips_at_target=64, max_any=40_000.0, per_user_at_goal=220.0,
                                        batch_at_goal=256, chip_label="SN40L")
    assert ok.verdict == "Holds" and "batch 512 per replica of 64 chips" in ok.finding
    slower = claims.rack_throughput_verdict(per_user=198.0, best_at_target=19_100.0, batch_at_target=2048,
                                            max_any=30_000.0, per_user_at_goal=185.0, batch_at_goal=2048,
                                            chip_label="SN40L")
    assert slower.verdict == "Holds only at 185 tok/s per user or slower"
    never = claims.rack_throughput_verdict(per_user=198.0, best_at_target=2_500.0, batch_at_target=91,
                                           max_any=9_000.0, per_user_at_goal=None, batch_at_goal=None,
                                           chip_label="SN40L")
    assert never.verdict == "Does not hold" and "9,000 tok/s" in never.finding


def test_forty_racks_explains_the_origin_and_compares():
    """(e) The finding cites DeepSeek's 40-node / 320-GPU unit; fewer racks for the same targets 'Does not hold'."""
    v = claims.forty_racks_verdict(gpu_racks=4, gpu_label="h200-sxm", gpu_reason="", h800_racks=5, per_user=198.0,
                                   total=20_000.0)
    assert v.verdict == "Does not hold: 4 racks of h200-sxm for the same targets"
    assert "40 nodes / 320 H800" in v.finding and "H800 (the GPU of the story): 5 racks" in v.finding
    assert claims.forty_racks_verdict(gpu_racks=41, gpu_label="h800-sxm", gpu_reason="", h800_racks=41,
                                      per_user=198.0, total=1e6).verdict == "Holds"
    cant = claims.forty_racks_verdict(gpu_racks=None, gpu_label="h20", gpu_reason="too slow", h800_racks=None,
                                      per_user=500.0, total=1e6)
    assert cant.status == "unknown" and "too slow" in cant.finding


def test_hbm_reads_layer_is_a_valid_what_if_chip():
    """The what-if layer loads as a catalog chip whose DDR tier reads at the SN40L's HBM bandwidth."""
    layer = claims.hbm_reads_layer(CATALOG)
    files = (*state.shipped_texts(), ("what-if", codec.layer_yaml(layer).encode("utf-8")))
    catalog = catalog_from_texts(list(files))
    chip = catalog.accelerators["sn40l" + claims.WHAT_IF_SUFFIX]
    bandwidth = {t.tier: t.bandwidth_gb_s.value for t in chip.memory_tiers}
    assert bandwidth["ddr"] == bandwidth["hbm"] == CATALOG.accelerators["sn40l"].memory_tiers[1].bandwidth_gb_s.value
    assert claims.hbm_reads_layer(CATALOG, "groq-lpu") is None
