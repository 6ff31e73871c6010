"""Alpha-beta collectives and the two-micro-batch overlap."""

from __future__ import annotations

import pytest

from calculators.model import collectives


def test_ring_all_reduce():
    """A ring all-reduce over g chips moves 2(g-1)/g of the buffer per link: 8 chips, 1 MB, 1 GB/s = 1.75 ms."""
    assert float(collectives.ring_all_reduce_s(1e6, 8, 1e9)) == pytest.approx(2 * 7 / 8 * 1e-3)
    assert float(collectives.ring_all_reduce_s(1e6, 1, 1e9)) == 0


def test_all_to_all_splits_scale_up_and_out():
    """EP over 16 chips in 8-chip domains sends 7/15 over NVLink and 8/15 over the network; the slower sets time."""
    t = float(collectives.all_to_all_s(15e6, 16, 8, 450e9, 50e9))
    assert t == pytest.approx(8e6 / 50e9)


def test_two_micro_batch_overlap_limits():
    """Two-micro-batch overlap: no comm costs A + M, no compute costs D + C, balanced pairs hide comm entirely,
    and an unbalanced pair leaves part exposed."""
    assert collectives.two_micro_batch_s(3.0, 1.0, 0.0, 0.0) == pytest.approx(4.0)
    assert collectives.two_micro_batch_s(0.0, 0.0, 1.0, 2.0) == pytest.approx(3.0)
    assert collectives.two_micro_batch_s(2.0, 2.0, 2.0, 2.0) == pytest.approx(4.0)
    # A = 36, M = 8, D = 14, C = 27 (EP144-like): 1/2 (36 + 14 + 27 + 36) = 56.5 > max(A + M, D + C) = 44
    assert collectives.two_micro_batch_s(36.0, 8.0, 14.0, 27.0) == pytest.approx(56.5)


def test_gather_scatter_moves_an_all_reduces_bytes_in_two_calls():
    """An all-gather and a reduce-scatter over 8 chips move 7/8 of a 1 MB buffer each at 1 GB/s (1.75 ms)."""
    latency, transfer = collectives.gather_scatter_parts(1e6, 8, 1e9)
    assert float(transfer) == pytest.approx(2 * 7 / 8 * 1e-3)
    assert float(latency) == 0
    assert sum(collectives.gather_scatter_parts(1e6, 1, 1e9)) == 0


def test_deduplicated_all_to_all_sends_each_token_once_per_other_domain():
    """DeepEP normal mode: over 4 domains of 8, a top-8 token crosses the network to 3 (1 - 0.75^8) = 2.70 domains
    (not its 6 remote copies), and every off-chip copy, 8 x 31/32, crosses the scale-up link; inside one domain it
    is the per-copy all-to-all."""
    t = 1e6  # bytes of the chip's tokens, one copy each
    _, transfer = collectives.deduplicated_all_to_all_parts(t, 8, 32, 8, 1e12, 1e9)
    assert transfer == pytest.approx(t * 3 * (1 - 0.75 ** 8) / 1e9)
    _, up_bound = collectives.deduplicated_all_to_all_parts(t, 8, 32, 8, 1e9, 1e12)
    assert up_bound == pytest.approx(t * 8 * 31 / 32 / 1e9)
    _, inside = collectives.deduplicated_all_to_all_parts(t, 8, 8, 8, 1e9, 1e9)
    assert inside == pytest.approx(collectives.all_to_all_parts(t * 8 * 7 / 8, 8, 8, 1e9, 1e9)[1])
