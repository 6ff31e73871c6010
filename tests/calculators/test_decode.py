"""Decode step time (F4-F10), predict's API and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calculators import decode
from calculators.assumptions import resolve_assumptions
from calculators.catalog import default_catalog
from calculators.errors import ScenarioError


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.mark.parametrize(("tokens", "experts"), [(1, 8.0), (8, 57.42), (32, 163.31), (64, 222.45)])
def test_distinct_experts_r1(tokens, experts):
    """F4: 256*(1-(1-8/256)^B) = 8, 57.42, 163.31, 222.45 at B = 1, 8, 32, 64 (0.96875^32 = 0.36204)."""
    assert float(decode.distinct_experts_per_step(256, 8, tokens)) == pytest.approx(experts, abs=0.01)


def test_busiest_rank_with_one_rank_is_the_mean():
    """With one expert-parallel rank the straggler formula reduces to F4's mean."""
    assert float(decode.busiest_rank_experts(256, 8, 1, 8)) == pytest.approx(256 * (1 - (248 / 256) ** 8))


def test_busiest_rank_exceeds_mean_share():
    """The busiest of 8 ranks of 32 experts holds more touched experts than the mean 32 q."""
    q = 1 - (248 / 256) ** 8  # 0.2243
    busiest = float(decode.busiest_rank_experts(256, 8, 8, 8))
    assert 32 * q < busiest <= 32
    # one expert per rank: max over 256 ranks of Bernoulli(q) = 1 - (1 - q)^256 ~ 1
    assert float(decode.busiest_rank_experts(256, 8, 256, 8)) == pytest.approx(1 - (1 - q) ** 256)


def test_mtp_expected_tokens():
    """E_k = 1 + p1 + p1 p2 + p1 p2 p3: 1.92, 2.58, 2.82 with p = 0.92, 0.717, 0.364."""
    acc = (0.92, 0.717, 0.364)
    # 1 + 0.92 = 1.92; + 0.92*0.717 = 0.6596 -> 2.5796; + 0.6596*0.364 = 0.2401 -> 2.8197
    assert decode.mtp_expected_tokens(acc, np.array([0, 1, 2, 3])) == pytest.approx([1, 1.92, 2.5796, 2.8197], 1e-4)


def test_ring_all_reduce():
    """A ring all-reduce over g chips moves 2(g-1)/g of the buffer per link: 8 chips, 1 MB, 1 GB/s = 1.75 ms."""
    assert float(decode.ring_all_reduce_s(1e6, 8, 1e9)) == pytest.approx(2 * 7 / 8 * 1e-3)
    assert float(decode.ring_all_reduce_s(1e6, 1, 1e9)) == 0


def test_all_to_all_splits_scale_up_and_out():
    """EP over 16 chips in 8-chip domains sends 7/15 over NVLink and 8/15 over the network; the slower sets time."""
    t = float(decode.all_to_all_s(15e6, 16, 8, 450e9, 50e9))
    assert t == pytest.approx(8e6 / 50e9)


def test_step_time_is_sum_of_components(catalog):
    """F9: the step is fixed latency + the per-component roofline sum + exposed communication (not one max)."""
    p = decode.predict(catalog, model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                       concurrency=64, context_tokens=8192)
    assert sum(p.step_time_breakdown_ms.values()) == pytest.approx(p.step_time_ms)
    assert p.total_output_tokens_per_s == pytest.approx(64 * p.per_user_tokens_per_s)


def test_fixed_latency_term(catalog):
    """At batch 1 the fixed cost is L x tau = 61 x 134 us = 8.17 ms for the tuned engine."""
    p = decode.predict(catalog, model="deepseek-r1", accelerator="b200", chips=8, precision="fp4",
                       concurrency=1, context_tokens=2000)
    a = resolve_assumptions(catalog, "b200")
    assert p.step_time_breakdown_ms["fixed_latency"] == pytest.approx(61 * a.fixed_latency_us_per_layer / 1e3)
    assert p.bound_by == "fixed latency"


