"""Prefill (F12): compute-bound FLOPs per input token, prefill chips for an input-token rate, time to first token."""

from __future__ import annotations

import math

from calculators import memory
from calculators.model.attention import prefill_attention_flops_per_token
from calculators.records import Accelerator, Model

FLOPS_PER_MAC = 2


def prefill_flops_per_token(model: Model, input_tokens: float) -> float:
    """FLOPs to prefill one token of a prompt of ``input_tokens`` tokens.

    2 x matmul-active parameters (weights) + causal attention at the mean position p = n/2: MLA prefill runs
    un-absorbed, 2 h (d_qk + d_v) p per layer (QK^T over d_nope + d_rope, then AV over d_v); GQA 2 h 2 d_h p.
    R1 at 1,000 input tokens: 2 x 36.6e9 + 2 x 128 x (192 + 128) x 500 x 61 = 73.2e9 + 2.5e9 GFLOP.
    """
    attention = prefill_attention_flops_per_token(model, input_tokens)
    return FLOPS_PER_MAC * memory.parameter_counts(model).active_matmul + float(attention)


def prefill_tokens_per_s_per_chip(
    model: Model, chip: Accelerator, precision: str, input_tokens: float, compute_efficiency_prefill: float
) -> float:
    """Input tokens one chip prefills per second: C x eta_prefill / FLOPs per token."""
    return chip.peak_flop_s(precision) * compute_efficiency_prefill / prefill_flops_per_token(model, input_tokens)


def prefill_chips(
    input_tokens_per_s: float, cache_hit_rate: float, tokens_per_s_per_chip: float, unit_chips: int
) -> int:
    """F12: chips = input tok/s x (1 - cache hit rate) / per-chip prefill rate, rounded up to whole prefill units
    (the smallest group of chips that holds the weights), at least one unit."""
    needed = input_tokens_per_s * (1 - cache_hit_rate) / tokens_per_s_per_chip
    return unit_chips * max(1, math.ceil(needed / unit_chips - 1e-9))


def time_to_first_token_s(
    input_tokens: float, cache_hit_rate: float, tokens_per_s_per_chip: float, unit_chips: int
) -> float:
    """Compute-bound TTFT of one prompt on one prefill unit: n (1 - hit) / (unit chips x per-chip rate).
    Queueing is not included."""
    return input_tokens * (1 - cache_hit_rate) / (unit_chips * tokens_per_s_per_chip)
