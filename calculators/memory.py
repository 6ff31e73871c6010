"""Memory: parameter counts and weight bytes from a model's architecture (F1), KV cache per token (F2), and the
per-chip placement of weights and KV across memory tiers with the capacity check (F3).

Everything is in bytes. Parameter totals are derived here from the architecture fields of
:class:`~calculators.records.Model`, never typed: R1's 671B total / ~37B active are tests of these formulas.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from calculators.records import Accelerator, Catalog, Model

GATED_FFN_MATRICES = 3
"""A SwiGLU feed-forward block has three weight matrices (gate, up, down) of hidden x intermediate each."""


@dataclass(frozen=True)
class ParameterCounts:
    """Parameter counts of one model by group (F1), the unit every weight and FLOP formula is built from."""

    attention_per_layer: int
    dense_ffn_per_layer: int
    expert: int
    router_per_layer: int
    embedding: int
    head: int
    mtp: float
    layers: int
    dense_layers: int
    moe_layers: int
    routed_experts: int
    active_experts: int
    shared_experts: int

    @property
    def attention(self) -> int:
        return self.attention_per_layer * self.layers

    @property
    def dense_ffn(self) -> int:
        return self.dense_ffn_per_layer * self.dense_layers

    @property
    def routed(self) -> int:
        """All routed-expert parameters (the bulk of an MoE model)."""
        return self.expert * self.routed_experts * self.moe_layers

    @property
    def shared(self) -> int:
        """Shared experts plus routers of every MoE layer: read every step whatever the routing."""
        return (self.expert * self.shared_experts + self.router_per_layer) * self.moe_layers

    @property
    def total(self) -> int:
        """Main-model parameters (without the MTP module): 671.03B for R1."""
        return self.attention + self.dense_ffn + self.routed + self.shared + self.embedding + self.head

    @property
    def total_with_mtp(self) -> float:
        return self.total + self.mtp

    @property
    def active(self) -> int:
        """Parameters that multiply each token: everything but the unrouted experts (~37.5B for R1).

        The input embedding is a lookup, not a matmul, but it is counted as DeepSeek does (36.7B incl. 0.9B
        embedding + 0.9B head); :attr:`active_matmul` excludes it for FLOP counts.
        """
        routed_active = self.expert * self.active_experts * self.moe_layers
        return self.attention + self.dense_ffn + routed_active + self.shared + self.embedding + self.head

    @property
    def active_matmul(self) -> int:
        """Parameters that take part in a matrix multiply per token (active minus the embedding lookup)."""
        return self.active - self.embedding

    @property
    def non_expert(self) -> int:
        """Everything read every decode step regardless of routing: attention, dense FFN, shared experts, head."""
        return self.attention + self.dense_ffn + self.shared + self.head


def attention_params_per_layer(model: Model) -> int:
    """Weights of one attention block.

    MLA (DeepSeek): q_a d x r_q, q_b r_q x h(d_nope + d_rope), kv_a d x (d_c + d_rope), kv_b d_c x h(d_nope + d_v),
    o h d_v x d. R1: 7168*1536 + 1536*128*192 + 7168*576 + 512*128*256 + 128*128*7168 = 187,105,280.
    Without a query low-rank (q_lora_rank None) q is d x h(d_nope + d_rope).
    GQA/MHA/MQA: q d x h d_h, k and v d x kv d_h each, o h d_h x d.
    """
    a = model.attention
    d = model.hidden_size
    if a.type == "mla":
        qk = a.qk_nope_head_dim + a.qk_rope_head_dim
        q = d * a.q_lora_rank + a.q_lora_rank * a.heads * qk if a.q_lora_rank else d * a.heads * qk
        kv = d * (a.kv_lora_rank + a.qk_rope_head_dim) + a.kv_lora_rank * a.heads * (a.qk_nope_head_dim + a.v_head_dim)
        o = a.heads * a.v_head_dim * d
        return q + kv + o
    return d * a.heads * a.head_dim + 2 * d * a.kv_heads * a.head_dim + a.heads * a.head_dim * d


def parameter_counts(model: Model) -> ParameterCounts:
    """Parameter groups of a model (F1): dense FFN 3 d I, expert 3 d I_e, router d E, embedding and head V d."""
    d = model.hidden_size
    moe = model.moe
    moe_layers = model.layers - model.dense_layers
    embedding = model.vocab_size * d
    return ParameterCounts(
        attention_per_layer=attention_params_per_layer(model),
        dense_ffn_per_layer=GATED_FFN_MATRICES * d * model.intermediate_size,
        expert=GATED_FFN_MATRICES * d * moe.expert_intermediate_size if moe else 0,
        router_per_layer=d * moe.routed_experts if moe else 0,
        embedding=embedding,
        head=0 if model.tie_embeddings else embedding,
        mtp=model.mtp.params_b.value * 1e9 if model.mtp else 0.0,
        layers=model.layers,
        dense_layers=model.dense_layers,
        moe_layers=moe_layers,
        routed_experts=moe.routed_experts if moe else 0,
        active_experts=moe.active_experts if moe else 0,
        shared_experts=moe.shared_experts if moe else 0,
    )


def bytes_per_element(catalog: Catalog, precision: str) -> float:
    """Storage bytes of one element of ``precision`` including its block scales (from the catalog)."""
    return catalog.precisions[precision].bytes_per_element.value


def weight_storage_precision(catalog: Catalog, model: Model, compute_precision: str, choice: str | None) -> str:
    """The precision weights are stored and streamed in (F1/F3/F5 bytes), given the compute precision (F6 FLOPs).

    ``None``: the compute precision. ``native``: the model's checkpoint precision if it takes fewer bytes than the
    compute precision (SN40L has only BF16 math but serves R1's FP8 checkpoint, upcasting on chip), else the compute
    precision. Any other value is a catalog precision id, used as given (weight-only quantisation)."""
    if choice is None:
        return compute_precision
    if choice == "native":
        native = model.native_precision
        if native in catalog.precisions and bytes_per_element(catalog, native) < bytes_per_element(
            catalog, compute_precision
        ):
            return native
        return compute_precision
    return choice


def weight_bytes(model: Model, bytes_per_weight: float, *, include_mtp: bool = True) -> float:
    """F1: total weight bytes = parameters x bytes per weight.

    R1 FP8 incl. MTP: (671.03B + 11.5B) x 1.000244 = 0.683 TB."""
    p = parameter_counts(model)
    return (p.total_with_mtp if include_mtp else p.total) * bytes_per_weight


def kv_elements_per_token(model: Model) -> int:
    """F2 in elements: MLA caches the latent plus the RoPE key per layer, (d_c + d_r) L = (512 + 64) x 61 = 35,136;
    GQA caches K and V per KV head, 2 kv_heads d_h L."""
    a = model.attention
    if a.type == "mla":
        return (a.kv_lora_rank + a.qk_rope_head_dim) * model.layers
    return 2 * a.kv_heads * a.head_dim * model.layers


def kv_bytes_per_token(model: Model, bytes_per_kv_element: float) -> float:
    """F2: KV cache bytes per token. R1 BF16: 35,136 x 2 = 70,272 B (DeepSeek ISCA'25 Table 1)."""
    return kv_elements_per_token(model) * bytes_per_kv_element


def effective_context_tokens(model: Model, context_tokens):
    """Context a layer attends over on average: sliding-window layers see at most the window.

    c_eff = f min(c, w) + (1 - f) c with f the fraction of sliding-window layers and w the window.
    """
    a = model.attention
    if a.sliding_window is None or not a.sliding_window_layer_fraction:
        return context_tokens
    f = a.sliding_window_layer_fraction
    return f * np.minimum(context_tokens, a.sliding_window) + (1 - f) * context_tokens


def activation_bytes(model: Model, tokens_in_flight, bytes_per_activation: float):
    """Transient activations of one step: each token in flight holds a hidden vector and the widest FFN output.

    tokens x (d + max(I, I_e x active)) x bytes. Small next to weights and KV; it matters only at huge batches.
    """
    widest = max(model.intermediate_size, (model.moe.expert_intermediate_size * model.moe.active_experts)
                 if model.moe else 0)
    return tokens_in_flight * (model.hidden_size + widest) * bytes_per_activation


def tiers_fastest_first(accelerator: Accelerator) -> list:
    """The chip's memory tiers ordered by bandwidth, fastest first (the order F3 fills them in)."""
    return sorted(accelerator.memory_tiers, key=lambda t: -t.bandwidth_bytes_s)


def place_in_tiers(accelerator: Accelerator, usable_memory_fraction: float, *item_bytes):
    """F3 placement: fill the chip's tiers fastest first with ``item_bytes`` in the order given (hottest first).

    Each tier holds capacity x usable fraction. Returns (fractions, fits): ``fractions[i][t]`` is the share of item i
    stored in tier t (tiers fastest first) and ``fits`` whether everything found room. Inputs may be numpy arrays
    (broadcast together); the caller charges each item's reads to the tiers it lives in, pro rata.
    """
    tiers = tiers_fastest_first(accelerator)
    free = [np.full(np.broadcast(*item_bytes).shape, t.capacity_bytes * usable_memory_fraction) for t in tiers]
    fractions = []
    left_over = np.zeros(np.broadcast(*item_bytes).shape)
    for item in item_bytes:
        item = np.broadcast_to(np.asarray(item, dtype=float), left_over.shape)
        remaining = item.copy()
        shares = []
        for t in range(len(tiers)):
            placed = np.minimum(remaining, free[t])
            free[t] = free[t] - placed
            remaining = remaining - placed
            shares.append(np.divide(placed, item, out=np.zeros_like(item), where=item > 0))
        # What did not fit is charged to the slowest tier so times stay finite; ``fits`` reports the overflow.
        shares[-1] = shares[-1] + np.divide(remaining, item, out=np.zeros_like(item), where=item > 0)
        left_over = left_over + remaining
        fractions.append(shares)
    return fractions, left_over <= 0


def seconds_per_byte(accelerator: Accelerator, shares, memory_bandwidth_efficiency: float):
    """Read time per byte of an item spread over tiers: sum_t share_t / (BW_t x eta_m)."""
    tiers = tiers_fastest_first(accelerator)
    return sum(s / (t.bandwidth_bytes_s * memory_bandwidth_efficiency) for s, t in zip(shares, tiers, strict=True))


def nodes_for_capacity(catalog: Catalog, model: Model, chip: Accelerator, precision: str, usable: float) -> int:
    """Lower bound on nodes per replica from capacity alone: weight bytes / (node memory x usable fraction).
    ``precision`` is the weights' storage precision (weight_storage_precision)."""
    system = catalog.systems[chip.system]
    weights = weight_bytes(model, bytes_per_element(catalog, precision))
    node_bytes = chip.memory_capacity_bytes * system.chips_per_node.value * usable
    return max(1, math.ceil(weights / node_bytes))
