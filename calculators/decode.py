"""Decode: the step time of one replica (F4-F9), multi-token prediction and per-user speed (F10), and ``predict``.

One vectorised core, :func:`evaluate_decode`, takes numpy arrays of (chips, attention TP, expert parallel,
concurrency, MTP draft tokens) for one chip, model and precision and returns arrays of every output. ``predict``
calls it for one configuration, the layout search and the sweep for thousands at once: one formula, one place.

Per chip of the busiest rank, for each component j (attention projections, KV cache/attention core, dense FFN,
shared experts and routers, routed experts, LM head) F7 gives t_j = max(bytes_j x seconds-per-byte of the tiers
holding them, flops_j / (C x eta_c)); the step (F9) is
    t_step = L tau s_k + sum_j t_j + exposed communication
with s_k the MTP step inflation for k draft tokens (applied to the fixed per-layer cost, where the draft passes'
launches and synchronisation land; the draft tokens' bytes and FLOPs are counted by verifying B (k+1) tokens).
"""

from __future__ import annotations

import functools
import math
import statistics
from dataclasses import asdict, dataclass, field

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions, check_assumptions, resolve_assumptions
from calculators.errors import ScenarioError
from calculators.layout import Layout, candidate_layouts, parse_layout
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


# --- inputs ----------------------------------------------------------------------------------------------------------


def _finite_positive(name: str, value, *, integer: bool = False, allow_zero: bool = False):
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ScenarioError(f"'{name}' must be a number (got {value!r})")
    if not math.isfinite(value):
        raise ScenarioError(f"'{name}' must be finite (got {value!r})")
    if value < 0 or (value == 0 and not allow_zero):
        raise ScenarioError(f"'{name}' must be {'>= 0' if allow_zero else '> 0'} (got {value!r})")
    if integer and int(value) != value:
        raise ScenarioError(f"'{name}' must be a whole number (got {value!r})")
    return int(value) if integer else float(value)


def check_model(catalog: Catalog, model: str) -> Model:
    if model not in catalog.models:
        raise ScenarioError(f"unknown model {model!r}; known: {', '.join(sorted(catalog.models))}")
    return catalog.models[model]


def check_accelerator(catalog: Catalog, accelerator: str) -> Accelerator:
    if accelerator not in catalog.accelerators:
        raise ScenarioError(f"unknown accelerator {accelerator!r}; known: {', '.join(sorted(catalog.accelerators))}")
    chip = catalog.accelerators[accelerator]
    if chip.system not in catalog.systems:
        raise ScenarioError(f"accelerator {accelerator!r} names unknown system {chip.system!r}")
    return chip


def check_precision(catalog: Catalog, chip: Accelerator, precision: str) -> str:
    if precision not in catalog.precisions:
        raise ScenarioError(f"unknown precision {precision!r}; known: {', '.join(sorted(catalog.precisions))}")
    if precision not in chip.peak_tflops:
        raise ScenarioError(
            f"accelerator {chip.id!r} has no {precision!r} math; it supports: {', '.join(chip.precisions)}"
        )
    return precision


def check_mtp_layers(model: Model, assumptions: Assumptions, mtp_layers) -> int:
    k = _finite_positive("mtp_layers", mtp_layers, integer=True, allow_zero=True)
    if k > 0 and model.mtp is None:
        raise ScenarioError(f"'mtp_layers' must be 0 for {model.id!r}, which has no MTP module (got {k})")
    if k > assumptions.max_mtp_layers:
        raise ScenarioError(f"'mtp_layers' must be <= {assumptions.max_mtp_layers} (got {k})")
    return k


# --- formulas --------------------------------------------------------------------------------------------------------


def distinct_experts_per_step(routed_experts: int, active_experts: int, tokens):
    """F4: expected distinct experts touched by ``tokens`` tokens, E (1 - (1 - k/E)^T) (linearity of expectation
    over experts, uniform routing). R1: 8, 57.4, 163.4, 222.5 at T = 1, 8, 32, 64."""
    return routed_experts * expert_touch_probability(routed_experts, active_experts, tokens)


