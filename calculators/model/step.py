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
FLOPs at the engine's end-to-end prefill efficiency plus the collectives their activations cross (tensor-parallel
all-reduces, the gather and scatter of data-parallel attention into a tensor-parallel FFN, expert dispatch and
combine past the compute they overlap: :func:`prefill_time_s`).

In code the step is a list of named operations (:class:`.ops.Op`) evaluated together: :func:`step_terms` broadcasts a
:class:`StepGrid` of configurations and derives the per-chip quantities; the blocks the model's architecture has
(:func:`blocks_for`: fixed costs, attention, dense FFN, MoE, LM head, tensor-parallel, expert-parallel and pipeline
collectives, prefill chunks) each build their ops, registered by kind (:func:`.ops.block`); :func:`evaluate_step`
prices them (roofline at the kernel curves, alpha-beta collectives, the overlap) and adds them up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions
from calculators.errors import ScenarioError
from calculators.model import attention, collectives, moe
from calculators.model.efficiency import ChipEfficiency, chip_efficiency, op_time_s
from calculators.model.ops import BLOCKS, STEP_OPS, Kernel, Op, block
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


def _token_volume(model: Model) -> float:
    """hidden x (layers + routed experts per token x MoE layers): the activations one token carries through the
    model's layers and its routed copies."""
    p = memory.parameter_counts(model)
    return model.hidden_size * (model.layers + p.active_experts * p.moe_layers)


def token_volume_share(catalog: Catalog, model: Model) -> float:
    """The per-sequence work of a step that no kernel curve holds, relative to the catalog's
    ``host_reference_model`` (R1): a token's activation volume through the model, hidden x (layers + routed experts
    per token x MoE layers), over the reference's (1 without one).

    An engine's per-sequence time is scheduling and sampling, and the elementwise and routing kernels each token
    runs between the GEMMs: norms, activation quantisation, RoPE, top-k, and the permutation that copies a token
    to each expert it is routed to and back. Those touch the token's hidden-size activations once per layer, and
    once more per routed copy on a MoE layer. Solved on R1 (TensorRT-LLM's attention-DP recipes), the time carries
    to other models in proportion: Llama 3.1 8B 0.035 of R1's, gpt-oss-20b 0.092, Qwen3-30B-A3B 0.24, Llama 3.1
    70B 0.17, Llama 3.1 405B 0.55. Of three forms compared by leave-one-source-out validation (hidden x layers,
    hidden x (layers + MoE layers), and this one), this one had the lowest cross-validated median error. A
    ``whole-step`` engine (XLA) fuses that elementwise work into the weight stream: its per-sequence time is the
    host's alone and does not scale (:func:`fixed_ops`)."""
    reference = catalog.serving.host_reference_model if catalog.serving is not None else None
    if reference is None:
        return 1.0
    return _token_volume(model) / _token_volume(catalog.models[reference.value])


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


def prefill_flops_per_token(model: Model, prompt_tokens, cached_share=0.0):
    """F12: FLOPs to prefill one computed token of a prompt of ``prompt_tokens`` tokens: 2 x matmul-active parameters
    plus causal attention at the mean computed position, n/2 without prefix-cache hits, n (1 + h)/2 with a share h
    of the prompt cached (:func:`.attention.prefill_attention_flops_per_token`). R1 at 1,000 input tokens:
    2 x 36.6e9 + 2 x 128 x (192 + 128) x 500 x 61 = 73.2e9 + 2.5e9."""
    return FLOPS_PER_MAC * memory.parameter_counts(model).active_matmul + attention.prefill_attention_flops_per_token(
        model, np.asarray(prompt_tokens, dtype=float), cached_share)


def prefill_seconds_per_token(setup: StepSetup, prompt_tokens, *, chunk_tokens=None, ranks=8, collective_s=None,
                              cached_share=0.0, packed=False, forward_tokens=None):
    """Chip-seconds to prefill one prompt token (of prompts of ``prompt_tokens``): F12's FLOPs per token, each part at
    the fraction its kernel reaches at prefill's large shapes, the one prefill rate every prefill in the model uses
    (chunked beside decode, a separate pool, a prompt's time to first token, the published prefill rates).

    - GEMMs (attention projections, dense FFN, shared experts, router, head) at the GEMM curve for M = the chunk's
      tokens: min(prompt, chunk) for one prompt; the whole chunk when ``packed``. A saturated prefill server (a
      published prefill rate, a prefill pool kept busy) packs waiting prompts into each forward up to the engine's
      token budget (SGLang's chunked-prefill and max-prefill tokens, vLLM's max-num-batched-tokens, TensorRT-LLM's
      max_num_tokens): LMSYS's EP32 prefill ran 16,384 tokens per GPU per batch of 4,096-token prompts, DeepSeek's
      profile the same. So its GEMMs and its experts see the budget's tokens, not one prompt's: at 2,000-token
      prompts and an 8,192-token budget, 4x the tokens per expert, where routing skew sets the MoE's rate. M is
      raised to the tokens of the forward pass the chunk rides in when that is larger (``forward_tokens``: prompt
      chunks beside decode share one forward with the decode tokens, :func:`prefill_ops`);
    - routed experts at the grouped-GEMM curve for the tokens per expert of ``ranks`` such chunks (DP ranks feed
      one expert-parallel group), MoE being the part of R1 prefill furthest below peak (~0.17 on H100 FP8); weights
      stored narrower than the math take the weight-only kernel's curve where one was measured (:func:`moe_ops`);
    - causal attention at the prefill-attention curve for the prompt length, at the mean computed position (after
      a prefix-cache hit of ``cached_share`` of the prompt, the computed suffix attends over the cached prefix too).
    An engine that declares its own ``compute_efficiency_prefill`` (a slow early stack), or a chip without GEMM curves
    measured on its silicon (scaled curves are assumptions about small decode shapes; at prefill's large shapes a
    stack's end-to-end efficiency says more), runs all FLOPs at that single end-to-end efficiency instead. A curve
    measured on a chip of the same compute die (``measured_on``: MI300X on the MI325X's hipBLASLt table) counts as
    measured: its large shapes ran on the same silicon and library."""
    model, chip, precision, a, efficiency = (setup.model, setup.chip, setup.precision, setup.assumptions,
                                             setup.efficiency)
    prompt = np.asarray(prompt_tokens, dtype=float)
    p = memory.parameter_counts(model)
    attention_flops = attention.prefill_attention_flops_per_token(model, prompt, cached_share)
    flops = prefill_flops_per_token(model, prompt, cached_share)
    flat = flops / (chip.peak_flop_s(precision) * a.compute_efficiency_prefill)
    if a.prefill_efficiency_from_engine or not efficiency.measured("gemm", precision):
        moe_share = (FLOPS_PER_MAC * (p.expert * p.active_experts * p.moe_layers + p.shared)
                     / flops if model.moe else 0.0)
        return flat + _exposed_prefill_collectives(a, collective_s, flat * (1 - moe_share), flat * moe_share)
    chunk = prompt if chunk_tokens is None else (np.asarray(chunk_tokens, dtype=float) + 0.0 * prompt if packed
                                                 else np.minimum(prompt, chunk_tokens))
    m = np.maximum(chunk, 1.0) if forward_tokens is None else np.maximum(np.maximum(chunk, forward_tokens), 1.0)
    projection_precision = a.attention_weight_precision or precision
    attention_precision = a.kv_cache_precision if a.kv_cache_precision in chip.peak_tflops else precision
    dense_gemm = FLOPS_PER_MAC * (p.dense_ffn + p.shared + p.head) / (
        chip.peak_flop_s(precision) * efficiency.fraction("gemm", precision, m))
    projections = FLOPS_PER_MAC * p.attention / (
        chip.peak_flop_s(projection_precision) * efficiency.fraction("gemm", projection_precision, m))
    experts = 0.0
    if model.moe:
        per_expert = m * ranks * p.active_experts / p.routed_experts
        storage = memory.weight_storage_precision(setup.catalog, model, precision, a.weight_storage_precision)
        grouped = efficiency.fraction("grouped_gemm", precision, per_expert,
                                      weight_precision=_weight_only(storage, precision))
        grouped = efficiency.fraction("gemm", precision, m) if grouped is None else grouped
        experts = FLOPS_PER_MAC * p.expert * p.active_experts * p.moe_layers / (chip.peak_flop_s(precision) * grouped)
    core = efficiency.fraction("prefill_attention", attention_precision, np.maximum(prompt, 1.0),
                               model.attention.type)
    core = a.compute_efficiency_prefill if core is None else core
    shared = FLOPS_PER_MAC * p.shared / (chip.peak_flop_s(precision) * efficiency.fraction("gemm", precision, m))
    attention_side = dense_gemm - shared + projections + attention_flops / (chip.peak_flop_s(attention_precision)
                                                                            * core)
    return attention_side + shared + experts + _exposed_prefill_collectives(a, collective_s, attention_side,
                                                                            shared + experts)


