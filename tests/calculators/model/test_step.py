"""The step: MTP tokens per step, kernel curves applied by shape, host overhead, prefill tokens beside decode."""

from __future__ import annotations

import numpy as np
import pytest

from calculators.model import step


def test_mtp_expected_tokens():
    """E_k = 1 + p1 + p1 p2 + p1 p2 p3: 1.92, 2.58, 2.82 with p = 0.92, 0.717, 0.364."""
    acc = (0.92, 0.717, 0.364)
    # 1 + 0.92 = 1.92; + 0.92*0.717 = 0.6596 -> 2.5796; + 0.6596*0.364 = 0.2401 -> 2.8197
    assert step.mtp_expected_tokens(acc, np.array([0, 1, 2, 3])) == pytest.approx([1, 1.92, 2.5796, 2.8197], 1e-4)


def test_prefill_uses_measured_curves_and_an_engine_may_override():
    """Prefill on a chip with measured GEMM curves runs at them (MoE far below peak); an engine's own prefill
    efficiency replaces them with C x eta / FLOPs per token."""
    import dataclasses

    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    model, chip = catalog.models["deepseek-r1"], catalog.accelerators["h100-sxm"]
    a = resolve_assumptions(catalog, "h100-sxm")
    eff = step.engine_efficiency(catalog, chip, a)
    curves = float(step.prefill_seconds_per_token(step.StepSetup(catalog, model, chip, "fp8", a, eff), 2000,
                                                  chunk_tokens=8192))
    flat_a = dataclasses.replace(a, prefill_efficiency_from_engine=True, compute_efficiency_prefill=0.1)
    flat = float(step.prefill_seconds_per_token(step.StepSetup(catalog, model, chip, "fp8", flat_a, eff), 2000))
    flops = float(step.prefill_flops_per_token(model, 2000))
    assert flat == pytest.approx(flops / (chip.peak_flop_s("fp8") * 0.1), rel=1e-9)
    # the measured curves put R1 prefill on H100 between 10% and 50% of FP8 peak end to end
    achieved = flops / curves / chip.peak_flop_s("fp8")
    assert 0.1 < achieved < 0.5


def test_prefill_flops_per_token_r1():
    """F12: 2 x matmul-active params + causal MLA attention at the mean position n/2."""
    from calculators import memory
    from calculators.catalog import default_catalog

    r1 = default_catalog().models["deepseek-r1"]
    active = memory.parameter_counts(r1).active_matmul  # 37,551,276,032 - 926,679,040 = 36,624,596,992
    assert active == 36_624_596_992
    # 2*36,624,596,992 + 2*128*(128+64+128)*500*61 = 73,249,193,984 + 2,498,560,000
    assert float(step.prefill_flops_per_token(r1, 1000)) == pytest.approx(73_249_193_984 + 2_498_560_000)


def test_a_saturated_prefill_server_packs_prompts_up_to_its_token_budget():
    """Packed, 2,000-token prompts run their GEMMs and experts at the 8,192-token budget's shapes (R1 on H100: more
    tokens per expert, where routing skew slows the MoE); a prompt as long as the budget is the same either way."""
    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    model, chip = catalog.models["deepseek-r1"], catalog.accelerators["h100-sxm"]
    a = resolve_assumptions(catalog, "h100-sxm")
    setup = step.StepSetup(catalog, model, chip, "fp8", a)
    one, packed = (float(step.prefill_seconds_per_token(setup, 2000, chunk_tokens=8192, ranks=1, packed=p))
                   for p in (False, True))
    assert packed > one
    long_one, long_packed = (float(step.prefill_seconds_per_token(setup, 8192, chunk_tokens=8192, packed=p))
                             for p in (False, True))
    assert long_packed == pytest.approx(long_one, rel=1e-12)


def test_prefill_after_a_cache_hit_attends_over_the_cached_prefix():
    """A prompt of 1,000 tokens whose first 400 are cached computes 600 tokens at mean position 700, not 500: the
    same weight FLOPs per token, 700 / 500 of the attention (2 x 128 x 320 x 700 x 61)."""
    from calculators.catalog import default_catalog

    r1 = default_catalog().models["deepseek-r1"]
    weights = 73_249_193_984
    assert float(step.prefill_flops_per_token(r1, 1000, 0.4)) == pytest.approx(weights + 2 * 128 * 320 * 700 * 61)