def test_mla_kv_replicated_under_tp_not_dp(catalog):
    """Under TP attention every chip holds the whole MLA latent; DP attention holds 1/dp of the sequences."""
    a = resolve_assumptions(catalog, "h200-sxm")
    out = decode.evaluate_decode(
        catalog, catalog.models["deepseek-r1"], catalog.accelerators["h200-sxm"], "fp8", a,
        chips=8, attention_tp=np.array([8, 1]), moe_ep=8, concurrency=64, context_tokens=8192, mtp_layers=0,
    )
    # TP8: 64 seqs x 8,192 x 70,272 B = 36.84 GB per chip; DP8: 8 seqs -> 4.605 GB
    assert out["kv_bytes_per_chip"] == pytest.approx([64 * 8192 * 70_272, 8 * 8192 * 70_272])


def test_more_batch_more_throughput_less_speed(catalog):
    """Raising the batch lowers per-user speed and raises replica throughput."""
    kw = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8", context_tokens=4096)
    small = decode.predict(catalog, concurrency=4, **kw)
    big = decode.predict(catalog, concurrency=128, **kw)
    assert big.per_user_tokens_per_s < small.per_user_tokens_per_s
    assert big.total_output_tokens_per_s > small.total_output_tokens_per_s


def test_not_fitting_reports_capacity(catalog):
    """R1 BF16 (1.37 TB) on one 8xH100 node does not fit and says capacity binds."""
    p = decode.predict(catalog, model="deepseek-r1", accelerator="h100-sxm", chips=8, precision="bf16",
                       concurrency=1, context_tokens=1000)
    assert not p.fits_in_memory and p.bound_by == "capacity"


def test_prediction_json_is_finite_with_band(catalog):
    """to_dict has the CLI keys, finite numbers, and a low/high band around the headline."""
    d = decode.predict(catalog, model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                       concurrency=64, context_tokens=8192, mtp_layers=2).to_dict()
    for key in ("per_user_tokens_per_s", "total_output_tokens_per_s", "step_time_ms", "fits_in_memory", "bound_by",
                "layout", "power_kw", "joules_per_output_token"):
        assert key in d
    assert d["per_user_tokens_per_s_low"] < d["per_user_tokens_per_s"] < d["per_user_tokens_per_s_high"]
    assert all(math.isfinite(v) for v in d.values() if isinstance(v, float))


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"accelerator": "h999"}, "h999"),
        ({"model": "nope"}, "nope"),
        ({"precision": "fp4"}, "fp4"),
        ({"chips": 0}, "chips"),
        ({"concurrency": -1}, "concurrency"),
        ({"context_tokens": float("nan")}, "context_tokens"),
        ({"mtp_layers": 4}, "mtp_layers"),
        ({"layout": "tp3"}, "layout"),
    ],
)
def test_bad_inputs_raise_naming_the_argument(catalog, override, needle):
    """Unknown ids, a precision the chip lacks, zero/negative/NaN inputs raise ScenarioError naming the input."""
    kw = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8", concurrency=8,
              context_tokens=1000)
    kw.update(override)
    with pytest.raises(ScenarioError, match=needle):
        decode.predict(catalog, **kw)


def test_sn40l_stores_fp8_weights_and_computes_bf16(catalog):
    """SN40L's engine keeps R1's FP8 checkpoint (fits HBM, faster) while FLOPs stay BF16; BF16 storage spills to DDR."""
    a = resolve_assumptions(catalog, "sn40l")
    assert a.weight_storage_precision == "native"
    kw = dict(model="deepseek-r1", accelerator="sn40l", chips=16, precision="bf16", concurrency=1,
              context_tokens=1000, layout="tp16")
    fp8 = decode.predict(catalog, **kw)
    bf16 = decode.predict(catalog, assumptions=resolve_assumptions(catalog, "sn40l", weight_storage_precision="bf16"),
                          **kw)
    assert fp8.weight_storage_precision == "fp8" and bf16.weight_storage_precision == "bf16"
    # FP8: (671.03 + 11.5)e9 x 1.000244 B / 16 = 42.7 GB per chip < 0.9 x 68.7 GB HBM; BF16 85.3 GB spills to DDR
    out = {}
    for name, storage in (("fp8", "native"), ("bf16", "bf16")):
        out[name] = decode.evaluate_decode(
            catalog, catalog.models["deepseek-r1"], catalog.accelerators["sn40l"], "bf16",
            resolve_assumptions(catalog, "sn40l", weight_storage_precision=storage),
            chips=16, attention_tp=16, moe_ep=1, concurrency=1, context_tokens=1000, mtp_layers=0,
        )
    assert float(out["fp8"]["weight_bytes_per_chip"]) == pytest.approx(682.53e9 * 1.000244 / 16, rel=2e-3)
    assert float(out["bf16"]["weight_bytes_per_chip"]) > 0.9 * 68.7e9
    assert fp8.per_user_tokens_per_s > 1.5 * bf16.per_user_tokens_per_s