def _exposed_prefill_collectives(a: Assumptions, collective_s, attention_side_s, moe_side_s):
    """Chip-seconds per prompt token that the collectives (:func:`prefill_collectives_s_per_token`) add to its
    compute. The tensor-parallel all-reduces count in full: each sits between a rank's own attention and FFN, on
    the critical path. Dispatch and combine count in full without two-micro-batch overlap; with it
    (``micro_batch_overlap``) they run beside the other micro-batch's compute and show only past it:
        exposed = AR + max(0, D + C - (A + M))
    with A and M the token's attention-side and MoE-side compute. Of four forms compared by leave-one-source-out
    validation (everything exposed; dispatch and combine hidden behind the experts' compute only; the decode step's
    pairing, 1/2 [max(A, D) + max(M, D) + max(M, C) + max(A, C)]; and this one), this one and the experts-only
    form had the lowest cross-validated median (24.6% against 25.0% and 25.2%); this one kept LMSYS's measured
    EP32 prefill rates within 16%, where the experts-only form put them 22-27% low (both compared before a
    prefill-only forward's all-to-all was deduplicated per node: :func:`prefill_collectives_s_per_token`)."""
    if collective_s is None:
        return 0.0
    all_reduce_s, dispatch_s, combine_s = collective_s
    if not a.micro_batch_overlap:
        return all_reduce_s + dispatch_s + combine_s
    return all_reduce_s + np.maximum(dispatch_s + combine_s - attention_side_s - moe_side_s, 0.0)


def prefill_collectives_s_per_token(setup: StepSetup, *, attention_tp, moe_ep, chunk_tokens, ranks=1,
                                    prefill_only=False):
    """(all-reduce, dispatch, combine) chip-seconds per prompt token: a prompt token's activations cross the same
    collectives a decode token's do (:func:`tensor_parallel_ops`, :func:`expert_parallel_ops`), at prefill's volume.

    A chunk of M tokens on an attention rank of t chips all-reduces M d b_act bytes over t after attention on every
    layer and after each dense FFN (and after each MoE layer when the experts are tensor-parallel, EP 1), every chip
    of the rank busy for the call; expert parallelism sends each token's k copies, (e - 1) / e of them off-chip, at
    the dispatch precision (dispatch) and back at the activations' (combine):
        all-reduce = n_AR t (alpha(t) / M + 2 (t - 1) / t d b_act / (B_link f))
        dispatch or combine = L_moe t (alpha(e) / M + k (e - 1) / e d / t b / (B_link f))
    per token, with the chip's measured collective curves (alpha-beta, :mod:`.collectives`; scale-out links past
    the scale-up domain). At decode's few tokens the latency dominates; at prefill's thousands the bytes do. R1 on 8
    H200 in TP8 with tensor-parallel experts: 61 + 3 + 58 all-reduces of 14.3 kB per token, 2 x 7/8 of it over each
    ~450 GB/s link, ~7 us of wall time, 55 chip-us per token beside ~156 of FLOPs for a 3,200-token prompt; dense
    Llama 3.1 405B (hidden 16,384, 2 x 126 all-reduces) pays more. The step's decode collectives are
    :mod:`.collectives`' too; a prefill chunk riding a decode step pays both.

    With ``ranks`` > 1 attention-DP ranks feeding a tensor-parallel FFN over all g = t x ranks chips (a dense
    model's FFN; a MoE model's experts at EP 1), the ranks' chunks are gathered to the g chips before it and
    scattered back after it (:func:`.collectives.gather_scatter_parts`), in place of its all-reduce over t:
        gather and scatter = n_GS g (2 alpha(g) + 2 (g - 1) / g ranks M d b_act / (B_link f)) / (ranks M)
    per token (counted with the all-reduces: on the critical path between a rank's attention and its FFN).

    A ``prefill_only`` forward (a prefill server, a published prefill rate: no decode tokens beside it) runs the
    dispatch and combine as DeepEP's normal kernels do, each token sent over the network once per other scale-up
    domain and forwarded inside it (:func:`.collectives.deduplicated_all_to_all_parts`); a step that carries decode
    tokens runs the per-copy low-latency form above. At EP32 over 4 nodes that is 2.25x fewer network bytes."""
    catalog, model, chip, a, efficiency = (setup.catalog, setup.model, setup.chip, setup.assumptions,
                                           setup.efficiency)
    d = model.hidden_size
    act_b = memory.bytes_per_element(catalog, a.activation_precision)
    dispatch_b = memory.bytes_per_element(catalog, a.dispatch_precision)
    t = np.asarray(attention_tp, dtype=float)
    ep = np.asarray(moe_ep, dtype=float)
    m = np.maximum(np.asarray(chunk_tokens, dtype=float), 1.0)
    p = memory.parameter_counts(model)
    scale_up = chip.scale_up_gb_s_per_direction.value * 1e9
    scale_out = chip.scale_out_gb_s_per_direction.value * 1e9
    domain = catalog.systems[chip.system].scale_up_domain_chips.value
    link_f = a.interconnect_efficiency
    moe_layers = p.moe_layers if model.moe else 0
    dp = np.asarray(ranks, dtype=float)
    ffn = t * dp  # the chips of a tensor-parallel FFN (a dense model's) or of tensor-parallel experts (EP 1)
    # at DP > 1 they gather every rank's chunk: a dense model's FFN layers, a MoE model's expert layers at EP 1
    gathered = np.where(dp > 1, model.dense_layers if not model.moe else 0, 0) + np.where(
        (dp > 1) & (ep == 1), moe_layers, 0)
    all_reduces = model.layers + model.dense_layers + np.where(ep == 1, moe_layers, 0) - gathered

    def per_call(collective, bytes_per_chip, group):
        parts = [collective(bytes_per_chip, group, link, eff=efficiency, scope=scope, fallback_fraction=link_f)
                 for link, scope in ((scale_up, "scale_up"), (scale_out, "scale_out"))]
        inside = group <= domain
        return np.where(inside, parts[0][0] + parts[0][1], parts[1][0] + parts[1][1])

    all_reduce_s = all_reduces * t * per_call(collectives.ring_all_reduce_parts, m * d * act_b, t) / m
    all_reduce_s = all_reduce_s + gathered * ffn * per_call(
        collectives.gather_scatter_parts, dp * m * d * act_b, ffn) / (dp * m)
    if not model.moe:
        return all_reduce_s, np.zeros_like(all_reduce_s), np.zeros_like(all_reduce_s)
    if prefill_only:  # DeepEP's normal kernels: one network send per token per other domain
        dispatch_s, combine_s = (
            moe_layers * t * sum(collectives.deduplicated_all_to_all_parts(
                m * d / t * b, p.active_experts, ep, domain, scale_up, scale_out, eff=efficiency,
                fallback_fraction=link_f)) / m
            for b in (dispatch_b, act_b))
        return all_reduce_s, dispatch_s, combine_s
    copies = m * p.active_experts * (ep - 1) / np.maximum(ep, 1) * d / t
    dispatch_s, combine_s = (
        moe_layers * t * sum(collectives.all_to_all_parts(copies * b, ep, domain, scale_up, scale_out,
                                                          eff=efficiency, fallback_fraction=link_f)) / m
        for b in (dispatch_b, act_b))
    return all_reduce_s, dispatch_s, combine_s