def test_fixed_cost_scales_with_the_kernels_a_layer_launches():
    """R1 counts 60 reference layers ((3 x 16 + 58 x 24) / 24); a Llama layer (GQA + dense FFN) launches 11 of 24."""
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    assert step.layer_equivalents(catalog, catalog.models["deepseek-r1"]) == pytest.approx(60.0)
    assert step.layer_equivalents(catalog, catalog.models["llama-3.1-70b"]) == pytest.approx(80 * 11 / 24)


def test_a_whole_step_program_pays_its_fixed_cost_on_moe_routing_only():
    """Under whole-step fusion (XLA) R1 counts its 58 MoE layers' 9 routing kernels (21.75 reference layers) and a
    dense Llama none: its dense blocks ride the weight stream."""
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    assert step.layer_equivalents(catalog, catalog.models["deepseek-r1"], "whole-step") == pytest.approx(58 * 9 / 24)
    assert step.layer_equivalents(catalog, catalog.models["llama-3.1-70b"], "whole-step") == 0.0


def test_a_whole_step_engine_pays_per_expert_group():
    """A whole-step engine's MoE step grows with the experts its grouped GEMMs visit: batch 128 (all ~250 experts
    touched) pays the per-group cost ~30 times more than batch 1 (8 experts); a dense model pays none."""
    import dataclasses

    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    chip = catalog.accelerators["tpu-v5e"]
    base = resolve_assumptions(catalog, "tpu-v5e")

    def fixed_ms(model, batch, cost):
        a = dataclasses.replace(base, moe_group_overhead_us=cost)
        out = step.evaluate_step(step.StepSetup(catalog, catalog.models[model], chip, "int8", a),
                                 step.StepGrid(chips=64, attention_tp=64, moe_ep=1, concurrency=batch,
                                               context_tokens=512, mtp_layers=0))
        return float(out["fixed_latency_s"]) * 1e3

    r1_small = fixed_ms("deepseek-r1", 1, 1.0) - fixed_ms("deepseek-r1", 1, 0.0)
    r1_large = fixed_ms("deepseek-r1", 128, 1.0) - fixed_ms("deepseek-r1", 128, 0.0)
    assert r1_small > 0 and 20 < r1_large / r1_small < 40
    assert fixed_ms("llama-3.1-70b", 128, 1.0) == fixed_ms("llama-3.1-70b", 128, 0.0)


def test_narrow_stored_experts_run_the_weight_only_kernel():
    """gpt-oss-120b on H200 at BF16 math with its MXFP4 experts kept narrow (the engine's native storage): the routed
    experts stream FP4 bytes and sit on the weight-only (Triton MXFP4) curve; stored at the math's width they sit on
    the math precision's curve."""
    import dataclasses

    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    chip, model = catalog.accelerators["h200-sxm"], catalog.models["gpt-oss-120b"]
    native = dataclasses.replace(resolve_assumptions(catalog, "h200-sxm"), weight_storage_precision="native")
    wide = dataclasses.replace(native, weight_storage_precision=None)
    grid = step.StepGrid(chips=1, attention_tp=1, moe_ep=1, concurrency=512, context_tokens=1536, mtp_layers=0)

    def routed(a):
        setup = step.StepSetup(catalog, model, chip, "bf16", a)
        op = next(op for op in step.step_ops(setup, grid) if op.name == "routed_experts")
        k = op.kernel
        return op, setup.efficiency.kernel_curve(k.op, k.precision, k.variant, k.weight_precision)

    narrow_op, narrow_curve = routed(native)
    wide_op, wide_curve = routed(wide)
    assert narrow_op.kernel.weight_precision == "fp4" and wide_op.kernel.weight_precision is None
    assert narrow_curve.id == "h200-sxm.grouped_gemm.bf16.weights-fp4"
    assert wide_curve.id != narrow_curve.id
    assert float(narrow_op.bytes_per_chip) < float(wide_op.bytes_per_chip)


def _grid_step(model_id):
    """A B200 replica's setup and a grid of batches, layouts, MTP and prefill tokens for ``model_id``."""
    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    setup = step.StepSetup(catalog, catalog.models[model_id], catalog.accelerators["b200"], "fp8",
                           resolve_assumptions(catalog, "b200"))
    batch = np.array([1, 8, 64, 512])[:, None]
    grid = step.StepGrid(chips=8, attention_tp=np.array([8, 1]), moe_ep=8, concurrency=batch, context_tokens=4096,
                         mtp_layers=np.array([0, 2]), prefill_tokens=np.array([[0.0], [0.0], [2048.0], [0.0]]),
                         prompt_tokens=2000.0)
    return setup, grid