def expert_touch_probability(routed_experts: int, active_experts: int, tokens):
    """q = 1 - (1 - k/E)^T: the chance one given expert is chosen by at least one of T tokens."""
    return 1.0 - (1.0 - active_experts / routed_experts) ** np.asarray(tokens, dtype=float)


@functools.lru_cache(maxsize=65536)
def _expected_max_binomial(n: int, ranks: int, q: float) -> float:
    """E[max of ``ranks`` iid Binomial(n, q)] = sum_{j=1..n} (1 - F(j-1)^ranks)."""
    if n <= 0 or q <= 0:
        return 0.0
    if q >= 1:
        return float(n)
    # P(max >= j) is negligible beyond mean + 12 sd (ranks x a 12-sigma tail), so stop there: a few dozen terms
    # instead of n + 1 when q is small
    top = min(n, math.ceil(n * q + 12 * math.sqrt(n * q * (1 - q)) + 12))
    j = np.arange(top + 1)
    # log C(n, j) = sum_{i=1..j} log((n - i + 1) / i), one cumulative sum instead of 3(n+1) lgamma calls
    log_choose = np.concatenate([[0.0], np.cumsum(np.log((n - j[1:] + 1) / j[1:]))])
    log_pmf = log_choose + j * math.log(q) + (n - j) * math.log1p(-q)
    cdf = np.minimum(np.cumsum(np.exp(log_pmf)), 1.0)
    return float(np.sum(1.0 - cdf[:-1] ** ranks))