def engine_efficiency(catalog: Catalog, chip: Accelerator, assumptions: Assumptions) -> ChipEfficiency:
    """The chip's kernel and collective curves, scaled by the engine's kernel efficiency factor."""
    return chip_efficiency(catalog, chip, assumptions.kernel_efficiency_factor)


@dataclass(frozen=True, eq=False)
class StepSetup:
    """What a grid of steps shares: the catalog, the model, the chip, the precision its math runs at, the engine's
    assumptions and the chip's kernel and collective curves (:func:`engine_efficiency` unless given)."""

    catalog: Catalog
    model: Model
    chip: Accelerator
    precision: str
    assumptions: Assumptions
    efficiency: ChipEfficiency | None = None

    def __post_init__(self):
        if self.efficiency is None:
            object.__setattr__(self, "efficiency", engine_efficiency(self.catalog, self.chip, self.assumptions))


@dataclass(frozen=True, eq=False)
class StepGrid:
    """The configurations a step is evaluated over, arrays or scalars broadcast together: the replica's ``chips``,
    its attention TP, MoE EP and pipeline stages, the decode sequences (``concurrency``) and their context, the MTP
    draft tokens, and the prompt tokens the replica prefills beside them (chunked prefill) from prompts of
    ``prompt_tokens``."""

    chips: Any
    attention_tp: Any
    moe_ep: Any
    concurrency: Any
    context_tokens: Any
    mtp_layers: Any
    pipeline_stages: Any = 1
    prefill_tokens: Any = 0.0
    prompt_tokens: Any = 0.0


def prefill_time_s(setup: StepSetup, prefill_tokens, prompt_tokens, chips, *, ranks=8, attention_tp=1, moe_ep=None,
                   prefill_only=False, forward_tokens=None):
    """Time the replica's ``chips`` spend prefilling ``prefill_tokens`` prompt tokens (of prompts of
    ``prompt_tokens``) in a step, chunked at the engine's prefill chunk: :func:`prefill_seconds_per_token` x tokens
    spread over the chips, with the collectives of the layout (attention TP ``attention_tp``, MoE EP ``moe_ep``,
    default one EP group over the ``ranks`` DP ranks: :func:`prefill_collectives_s_per_token`).

    A ``prefill_only`` forward (a prefill-first engine's cohort: no decode tokens beside it) packs its rank's share
    of the ``prefill_tokens``, up to the engine's budget, into each forward (``packed`` in
    :func:`prefill_seconds_per_token`) and runs DeepEP's per-node deduplicated dispatch and combine; chunks riding a
    decode step keep one prompt's chunk and the per-copy all-to-all (their shapes are shared with the decode
    batch's, which the step prices on its own)."""
    a = setup.assumptions
    prefill_tokens = np.asarray(prefill_tokens, dtype=float)
    if not np.any(prefill_tokens > 0):  # a pure decode step (the sweep's): nothing to prefill
        return np.zeros(np.broadcast(prefill_tokens, np.asarray(prompt_tokens), np.asarray(chips)).shape)
    if prefill_only:  # a prefill-only forward packs the waiting prompts up to the budget, per DP rank
        chunk = np.clip(prefill_tokens / np.asarray(ranks, dtype=float), 1.0, a.prefill_chunk_tokens)
    else:
        chunk = np.minimum(np.asarray(prompt_tokens, dtype=float), a.prefill_chunk_tokens)
    comm = prefill_collectives_s_per_token(
        setup, attention_tp=attention_tp,
        moe_ep=np.asarray(ranks, dtype=float) * np.asarray(attention_tp) if moe_ep is None else moe_ep,
        chunk_tokens=chunk, ranks=ranks, prefill_only=prefill_only)
    per_token = prefill_seconds_per_token(setup, prompt_tokens,
                                          chunk_tokens=chunk if prefill_only else a.prefill_chunk_tokens,
                                          ranks=ranks, collective_s=comm, packed=prefill_only,
                                          forward_tokens=forward_tokens)
    return np.where(prefill_tokens > 0, prefill_tokens * per_token / np.asarray(chips, dtype=float), 0.0)


def _kv_reference(eff: ChipEfficiency, precision: str, variant: str) -> int | None:
    curve = eff.kernel_curve("decode_attention", precision, variant)
    return None if curve is None else curve.kv_elements_per_token


MONOTONE_KERNELS = ("gemm", "grouped_gemm")
"""Kernels tiled on their tokens over weights they stream once: never faster with more tokens (:func:`_priced_op`;
weight-only kernels excepted, see there)."""


