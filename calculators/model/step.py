"""The step time of one replica (F4-F9): the one vectorised core every prediction, sweep and validation calls.

A step carries B decode sequences (each verifying 1 + k tokens with k MTP drafts) and, under chunked prefill, P
prompt tokens beside them. Per chip of the busiest rank, each decode component j (attention projections, attention
core, dense FFN, shared experts and routers, routed experts, LM head) costs its roofline at the chip's
peaks over the measured fraction its kernel reaches at its shape (:mod:`.efficiency`):
    t_j = max(bytes_j x s/B at peak, FLOPs_j / peak FLOP/s) / f_j(shape_j)
the GEMMs' shape being their tokens M, the routed experts' the tokens per expert, decode attention's the KV tokens
read per chip. Collectives are alpha-beta (:mod:`.collectives`); two micro-batches overlap compute with
communication where that wins. The step (F9) is
    t_step = L tau s_k + host(B) + sum_j t_j + exposed communication + t_prefill(P)
with tau the engine's fixed cost per layer (launches, synchronisation; s_k its MTP inflation), host(B) the
engine's scheduler and sampling time per step that the accelerator does not hide, and t_prefill the prompt tokens'
FLOPs at the engine's end-to-end prefill efficiency (:func:`prefill_time_s`).
"""

from __future__ import annotations

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions
from calculators.errors import ScenarioError
from calculators.model import attention, collectives, moe
from calculators.model.efficiency import ChipEfficiency, chip_efficiency, op_time_s
from calculators.records import Accelerator, Catalog, Model

FLOPS_PER_MAC = 2
COMPONENTS = (
    "attention_weights",
    "kv_cache",
    "dense_ffn",
    "shared_experts",
    "routed_experts",
    "lm_head",
)
STEP_OPS: dict[str, str] = {
    "fixed_per_layer": "fixed",
    "host": "fixed",
    "attention_projections": "component:attention_weights",
    "attention_core": "component:kv_cache",
    "dense_ffn": "component:dense_ffn",
    "shared_experts_and_router": "component:shared_experts",
    "routed_experts": "component:routed_experts",
    "lm_head": "component:lm_head",
    "moe_dispatch": "interconnect",
    "moe_combine": "interconnect",
    "all_reduce_and_hops": "interconnect",
    "prefill_chunks": "compute",
}
"""The named operations a step is the sum of (``step_breakdown_ms``), each with where its bound comes from: a fixed
cost, a roofline component (memory or compute, whichever its kernel is held by), or a collective."""
BOUND_CATEGORIES = ("fixed latency", "memory bandwidth", "compute", "interconnect")
BOUND_LABELS = (*BOUND_CATEGORIES, "capacity")
"""What ``bound_by`` can say; ``bound_by_index`` indexes this tuple."""


def layer_equivalents(catalog: Catalog, model: Model, fusion: str = "per-kernel") -> float:
    """The model's layers counted in reference layers for the engine's fixed cost per layer: sum over layers of the
    kernels each launches (the catalog's ``kernel_launches``) over a DeepSeek-V3/R1 layer's (MLA + MoE with a shared
    expert, 24). The fixed cost is launch gaps and synchronisation between kernels, so a Llama layer (GQA 6 + dense
    FFN 5) pays 11/24 of it, and an engine calibrated on Llama carries over to R1, and back, by what each launches.
    R1: (3 x 16 + 58 x 24) / 24 = 60; Llama 3.1 70B: 80 x 11 / 24 = 36.7. Without ``kernel_launches`` every layer
    counts as one. A ``whole-step`` engine (``Engine.fusion``) pays only on its MoE layers' routing kernels:
    R1 58 x 9 / 24 = 21.75; a dense model 0."""
    k = catalog.serving.kernel_launches if catalog.serving is not None else None
    if k is None:
        return float(model.layers)
    reference = k.mla_attention.value + k.moe_ffn.value + k.shared_expert.value
    att = k.mla_attention.value if model.attention.type == "mla" else k.gqa_attention.value
    moe_layers = model.layers - model.dense_layers if model.moe else 0
    if fusion == "whole-step":
        return moe_layers * k.moe_ffn.value / reference
    ffn_moe = (k.moe_ffn.value + (k.shared_expert.value if model.moe.shared_experts else 0)) if model.moe else 0
    kernels = (model.layers - moe_layers) * (att + k.dense_ffn.value) + moe_layers * (att + ffn_moe)
    return kernels / reference