@pytest.mark.parametrize("model_id", ["deepseek-r1", "llama-3.1-70b"])
def test_the_named_operations_add_up_to_the_step(model_id):
    """Every named operation's share (``op_<name>_s``, one per STEP_OPS name) sums to the step time, dense or MoE."""
    out = step.evaluate_step(*_grid_step(model_id))
    total = sum(out[f"op_{name}_s"] for name in step.STEP_OPS)
    assert total == pytest.approx(out["step_time_s"], rel=1e-12)
    assert np.all(out["op_moe_dispatch_s"] > 0) == (model_id == "deepseek-r1")


def test_a_dense_model_builds_no_moe_ops():
    """A dense model's step has no MoE ops (its MoE breakdown entries are zero); a MoE model's has them all."""
    moe_names = {"shared_experts_and_router", "routed_experts", "moe_dispatch", "moe_combine"}
    dense_setup, dense_grid = _grid_step("llama-3.1-70b")
    assert not moe_names & {op.name for op in step.step_ops(dense_setup, dense_grid)}
    out = step.evaluate_step(dense_setup, dense_grid)
    assert all(np.all(out[f"op_{name}_s"] == 0) for name in moe_names)
    assert moe_names <= {op.name for op in step.step_ops(*_grid_step("deepseek-r1"))}


def test_per_sequence_time_follows_the_token_volume_under_a_per_kernel_engine():
    """A per-kernel engine's per-sequence time is stated per R1-sized token: R1 pays all of it, Llama 3.1 8B about
    3.5% (hidden x (layers + top-k x MoE layers)); a whole-step engine's is the same for every model."""
    import dataclasses

    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog

    catalog = default_catalog()
    assert step.token_volume_share(catalog, catalog.models["deepseek-r1"]) == pytest.approx(1.0)
    assert step.token_volume_share(catalog, catalog.models["llama-3.1-8b"]) == pytest.approx(
        4096 * 32 / (7168 * (61 + 8 * 58)))
    chip = catalog.accelerators["h200-sxm"]

    def host_ms(model: str, fusion: str) -> float:
        a = dataclasses.replace(resolve_assumptions(catalog, "h200-sxm", engine="tuned-2025"), fusion=fusion,
                                host_overhead_us_per_step=0.0)
        setup = step.StepSetup(catalog, catalog.models[model], chip, "fp8", a)
        grid = step.StepGrid(chips=8, attention_tp=8, moe_ep=1, concurrency=64, context_tokens=2000, mtp_layers=0)
        return float(step.evaluate_step(setup, grid)["op_host_s"]) * 1e3

    per_sequence_ms = resolve_assumptions(catalog, "h200-sxm", engine="tuned-2025").host_overhead_us_per_sequence / 1e3
    assert host_ms("deepseek-r1", "per-kernel") == pytest.approx(64 * per_sequence_ms)
    assert host_ms("llama-3.1-8b", "per-kernel") == pytest.approx(
        64 * per_sequence_ms * step.token_volume_share(catalog, catalog.models["llama-3.1-8b"]))
    assert host_ms("llama-3.1-8b", "whole-step") == pytest.approx(64 * per_sequence_ms)