def _priced_op(eff: ChipEfficiency, a: Assumptions, shape, math_precision: str, bytes_peak, flops_peak, calls,
               rereads_weights: bool = False):
    """(time, bytes time, FLOPs time, two-micro-batch time) of one roofline op whose math runs at
    ``math_precision``: its kernel curve's fraction at the op's shape and the curve's per-call floor times ``calls``
    (:func:`.efficiency.op_time_s`). The GEMMs (:data:`MONOTONE_KERNELS`) take their curve's fraction capped where
    a smaller shape would otherwise be slower (:meth:`.efficiency.Curve.monotone`): adding tokens to the same
    weights never makes them faster, so neither does adding users. Not the weight-only kernels (``weight_precision``,
    the Triton MXFP4 MoE on Hopper): their curves come from AIConfigurator's single-GPU tables read on tokens per
    touched expert, where a smaller x is a smaller set of weights, not the same weights with fewer tokens (gpt-oss-20b,
    32 experts top-4: x = 1 is batch 1 touching 4 experts, x = 1.5 is batch 8 touching ~21), and the fraction there
    (0.15-0.21 at x = 1, 0.45-0.60 at 1.5) is the kernel's per-launch cost spread over those few experts' bytes. The
    cap's premise fails, and applied it held every memory-bound gpt-oss step on Hopper at the batch-1 fraction
    (H200 gpt-oss-120b at saturation 53-60% slow). Their time still grows with users: more users touch more experts.

    The last is what the op costs when the step runs as two micro-batches (:func:`evaluate_step`'s overlap): each
    micro-batch calls every kernel once, so the per-call floor is paid twice whichever side binds; a weight-streaming
    op (``rereads_weights``) reads its weights once per micro-batch, while its FLOPs split between them:
        t_two = max(r x bytes time, FLOPs time) + 2 x calls x floor        (r = 2 when it rereads its weights, else 1)
    It is continuous where the op turns from memory- to compute-bound. Counting the floor twice only on the memory
    side (as the step did before) made that crossing a 2 x floor drop, and a GEMM whose floor is larger (FP8's
    activation quantisation) look slower overlapped than the same GEMM at BF16."""
    op, x, variant, weights = shape.op, shape.x, shape.variant, shape.weight_precision
    floor_s = calls * eff.floor_s(op, math_precision, variant, weights)
    if op in MONOTONE_KERNELS and not eff.has_weight_only_curve(op, math_precision, variant, weights):
        fraction = eff.monotone_fraction(op, math_precision, x, flops_peak / np.maximum(bytes_peak, 1e-30), variant,
                                         weights)
    else:
        fraction = eff.fraction(op, math_precision, x, variant, weights)
    _, bytes_s, flops_s = op_time_s(
        bytes_peak, flops_peak, fraction,
        bytes_s_fallback=bytes_peak / a.memory_bandwidth_efficiency,
        flops_s_fallback=flops_peak / a.compute_efficiency_decode,
    )
    memory_bound = bytes_s >= flops_s
    return (
        np.maximum(bytes_s, flops_s) + floor_s,
        bytes_s + np.where(memory_bound, floor_s, 0.0),
        flops_s + np.where(memory_bound, 0.0, floor_s),
        np.maximum(bytes_s * (2 if rereads_weights else 1), flops_s) + 2 * floor_s,
    )


@dataclass(frozen=True, eq=False)
class StepTerms:
    """The quantities every block reads, arrays over the broadcast grid. With P pipeline stages they are those of
    one stage of N/P chips carrying a micro-batch of B/P sequences (a token visits every stage in turn)."""

    chips: np.ndarray  # N, the replica's chips
    stages: np.ndarray  # P
    tp: np.ndarray  # attention TP t
    ep: np.ndarray  # MoE EP
    sequences: np.ndarray  # B, the replica's decode sequences
    context: np.ndarray  # c, tokens in each sequence's KV cache
    mtp: np.ndarray  # k draft tokens (int)
    prefill_tokens: np.ndarray
    prompt_tokens: np.ndarray
    stage_chips: np.ndarray  # n = N / P
    dp: np.ndarray  # attention DP ranks, n / t
    moe_tp: np.ndarray  # n / ep
    seqs_rank: np.ndarray  # sequences on the busiest attention DP rank
    tokens_replica: np.ndarray  # tokens verified per step by the micro-batch, B / P x (1 + k)
    tokens_rank: np.ndarray  # of them on the busiest DP rank
    tokens_chip: np.ndarray  # tokens each chip of the rank carries through the FFN/MoE
    context_eff: np.ndarray  # KV tokens actually read (sliding windows)
    kv_split: np.ndarray  # ways one sequence's KV splits over its TP group
    ffn_group: np.ndarray  # chips a dense FFN is sharded over
    ffn_tokens: np.ndarray  # tokens through each dense FFN shard
    params: memory.ParameterCounts
    weight_bytes: float  # bytes per stored weight element (FLOPs run at ``precision``)
    weight_precision: str | None  # the stored weights' precision when narrower than the math (weight-only), else None
    kv_bytes: float
    activation_bytes: float
    dispatch_bytes: float
    projection_precision: str
    projection_bytes: float
    attention_precision: str
    experts_rank: np.ndarray  # distinct experts the busiest EP rank reads per MoE layer (0 without MoE)
    load_factor: np.ndarray  # the busiest EP rank's token-expert assignments over the mean (1 without MoE)
    tokens_per_expert: np.ndarray  # the grouped GEMM's shape (0 without MoE)
    distinct_experts: np.ndarray  # experts the step touches per MoE layer (0 without MoE)


def _weight_only(storage: str, precision: str) -> str | None:
    """The stored weights' precision when it differs from the math's (a weight-only kernel), else None."""
    return None if storage == precision else storage


def step_terms(setup: StepSetup, grid: StepGrid) -> StepTerms:
    """The grid broadcast together and the per-chip quantities derived from it (:class:`StepTerms`)."""
    catalog, model, chip, precision, a = setup.catalog, setup.model, setup.chip, setup.precision, setup.assumptions
    p = memory.parameter_counts(model)
    n_all, pp, t, ep, b_all, c, k, pf_all, prompt = np.broadcast_arrays(
        np.asarray(grid.chips, dtype=float),
        np.asarray(grid.pipeline_stages, dtype=float),
        np.asarray(grid.attention_tp, dtype=float),
        np.asarray(grid.moe_ep, dtype=float),
        np.asarray(grid.concurrency, dtype=float),
        np.asarray(grid.context_tokens, dtype=float),
        np.asarray(grid.mtp_layers, dtype=int),
        np.asarray(grid.prefill_tokens, dtype=float),
        np.asarray(grid.prompt_tokens, dtype=float),
    )
    n = n_all / pp
    b = b_all / pp
    storage = memory.weight_storage_precision(catalog, model, precision, a.weight_storage_precision)
    bw = memory.bytes_per_element(catalog, storage)
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
    dp = n / t
    moe_tp = n / ep
    seqs_rank = np.ceil(b / dp)
    tokens_replica = b * (1 + k)  # MTP drafts included
    tokens_rank = seqs_rank * (1 + k)
    if model.moe:
        experts_rank = moe.busiest_rank_experts(p.routed_experts, p.active_experts, ep, tokens_replica)
        load_factor = moe.busiest_rank_load_factor(p.active_experts, ep, tokens_replica)
        distinct = moe.distinct_experts_per_step(p.routed_experts, p.active_experts, tokens_replica)
        tokens_per_expert = tokens_replica * p.active_experts / np.maximum(distinct, 1e-9)
    else:
        experts_rank, distinct, tokens_per_expert = np.zeros_like(n), np.zeros_like(n), np.zeros_like(n)
        load_factor = np.ones_like(n)
    return StepTerms(
        chips=n_all, stages=pp, tp=t, ep=ep, sequences=b_all, context=c, mtp=k, prefill_tokens=pf_all,
        prompt_tokens=prompt, stage_chips=n, dp=dp, moe_tp=moe_tp, seqs_rank=seqs_rank,
        tokens_replica=tokens_replica, tokens_rank=tokens_rank, tokens_chip=tokens_rank / t,
        context_eff=memory.effective_context_tokens(model, c), kv_split=attention.kv_split(model, t),
        # a MoE model's few dense layers follow attention's TP (DeepSeek's layout); a dense model's FFN is sharded
        # over the whole stage (the layout's FFN TP, e.g. "tp64dp9-tp576"), every DP rank's tokens gathered through it
        ffn_group=t if model.moe else moe_tp,
        ffn_tokens=tokens_rank if model.moe else tokens_replica,
        params=p, weight_bytes=bw, weight_precision=_weight_only(storage, precision), kv_bytes=kv_b,
        activation_bytes=act_b, dispatch_bytes=dispatch_b,
        projection_precision=projection_precision, projection_bytes=projection_b,
        attention_precision=attention_precision, experts_rank=experts_rank, load_factor=load_factor,
        tokens_per_expert=tokens_per_expert, distinct_experts=distinct,
    )


