"""Collectives (F8) as alpha-beta costs, and the two-micro-batch overlap that hides them.

A collective over a group of g chips costs a fixed latency alpha(g) (launch, synchronisation, the network's
round trips: it dominates at small decode batches) plus its bytes over the achieved link bandwidth:
    all-reduce (ring):        alpha(g) + 2 (g - 1) / g x bytes / (B_link x f)
    all-gather + reduce-scatter (DP attention into a tensor-parallel FFN): 2 alpha(g) + the ring all-reduce's bytes
    all-to-all (EP dispatch or combine): alpha(g) + max(bytes inside / (B_up f_up), bytes outside / (B_out f_out))
with alpha and f from the chip's collective curves (:mod:`.efficiency`), inside the scale-up domain (NVLink, ICI,
XGMI) or across it (InfiniBand, Ethernet, DCN) as the group demands. Wide expert parallelism pays dispatch and
combine on every MoE layer. DeepEP's low-latency kernels at 128 tokens per rank take 77/114 us at EP8 and
192/369 us at EP128 (H800, CX7 400 Gb/s): mostly alpha at that size.
"""

from __future__ import annotations

import numpy as np

from calculators.model.efficiency import ChipEfficiency


def _alpha_beta(eff: ChipEfficiency | None, op: str, scope: str, group, fallback_fraction: float):
    """(alpha in s by group size, achieved bandwidth fraction) for ``op`` in ``scope``."""
    entry = eff.collective(op, scope) if eff is not None else None
    group = np.asarray(group, dtype=float)
    if entry is None:
        return np.zeros_like(group), fallback_fraction
    curve, fraction = entry
    return curve(group) * 1e-6, fraction