def test_prefill_tokens_cross_the_layouts_collectives():
    """A prompt token pays its layout's all-reduces in full (R1, TP8 experts: 61 + 3 + 58 of d x 2 bytes over 8
    chips) and its expert dispatch and combine only past its compute under two-micro-batch overlap."""
    import dataclasses

    from calculators import memory
    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog
    from calculators.model import collectives

    catalog = default_catalog()
    model, chip = catalog.models["deepseek-r1"], catalog.accelerators["h200-sxm"]
    a = resolve_assumptions(catalog, "h200-sxm")
    eff = step.engine_efficiency(catalog, chip, a)
    m = 4096.0
    setup = step.StepSetup(catalog, model, chip, "fp8", a, eff)
    ar, dispatch, combine = step.prefill_collectives_s_per_token(setup, attention_tp=8, moe_ep=1, chunk_tokens=m)
    link = chip.scale_up_gb_s_per_direction.value * 1e9
    act_b = memory.bytes_per_element(catalog, a.activation_precision)
    one = sum(collectives.ring_all_reduce_parts(m * model.hidden_size * act_b, 8, link, eff=eff,
                                                fallback_fraction=a.interconnect_efficiency))
    assert float(ar) == pytest.approx((61 + 3 + 58) * 8 * one / m, rel=1e-9)
    assert float(dispatch) == float(combine) == 0.0
    # attention DP with expert parallelism: no all-reduce, dispatch at FP8 half the BF16 combine's bytes
    ar, dispatch, combine = step.prefill_collectives_s_per_token(setup, attention_tp=1, moe_ep=8, chunk_tokens=m)
    assert float(ar) == 0.0 and 0 < float(dispatch) < float(combine)
    bare = float(step.prefill_seconds_per_token(setup, 4096, chunk_tokens=m))
    overlapped = float(step.prefill_seconds_per_token(setup, 4096, chunk_tokens=m,
                                                      collective_s=(ar, dispatch, combine)))
    exposed_a = dataclasses.replace(a, micro_batch_overlap=False)
    exposed = float(step.prefill_seconds_per_token(step.StepSetup(catalog, model, chip, "fp8", exposed_a, eff), 4096,
                                                   chunk_tokens=m, collective_s=(ar, dispatch, combine)))
    # on NVLink the all-to-all of a 4k chunk is shorter than its FLOPs: hidden; without overlap it adds in full
    assert float(dispatch + combine) < bare
    assert overlapped == pytest.approx(bare, rel=1e-12)
    assert exposed == pytest.approx(bare + float(dispatch + combine), rel=1e-9)


def test_dp_attention_gathers_tokens_into_tensor_parallel_ffns():
    """DP attention into a tensor-parallel FFN pays an all-gather and a reduce-scatter of the replica's tokens."""
    from calculators import memory
    from calculators.assumptions import resolve_assumptions
    from calculators.catalog import default_catalog
    from calculators.model import collectives

    catalog = default_catalog()
    chip = catalog.accelerators["h200-sxm"]
    a = resolve_assumptions(catalog, "h200-sxm")
    link = chip.scale_up_gb_s_per_direction.value * 1e9
    act_b = memory.bytes_per_element(catalog, a.activation_precision)

    def parts(collective, tokens, d, group, eff):
        return sum(collective(tokens * d * act_b, group, link, eff=eff, fallback_fraction=a.interconnect_efficiency))

    # R1 dp8-tp8 (experts TP8, EP 1), 256 sequences: 58 MoE layers gather 256 x 7,168 activations and scatter back
    r1 = step.StepSetup(catalog, catalog.models["deepseek-r1"], chip, "fp8", a)
    out = step.evaluate_step(r1, step.StepGrid(chips=8, attention_tp=1, moe_ep=1, concurrency=256,
                                               context_tokens=1000, mtp_layers=0))
    gs = parts(collectives.gather_scatter_parts, 256, 7168, 8, r1.efficiency)
    assert float(out["communication_total_s"]) == pytest.approx(58 * gs, rel=1e-9)
    # a prefill chunk of 4,096 tokens on each of the 8 ranks: the same per layer, 8 x 4,096 tokens at a time
    ar, _, _ = step.prefill_collectives_s_per_token(r1, attention_tp=1, moe_ep=1, chunk_tokens=4096.0, ranks=8)
    assert float(ar) == pytest.approx(58 * parts(collectives.gather_scatter_parts, 8 * 4096, 7168, 8,
                                                 r1.efficiency) / 4096, rel=1e-9)
    # dense Llama 3.1 70B tp4dp2-tp8: attention all-reduces over 4 of a rank's 128, FFN gather-scatter over 8 of 256
    llama = step.StepSetup(catalog, catalog.models["llama-3.1-70b"], chip, "fp8", a)
    out = step.evaluate_step(llama, step.StepGrid(chips=8, attention_tp=4, moe_ep=1, concurrency=256,
                                                  context_tokens=1000, mtp_layers=0))
    expected = 80 * (parts(collectives.ring_all_reduce_parts, 128, 8192, 4, llama.efficiency)
                     + parts(collectives.gather_scatter_parts, 256, 8192, 8, llama.efficiency))
    assert float(out["communication_total_s"]) == pytest.approx(expected, rel=1e-9)