def busiest_rank_experts(routed_experts: int, active_experts: int, moe_ep, tokens):
    """F4 per shard with the straggler margin: expected distinct experts on the busiest of ``moe_ep`` expert-parallel
    ranks, each holding e = ceil(E / ep) experts each touched with probability q: E[max over ranks of Binomial(e, q)].

    The MoE layer waits for its slowest rank, so the mean e q understates the step; with one rank it is exactly
    F4. Computed exactly (binomial CDF) once per distinct (ep, tokens) pair, so arrays of any size stay cheap.
    """
    ep, t = np.broadcast_arrays(np.asarray(moe_ep), np.asarray(tokens, dtype=float))
    # distinct (ep, tokens) pairs via one 1-D integer key (a 2-D np.unique sorts rows and is ~10x slower)
    ep_values, ep_code = np.unique(ep.ravel(), return_inverse=True)
    t_values, t_code = np.unique(t.ravel(), return_inverse=True)
    keys, inverse = np.unique(ep_code * len(t_values) + t_code, return_inverse=True)
    pair_ep = ep_values[keys // len(t_values)]
    pair_q = expert_touch_probability(routed_experts, active_experts, t_values[keys % len(t_values)])
    values = np.array(
        [
            _expected_max_binomial(math.ceil(routed_experts / e), int(e), q)
            for e, q in zip(pair_ep.tolist(), pair_q.tolist(), strict=True)
        ]
    )
    return values[inverse].reshape(ep.shape)


EXACT_BINOMIAL_MAX_TRIALS = 4096
"""Above this many token-expert assignments the busiest rank's load uses the normal approximation (error < 1%)."""


@functools.lru_cache(maxsize=4096)
def _busiest_rank_load_factor(assignments: int, ranks: int) -> float:
    """E[max over ``ranks`` of the assignments landing on one rank] / mean, each of ``assignments`` landing on a given
    rank with probability 1 / ranks, ranks treated as independent (slightly low at tiny counts, where the
    multinomial's coupling matters). Exact binomial up to EXACT_BINOMIAL_MAX_TRIALS, else the normal approximation
    mu + sigma z_R with Blom's expected maximum z_R = Phi^-1((R - 0.375) / (R + 0.25))."""
    if ranks <= 1 or assignments <= 0:
        return 1.0
    p = 1.0 / ranks
    mean = assignments * p
    if assignments <= EXACT_BINOMIAL_MAX_TRIALS:
        return _expected_max_binomial(assignments, ranks, p) / mean
    z = statistics.NormalDist().inv_cdf((ranks - 0.375) / (ranks + 0.25))
    return 1.0 + z * math.sqrt((1 - p) / mean)


def busiest_rank_load_factor(active_experts: int, moe_ep, tokens):
    """Straggler factor of expert-parallel work: the busiest of ``moe_ep`` ranks receives this many times the mean
    number of token-expert assignments (T x k spread uniformly over the ranks, k = ``active_experts``).

    Uniform routing is the optimistic case (real routing is skewed; DeepSeek's EPLB replicates hot experts to get
    close to it). Applied to the routed-expert FLOPs and to the all-to-all bytes the busiest rank receives: a MoE
    layer and a collective both finish with their slowest rank. 8 tokens x 8 experts over 8 ranks: mean 8 per rank,
    expected max ~11.9 (factor ~1.49); at 4,096 tokens the factor falls to ~1.02."""
    ep, t = np.broadcast_arrays(np.asarray(moe_ep, dtype=float), np.asarray(tokens, dtype=float))
    assignments = np.rint(t.ravel() * active_experts)
    # one factor per distinct (ranks, assignments) pair: a 1-D key (assignments < 1e12) keeps np.unique cheap
    _, first, inverse = np.unique(ep.ravel() * 1e12 + assignments, return_index=True, return_inverse=True)
    values = np.array(
        [_busiest_rank_load_factor(int(assignments[j]), int(ep.ravel()[j])) for j in first.tolist()], dtype=float
    )
    return values[inverse].reshape(ep.shape)


def mtp_expected_tokens(acceptance: tuple[float, ...], mtp_layers):
    """F10: expected tokens emitted per step with k draft tokens, E_k = 1 + sum_{j<=k} prod_{i<=j} p_i.

    TRT-LLM's conditional acceptances 0.92, 0.717, 0.364 give 1.92, 2.58, 2.82."""
    return _mtp_table(acceptance)[np.asarray(mtp_layers)]


def _mtp_table(acceptance: tuple[float, ...]) -> np.ndarray:
    return np.concatenate([[1.0], 1.0 + np.cumsum(np.cumprod(acceptance))])


def mtp_inflation(inflation: tuple[float, ...], mtp_layers):
    """The fixed-cost multiplier s_k of a step with k draft tokens (s_0 = 1)."""
    return np.concatenate([[1.0], inflation])[np.asarray(mtp_layers)]


def ring_all_reduce_s(bytes_per_chip, group, link_bytes_s: float):
    """A ring all-reduce of ``bytes_per_chip`` over ``group`` chips moves 2 (g - 1) / g of it over each link."""
    group = np.asarray(group, dtype=float)
    return np.where(group > 1, 2.0 * (group - 1) / group * bytes_per_chip / link_bytes_s, 0.0)


def all_to_all_s(bytes_sent_per_chip, group, scale_up_domain: float, scale_up_bytes_s: float, scale_out_bytes_s: float):
    """Expert-parallel dispatch or combine: of the (g - 1) peers, min(g, D) - 1 sit in the scale-up domain; the rest
    are reached over the scale-out network. The slower share sets the time (both links run concurrently)."""
    group = np.asarray(group, dtype=float)
    inside = np.where(group > 1, (np.minimum(group, scale_up_domain) - 1) / np.maximum(group - 1, 1), 1.0)
    return np.maximum(
        bytes_sent_per_chip * inside / scale_up_bytes_s, bytes_sent_per_chip * (1 - inside) / scale_out_bytes_s
    )


def two_micro_batch_s(attention_s, moe_s, dispatch_s, combine_s):
    """Busy time of a step split into two micro-batches whose compute and communication interleave (DeepSeek-V3
    s3.4.2, DeepEP's overlap figure): attn(1) | moe(0) | moe(1) | attn(0') on the compute stream beside dispatch(0),
    dispatch(1), combine(0), combine(1), each piece half the step's total:
    t = 1/2 [max(A, D) + max(M, D) + max(M, C) + max(A, C)].
    No communication gives A + M; no compute gives D + C; perfect hiding needs every pair balanced."""
    return 0.5 * (
        np.maximum(attention_s, dispatch_s) + np.maximum(moe_s, dispatch_s)
        + np.maximum(moe_s, combine_s) + np.maximum(attention_s, combine_s)
    )


# --- the vectorised core ---------------------------------------------------------------------------------------------


def evaluate_decode(
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
) -> dict[str, np.ndarray]:
    """Every decode output for arrays of configurations (broadcast together). See the module docstring.

    With P pipeline stages the times are those of one stage of N/P chips running all layers on a micro-batch of B/P
    sequences (a token visits every stage in turn), plus P - 1 activation hops; each chip stores 1/P of the weights.
    """
    a = assumptions
    system = catalog.systems[chip.system]
    p = memory.parameter_counts(model)
    n_all, pp, t, ep, b_all, c, k = np.broadcast_arrays(
        np.asarray(chips, dtype=float),
        np.asarray(pipeline_stages, dtype=float),
        np.asarray(attention_tp, dtype=float),
        np.asarray(moe_ep, dtype=float),
        np.asarray(concurrency, dtype=float),
        np.asarray(context_tokens, dtype=float),
        np.asarray(mtp_layers, dtype=int),
    )
    n = n_all / pp  # chips of one pipeline stage
    b = b_all / pp  # sequences of one micro-batch
    storage = memory.weight_storage_precision(catalog, model, precision, a.weight_storage_precision)
    bw = memory.bytes_per_element(catalog, storage)  # weights: stored/streamed bytes; FLOPs use ``precision``
    kv_b = memory.bytes_per_element(catalog, a.kv_cache_precision)
    act_b = memory.bytes_per_element(catalog, a.activation_precision)
    dispatch_b = memory.bytes_per_element(catalog, a.dispatch_precision)
    gemm_flop_s = chip.peak_flop_s(precision) * a.compute_efficiency_decode
    attention_precision = a.kv_cache_precision if a.kv_cache_precision in chip.peak_tflops else precision
    attention_flop_s = chip.peak_flop_s(attention_precision) * a.compute_efficiency_decode
    # attention projections may run wider than the rest (FP8 attention + FP4 MoE): their bytes and GEMM rate
    projection_precision = a.attention_weight_precision or precision
    if projection_precision not in chip.peak_tflops:
        raise ScenarioError(
            f"accelerator {chip.id!r} has no {projection_precision!r} math for 'attention_weight_precision'"
        )
    projection_flop_s = chip.peak_flop_s(projection_precision) * a.compute_efficiency_decode
    projection_b = (
        bw if a.attention_weight_precision is None else memory.bytes_per_element(catalog, projection_precision)
    )
    d = model.hidden_size
    att = model.attention

    dp = n / t
    moe_tp = n / ep
    seqs_rank = np.ceil(b / dp)  # sequences on the busiest attention DP rank
    tokens_replica = b * (1 + k)  # tokens verified per step (MTP drafts included)
    tokens_rank = seqs_rank * (1 + k)
    tokens_chip = tokens_rank / t  # tokens each chip of the rank carries through the FFN/MoE
    c_eff = memory.effective_context_tokens(model, c)
    kv_split = 1.0 if att.type == "mla" else np.minimum(t, att.kv_heads)  # MLA latent is replicated under TP

    # F5 bytes read per step, per chip
    weight = {
        "attention_weights": p.attention * projection_b / t,
        "dense_ffn": p.dense_ffn * bw / t,
        "shared_experts": p.shared * bw / t,  # sharded like the dense FFN; replicated per DP rank (as DeepSeek)
        "lm_head": p.head * bw / t,
    }
    if model.moe:
        experts_rank = busiest_rank_experts(p.routed_experts, p.active_experts, ep, tokens_replica)
        weight["routed_experts"] = experts_rank * p.expert * p.moe_layers * bw / moe_tp
    else:
        experts_rank = np.zeros_like(n)
        weight["routed_experts"] = np.zeros_like(n)
    kv_read = seqs_rank * c_eff * memory.kv_bytes_per_token(model, kv_b) / kv_split

    # F6 FLOPs per step, per chip
    load_factor = busiest_rank_load_factor(p.active_experts, ep, tokens_replica) if model.moe else np.ones_like(n)
    if att.type == "mla":
        attention_core_per_token_layer = FLOPS_PER_MAC * att.heads * (2 * att.kv_lora_rank + att.qk_rope_head_dim)
    else:
        attention_core_per_token_layer = FLOPS_PER_MAC * 2 * att.heads * att.head_dim
    flops = {
        "attention_weights": FLOPS_PER_MAC * p.attention * tokens_rank / t,
        "kv_cache": attention_core_per_token_layer * c_eff * model.layers * tokens_rank / t,
        "dense_ffn": FLOPS_PER_MAC * p.dense_ffn * tokens_rank / t,
        "shared_experts": FLOPS_PER_MAC * p.shared * tokens_rank / t,
        # the busiest expert-parallel rank's share of the T x k token-expert assignments (straggler)
        "routed_experts": FLOPS_PER_MAC * p.expert * p.active_experts * p.moe_layers * tokens_replica / n
        * load_factor,
        "lm_head": FLOPS_PER_MAC * p.head * tokens_rank / t,
    }

    # F3 capacity and tier placement, hottest first: always-read weights, KV, routed experts
    # (per stage-chip, then split over the P stages; the KV of all P micro-batches = P x one micro-batch's, / P)
    always_stored = p.attention * projection_b + (p.dense_ffn + p.shared + p.head + p.embedding + p.mtp) * bw
    always_stored = always_stored / t / pp
    always_stored = always_stored + memory.activation_bytes(model, tokens_chip, act_b)
    kv_stored = seqs_rank * c * memory.kv_bytes_per_token(model, kv_b) / kv_split
    experts_stored = (
        np.ceil(p.routed_experts / ep) * p.expert * p.moe_layers * bw / moe_tp / pp if model.moe else np.zeros_like(n)
    )
    (w_shares, kv_shares, e_shares), fits = memory.place_in_tiers(
        chip, a.usable_memory_fraction, always_stored, kv_stored, experts_stored
    )
    spb_weights = memory.seconds_per_byte(chip, w_shares, a.memory_bandwidth_efficiency)
    spb_kv = memory.seconds_per_byte(chip, kv_shares, a.memory_bandwidth_efficiency)
    spb_experts = memory.seconds_per_byte(chip, e_shares, a.memory_bandwidth_efficiency)

    # F7 per-component roofline
    always_read = ("attention_weights", "dense_ffn", "shared_experts", "lm_head")
    bytes_time = {name: weight[name] * spb_weights for name in always_read}
    bytes_time["routed_experts"] = weight["routed_experts"] * spb_experts
    bytes_time["kv_cache"] = kv_read * spb_kv
    rate = {"kv_cache": attention_flop_s, "attention_weights": projection_flop_s}
    flop_time = {name: flops[name] / rate.get(name, gemm_flop_s) for name in COMPONENTS}
    component_s = {name: np.maximum(bytes_time[name], flop_time[name]) for name in COMPONENTS}
    memory_s = sum(np.where(bytes_time[j] >= flop_time[j], component_s[j], 0.0) for j in COMPONENTS)
    compute_s = sum(np.where(bytes_time[j] >= flop_time[j], 0.0, component_s[j]) for j in COMPONENTS)
    roofline_s = memory_s + compute_s

    # F8 communication, links at their achieved fraction of rated bandwidth
    scale_up = chip.scale_up_gb_s_per_direction.value * 1e9 * a.interconnect_efficiency
    scale_out = chip.scale_out_gb_s_per_direction.value * 1e9 * a.interconnect_efficiency
    domain = system.scale_up_domain_chips.value
    tp_link = np.where(t <= domain, scale_up, scale_out)
    moe_tp_all_reduce = ep == 1  # experts tensor-parallel: their output needs an all-reduce like a dense FFN
    all_reduces = model.layers + model.dense_layers + np.where(moe_tp_all_reduce, p.moe_layers, 0)
    other_comm_s = all_reduces * ring_all_reduce_s(tokens_rank * d * act_b, t, 1.0) / tp_link
    dispatch_s = np.zeros_like(n)
    combine_s = np.zeros_like(n)
    if model.moe:
        off_chip = (ep - 1) / ep
        # the busiest rank receives load_factor x the mean: the collective finishes with it
        per_assignment = tokens_chip * p.active_experts * off_chip * d * load_factor
        dispatch_s = p.moe_layers * all_to_all_s(per_assignment * dispatch_b, ep, domain, scale_up, scale_out)
        combine_s = p.moe_layers * all_to_all_s(per_assignment * act_b, ep, domain, scale_up, scale_out)
        other_comm_s = other_comm_s + np.where(
            moe_tp > 1, p.moe_layers * ring_all_reduce_s(tokens_chip * d * act_b, moe_tp, 1.0) / tp_link, 0.0
        ) * (ep > 1)
    hops_s = (pp - 1) * tokens_rank * d * act_b / np.where(n_all <= domain, scale_up, scale_out)
    other_comm_s = other_comm_s + hops_s
    comm_s = dispatch_s + combine_s + other_comm_s
    # Two-micro-batch overlap (DeepSeek-V3 s3.4.2; DeepEP's low-latency figure): the compute stream runs
    # attn(1) | moe(0) | moe(1) | attn(0') while dispatch(0), dispatch(1), combine(0), combine(1) run beside them, so
    # each comm piece hides only behind the compute piece it is paired with:
    #   t = 1/2 [max(A, D) + max(M, D) + max(M, C) + max(A, C)]
    # with A attention-side and M MoE-side compute (whole-step totals), D and C dispatch and combine (other collectives
    # split evenly). Each micro-batch reads the weights again, so weight-streaming components count bytes twice. The
    # engine overlaps only when that beats running the batch whole: t_step = min(overlapped, roofline + comm).
    attention_side = ("attention_weights", "kv_cache", "dense_ffn", "lm_head")
    moe_side = ("shared_experts", "routed_experts")
    weight_read = ("attention_weights", "dense_ffn", "shared_experts", "routed_experts", "lm_head")
    split = {j: np.maximum(bytes_time[j] * (2 if j in weight_read else 1), flop_time[j]) for j in COMPONENTS}
    att_c = sum(split[j] for j in attention_side)
    moe_c = sum(split[j] for j in moe_side)
    d_s = dispatch_s + other_comm_s / 2
    c_s = combine_s + other_comm_s / 2
    overlapped_s = two_micro_batch_s(att_c, moe_c, d_s, c_s)
    overlap = a.micro_batch_overlap & (tokens_chip >= 2)
    busy_s = np.where(overlap, np.minimum(overlapped_s, roofline_s + comm_s), roofline_s + comm_s)
    exposed_comm_s = busy_s - roofline_s  # comm not hidden, plus the second weight read that hiding it costs

    # F9 step, F10 speed
    fixed_s = model.layers * a.fixed_latency_us_per_layer * 1e-6 * mtp_inflation(a.mtp_step_inflation, k)
    step_s = fixed_s + roofline_s + exposed_comm_s
    tokens_per_step = _mtp_table(a.mtp_acceptance)[k]
    per_user = tokens_per_step / step_s
    total = b_all * per_user

    categories = np.stack([fixed_s, memory_s, compute_s, exposed_comm_s])
    bound_index = np.where(fits, np.argmax(categories, axis=0), len(BOUND_CATEGORIES))
    bound = np.array(BOUND_LABELS, dtype=object)[bound_index]

    node_power_w = system.node_power_max_w.value / system.chips_per_node.value
    power_w = n_all * node_power_w * a.power_utilisation
    capacity = chip.memory_capacity_bytes
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
        "communication_s": exposed_comm_s,
        "communication_total_s": comm_s,
        **{f"{name}_s": component_s[name] for name in COMPONENTS},
        "distinct_experts_per_layer": distinct_experts_per_step(p.routed_experts, p.active_experts, tokens_replica)
        if model.moe
        else np.zeros_like(n),
        "busiest_rank_experts_per_layer": experts_rank,
        "memory_used_bytes_per_chip": always_stored + kv_stored + experts_stored,
        "memory_used_fraction": (always_stored + kv_stored + experts_stored) / capacity,
        "weight_bytes_per_chip": always_stored + experts_stored,
        "kv_bytes_per_chip": kv_stored,
    }


