"""MoE routing statistics: distinct experts per step (F4) and the busiest expert-parallel rank."""

from __future__ import annotations

import pytest

from calculators.model import moe


@pytest.mark.parametrize(("tokens", "experts"), [(1, 8.0), (8, 57.42), (32, 163.31), (64, 222.45)])
def test_distinct_experts_r1(tokens, experts):
    """F4: 256*(1-(1-8/256)^B) = 8, 57.42, 163.31, 222.45 at B = 1, 8, 32, 64 (0.96875^32 = 0.36204)."""
    assert float(moe.distinct_experts_per_step(256, 8, tokens)) == pytest.approx(experts, abs=0.01)


def test_busiest_rank_with_one_rank_is_the_mean():
    """With one expert-parallel rank the straggler formula reduces to F4's mean."""
    assert float(moe.busiest_rank_experts(256, 8, 1, 8)) == pytest.approx(256 * (1 - (248 / 256) ** 8))


def test_busiest_rank_exceeds_mean_share():
    """The busiest of 8 ranks of 32 experts holds more touched experts than the mean 32 q."""
    q = 1 - (248 / 256) ** 8  # 0.2243
    busiest = float(moe.busiest_rank_experts(256, 8, 8, 8))
    assert 32 * q < busiest <= 32
    # one expert per rank: max over 256 ranks of Bernoulli(q) = 1 - (1 - q)^256 ~ 1
    assert float(moe.busiest_rank_experts(256, 8, 256, 8)) == pytest.approx(1 - (1 - q) ** 256)


def test_busiest_rank_load_factor():
    """The busiest EP rank's share of token-expert assignments: max over ranks of iid Binomial(T k, 1/ranks) / mean."""
    # 2 assignments, 2 ranks each ~ Bin(2, 1/2): P(max >= 1) = 1 - (1/4)^2 = 15/16, P(max >= 2) = 1 - (3/4)^2 = 7/16
    # -> E[max] = 22/16 = 1.375 over a mean of 1 (independent ranks; the exact multinomial gives 1.5)
    assert float(moe.busiest_rank_load_factor(1, 2, 2)) == pytest.approx(1.375)
    # one rank, or experts tensor-parallel (EP 1): no straggler
    assert float(moe.busiest_rank_load_factor(8, 1, 64)) == 1.0
    # normal approximation beyond 4,096 assignments: 25,376 tokens x 8 over 144 ranks, mean 1,409.8,
    # sigma = sqrt(1409.8 x 143/144) = 37.42, Blom z = Phi^-1(143.625/144.25) = 2.625 -> 1 + 2.625 x 37.42 / 1409.8
    assert float(moe.busiest_rank_load_factor(8, 144, 25_376)) == pytest.approx(1 + 2.625 * 37.42 / 1409.8, 1e-4)


def test_vectorised_expected_max_matches_the_exact_sum():
    """The padded one-pass E[max of R Binomial(n, q)] equals the per-pair exact sum, edge cases included."""
    import numpy as np

    rng = np.random.default_rng(7)
    n, ranks, q = rng.integers(1, 257, 200), rng.integers(1, 257, 200), rng.random(200)
    many = moe.expected_max_binomials(n, ranks, q)
    one = [moe._expected_max_binomial(int(a), int(b), float(c)) for a, b, c in zip(n, ranks, q, strict=True)]
    assert many == pytest.approx(one, rel=1e-9, abs=1e-9)
    assert list(moe.expected_max_binomials([0, 5, 5], [3, 3, 3], [0.5, 0.0, 1.0])) == [0.0, 0.0, 5.0]