def gemm_calls_per_step(catalog: Catalog, model: Model) -> dict[str, float]:
    """GEMM calls per step of each GEMM component, each paying the GEMM curve's per-call floor (none without the
    catalog's ``kernel_launches``): projections per layer, gated FFNs' fused gate/up and down, MoE layers' shared
    expert plus router."""
    k = catalog.serving.kernel_launches if catalog.serving is not None else None
    if k is None:
        return {}
    projections = k.mla_projection_gemms.value if model.attention.type == "mla" else k.gqa_projection_gemms.value
    moe_layers = model.layers - model.dense_layers if model.moe else 0
    shared = ((k.ffn_gemms.value if model.moe.shared_experts else 0) + 1) * moe_layers if model.moe else 0
    return {
        "attention_weights": projections * model.layers,
        "dense_ffn": k.ffn_gemms.value * (model.layers - moe_layers),
        "shared_experts": shared,
        "lm_head": 1,
    }


def mtp_table(acceptance: tuple[float, ...]) -> np.ndarray:
    """E_k for k = 0..len(acceptance): expected tokens emitted per step, 1 + sum_{j<=k} prod_{i<=j} p_i (F10)."""
    return np.concatenate([[1.0], 1.0 + np.cumsum(np.cumprod(acceptance))])


def mtp_expected_tokens(acceptance: tuple[float, ...], mtp_layers):
    """F10: expected tokens emitted per step with k draft tokens. TRT-LLM's conditional acceptances 0.92, 0.717,
    0.364 give 1.92, 2.58, 2.82."""
    return mtp_table(acceptance)[np.asarray(mtp_layers)]


def mtp_inflation(inflation: tuple[float, ...], mtp_layers):
    """The fixed-cost multiplier s_k of a step with k draft tokens (s_0 = 1)."""
    return np.concatenate([[1.0], inflation])[np.asarray(mtp_layers)]


def prefill_flops_per_token(model: Model, prompt_tokens):
    """F12: FLOPs to prefill one token of a prompt of ``prompt_tokens`` tokens: 2 x matmul-active parameters plus
    causal attention at the mean position n/2 (:func:`.attention.prefill_attention_flops_per_token`). R1 at 1,000
    input tokens: 2 x 36.6e9 + 2 x 128 x (192 + 128) x 500 x 61 = 73.2e9 + 2.5e9."""
    return FLOPS_PER_MAC * memory.parameter_counts(model).active_matmul + attention.prefill_attention_flops_per_token(
        model, np.asarray(prompt_tokens, dtype=float))