# --- the single-configuration API ------------------------------------------------------------------------------------


def sram_only(chip: Accelerator) -> bool:
    """A chip whose only memory is on-chip SRAM (Groq, Cerebras): its chip count is set by capacity alone."""
    return all(t.tier == "sram" for t in chip.memory_tiers)


def uncertainty_fraction(catalog: Catalog, chip: Accelerator) -> float:
    """The band factor f of a headline output for this chip's class: the model's measured validation error on that
    class's test points, or the catalog's wider fallback where it has too few (see
    :func:`calculators.validation.class_uncertainties`). The band is value / (1 + f) .. value x (1 + f)."""
    from calculators.validation import class_uncertainties  # validation imports this module

    return class_uncertainties(catalog)[chip.chip_class].fraction


def band(value: float, fraction: float) -> tuple[float, float]:
    """(low, high) = (value / (1 + f), value x (1 + f)): the true value is within a factor 1 + f of the prediction
    either way, as the validation error (a ratio predicted / measured, symmetric in log space) says. It never goes
    negative and serves a rate and its inverse (J/token, chips) alike."""
    return value / (1 + fraction), value * (1 + fraction)


@dataclass(frozen=True)
class Prediction:
    """One decode prediction; the fields are the CLI's JSON keys."""

    model: str
    accelerator: str
    precision: str
    chips: int
    nodes: int
    concurrency: int
    context_tokens: int
    mtp_layers: int
    engine: str
    layout: str
    attention_tp: int
    attention_dp: int
    moe_ep: int
    moe_tp: int
    pipeline_stages: int
    per_user_tokens_per_s: float
    per_user_tokens_per_s_low: float
    per_user_tokens_per_s_high: float
    total_output_tokens_per_s: float
    total_output_tokens_per_s_low: float
    total_output_tokens_per_s_high: float
    output_tokens_per_s_per_chip: float
    step_time_ms: float
    expected_tokens_per_step: float
    fits_in_memory: bool
    memory_used_fraction: float
    bound_by: str
    power_kw: float
    joules_per_output_token: float
    joules_per_output_token_low: float
    joules_per_output_token_high: float
    uncertainty_fraction: float
    distinct_experts_per_layer: float
    step_time_breakdown_ms: dict[str, float] = field(default_factory=dict)
    weight_storage_precision: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def best_layout(
    catalog: Catalog,
    model: Model,
    chip: Accelerator,
    precision: str,
    assumptions: Assumptions,
    *,
    chips: int,
    concurrency: int,
    context_tokens: int,
    mtp_layers: int,
    layout: str = "auto",
) -> tuple[Layout, dict]:
    """The layout ``predict`` reports and its :func:`evaluate_decode` values (scalars), for checked inputs:
    ``"auto"`` = the fastest layout that fits (else the fastest), any other value a layout label."""
    system = catalog.systems[chip.system]
    if not isinstance(layout, str):
        raise ScenarioError(f"'layout' must be a string (got {layout!r})")
    if layout == "auto":
        layouts = candidate_layouts(model, chips, int(system.scale_up_domain_chips.value), pipeline=sram_only(chip))
    else:
        layouts = [parse_layout(layout, model, chips)]
    out = evaluate_decode(
        catalog, model, chip, precision, assumptions,
        chips=chips,
        attention_tp=np.array([lay.attention_tp for lay in layouts]),
        moe_ep=np.array([lay.moe_ep for lay in layouts]),
        pipeline_stages=np.array([lay.pipeline_stages for lay in layouts]),
        concurrency=concurrency,
        context_tokens=context_tokens,
        mtp_layers=mtp_layers,
    )
    # fastest fitting layout; if none fits, the fastest (reported with fits_in_memory False)
    score = np.where(out["fits_in_memory"], out["per_user_tokens_per_s"], -1.0 / out["per_user_tokens_per_s"])
    i = int(np.argmax(score))
    return layouts[i], {key: value[i] for key, value in out.items()}