# ---- the blocks: each builds its ops for the whole grid (F5 bytes and F6 FLOPs per chip of the busiest rank) ----


def _weight_gemm(name: str, *, weights, bytes_per_weight, group, tokens, precision, calls,
                 side: str = "attention") -> Op:
    """A GEMM that streams ``weights`` parameters sharded over ``group`` chips for ``tokens`` tokens:
        bytes = W b / g        FLOPs = 2 W T / g        a GEMM of M = T tokens
    (each micro-batch reads the weights again)."""
    return Op(name, "roofline", bytes_per_chip=weights * bytes_per_weight / group,
              flops_per_chip=FLOPS_PER_MAC * weights * tokens / group, kernel=Kernel("gemm", precision, tokens),
              calls=calls, side=side, rereads_weights=True)



@block("attention")
def attention_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """Attention projections and core, by attention type (:mod:`.attention`).

    Projections: the Q/K/V/O (MLA: down/up) weights W_att, sharded over t, at the projection precision:
        bytes = W_att b_proj / t        FLOPs = 2 W_att T_rank / t        a GEMM of M = T_rank tokens
    Core: every decode token of the rank reads its sequence's KV once per layer:
        bytes = s_rank c_eff kv_bytes_per_token / kv_split        FLOPs = phi c_eff L T_rank / t
    with phi the FLOPs per cached token per layer (absorbed MLA or GQA), on the decode-attention curve of the
    attention type at the KV tokens each chip reads."""
    model, p = setup.model, g.params
    calls = gemm_calls_per_step(setup.catalog, model)
    kv_tokens_per_chip = attention.decode_attention_curve_tokens(
        model, g.seqs_rank * g.context_eff, g.tp,
        _kv_reference(setup.efficiency, g.attention_precision, model.attention.type))
    return (
        _weight_gemm("attention_projections", weights=p.attention, bytes_per_weight=g.projection_bytes,
                     group=g.tp, tokens=g.tokens_rank, precision=g.projection_precision,
                     calls=calls.get("attention_weights", 0)),
        Op("attention_core", "roofline",
           bytes_per_chip=g.seqs_rank * g.context_eff * memory.kv_bytes_per_token(model, g.kv_bytes) / g.kv_split,
           flops_per_chip=attention.decode_flops_per_cached_token_layer(model) * g.context_eff * model.layers
           * g.tokens_rank / g.tp,
           streams="kv",
           kernel=Kernel("decode_attention", g.attention_precision, kv_tokens_per_chip, model.attention.type)),
    )


@block("dense_ffn")
def dense_ffn_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The dense layers' FFN W_ffn, sharded over its group g_ffn (attention's TP in a MoE model, the whole stage in a
    dense one) and carrying that group's tokens T_ffn:
        bytes = W_ffn b_w / g_ffn        FLOPs = 2 W_ffn T_ffn / g_ffn        a GEMM of M = T_ffn tokens"""
    return (
        _weight_gemm("dense_ffn", weights=g.params.dense_ffn, bytes_per_weight=g.weight_bytes,
                     group=g.ffn_group, tokens=g.ffn_tokens, precision=setup.precision,
                     calls=gemm_calls_per_step(setup.catalog, setup.model).get("dense_ffn", 0)),
    )


@block("moe")
def moe_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The MoE layers' compute, the MoE side of the two-micro-batch overlap.

    Shared experts and router W_sh, sharded like the dense FFN over t and replicated per DP rank (as DeepSeek):
        bytes = W_sh b_w / t        FLOPs = 2 W_sh T_rank / t        a GEMM of M = T_rank
    Routed experts: the busiest EP rank reads its e_rank distinct experts (F4 with the straggler margin) of W_e
    each on L_moe layers, split over the expert TP, and computes its share of the T x k token-expert assignments:
        bytes = e_rank W_e L_moe b_w / moe_tp        FLOPs = 2 W_e k L_moe T / n x load factor
    a grouped GEMM at the tokens per touched expert, T k / distinct(T).
    Weights stored narrower than the math (gpt-oss's MXFP4 experts under BF16 math on Hopper, engine field
    ``weight_storage_precision: native``) run a weight-only kernel: the narrow bytes stream from HBM and are
    dequantised to the math's width inside the kernel (the Triton MXFP4 MoE TensorRT-LLM and vLLM use on Hopper,
    BF16 MMA). That kernel has its own measured curve (``weight_precision`` on the curve, :mod:`.efficiency`), read
    at the same roofline: bytes at b_w = the stored width, FLOPs at the math's peak. It differs from the math
    precision's curve in shape, not only in level: on one H200, TensorRT-LLM's table gives 0.45 of that roofline at 4
    tokens per expert where the FP8 block-scaled curve (R1's MoE at EP8) gives 0.84 (dequantisation and BF16 tiles
    at few tokens), and 0.26-0.38 from 200 to 2,000 tokens per expert where the FP8 curve gives 0.17-0.20 (of twice
    the peak). Without a weight-only curve the math precision's curve applies, as before."""
    p = g.params
    return (
        _weight_gemm("shared_experts_and_router", weights=p.shared, bytes_per_weight=g.weight_bytes,
                     group=g.tp, tokens=g.tokens_rank, precision=setup.precision,
                     calls=gemm_calls_per_step(setup.catalog, setup.model).get("shared_experts", 0), side="moe"),
        Op("routed_experts", "roofline",
           bytes_per_chip=g.experts_rank * p.expert * p.moe_layers * g.weight_bytes / g.moe_tp,
           # the busiest expert-parallel rank's share of the T x k token-expert assignments (straggler)
           flops_per_chip=FLOPS_PER_MAC * p.expert * p.active_experts * p.moe_layers * g.tokens_replica
           / g.stage_chips * g.load_factor,
           streams="experts",
           kernel=Kernel("grouped_gemm", setup.precision, g.tokens_per_expert, weight_precision=g.weight_precision),
           side="moe", rereads_weights=True),
    )