def prefill_seconds_per_token(
    model: Model, chip: Accelerator, precision: str, assumptions: Assumptions, prompt_tokens, *,
    efficiency: ChipEfficiency, chunk_tokens=None, ranks=8,
):
    """Chip-seconds to prefill one prompt token (of prompts of ``prompt_tokens``): F12's FLOPs per token, each part at
    the fraction its kernel reaches at prefill's large shapes, the one prefill rate every prefill in the model uses
    (chunked beside decode, a separate pool, a prompt's time to first token, the published prefill rates).

    - GEMMs (attention projections, dense FFN, shared experts, router, head) at the GEMM curve for M = the chunk's
      tokens, min(prompt, chunk);
    - routed experts at the grouped-GEMM curve for the tokens per expert of ``ranks`` such chunks (DP ranks feed
      one expert-parallel group), MoE being the part of R1 prefill furthest below peak (~0.17 on H100 FP8);
    - causal attention at the prefill-attention curve for the prompt length.
    An engine that declares its own ``compute_efficiency_prefill`` (a slow early stack), or a chip without GEMM curves
    measured on it (scaled curves are assumptions about small decode shapes; at prefill's large shapes a stack's
    end-to-end efficiency says more), runs all FLOPs at that single end-to-end efficiency instead."""
    a = assumptions
    prompt = np.asarray(prompt_tokens, dtype=float)
    p = memory.parameter_counts(model)
    attention_flops = attention.prefill_attention_flops_per_token(model, prompt)
    flat = prefill_flops_per_token(model, prompt) / (chip.peak_flop_s(precision) * a.compute_efficiency_prefill)
    if a.prefill_efficiency_from_engine or not efficiency.measured("gemm", precision):
        return flat
    chunk = prompt if chunk_tokens is None else np.minimum(prompt, chunk_tokens)
    m = np.maximum(chunk, 1.0)
    projection_precision = a.attention_weight_precision or precision
    attention_precision = a.kv_cache_precision if a.kv_cache_precision in chip.peak_tflops else precision
    dense_gemm = FLOPS_PER_MAC * (p.dense_ffn + p.shared + p.head) / (
        chip.peak_flop_s(precision) * efficiency.fraction("gemm", precision, m))
    projections = FLOPS_PER_MAC * p.attention / (
        chip.peak_flop_s(projection_precision) * efficiency.fraction("gemm", projection_precision, m))
    experts = 0.0
    if model.moe:
        per_expert = m * ranks * p.active_experts / p.routed_experts
        grouped = efficiency.fraction("grouped_gemm", precision, per_expert)
        grouped = efficiency.fraction("gemm", precision, m) if grouped is None else grouped
        experts = FLOPS_PER_MAC * p.expert * p.active_experts * p.moe_layers / (chip.peak_flop_s(precision) * grouped)
    core = efficiency.fraction("prefill_attention", attention_precision, np.maximum(prompt, 1.0),
                               model.attention.type)
    core = a.compute_efficiency_prefill if core is None else core
    return dense_gemm + projections + experts + attention_flops / (chip.peak_flop_s(attention_precision) * core)


def prefill_time_s(model: Model, chip: Accelerator, precision: str, assumptions: Assumptions, prefill_tokens,
                   prompt_tokens, chips, *, efficiency: ChipEfficiency, ranks=8):
    """Time the replica's ``chips`` spend prefilling ``prefill_tokens`` prompt tokens (of prompts of
    ``prompt_tokens``) in a step, chunked at the engine's prefill chunk: :func:`prefill_seconds_per_token` x tokens
    spread over the chips."""
    prefill_tokens = np.asarray(prefill_tokens, dtype=float)
    if not np.any(prefill_tokens > 0):  # a pure decode step (the sweep's): nothing to prefill
        return np.zeros(np.broadcast(prefill_tokens, np.asarray(prompt_tokens), np.asarray(chips)).shape)
    per_token = prefill_seconds_per_token(model, chip, precision, assumptions, prompt_tokens, efficiency=efficiency,
                                          chunk_tokens=assumptions.prefill_chunk_tokens, ranks=ranks)
    return np.where(prefill_tokens > 0, prefill_tokens * per_token / np.asarray(chips, dtype=float), 0.0)


def _kv_reference(eff: ChipEfficiency, precision: str, variant: str) -> int | None:
    curve = eff.kernel_curve("decode_attention", precision, variant)
    return None if curve is None else curve.kv_elements_per_token


def _priced_op(eff: ChipEfficiency, a: Assumptions, shape, math_precision: str, bytes_peak, flops_peak, calls):
    """(time, bytes time, FLOPs time) of one roofline op whose math runs at ``math_precision``: its kernel curve's
    fraction at the op's shape and the curve's per-call floor times ``calls`` (:func:`.efficiency.op_time_s`)."""
    op, _, x, variant = shape
    return op_time_s(
        bytes_peak, flops_peak, eff.fraction(op, math_precision, x, variant),
        bytes_s_fallback=bytes_peak / a.memory_bandwidth_efficiency,
        flops_s_fallback=flops_peak / a.compute_efficiency_decode,
        floor_s=calls * eff.floor_s(op, math_precision, variant),
    )