def ring_all_reduce_parts(
    bytes_per_chip, group, link_bytes_s, *, eff=None, scope="scale_up", fallback_fraction=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(latency, transfer) seconds of a ring all-reduce of ``bytes_per_chip`` over ``group`` chips: alpha(g), and
    2 (g - 1) / g of the bytes over each link. Both zero for a group of one. The transfer is proportional to the
    bytes and the latency is not, so a call on half the bytes costs latency + transfer / 2."""
    group = np.asarray(group, dtype=float)
    alpha, f = _alpha_beta(eff, "all_reduce", scope, group, fallback_fraction)
    beta = 2.0 * (group - 1) / np.maximum(group, 1) * bytes_per_chip / (np.asarray(link_bytes_s) * f)
    many = group > 1
    return np.where(many, alpha, 0.0), np.where(many, beta, 0.0)


def ring_all_reduce_s(bytes_per_chip, group, link_bytes_s, *, eff=None, scope="scale_up", fallback_fraction=1.0):
    """A ring all-reduce's seconds: latency + transfer (:func:`ring_all_reduce_parts`)."""
    alpha, beta = ring_all_reduce_parts(
        bytes_per_chip, group, link_bytes_s, eff=eff, scope=scope, fallback_fraction=fallback_fraction
    )
    return alpha + beta


def gather_scatter_parts(
    bytes_per_chip, group, link_bytes_s, *, eff=None, scope="scale_up", fallback_fraction=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """(latency, transfer) seconds of an all-gather of a T x d buffer of ``bytes_per_chip`` over ``group`` chips
    before a tensor-parallel FFN and a reduce-scatter of its T x d partial sums after it (data-parallel attention
    feeding a tensor-parallel FFN or experts, SGLang's DP attention without EP). In a ring of g chips the buffer
    splits into g chunks of bytes / g: the all-gather passes g - 1 of them along each link until every chip holds
    all g, the reduce-scatter passes g - 1 partial chunks, each chip adding its own, until each holds one summed
    chunk: (g - 1) / g x bytes per link each, half the ring all-reduce's 2 (g - 1) / g (a ring all-reduce is a
    reduce-scatter then an all-gather). Together they move the all-reduce's bytes, in two calls, each paying the
    all-reduce curve's measured floor alpha(g) (the one small-message latency measured):
        t = 2 alpha(g) + 2 (g - 1) / g x bytes / (B_link f)
    Both zero for a group of one."""
    alpha, beta = ring_all_reduce_parts(bytes_per_chip, group, link_bytes_s, eff=eff, scope=scope,
                                        fallback_fraction=fallback_fraction)
    return 2.0 * alpha, beta


def all_to_all_parts(
    bytes_sent_per_chip, group, scale_up_domain, scale_up_bytes_s, scale_out_bytes_s, *, eff=None,
    fallback_fraction=1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(latency, transfer) seconds of an expert-parallel dispatch or combine: of the (g - 1) peers, min(g, D) - 1 sit
    in the scale-up domain; the rest are reached over the scale-out network. Both links run concurrently, so the
    slower share sets the transfer (proportional to the bytes); the call pays the latency of the widest scope it
    spans (a group past the domain waits on the network)."""
    group = np.asarray(group, dtype=float)
    inside = np.where(group > 1, (np.minimum(group, scale_up_domain) - 1) / np.maximum(group - 1, 1), 1.0)
    alpha_up, f_up = _alpha_beta(eff, "all_to_all", "scale_up", group, fallback_fraction)
    alpha_out, f_out = _alpha_beta(eff, "all_to_all", "scale_out", group, fallback_fraction)
    crosses = group > scale_up_domain
    transfer = np.maximum(
        bytes_sent_per_chip * inside / (scale_up_bytes_s * f_up),
        bytes_sent_per_chip * (1 - inside) / (scale_out_bytes_s * f_out),
    )
    many = group > 1
    return np.where(many, np.where(crosses, alpha_out, alpha_up), 0.0), np.where(many, transfer, 0.0)


def deduplicated_all_to_all_parts(
    token_bytes_per_chip, top_k, group, scale_up_domain, scale_up_bytes_s, scale_out_bytes_s, *, eff=None,
    fallback_fraction=1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(latency, transfer) seconds of a dispatch or combine that sends each token once per scale-up domain (DeepEP's
    normal kernels, the ones prefill runs; its low-latency decode kernels send every copy on its own).

    ``token_bytes_per_chip`` is the chip's tokens' bytes (one copy each), routed to ``top_k`` experts over ``group``
    ranks in N = group / D domains of D. A token crosses the network once to the same-index rank of each other domain
    holding one of its experts, which forwards it over the scale-up link; every off-chip copy crosses the scale-up
    link once (directly, or forwarded). With experts spread evenly, the expected domains a token reaches other than
    its own is (N - 1) (1 - (1 - 1/N)^k), so per chip
        scale-out bytes = T (N - 1) (1 - (1 - 1/N)^k)        scale-up bytes = T k (g - 1) / g
    against the per-copy form's T k (g - D) / g over the network. R1 at EP32 (4 nodes of 8): 2.70 token sends over
    the network instead of 6.0, dispatch + combine 1.26 us per token per layer on H100 (CX7 400 Gb/s, NVLink) where
    AIConfigurator's measured DeepEP normal table (wideep_deepep_normal_perf, SGLang, 4 nodes, 16,384 tokens per
    rank) has 1.25; EP16 0.67 against 0.56, EP64 2.15 against 2.45 (8,192 tokens per rank). The two links run
    concurrently and the slower sets the transfer; the latency is the widest scope's, as for
    :func:`all_to_all_parts`."""
    group = np.asarray(group, dtype=float)
    domains = np.maximum(group / scale_up_domain, 1.0)
    remote = (domains - 1) * (1 - (1 - 1 / domains) ** top_k)
    alpha_up, f_up = _alpha_beta(eff, "all_to_all", "scale_up", group, fallback_fraction)
    alpha_out, f_out = _alpha_beta(eff, "all_to_all", "scale_out", group, fallback_fraction)
    crosses = group > scale_up_domain
    up = token_bytes_per_chip * top_k * (group - 1) / np.maximum(group, 1) / (scale_up_bytes_s * f_up)
    out = token_bytes_per_chip * remote / (scale_out_bytes_s * f_out)
    transfer = np.where(crosses, np.maximum(up, out), up)
    many = group > 1
    return np.where(many, np.where(crosses, alpha_out, alpha_up), 0.0), np.where(many, transfer, 0.0)


def all_to_all_s(
    bytes_sent_per_chip, group, scale_up_domain, scale_up_bytes_s, scale_out_bytes_s, *, eff=None,
    fallback_fraction=1.0,
):
    """A dispatch or combine's seconds: latency + transfer (:func:`all_to_all_parts`)."""
    alpha, transfer = all_to_all_parts(
        bytes_sent_per_chip, group, scale_up_domain, scale_up_bytes_s, scale_out_bytes_s, eff=eff,
        fallback_fraction=fallback_fraction,
    )
    return alpha + transfer


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