def test_bad_weight_storage_precision_raises(catalog):
    """An unknown storage precision raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match="weight_storage_precision"):
        resolve_assumptions(catalog, "sn40l", weight_storage_precision="fp2")


def test_busiest_rank_load_factor():
    """The busiest EP rank's share of token-expert assignments: max over ranks of iid Binomial(T k, 1/ranks) / mean."""
    # 2 assignments, 2 ranks each ~ Bin(2, 1/2): P(max >= 1) = 1 - (1/4)^2 = 15/16, P(max >= 2) = 1 - (3/4)^2 = 7/16
    # -> E[max] = 22/16 = 1.375 over a mean of 1 (independent ranks; the exact multinomial gives 1.5)
    assert float(decode.busiest_rank_load_factor(1, 2, 2)) == pytest.approx(1.375)
    # one rank, or experts tensor-parallel (EP 1): no straggler
    assert float(decode.busiest_rank_load_factor(8, 1, 64)) == 1.0
    # normal approximation beyond 4,096 assignments: 25,376 tokens x 8 over 144 ranks, mean 1,409.8,
    # sigma = sqrt(1409.8 x 143/144) = 37.42, Blom z = Phi^-1(143.625/144.25) = 2.625 -> 1 + 2.625 x 37.42 / 1409.8
    assert float(decode.busiest_rank_load_factor(8, 144, 25_376)) == pytest.approx(1 + 2.625 * 37.42 / 1409.8, 1e-4)


def test_two_micro_batch_overlap_limits():
    """Two-micro-batch overlap: no comm costs A + M, no compute costs D + C, balanced pairs hide comm entirely,
    and an unbalanced pair leaves part exposed."""
    assert decode.two_micro_batch_s(3.0, 1.0, 0.0, 0.0) == pytest.approx(4.0)
    assert decode.two_micro_batch_s(0.0, 0.0, 1.0, 2.0) == pytest.approx(3.0)
    assert decode.two_micro_batch_s(2.0, 2.0, 2.0, 2.0) == pytest.approx(4.0)
    # A = 36, M = 8, D = 14, C = 27 (EP144-like): 1/2 (36 + 14 + 27 + 36) = 56.5 > max(A + M, D + C) = 44
    assert decode.two_micro_batch_s(36.0, 8.0, 14.0, 27.0) == pytest.approx(56.5)


def test_attention_weight_precision_widens_only_the_projections(catalog):
    """FP8 attention + FP4 MoE: the attention projections are stored and streamed at FP8, everything else FP4."""
    model, chip = catalog.models["deepseek-r1"], catalog.accelerators["gb200"]
    kw = dict(chips=72, attention_tp=1, moe_ep=72, concurrency=64, context_tokens=2000, mtp_layers=0)
    fp4 = decode.evaluate_decode(catalog, model, chip, "fp4", resolve_assumptions(catalog, "gb200"), **kw)
    mixed = decode.evaluate_decode(
        catalog, model, chip, "fp4", resolve_assumptions(catalog, "gb200", attention_weight_precision="fp8"), **kw
    )
    # 187,105,280 x 61 = 11.413e9 attention params x (1.000244 - 0.5625) B = 4.996e9 B more per chip (TP1)
    extra = float(mixed["weight_bytes_per_chip"] - fp4["weight_bytes_per_chip"])
    assert extra == pytest.approx(187_105_280 * 61 * (1.000244 - 0.5625), rel=1e-6)
    assert float(mixed["attention_weights_s"]) > float(fp4["attention_weights_s"])
    assert float(mixed["routed_experts_s"]) == pytest.approx(float(fp4["routed_experts_s"]))