@block("lm_head")
def lm_head_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The LM head W_head, sharded over t, for the rank's decode tokens:
        bytes = W_head b_w / t        FLOPs = 2 W_head T_rank / t        a GEMM of M = T_rank"""
    return (
        _weight_gemm("lm_head", weights=g.params.head, bytes_per_weight=g.weight_bytes, group=g.tp,
                     tokens=g.tokens_rank, precision=setup.precision,
                     calls=gemm_calls_per_step(setup.catalog, setup.model).get("lm_head", 0)),
    )


def _links(setup: StepSetup):
    """(scale-up bytes/s, scale-out bytes/s, scale-up domain chips, fallback link efficiency) per direction."""
    chip = setup.chip
    domain = setup.catalog.systems[chip.system].scale_up_domain_chips.value
    return (chip.scale_up_gb_s_per_direction.value * 1e9, chip.scale_out_gb_s_per_direction.value * 1e9, domain,
            setup.assumptions.interconnect_efficiency)


def _all_reduce_parts(setup: StepSetup, bytes_per_chip, group, collective=collectives.ring_all_reduce_parts):
    """(latency, transfer) of an all-reduce (or another ring ``collective``) over ``group``: inside the scale-up
    domain or across it."""
    scale_up, scale_out, domain, link_f = _links(setup)
    eff = setup.efficiency
    inside = np.asarray(group) <= domain
    up = collective(bytes_per_chip, group, scale_up, eff=eff, scope="scale_up", fallback_fraction=link_f)
    if inside.all():
        return up
    out = collective(bytes_per_chip, group, scale_out, eff=eff, scope="scale_out", fallback_fraction=link_f)
    return np.where(inside, up[0], out[0]), np.where(inside, up[1], out[1])


def _collective(name: str, count, parts) -> Op:
    """``count`` calls of a collective whose one call costs ``parts`` = (latency, transfer)."""
    return Op(name, "collective", latency_s=count * parts[0], transfer_s=count * parts[1])


@block("tensor_parallel")
def tensor_parallel_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The collectives of tensor parallelism, ring alpha-beta (:mod:`.collectives`).

    All-reduces after attention on every layer over t, of T_rank d activations (and after each MoE layer when the
    experts are tensor-parallel, EP 1, over attention's TP at DP 1); after each dense layer's FFN over its own group
    g_ffn with its own tokens (attention's at DP 1):
        t_AR(bytes, g) = alpha(g) + 2 (g - 1) / g x bytes / (B_link f)
    With data-parallel attention (DP > 1) feeding a tensor-parallel FFN or experts wider than attention's TP (a
    dense model's FFN over the stage, a MoE model's experts at EP 1), every DP rank's tokens are gathered to all g
    chips before the FFN and its partial sums scattered back after it (:func:`.collectives.gather_scatter_parts`),
    an all-gather and a reduce-scatter of the replica's T d activations in place of the FFN's all-reduce:
        t_GS(bytes, g) = 2 alpha(g) + 2 (g - 1) / g x bytes / (B_link f)
    R1 dp8-tp8 on 8 H200 (experts TP8, 58 MoE layers), 256 tokens of 7,168 BF16 activations (3.67 MB): 58 x (2 x
    3.0 us + 7/4 x 3.67 MB / 450 GB/s = 14.3 us) = 1.18 ms of a ~39 ms step, where nothing was charged before."""
    model, p = setup.model, g.params
    d, act_b = model.hidden_size, g.activation_bytes
    # experts tensor-parallel (EP 1): their output needs an all-reduce over attention's TP at DP 1, a gather and a
    # scatter over all their chips at DP > 1
    experts_gathered = (g.ep == 1) & (g.moe_tp > g.tp)
    all_reduces = model.layers + np.where((g.ep == 1) & ~experts_gathered, p.moe_layers, 0)
    ffn_gathered = g.ffn_group > g.tp
    return (
        _collective("all_reduce_and_hops", all_reduces, _all_reduce_parts(setup, g.tokens_rank * d * act_b, g.tp)),
        _collective("all_reduce_and_hops", np.where(ffn_gathered, 0, model.dense_layers),
                    _all_reduce_parts(setup, g.ffn_tokens * d * act_b, g.ffn_group)),
        _collective("all_reduce_and_hops", np.where(ffn_gathered, model.dense_layers, 0),
                    _all_reduce_parts(setup, g.ffn_tokens * d * act_b, g.ffn_group, collectives.gather_scatter_parts)),
        _collective("all_reduce_and_hops", np.where(experts_gathered, p.moe_layers, 0),
                    _all_reduce_parts(setup, g.tokens_replica * d * act_b, g.moe_tp,
                                      collectives.gather_scatter_parts)),
    )


@block("expert_parallel")
def expert_parallel_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """MoE dispatch and combine on every MoE layer (:func:`.collectives.all_to_all_parts`), of the busiest chip's
    token-expert copies that leave it, max(sent, received) x (ep - 1) / ep x d elements (dispatch at the dispatch
    precision, combine at the activations'), and the experts' own tensor-parallel all-reduce when they are split
    both ways (moe_tp > 1 and ep > 1)."""
    model, p = setup.model, g.params
    scale_up, scale_out, domain, link_f = _links(setup)
    d = model.hidden_size
    off_chip = (g.ep - 1) / g.ep
    # the collective finishes with the busiest chip: the busiest sender (its own tokens' expert copies) or the
    # busiest receiver (load_factor x the mean receipt), whichever moves more; at a batch smaller than the DP
    # ranks the sender binds (one token's 8 copies), not 1/n of a token times the receiver's imbalance
    sent = g.tokens_chip * p.active_experts
    received = g.tokens_replica * p.active_experts / g.stage_chips * g.load_factor
    per_assignment = np.maximum(sent, received) * off_chip * d

    def all_to_all(bytes_per_chip):
        return collectives.all_to_all_parts(bytes_per_chip, g.ep, domain, scale_up, scale_out, eff=setup.efficiency,
                                            fallback_fraction=link_f)

    return (
        _collective("moe_dispatch", p.moe_layers, all_to_all(per_assignment * g.dispatch_bytes)),
        _collective("moe_combine", p.moe_layers, all_to_all(per_assignment * g.activation_bytes)),
        _collective("all_reduce_and_hops", np.where((g.moe_tp > 1) & (g.ep > 1), p.moe_layers, 0.0),
                    _all_reduce_parts(setup, g.tokens_chip * d * g.activation_bytes, g.moe_tp)),
    )


