"""Mixture-of-experts routing statistics (F4 and its straggler margin): which experts a step reads, and how much
more than the mean the busiest expert-parallel rank receives. Uniform routing throughout (the optimistic case;
DeepSeek's EPLB replicates hot experts to get close to it)."""

from __future__ import annotations

import functools
import math
import statistics

import numpy as np


def expert_touch_probability(routed_experts: int, active_experts: int, tokens):
    """q = 1 - (1 - k/E)^T: the chance one given expert is chosen by at least one of T tokens."""
    return 1.0 - (1.0 - active_experts / routed_experts) ** np.asarray(tokens, dtype=float)


def distinct_experts_per_step(routed_experts: int, active_experts: int, tokens):
    """F4: expected distinct experts touched by ``tokens`` tokens, E (1 - (1 - k/E)^T) (linearity of expectation
    over experts, uniform routing). R1: 8, 57.4, 163.4, 222.5 at T = 1, 8, 32, 64."""
    return routed_experts * expert_touch_probability(routed_experts, active_experts, tokens)


# not per catalog: pure maths (binomial maxima of counts), the same for every catalog
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
    pair_n = np.ceil(routed_experts / pair_ep).astype(int)
    keys_list = list(zip(pair_n.tolist(), pair_ep.astype(int).tolist(), pair_q.tolist(), strict=True))
    missing = [k for k in keys_list if k not in _MAX_CACHE]
    if missing:  # the pairs not seen before, in one vectorised pass
        n_m, r_m, q_m = (np.array(col) for col in zip(*missing, strict=True))
        if len(_MAX_CACHE) > _MAX_CACHE_SIZE:
            _MAX_CACHE.clear()
        _MAX_CACHE.update(zip(missing, expected_max_binomials(n_m, r_m, q_m).tolist(), strict=True))
    values = np.array([_MAX_CACHE[k] for k in keys_list])
    return values[inverse].reshape(ep.shape)


# not per catalog: pure maths (binomial maxima of counts), the same for every catalog
_MAX_CACHE: dict[tuple[int, int, float], float] = {}
_MAX_CACHE_SIZE = 200_000


def expected_max_binomials(n, ranks, q) -> np.ndarray:
    """:func:`_expected_max_binomial` for arrays of (n, ranks, q) at once: one padded numpy pass instead of one call
    per pair (the sweep meets thousands of distinct pairs). Same sum, same 12-sigma cut-off."""
    n = np.asarray(n, dtype=int)
    ranks = np.asarray(ranks, dtype=float)
    q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
    out = np.where(q >= 1, n.astype(float), 0.0)
    live = (n > 0) & (q > 0) & (q < 1)
    if not live.any():
        return out
    nl, rl, ql = n[live], ranks[live], q[live]
    top = np.minimum(nl, np.ceil(nl * ql + 12 * np.sqrt(nl * ql * (1 - ql)) + 12)).astype(int)
    j = np.arange(int(top.max()) + 1)[None, :]
    valid = j <= top[:, None]
    # log C(n, j) from lgamma-free cumulative sums: sum_{i=1..j} log((n - i + 1) / i), masked past each row's n
    ratio = np.where((j >= 1) & (j <= nl[:, None]), (nl[:, None] - j + 1) / np.maximum(j, 1), 1.0)
    log_choose = np.cumsum(np.log(ratio), axis=1)
    log_pmf = log_choose + j * np.log(ql)[:, None] + (nl[:, None] - j) * np.log1p(-ql)[:, None]
    pmf = np.exp(np.where(valid & (j <= nl[:, None]), log_pmf, -np.inf))
    cdf = np.minimum(np.cumsum(pmf, axis=1), 1.0)
    # sum_{j=0}^{top-1} (1 - F(j)^R): the terms j < top of each row
    terms = np.where(j < top[:, None], 1.0 - cdf ** rl[:, None], 0.0)
    out[live] = terms.sum(axis=1)
    return out


EXACT_BINOMIAL_MAX_TRIALS = 4096
"""Above this many token-expert assignments the busiest rank's load uses the normal approximation (error < 1%)."""


# not per catalog: pure maths (binomial maxima of counts), the same for every catalog
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

    Applied to the routed-expert FLOPs and to the all-to-all bytes the busiest rank receives: a MoE layer and a
    collective both finish with their slowest rank. 8 tokens x 8 experts over 8 ranks: mean 8 per rank, expected
    max ~11.9 (factor ~1.49); at 4,096 tokens the factor falls to ~1.02."""
    ep, t = np.broadcast_arrays(np.asarray(moe_ep, dtype=float), np.asarray(tokens, dtype=float))
    assignments = np.rint(t.ravel() * active_experts)
    # one factor per distinct (ranks, assignments) pair: a 1-D key (assignments < 1e12) keeps np.unique cheap
    _, first, inverse = np.unique(ep.ravel() * 1e12 + assignments, return_index=True, return_inverse=True)
    pairs = list(zip(assignments[first].astype(int).tolist(), ep.ravel()[first].astype(int).tolist(), strict=True))
    # the exact-binomial pairs not seen before in one vectorised pass; the rest (big counts, trivial cases) as before
    exact = [(n, r) for n, r in pairs if r > 1 and 0 < n <= EXACT_BINOMIAL_MAX_TRIALS and (n, r) not in _LOAD_CACHE]
    if exact:
        n_e, r_e = (np.array(col) for col in zip(*exact, strict=True))
        if len(_LOAD_CACHE) > _MAX_CACHE_SIZE:
            _LOAD_CACHE.clear()
        maxima = expected_max_binomials(n_e, r_e, 1.0 / r_e)
        _LOAD_CACHE.update(zip(exact, (maxima / (n_e / r_e)).tolist(), strict=True))
    n_all = np.array([n for n, _ in pairs], dtype=float)
    r_all = np.array([r for _, r in pairs], dtype=float)
    # beyond EXACT_BINOMIAL_MAX_TRIALS: the normal approximation, vectorised (one Blom quantile per distinct R)
    big = (n_all > EXACT_BINOMIAL_MAX_TRIALS) & (r_all > 1)
    values = np.ones(len(pairs))
    if big.any():
        z = {r: statistics.NormalDist().inv_cdf((r - 0.375) / (r + 0.25)) for r in np.unique(r_all[big]).tolist()}
        zr = np.array([z[r] for r in r_all[big].tolist()])
        p = 1.0 / r_all[big]
        values[big] = 1.0 + zr * np.sqrt((1 - p) / (n_all[big] * p))
    small = ~big & (r_all > 1) & (n_all > 0)
    values[small] = [_LOAD_CACHE[pair] for pair, s in zip(pairs, small.tolist(), strict=True) if s]
    return values[inverse].reshape(ep.shape)


# not per catalog: pure maths (binomial maxima of counts), the same for every catalog
_LOAD_CACHE: dict[tuple[int, int], float] = {}
