"""Decode step time (F4-F10), predict's API and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calculators import decode
from calculators.assumptions import resolve_assumptions
from calculators.catalog import default_catalog
from calculators.deployment import Deployment
from calculators.errors import ScenarioError
from calculators.model import step


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_step_time_is_sum_of_components(catalog):
    """F9: the step is fixed latency + the per-component roofline sum + exposed communication (not one max)."""
    p = decode.predict(catalog, Deployment(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                                           concurrency=64, context_tokens=8192))
    assert sum(p.step_time_breakdown_ms.values()) == pytest.approx(p.step_time_ms)
    assert p.total_output_tokens_per_s == pytest.approx(64 * p.per_user_tokens_per_s)


@pytest.mark.parametrize("serving", [
    dict(context_tokens=2000),
    dict(input_tokens=1000, output_tokens=2000),
    dict(input_tokens=8000, output_tokens=1000, serving="disaggregated"),
])
def test_step_breakdown_names_operations_that_sum_to_the_step(catalog, serving):
    """``step_breakdown_ms`` splits the step into named operations that sum to ``step_time_ms``, each with a bound."""
    p = decode.predict(catalog, Deployment(model="deepseek-r1", accelerator="b200", chips=8, precision="fp4",
                                           concurrency=128,
                                           **serving))
    assert set(p.step_breakdown_ms) == set(step.STEP_OPS) == set(p.step_breakdown_bound)
    assert sum(p.step_breakdown_ms.values()) == pytest.approx(p.step_time_ms, rel=1e-9)
    assert all(v >= 0 for v in p.step_breakdown_ms.values())
    assert set(p.step_breakdown_bound.values()) <= {"fixed", "memory", "compute", "interconnect"}
    assert p.step_breakdown_ms["routed_experts"] > 0 and p.step_breakdown_ms["moe_dispatch"] > 0


def test_step_breakdown_carries_chunked_prefill_only_when_aggregated(catalog):
    """Aggregated serving's step carries other prompts' chunks; a pure decode step carries none."""
    common = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8", concurrency=64)
    decode_only = decode.predict(catalog, Deployment(context_tokens=1500, **common))
    served = decode.predict(catalog, Deployment(input_tokens=1000, output_tokens=1000, **common))
    assert decode_only.step_breakdown_ms["prefill_chunks"] == 0
    assert served.step_breakdown_ms["prefill_chunks"] > 0


def test_fixed_latency_term(catalog):
    """At batch 1 the fixed cost is tau x R1's 60 reference layers (61, its 3 dense ones launching fewer kernels)."""
    p = decode.predict(catalog, Deployment(model="deepseek-r1", accelerator="b200", chips=8, precision="fp4",
                                           concurrency=1, context_tokens=2000, mtp_layers=0))
    a = resolve_assumptions(catalog, "b200")
    assert p.step_time_breakdown_ms["fixed_latency"] == pytest.approx(60 * a.fixed_latency_us_per_layer / 1e3)
    assert p.bound_by in ("fixed latency", "memory bandwidth")  # batch 1: launches or weight streaming, not FLOPs


def test_mla_kv_replicated_under_tp_not_dp(catalog):
    """Under TP attention every chip holds the whole MLA latent; DP attention holds 1/dp of the sequences."""
    a = resolve_assumptions(catalog, "h200-sxm")
    out = step.evaluate_step(
        step.StepSetup(catalog, catalog.models["deepseek-r1"], catalog.accelerators["h200-sxm"], "fp8", a),
        step.StepGrid(chips=8, attention_tp=np.array([8, 1]), moe_ep=8, concurrency=64, context_tokens=8192,
                      mtp_layers=0),
    )
    # TP8: 64 seqs x 8,192 x 70,272 B = 36.84 GB per chip; DP8: 8 seqs -> 4.605 GB
    assert out["kv_bytes_per_chip"] == pytest.approx([64 * 8192 * 70_272, 8 * 8192 * 70_272])


def test_more_batch_more_throughput_less_speed(catalog):
    """Raising the batch lowers per-user speed and raises replica throughput."""
    kw = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8", context_tokens=4096)
    small = decode.predict(catalog, Deployment(concurrency=4, **kw))
    big = decode.predict(catalog, Deployment(concurrency=128, **kw))
    assert big.per_user_tokens_per_s < small.per_user_tokens_per_s
    assert big.total_output_tokens_per_s > small.total_output_tokens_per_s


def test_not_fitting_reports_capacity(catalog):
    """R1 BF16 (1.37 TB) on one 8xH100 node does not fit and says capacity binds."""
    p = decode.predict(catalog, Deployment(model="deepseek-r1", accelerator="h100-sxm", chips=8, precision="bf16",
                                           concurrency=1, context_tokens=1000))
    assert not p.fits_in_memory and p.bound_by == "capacity"