def engine_efficiency(catalog: Catalog, chip: Accelerator, assumptions: Assumptions) -> ChipEfficiency:
    """The chip's kernel and collective curves, scaled by the engine's kernel efficiency factor."""
    return chip_efficiency(catalog, chip, assumptions.kernel_efficiency_factor)


def evaluate_step(
    catalog: Catalog,
    model: Model,
    chip: Accelerator,
    precision: str,
    assumptions: Assumptions,
    *,
    chips,
    attention_tp,
    moe_ep,
    concurrency,
    context_tokens,
    mtp_layers,
    pipeline_stages=1,
    prefill_tokens=0.0,
    prompt_tokens=0.0,
    efficiency: ChipEfficiency | None = None,
) -> dict[str, np.ndarray]:
    """Every output of one step for arrays of configurations (broadcast together). See the module docstring.

    ``prefill_tokens`` are the prompt tokens the whole replica prefills in this step beside its decode sequences
    (chunked prefill), from prompts of ``prompt_tokens`` tokens. With P pipeline stages the times are those of one
    stage of N/P chips running all layers on a micro-batch of B/P sequences (a token visits every stage in turn),
    plus P - 1 activation hops; each chip stores 1/P of the weights.
    """
    a = assumptions
    eff = engine_efficiency(catalog, chip, a) if efficiency is None else efficiency
    system = catalog.systems[chip.system]
    p = memory.parameter_counts(model)
    n_all, pp, t, ep, b_all, c, k, pf_all, prompt = np.broadcast_arrays(
        np.asarray(chips, dtype=float),
        np.asarray(pipeline_stages, dtype=float),
        np.asarray(attention_tp, dtype=float),
        np.asarray(moe_ep, dtype=float),
        np.asarray(concurrency, dtype=float),
        np.asarray(context_tokens, dtype=float),
        np.asarray(mtp_layers, dtype=int),
        np.asarray(prefill_tokens, dtype=float),
        np.asarray(prompt_tokens, dtype=float),
    )
    n = n_all / pp  # chips of one pipeline stage
    b = b_all / pp  # sequences of one micro-batch
    storage = memory.weight_storage_precision(catalog, model, precision, a.weight_storage_precision)
    bw = memory.bytes_per_element(catalog, storage)  # weights: stored/streamed bytes; FLOPs use ``precision``
    kv_b = memory.bytes_per_element(catalog, a.kv_cache_precision)
    act_b = memory.bytes_per_element(catalog, a.activation_precision)
    dispatch_b = memory.bytes_per_element(catalog, a.dispatch_precision)
    attention_precision = a.kv_cache_precision if a.kv_cache_precision in chip.peak_tflops else precision
    # attention projections may run wider than the rest (FP8 attention + FP4 MoE): their bytes and GEMM rate
    projection_precision = a.attention_weight_precision or precision
    if projection_precision not in chip.peak_tflops:
        raise ScenarioError(
            f"accelerator {chip.id!r} has no {projection_precision!r} math for 'attention_weight_precision'"
        )
    projection_b = (
        bw if a.attention_weight_precision is None else memory.bytes_per_element(catalog, projection_precision)
    )
    peak = {
        "gemm": chip.peak_flop_s(precision),
        "projection": chip.peak_flop_s(projection_precision),
        "attention": chip.peak_flop_s(attention_precision),
    }
    d = model.hidden_size

    dp = n / t
    moe_tp = n / ep
    seqs_rank = np.ceil(b / dp)  # sequences on the busiest attention DP rank
    decode_tokens_replica = b * (1 + k)  # tokens verified per step (MTP drafts included)
    tokens_replica = decode_tokens_replica
    decode_tokens_rank = seqs_rank * (1 + k)
    tokens_rank = decode_tokens_rank
    tokens_chip = tokens_rank / t  # tokens each chip of the rank carries through the FFN/MoE
    c_eff = memory.effective_context_tokens(model, c)
    kv_split = attention.kv_split(model, t)
    # a MoE model's few dense layers follow attention's TP (DeepSeek's layout); a dense model's FFN is sharded over
    # the whole stage (the layout's FFN TP, e.g. "tp64dp9-tp576"), every DP rank's tokens gathered through it
    ffn_group = t if model.moe else moe_tp
    ffn_tokens = tokens_rank if model.moe else decode_tokens_replica

    # F5 bytes read per step, per chip
    weight = {
        "attention_weights": p.attention * projection_b / t,
        "dense_ffn": p.dense_ffn * bw / ffn_group,
        "shared_experts": p.shared * bw / t,  # sharded like the dense FFN; replicated per DP rank (as DeepSeek)
        "lm_head": p.head * bw / t,
    }
    if model.moe:
        experts_rank = moe.busiest_rank_experts(p.routed_experts, p.active_experts, ep, tokens_replica)
        weight["routed_experts"] = experts_rank * p.expert * p.moe_layers * bw / moe_tp
        load_factor = moe.busiest_rank_load_factor(p.active_experts, ep, tokens_replica)
        distinct = moe.distinct_experts_per_step(p.routed_experts, p.active_experts, tokens_replica)
        tokens_per_expert = tokens_replica * p.active_experts / np.maximum(distinct, 1e-9)
    else:
        experts_rank = np.zeros_like(n)
        weight["routed_experts"] = np.zeros_like(n)
        load_factor = np.ones_like(n)
        tokens_per_expert = np.zeros_like(n)
    kv_read = seqs_rank * c_eff * memory.kv_bytes_per_token(model, kv_b) / kv_split
    weight["kv_cache"] = kv_read

    # F6 FLOPs per step, per chip
    flops = {
        "attention_weights": FLOPS_PER_MAC * p.attention * tokens_rank / t,
        "kv_cache": attention.decode_flops_per_cached_token_layer(model) * c_eff * model.layers
        * decode_tokens_rank / t,
        "dense_ffn": FLOPS_PER_MAC * p.dense_ffn * ffn_tokens / ffn_group,
        "shared_experts": FLOPS_PER_MAC * p.shared * tokens_rank / t,
        # the busiest expert-parallel rank's share of the T x k token-expert assignments (straggler)
        "routed_experts": FLOPS_PER_MAC * p.expert * p.active_experts * p.moe_layers * tokens_replica / n
        * load_factor,
        "lm_head": FLOPS_PER_MAC * p.head * decode_tokens_rank / t,
    }

    # F3 capacity and tier placement, hottest first: always-read weights, KV, routed experts
    # (per stage-chip, then split over the P stages; the KV of all P micro-batches = P x one micro-batch's, / P)
    always_stored = p.attention * projection_b + (p.shared + p.head + p.embedding + p.mtp) * bw
    always_stored = always_stored / t / pp + p.dense_ffn * bw / ffn_group / pp
    always_stored = always_stored + memory.activation_bytes(model, tokens_chip, act_b)
    kv_per_sequence = c * memory.kv_bytes_per_token(model, kv_b) / kv_split  # per chip of the sequence's rank
    # every stage holds the KV of its L/P layers for all the rank's sequences (of all P micro-batches in flight)
    kv_stored = np.ceil(b_all / dp) * kv_per_sequence / pp
    experts_stored = (
        np.ceil(p.routed_experts / ep) * p.expert * p.moe_layers * bw / moe_tp / pp if model.moe else np.zeros_like(n)
    )
    (w_shares, kv_shares, e_shares), fits = memory.place_in_tiers(
        chip, a.usable_memory_fraction, always_stored, kv_stored, experts_stored
    )
    spb_peak = {
        "weights": memory.seconds_per_byte(chip, w_shares, 1.0),
        "kv": memory.seconds_per_byte(chip, kv_shares, 1.0),
        "experts": memory.seconds_per_byte(chip, e_shares, 1.0),
    }
    spb_of = {name: spb_peak["weights"] for name in weight} | {
        "routed_experts": spb_peak["experts"], "kv_cache": spb_peak["kv"]
    }
    rate_of = {name: peak["gemm"] for name in COMPONENTS} | {
        "attention_weights": peak["projection"], "kv_cache": peak["attention"]
    }
    # each component's shape on its kernel curve
    shape = {
        "attention_weights": ("gemm", projection_precision, tokens_rank, None),
        "dense_ffn": ("gemm", precision, ffn_tokens, None),
        "shared_experts": ("gemm", precision, tokens_rank, None),
        "lm_head": ("gemm", precision, decode_tokens_rank, None),
        "routed_experts": ("grouped_gemm", precision, tokens_per_expert, None),
        "kv_cache": ("decode_attention", attention_precision,
                     attention.decode_attention_curve_tokens(model, seqs_rank * c_eff, t, _kv_reference(
                         eff, attention_precision, model.attention.type)), model.attention.type),
    }

    gemm_calls = gemm_calls_per_step(catalog, model)

    # F7 per-component roofline at the kernel's achieved fraction of peak
    component_s, bytes_time, flop_time = {}, {}, {}
    wide = a.activation_precision if a.activation_precision in chip.peak_tflops else None
    for name in COMPONENTS:
        op, op_precision, x, variant = shape[name]
        bytes_peak = weight[name] * spb_of[name]
        calls = gemm_calls.get(name, 0)
        times = _priced_op(eff, a, shape[name], op_precision, bytes_peak, flops[name] / rate_of[name], calls)
        if op == "gemm" and wide is not None and op_precision != wide:
            # A weight-only kernel streams the stored narrow weights and computes at the activations' width, with
            # that width's per-call floor (no activation quantisation): engines use it where it is faster (small
            # decode GEMMs), so narrower weights never make a memory-bound GEMM slower than wider ones.
            weight_only = _priced_op(eff, a, shape[name], wide, bytes_peak, flops[name] / chip.peak_flop_s(wide),
                                     calls)
            faster = weight_only[0] < times[0]
            times = tuple(np.where(faster, w, t) for w, t in zip(weight_only, times, strict=True))
        component_s[name], bytes_time[name], flop_time[name] = times
    memory_s = sum(np.where(bytes_time[j] >= flop_time[j], component_s[j], 0.0) for j in COMPONENTS)
    compute_s = sum(np.where(bytes_time[j] >= flop_time[j], 0.0, component_s[j]) for j in COMPONENTS)
    roofline_s = memory_s + compute_s

    # F8 communication: alpha-beta collectives inside or across the scale-up domain
    scale_up = chip.scale_up_gb_s_per_direction.value * 1e9
    scale_out = chip.scale_out_gb_s_per_direction.value * 1e9
    domain = system.scale_up_domain_chips.value
    link_f = a.interconnect_efficiency

    def tp_all_reduce(bytes_per_chip, group):
        """(latency, transfer) of an all-reduce over ``group``: inside the scale-up domain or across it."""
        inside = np.asarray(group) <= domain
        up = collectives.ring_all_reduce_parts(bytes_per_chip, group, scale_up, eff=eff, scope="scale_up",
                                               fallback_fraction=link_f)
        if inside.all():
            return up
        out = collectives.ring_all_reduce_parts(bytes_per_chip, group, scale_out, eff=eff, scope="scale_out",
                                                fallback_fraction=link_f)
        return np.where(inside, up[0], out[0]), np.where(inside, up[1], out[1])

    def dispatch_combine(bytes_per_chip):
        return collectives.all_to_all_parts(bytes_per_chip, ep, domain, scale_up, scale_out, eff=eff,
                                            fallback_fraction=link_f)

    def times(count, parts):
        return count * parts[0], count * parts[1]

    def plus(*parts):
        return sum(q[0] for q in parts), sum(q[1] for q in parts)

    moe_tp_all_reduce = ep == 1  # experts tensor-parallel: their output needs an all-reduce like a dense FFN
    all_reduces = model.layers + np.where(moe_tp_all_reduce, p.moe_layers, 0)

    # (latency, transfer) seconds of the step's dispatches, combines and other collectives. A micro-batch of half
    # the tokens pays every latency again and half of every transfer (collectives.ring_all_reduce_parts).
    other = times(all_reduces, tp_all_reduce(tokens_rank * d * act_b, t))
    # the dense FFN's all-reduce runs over its own group with its own tokens (attention's at DP 1)
    other = plus(other, times(model.dense_layers, tp_all_reduce(ffn_tokens * d * act_b, ffn_group)))
    zero = (np.zeros_like(n), np.zeros_like(n))
    dispatch = combine = zero
    if model.moe:
        off_chip = (ep - 1) / ep
        # the collective finishes with the busiest chip: the busiest sender (its own tokens' expert copies) or the
        # busiest receiver (load_factor x the mean receipt), whichever moves more; at a batch smaller than the DP
        # ranks the sender binds (one token's 8 copies), not 1/n of a token times the receiver's imbalance
        sent = tokens_chip * p.active_experts
        received = tokens_replica * p.active_experts / n * load_factor
        per_assignment = np.maximum(sent, received) * off_chip * d
        dispatch = times(p.moe_layers, dispatch_combine(per_assignment * dispatch_b))
        combine = times(p.moe_layers, dispatch_combine(per_assignment * act_b))
        expert_tp = times(np.where((moe_tp > 1) & (ep > 1), p.moe_layers, 0.0),
                          tp_all_reduce(tokens_chip * d * act_b, moe_tp))
        other = plus(other, expert_tp)
    hops = (pp - 1) * tokens_rank * d * act_b / np.where(n_all <= domain, scale_up, scale_out) / link_f
    other = plus(other, (0.0, hops))

    dispatch_s, combine_s, other_comm_s = (sum(q) for q in (dispatch, combine, other))
    comm_s = dispatch_s + combine_s + other_comm_s
    # Two-micro-batch overlap (DeepSeek-V3 s3.4.2; DeepEP's low-latency figure): the compute stream runs
    # attn(1) | moe(0) | moe(1) | attn(0') while dispatch(0), dispatch(1), combine(0), combine(1) run beside them, so
    # each comm piece hides only behind the compute piece it is paired with:
    #   t = 1/2 [max(A, D) + max(M, D) + max(M, C) + max(A, C)]
    # with A attention-side and M MoE-side compute (whole-step totals), D and C dispatch and combine (other collectives
    # split evenly). Each micro-batch reads the weights again, so weight-streaming components count bytes twice, and
    # each calls every collective once, so the latencies count twice (D = 2 x one half-size call). The engine
    # overlaps only when that beats running the batch whole: t_step = min(overlapped, roofline + comm).
    attention_side = ("attention_weights", "kv_cache", "dense_ffn", "lm_head")
    moe_side = ("shared_experts", "routed_experts")
    weight_read = ("attention_weights", "dense_ffn", "shared_experts", "routed_experts", "lm_head")
    split = {
        j: np.maximum(bytes_time[j] * (2 if j in weight_read else 1), flop_time[j]) for j in COMPONENTS
    }
    att_c = sum(split[j] for j in attention_side)
    moe_c = sum(split[j] for j in moe_side)

    def two_halves(parts):  # two calls on half the tokens each
        return 2 * parts[0] + parts[1]

    d_s = two_halves(dispatch) + two_halves(other) / 2
    c_s = two_halves(combine) + two_halves(other) / 2
    overlapped_s = collectives.two_micro_batch_s(att_c, moe_c, d_s, c_s)
    overlap = a.micro_batch_overlap & (tokens_chip >= 2)
    busy_s = np.where(overlap, np.minimum(overlapped_s, roofline_s + comm_s), roofline_s + comm_s)
    exposed_comm_s = busy_s - roofline_s  # comm not hidden, plus the second weight read that hiding it costs

    # F9 step, F10 speed
    inflation = mtp_inflation(a.mtp_step_inflation, k)
    fixed_s = layer_equivalents(catalog, model, a.fusion) * a.fixed_latency_us_per_layer * 1e-6 * inflation
    if model.moe:  # a whole-step engine's ragged-dot groups: one per expert a chip computes, per MoE layer
        fixed_s = fixed_s + a.moe_group_overhead_us * 1e-6 * experts_rank * p.moe_layers
    host_s = (a.host_overhead_us_per_step + a.host_overhead_us_per_sequence * seqs_rank) * 1e-6
    prefill_s = prefill_time_s(model, chip, precision, a, pf_all, prompt, n_all, efficiency=eff, ranks=dp)
    step_s = fixed_s + host_s + roofline_s + exposed_comm_s + prefill_s
    compute_s = compute_s + prefill_s
    tokens_per_step = mtp_table(a.mtp_acceptance)[k]
    per_user = tokens_per_step / step_s
    total = b_all * per_user

    # exposed communication shared among the collectives in proportion to their unhidden times
    comm_share = np.where(comm_s > 0, exposed_comm_s / np.where(comm_s > 0, comm_s, 1.0), 0.0)
    op_s = {
        "fixed_per_layer": fixed_s,
        "host": host_s,
        "attention_projections": component_s["attention_weights"],
        "attention_core": component_s["kv_cache"],
        "dense_ffn": component_s["dense_ffn"],
        "shared_experts_and_router": component_s["shared_experts"],
        "routed_experts": component_s["routed_experts"],
        "lm_head": component_s["lm_head"],
        "moe_dispatch": dispatch_s * comm_share,
        "moe_combine": combine_s * comm_share,
        "all_reduce_and_hops": other_comm_s * comm_share,
        "prefill_chunks": prefill_s,
    }
    op_memory_bound = {name: bytes_time[j] >= flop_time[j] for name, kind in STEP_OPS.items()
                       if kind.startswith("component:") for j in (kind.split(":", 1)[1],)}

    categories = np.stack([fixed_s + host_s, memory_s, compute_s, exposed_comm_s])
    bound_index = np.where(fits, np.argmax(categories, axis=0), len(BOUND_CATEGORIES))
    bound = np.array(BOUND_LABELS, dtype=object)[bound_index]

    node_power_w = system.node_power_max_w.value / system.chips_per_node.value
    power_w = n_all * node_power_w * a.power_utilisation
    capacity = chip.memory_capacity_bytes
    # sequences whose KV fits beside the weights, over the whole replica (each DP rank holds its own sequences)
    room = capacity * a.usable_memory_fraction - always_stored - experts_stored
    max_sequences = np.where(room > 0, np.floor(np.maximum(room, 0) / np.maximum(kv_per_sequence, 1e-9)), 0) * dp * pp
    return {
        "per_user_tokens_per_s": per_user,
        "total_output_tokens_per_s": total,
        "output_tokens_per_s_per_chip": total / n_all,
        "step_time_s": step_s,
        "expected_tokens_per_step": tokens_per_step,
        "fits_in_memory": fits,
        "bound_by": bound,
        "bound_by_index": bound_index,
        "power_w": power_w,
        "joules_per_output_token": power_w / total,
        "fixed_latency_s": fixed_s,
        "host_overhead_s": host_s,
        "prefill_s": prefill_s,
        "communication_s": exposed_comm_s,
        "communication_total_s": comm_s,
        **{f"{name}_s": component_s[name] for name in COMPONENTS},
        **{f"op_{name}_s": np.broadcast_to(value, n.shape) for name, value in op_s.items()},
        **{f"op_{name}_memory_bound": np.broadcast_to(value, n.shape) for name, value in op_memory_bound.items()},
        "distinct_experts_per_layer": moe.distinct_experts_per_step(p.routed_experts, p.active_experts, tokens_replica)
        if model.moe
        else np.zeros_like(n),
        "busiest_rank_experts_per_layer": experts_rank,
        "memory_used_bytes_per_chip": always_stored + kv_stored + experts_stored,
        "memory_used_fraction": (always_stored + kv_stored + experts_stored) / capacity,
        "weight_bytes_per_chip": always_stored + experts_stored,
        "kv_bytes_per_chip": kv_stored,
        "max_sequences": max_sequences,
    }