def predict(
    catalog: Catalog,
    *,
    model: str,
    accelerator: str,
    chips: int,
    precision: str,
    concurrency: int,
    context_tokens: int,
    mtp_layers: int = 0,
    layout: str = "auto",
    assumptions: Assumptions | None = None,
) -> Prediction:
    """Decode speed of one replica of ``chips`` chips serving ``concurrency`` sequences at mean context
    ``context_tokens``. ``layout="auto"`` picks the fastest layout that fits (else the fastest); any other value is a
    layout label (see :mod:`calculators.layout`)."""
    m = check_model(catalog, model)
    chip = check_accelerator(catalog, accelerator)
    check_precision(catalog, chip, precision)
    chips = _finite_positive("chips", chips, integer=True)
    concurrency = _finite_positive("concurrency", concurrency, integer=True)
    context_tokens = _finite_positive("context_tokens", context_tokens, integer=True)
    a = resolve_assumptions(catalog, accelerator) if assumptions is None else check_assumptions(catalog, assumptions)
    mtp_layers = check_mtp_layers(m, a, mtp_layers)
    system = catalog.systems[chip.system]
    lay, v = best_layout(
        catalog, m, chip, precision, a,
        chips=chips, concurrency=concurrency, context_tokens=context_tokens, mtp_layers=mtp_layers, layout=layout,
    )
    err = uncertainty_fraction(catalog, chip)
    per_user = float(v["per_user_tokens_per_s"])
    total = float(v["total_output_tokens_per_s"])
    joules = float(v["joules_per_output_token"])
    breakdown = {name: float(v[f"{name}_s"]) * 1e3 for name in ("fixed_latency", *COMPONENTS, "communication")}
    return Prediction(
        model=model,
        accelerator=accelerator,
        precision=precision,
        chips=chips,
        nodes=math.ceil(chips / system.chips_per_node.value),
        concurrency=concurrency,
        context_tokens=context_tokens,
        mtp_layers=mtp_layers,
        engine=a.engine,
        layout=lay.label,
        attention_tp=lay.attention_tp,
        attention_dp=lay.attention_dp,
        moe_ep=lay.moe_ep,
        moe_tp=lay.moe_tp,
        pipeline_stages=lay.pipeline_stages,
        per_user_tokens_per_s=per_user,
        per_user_tokens_per_s_low=band(per_user, err)[0],
        per_user_tokens_per_s_high=band(per_user, err)[1],
        total_output_tokens_per_s=total,
        total_output_tokens_per_s_low=band(total, err)[0],
        total_output_tokens_per_s_high=band(total, err)[1],
        output_tokens_per_s_per_chip=total / chips,
        step_time_ms=float(v["step_time_s"]) * 1e3,
        expected_tokens_per_step=float(v["expected_tokens_per_step"]),
        fits_in_memory=bool(v["fits_in_memory"]),
        memory_used_fraction=float(v["memory_used_fraction"]),
        bound_by=str(v["bound_by"]),
        power_kw=float(v["power_w"]) / 1e3,
        joules_per_output_token=joules,
        joules_per_output_token_low=band(joules, err)[0],
        joules_per_output_token_high=band(joules, err)[1],
        uncertainty_fraction=err,
        distinct_experts_per_layer=float(v["distinct_experts_per_layer"]),
        step_time_breakdown_ms=breakdown,
        weight_storage_precision=memory.weight_storage_precision(catalog, m, precision, a.weight_storage_precision),
    )
