"""Prefill (F12): FLOPs per token, chips for an input rate, TTFT."""

from __future__ import annotations

import pytest

from calculators import memory, prefill
from calculators.catalog import default_catalog


def test_flops_per_token_r1():
    """2 x matmul-active params + causal MLA attention at mean position n/2."""
    r1 = default_catalog().models["deepseek-r1"]
    active = memory.parameter_counts(r1).active_matmul  # 37,551,276,032 - 926,679,040 = 36,624,596,992
    assert active == 36_624_596_992
    # 2*36,624,596,992 + 2*128*(128+64+128)*500*61 = 73,249,193,984 + 2,498,560,000
    assert prefill.prefill_flops_per_token(r1, 1000) == pytest.approx(73_249_193_984 + 2_498_560_000)


def test_prefill_chips_and_ttft():
    """chips = rate x (1 - hit) / per-chip rate, in whole units; TTFT on one unit."""
    # 100,000 tok/s x 0.5 / 10,000 per chip = 5 chips -> one 8-chip unit
    assert prefill.prefill_chips(100_000, 0.5, 10_000, 8) == 8
    # 200,000 x 0.5 / 10,000 = 10 chips -> two units = 16
    assert prefill.prefill_chips(200_000, 0.5, 10_000, 8) == 16
    # 1,000 tokens x 0.5 / (8 x 10,000) = 6.25 ms
    assert prefill.time_to_first_token_s(1000, 0.5, 10_000, 8) == pytest.approx(0.00625)
