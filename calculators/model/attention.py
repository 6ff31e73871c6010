"""Attention's share of a step: KV cache bytes read and attention-core FLOPs, for decode tokens and for the
prefill tokens a chunked-prefill step carries beside them.

Decode (F5, F6): every decode token reads its sequence's whole KV cache once per layer. MLA with weight absorption
behaves like MQA with h query heads over one (d_c + d_r) latent: 2 h (2 d_c + d_r) FLOPs per cached token per layer
(scores over d_c + d_r, values over d_c). GQA: 2 x 2 h d_h. Under tensor-parallel attention the MLA latent is
replicated on every chip of the TP group; GQA's KV heads split over up to kv_heads chips.

Prefill: a chunk of a prompt of n tokens attends causally to its prefix, at mean position n/2; MLA prefill runs
un-absorbed, 2 h (d_qk + d_v) FLOPs per position per layer (F12,
:func:`calculators.model.step.prefill_flops_per_token`).
"""

from __future__ import annotations

import numpy as np

from calculators import memory
from calculators.records import Model

FLOPS_PER_MAC = 2


def decode_flops_per_cached_token_layer(model: Model) -> float:
    """Attention-core FLOPs of one decode token per cached token per layer (absorbed MLA, or GQA)."""
    att = model.attention
    if att.type == "mla":
        return FLOPS_PER_MAC * att.heads * (2 * att.kv_lora_rank + att.qk_rope_head_dim)
    return FLOPS_PER_MAC * 2 * att.heads * att.head_dim


def kv_split(model: Model, attention_tp):
    """How many ways the KV cache of one sequence is split over its TP group (1 for MLA: the latent is shared)."""
    if model.attention.type == "mla":
        return np.ones_like(np.asarray(attention_tp, dtype=float))
    return np.minimum(np.asarray(attention_tp, dtype=float), model.attention.kv_heads)


def decode_attention_curve_tokens(model: Model, kv_tokens_per_chip, attention_tp, reference_elements):
    """Where a decode-attention call sits on its measured curve: the KV it reads per chip per layer, in tokens of the
    curve's shape (``reference_elements`` per token: a chip holding 8 GQA KV heads reads 8 reference tokens per
    cached token); the tokens themselves when the curve names no shape."""
    per_token = memory.kv_elements_per_token(model) / model.layers / kv_split(model, attention_tp)
    scale = per_token / reference_elements if reference_elements else 1.0
    return np.asarray(kv_tokens_per_chip, dtype=float) * scale


def prefill_attention_flops_per_token(model: Model, prompt_tokens, cached_share=0.0) -> np.ndarray:
    """Causal attention FLOPs per computed prefill token of a prompt of ``prompt_tokens`` (everything but the
    weights), for arrays of prompt lengths: the mean computed position p attends over its prefix; MLA prefill runs
    un-absorbed, 2 h (d_qk + d_v) p per layer (QK^T over d_nope + d_rope, then AV over d_v); GQA 2 h 2 d_h p.

    Without a prefix-cache hit p = n / 2. With a share h of the prompt's tokens served from the prefix cache
    (``cached_share``), the hits are its first h n tokens: their KV is read, not computed, and the computed tokens
    are the suffix from h n to n, each still attending over every position before it, cached ones included:
        p = h n + (1 - h) n / 2 = n (1 + h) / 2
    so a computed token costs (1 + h) times the attention of a prompt without hits (DeepSeek's fleet, h = 0.563:
    1.56x), while its weight FLOPs are unchanged."""
    a = model.attention
    per_position = a.heads * (a.qk_nope_head_dim + a.qk_rope_head_dim + a.v_head_dim) if a.type == "mla" else (
        a.heads * 2 * a.head_dim
    )
    mean_position = memory.effective_context_tokens(
        model, np.asarray(prompt_tokens, dtype=float) * (1 + np.asarray(cached_share, dtype=float)) / 2)
    return FLOPS_PER_MAC * per_position * mean_position * model.layers