@block("pipeline")
def pipeline_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The P - 1 activation hops between pipeline stages, T_rank d activations each, over the scale-up link when the
    replica fits its domain (no latency term: a hop is one send):
        t_hops = (P - 1) T_rank d b_act / (B_link f)"""
    scale_up, scale_out, domain, link_f = _links(setup)
    hops = (g.stages - 1) * g.tokens_rank * setup.model.hidden_size * g.activation_bytes / np.where(
        g.chips <= domain, scale_up, scale_out) / link_f
    return (Op("all_reduce_and_hops", "collective", latency_s=0.0, transfer_s=hops),)


@block("fixed")
def fixed_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The engine's fixed costs (F9): tau per reference layer (:func:`layer_equivalents`) inflated s_k by k MTP
    drafts, plus a whole-step engine's per-expert-group cost on the experts the busiest chip computes; and the host's
    scheduler and sampling time the accelerator does not hide:
        t_fixed = L_eq tau s_k + g_moe e_rank L_moe        host = h_step + h_seq v s_rank
    with v the model's :func:`token_volume_share` under a per-kernel engine, 1 under a whole-step one."""
    model, a = setup.model, setup.assumptions
    fixed_s = (layer_equivalents(setup.catalog, model, a.fusion) * a.fixed_latency_us_per_layer * 1e-6
               * mtp_inflation(a.mtp_step_inflation, g.mtp))
    if model.moe:  # a whole-step engine's ragged-dot groups: one per expert a chip computes, per MoE layer
        fixed_s = fixed_s + a.moe_group_overhead_us * 1e-6 * g.experts_rank * g.params.moe_layers
    # a whole-step compiler fuses the elementwise work into the weight stream (see layer_equivalents): its
    # per-sequence time is the host's alone, the same for every model
    volume = token_volume_share(setup.catalog, model) if a.fusion == "per-kernel" else 1.0
    host_s = (a.host_overhead_us_per_step + a.host_overhead_us_per_sequence * volume * g.seqs_rank) * 1e-6
    return Op("fixed_per_layer", "fixed", seconds=fixed_s), Op("host", "fixed", seconds=host_s)