def test_prediction_json_is_finite_with_band(catalog):
    """to_dict has the CLI keys, finite numbers, and a low/high band around the headline."""
    d = decode.predict(catalog, Deployment(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                                           concurrency=64, context_tokens=8192, mtp_layers=2)).to_dict()
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
        decode.predict(catalog, Deployment(**kw))


def test_sn40l_stores_fp8_weights_and_computes_bf16(catalog):
    """SN40L's engine keeps R1's FP8 checkpoint (fits HBM, faster) while FLOPs stay BF16; BF16 storage spills to DDR."""
    a = resolve_assumptions(catalog, "sn40l")
    assert a.weight_storage_precision == "native"
    kw = dict(model="deepseek-r1", accelerator="sn40l", chips=16, precision="bf16", concurrency=1,
              context_tokens=1000, layout="tp16")
    fp8 = decode.predict(catalog, Deployment(**kw))
    bf16 = decode.predict(catalog, Deployment(assumptions=resolve_assumptions(catalog, "sn40l",
                                              weight_storage_precision="bf16"),
                                              **kw))
    assert fp8.weight_storage_precision == "fp8" and bf16.weight_storage_precision == "bf16"
    # FP8: (671.03 + 11.5)e9 x 1.000244 B / 16 = 42.7 GB per chip < 0.9 x 68.7 GB HBM; BF16 85.3 GB spills to DDR
    out = {}
    for name, storage in (("fp8", "native"), ("bf16", "bf16")):
        out[name] = step.evaluate_step(
            step.StepSetup(catalog, catalog.models["deepseek-r1"], catalog.accelerators["sn40l"], "bf16",
                           resolve_assumptions(catalog, "sn40l", weight_storage_precision=storage)),
            step.StepGrid(chips=16, attention_tp=16, moe_ep=1, concurrency=1, context_tokens=1000, mtp_layers=0),
        )
    assert float(out["fp8"]["weight_bytes_per_chip"]) == pytest.approx(682.53e9 * 1.000244 / 16, rel=2e-3)
    assert float(out["bf16"]["weight_bytes_per_chip"]) > 0.9 * 68.7e9
    assert fp8.per_user_tokens_per_s > 1.5 * bf16.per_user_tokens_per_s


def test_bad_weight_storage_precision_raises(catalog):
    """An unknown storage precision raises ScenarioError naming the field."""
    with pytest.raises(ScenarioError, match="weight_storage_precision"):
        resolve_assumptions(catalog, "sn40l", weight_storage_precision="fp2")


def test_attention_weight_precision_widens_only_the_projections(catalog):
    """FP8 attention + FP4 MoE: the attention projections are stored and streamed at FP8, everything else FP4."""
    model, chip = catalog.models["deepseek-r1"], catalog.accelerators["gb200"]
    kw = dict(chips=72, attention_tp=1, moe_ep=72, concurrency=64, context_tokens=2000, mtp_layers=0)
    grid = step.StepGrid(**kw)
    fp4 = step.evaluate_step(step.StepSetup(catalog, model, chip, "fp4", resolve_assumptions(catalog, "gb200")), grid)
    mixed = step.evaluate_step(
        step.StepSetup(catalog, model, chip, "fp4",
                       resolve_assumptions(catalog, "gb200", attention_weight_precision="fp8")), grid
    )
    # 187,105,280 x 61 = 11.413e9 attention params x (1.000244 - 0.5625) B = 4.996e9 B more per chip (TP1)
    extra = float(mixed["weight_bytes_per_chip"] - fp4["weight_bytes_per_chip"])
    assert extra == pytest.approx(187_105_280 * 61 * (1.000244 - 0.5625), rel=1e-6)
    assert float(mixed["attention_weights_s"]) > float(fp4["attention_weights_s"])
    assert float(mixed["routed_experts_s"]) == pytest.approx(float(fp4["routed_experts_s"]))


def test_kv_cache_precision_is_a_deployment_choice(catalog):
    """FP8 KV (as TensorRT-LLM's and AMD's R1 recipes run) holds more sequences than the BF16 default, the JSON says
    which format ran, and an unknown format is refused by name."""
    common = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8", concurrency=256,
                  input_tokens=8000, output_tokens=1000)
    wide, narrow = decode.predict(catalog, Deployment(**common)), decode.predict(catalog,
                                                      Deployment(kv_cache_precision="fp8", **common))
    assert (wide.kv_cache_precision, narrow.kv_cache_precision) == ("bf16", "fp8")
    assert narrow.running_concurrency > wide.running_concurrency
    with pytest.raises(ScenarioError, match="kv_cache_precision"):
        decode.predict(catalog, Deployment(kv_cache_precision="fp3", **common))