@block("prefill")
def prefill_ops(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    """The prompt tokens the replica prefills beside its decode sequences (chunked prefill), at the one prefill rate
    (:func:`prefill_time_s`; DP ranks feed one expert-parallel group).

    A chunked-prefill engine runs one forward pass over everything it scheduled for the step (vLLM's token budget,
    TensorRT-LLM's in-flight batch): a DP rank's linear layers see its decode tokens and its prompt tokens
    concatenated, M = B_rank (1 + k) + P / dp, not one prompt's own length. The prompt tokens' GEMMs therefore run at
    the curve's fraction for that M (``forward_tokens``). It matters for short prompts: MLPerf's Llama 2 70B prompts
    average ~300 tokens, where AMD's MI325X hipBLASLt table gives 0.37-0.42 of peak, while AMD's offline steps carry
    ~2,000 decode + ~2,000 prompt tokens per GPU, where it gives 0.52. The decode tokens keep their own GEMM op (it
    carries the weight streaming), so a step's weights are still read once."""
    return (Op("prefill_chunks", "fixed",
               seconds=prefill_time_s(setup, g.prefill_tokens, g.prompt_tokens, g.chips, ranks=g.dp,
                                      attention_tp=g.tp, moe_ep=g.ep,
                                      forward_tokens=g.tokens_rank + g.prefill_tokens / g.dp)),)


def blocks_for(model: Model) -> tuple[str, ...]:
    """The blocks a model's step is made of, in the order their times add: a dense model has no MoE blocks, a MoE
    model without dense layers no dense FFN."""
    dense = ("dense_ffn",) if not model.moe or model.dense_layers else ()
    return ("fixed", "attention", *dense, *(("moe",) if model.moe else ()), "lm_head", "tensor_parallel",
            *(("expert_parallel",) if model.moe else ()), "pipeline", "prefill")


def _build(setup: StepSetup, g: StepTerms) -> tuple[Op, ...]:
    ops = tuple(op for kind in blocks_for(setup.model) for op in BLOCKS[kind](setup, g))
    roofline = [op.name for op in ops if op.kind == "roofline"]
    if len(roofline) != len(set(roofline)):
        raise ValueError(f"a roofline op built twice: {roofline}")
    return ops


def step_ops(setup: StepSetup, grid: StepGrid) -> tuple[Op, ...]:
    """The step's operations over ``grid``, block by block (:func:`blocks_for`)."""
    return _build(setup, step_terms(setup, grid))


# ---- the evaluator: prices the ops, overlaps communication, adds the step up ----


def _price(setup: StepSetup, op: Op, seconds_per_byte):
    """(time, bytes time, FLOPs time, two-micro-batch time) of a roofline op (F7): its bytes at the tier it streams
    from, its FLOPs at its math's peak, over its kernel curve's fraction, and the per-call floors
    (:func:`_priced_op`)."""
    eff, a, chip = setup.efficiency, setup.assumptions, setup.chip
    kernel = op.kernel
    bytes_peak = op.bytes_per_chip * seconds_per_byte
    times = _priced_op(eff, a, kernel, kernel.precision, bytes_peak,
                       op.flops_per_chip / chip.peak_flop_s(kernel.precision), op.calls, op.rereads_weights)
    wide = a.activation_precision if a.activation_precision in chip.peak_tflops else None
    if kernel.op == "gemm" and wide is not None and kernel.precision != wide:
        # A weight-only kernel streams the stored narrow weights and computes at the activations' width, with
        # that width's per-call floor (no activation quantisation): engines use it where it is faster (small
        # decode GEMMs), so narrower weights never make a memory-bound GEMM slower than wider ones. The choice is
        # made per schedule: the whole batch takes the kernel faster on it, two micro-batches the kernel faster on
        # them (the engine picks per shape), so the overlapped step never loses the weight-only kernel either.
        weight_only = _priced_op(eff, a, kernel, wide, bytes_peak, op.flops_per_chip / chip.peak_flop_s(wide),
                                 op.calls, op.rereads_weights)
        faster = weight_only[0] < times[0]
        times = (*(np.where(faster, w, t) for w, t in zip(weight_only[:3], times[:3], strict=True)),
                 np.minimum(weight_only[3], times[3]))
    return times


def _total(values, zero):
    """The sum of ``values`` in order (``zero`` when there are none)."""
    total = None
    for value in values:
        total = value if total is None else total + value
    return zero if total is None else total


def _stored_bytes(setup: StepSetup, g: StepTerms):
    """F3: (always-stored, KV per sequence, KV stored, routed experts stored) bytes per chip. Per stage-chip, then
    split over the P stages; every stage holds the KV of its L/P layers for all the rank's sequences (of all P
    micro-batches in flight): P x one micro-batch's, / P."""
    model, p, bw = setup.model, g.params, g.weight_bytes
    always = p.attention * g.projection_bytes + (p.shared + p.head + p.embedding + p.mtp) * bw
    always = always / g.tp / g.stages + p.dense_ffn * bw / g.ffn_group / g.stages
    always = always + memory.activation_bytes(model, g.tokens_chip, g.activation_bytes)
    kv_per_sequence = g.context * memory.kv_bytes_per_token(model, g.kv_bytes) / g.kv_split
    kv_stored = np.ceil(g.sequences / g.dp) * kv_per_sequence / g.stages
    experts = (
        np.ceil(p.routed_experts / g.ep) * p.expert * p.moe_layers * bw / g.moe_tp / g.stages if model.moe
        else np.zeros_like(g.stage_chips)
    )
    return always, kv_per_sequence, kv_stored, experts


def evaluate_step(setup: StepSetup, grid: StepGrid) -> dict[str, np.ndarray]:
    """Every output of one step for a grid of configurations. See the module docstring.

    The ops of :func:`step_ops` priced and added up: roofline ops at their kernel curves from the memory tier they
    stream, collectives alpha-beta with the two-micro-batch overlap, fixed ops as built. ``op_<name>_s`` is each
    named operation's share of the step (they sum to ``step_time_s``)."""
    a, chip = setup.assumptions, setup.chip
    g = step_terms(setup, grid)
    order = {name: i for i, name in enumerate(STEP_OPS)}
    ops = sorted(_build(setup, g), key=lambda op: order[op.name])  # stable: a name's ops keep the blocks' order
    zeros = np.zeros_like(g.stage_chips)

    # F3 capacity and tier placement, hottest first: always-read weights, KV, routed experts
    always_stored, kv_per_sequence, kv_stored, experts_stored = _stored_bytes(setup, g)
    (w_shares, kv_shares, e_shares), fits = memory.place_in_tiers(
        chip, a.usable_memory_fraction, always_stored, kv_stored, experts_stored
    )
    seconds_per_byte = {
        "weights": memory.seconds_per_byte(chip, w_shares, 1.0),
        "kv": memory.seconds_per_byte(chip, kv_shares, 1.0),
        "experts": memory.seconds_per_byte(chip, e_shares, 1.0),
    }

    # F7 per-component roofline at the kernel's achieved fraction of peak; a block the model lacks costs nothing
    roofline = {op.component: op for op in ops if op.kind == "roofline"}
    component_s, bytes_time, flop_time, two_batch_s = {}, {}, {}, {}
    for name in COMPONENTS:
        op = roofline.get(name)
        # (an absent op is zero; ``[()]`` makes it a numpy scalar on a 0-d grid, as a priced op's times are)
        times = (zeros[()],) * 4 if op is None else _price(setup, op, seconds_per_byte[op.streams])
        component_s[name], bytes_time[name], flop_time[name], two_batch_s[name] = times
    memory_s = sum(np.where(bytes_time[j] >= flop_time[j], component_s[j], 0.0) for j in COMPONENTS)
    compute_s = sum(np.where(bytes_time[j] >= flop_time[j], 0.0, component_s[j]) for j in COMPONENTS)
    roofline_s = memory_s + compute_s

    # F8 communication: (latency, transfer) seconds of the step's dispatches, combines and other collectives. A
    # micro-batch of half the tokens pays every latency again and half of every transfer.
    def parts(name):
        mine = [op for op in ops if op.name == name and op.kind == "collective"]
        return _total((op.latency_s for op in mine), zeros), _total((op.transfer_s for op in mine), zeros)

    dispatch, combine, other = parts("moe_dispatch"), parts("moe_combine"), parts("all_reduce_and_hops")
    dispatch_s, combine_s, other_comm_s = (sum(q) for q in (dispatch, combine, other))
    comm_s = dispatch_s + combine_s + other_comm_s
    # Two-micro-batch overlap (DeepSeek-V3 s3.4.2; DeepEP's low-latency figure): the compute stream runs
    # attn(1) | moe(0) | moe(1) | attn(0') while dispatch(0), dispatch(1), combine(0), combine(1) run beside them, so
    # each comm piece hides only behind the compute piece it is paired with:
    #   t = 1/2 [max(A, D) + max(M, D) + max(M, C) + max(A, C)]
    # with A attention-side and M MoE-side compute (whole-step totals), D and C dispatch and combine (other collectives
    # split evenly). Each micro-batch reads the weights again and calls every kernel again, so weight-streaming ops
    # count bytes twice and every op its per-call floors twice (:func:`_priced_op`), and each calls every collective
    # once, so the latencies count twice (D = 2 x one half-size call). The engine overlaps only when that beats
    # running the batch whole: t_step = min(overlapped, roofline + comm).
    split = {op.component: two_batch_s[op.component] for op in roofline.values()}
    att_c = _total((split[j] for j in COMPONENTS if j in split and roofline[j].side == "attention"), zeros)
    moe_c = _total((split[j] for j in COMPONENTS if j in split and roofline[j].side == "moe"), zeros)

    def two_halves(q):  # two calls on half the tokens each
        return 2 * q[0] + q[1]

    d_s = two_halves(dispatch) + two_halves(other) / 2
    c_s = two_halves(combine) + two_halves(other) / 2
    overlapped_s = collectives.two_micro_batch_s(att_c, moe_c, d_s, c_s)
    # two micro-batches need a token each on the attention rank that splits its batch (the rank's tokens are what
    # it splits; under attention TP they are scattered over its t chips only for the MoE, so fewer than 2 per chip
    # still split): gating on tokens per chip made a few more users switch the overlap on under TP > 1 and speed
    # every user up
    overlap = a.micro_batch_overlap & (g.tokens_rank >= 2)
    busy_s = np.where(overlap, np.minimum(overlapped_s, roofline_s + comm_s), roofline_s + comm_s)
    exposed_comm_s = busy_s - roofline_s  # comm not hidden, plus the second weight read that hiding it costs

    # F9 step, F10 speed
    def seconds(name):
        return _total((op.seconds for op in ops if op.name == name and op.kind == "fixed"), zeros)

    fixed_s, host_s, prefill_s = seconds("fixed_per_layer"), seconds("host"), seconds("prefill_chunks")
    step_s = fixed_s + host_s + roofline_s + exposed_comm_s + prefill_s
    compute_s = compute_s + prefill_s
    tokens_per_step = mtp_table(a.mtp_acceptance)[g.mtp]
    per_user = tokens_per_step / step_s
    total = g.sequences * per_user

    # exposed communication shared among the collectives in proportion to their unhidden times
    comm_share = np.where(comm_s > 0, exposed_comm_s / np.where(comm_s > 0, comm_s, 1.0), 0.0)
    op_s = {
        "fixed_per_layer": fixed_s,
        "host": host_s,
        **{name: component_s[kind.split(":", 1)[1]] for name, kind in STEP_OPS.items()
           if kind.startswith("component:")},
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

    system = setup.catalog.systems[chip.system]
    node_power_w = system.node_power_max_w.value / system.chips_per_node.value
    power_w = g.chips * node_power_w * a.power_utilisation
    capacity = chip.memory_capacity_bytes
    # sequences whose KV fits beside the weights, over the whole replica (each DP rank holds its own sequences)
    room = capacity * a.usable_memory_fraction - always_stored - experts_stored
    sequences_per_rank = np.where(room > 0, np.floor(np.maximum(room, 0) / np.maximum(kv_per_sequence, 1e-9)), 0)
    max_sequences = sequences_per_rank * g.dp * g.stages
    shape = g.stage_chips.shape
    return {
        "per_user_tokens_per_s": per_user,
        "total_output_tokens_per_s": total,
        "output_tokens_per_s_per_chip": total / g.chips,
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
        **{f"op_{name}_s": np.broadcast_to(value, shape) for name, value in op_s.items()},
        **{f"op_{name}_memory_bound": np.broadcast_to(value, shape) for name, value in op_memory_bound.items()},
        "distinct_experts_per_layer": g.distinct_experts,
        "busiest_rank_experts_per_layer": g.experts_rank,
        "memory_used_bytes_per_chip": always_stored + kv_stored + experts_stored,
        "memory_used_fraction": (always_stored + kv_stored + experts_stored) / capacity,
        "weight_bytes_per_chip": always_stored + experts_stored,
        "kv_bytes_per_chip": kv_stored,
        "max_sequences": max_sequences,
    }
