"""A burst: N requests sent at once, served to the last completion, and the output rate averaged over the whole run.

This is what ``vllm bench serve --request-rate inf`` (and SGLang's ``bench_serving``) publish as "Output token
throughput": total output tokens / wall time from the first request to the last completion. It is not a steady
state at concurrency N: the run opens with every prompt waiting for prefill (the ramp), runs at the batch the KV cache
holds while requests queue, and ends with the batch shrinking as requests finish, the longest few decoding alone for
many steps (the drain tail). :func:`evaluate_burst` sums the step times of the whole run.

Derivation. The replica's step (:func:`calculators.model.step.evaluate_step`) takes t(b) seconds for b decoding
sequences, each emitting E_k tokens (MTP's expected accepted tokens, 1 without MTP), at the workload's mean decode
context I + O / 2. A step that also carries prompt tokens costs t(b) plus their prefill time (the step's
``prefill_s`` is additive), so however an engine orders prompts against decodes (prefill-first: every admitted prompt
before the next decode step; chunked: prompt chunks riding decode steps), the run's wall time is

    T = T_prefill + sum over decode steps of t(b(step))

where T_prefill is the prefill of all N prompts of I tokens (:func:`~calculators.model.step.prefill_time_s`, every
attention-DP rank prefilling its own ceil(N / dp) prompts). The order changes when each token appears (TTFT, TPOT),
not, to first order, the sum. (A chunked engine's ramp overlaps the first decode steps with prefill at a smaller
batch, a second-order change left out.)

Output lengths. Request i of the burst wants o_i tokens, drawn from the dataset's distribution
(:class:`~calculators.records.LengthDistribution`): the burst's N lengths are taken at the expected positions of N
draws, o_(k) = Q(k / (N + 1)) for k = 1..N (Q the quantile function, interpolated linearly in the table), scaled so
their mean is the point's measured mean O (total output N O is what was measured; the table gives the shape).
Without a distribution (random-length datasets) every o_i = O.

How many fit. The N requests start together, so their KV grows together: each holds I + t tokens at step t until
it finishes at its o_i, and just before the k-th shortest finishes the N - k still running hold I + o_(k) each. The
cohort's peak is max_k (N - k)(I + o_(k)), per request c_peak = that / N (:func:`cohort_peak_context_tokens`): with
equal lengths every request at I + O at the end, with a long tail earlier, while most still run. S is the number of
sequences of c_peak tokens whose KV fits beside the weights (``max_sequences`` at c_peak, not at the mean I + O / 2):
a batch that fits at its mean but not at its peak does not run whole, whatever the engine does about it (TensorRT-LLM's
default scheduler reserves every request's full length up front; vLLM admits on the prompt and preempts, recomputing
the evicted later; SGLang retracts). Once the batch is capped, requests run at scattered stages and hold less than
the peak on average, so an engine that admits on current use can run somewhat more than S then (a second-order
gain left out).

Decode when every request fits (N <= S, S the sequences whose KV fits at the cohort's peak, above): all N
decode together; with the lengths sorted, o_(0) = 0, the batch is N - k between o_(k) and o_(k+1), so

    T_decode = sum_{k=0}^{N-1} (o_(k+1) - o_(k)) / E_k x t(N - k)

With fixed lengths this is O / E_k steps at batch N (the steady-state step); with a long tail the last requests run at
batch 1, 2, 3 ... for hundreds of steps, each step as slow as a batch-1 step but emitting one or two tokens: the drain
tail, slow per token in aggregate.

Decode when the KV cache caps the batch (N > S): S requests run; each one that finishes admits a queued one, so the
batch stays S until the queue empties, then drains. When the queue empties the S requests in flight were admitted at
scattered times; renewal theory gives the remaining length of a slot's request at a random moment of a long run as the
equilibrium excess of the length distribution, P(R > r) = E[(o - r)+] / E[o] (long requests are more likely to be
the ones in flight, and are part done). With the S residuals r_(k) = G^-1(k / (S + 1)) (G the excess CDF, exact
for the piecewise-linear E[(o - r)+] of the N lengths), the tokens left for the drain are sum r, and

    T_decode = (N O - sum r) / (E_k S) x t(S) + sum_{k=0}^{S-1} (r_(k+1) - r_(k)) / E_k x t(S - k)

(fixed lengths give residuals uniform on [0, O]: a drain of about half a request's length at falling batch).

Throughput = N O / (T_prefill + T_decode). A burst of one request is one prompt's prefill and O / E_k batch-1 steps;
a burst much larger than S tends to the steady state at batch S.

t(b) is evaluated at about 40 batch sizes spaced evenly in log between 1 and N (and S) and interpolated linearly:
the step is a smooth function of the batch except at the per-rank rounding of attention DP, which the interpolation
averages over.
"""

from __future__ import annotations

import numpy as np

from calculators.model.step import StepGrid, StepSetup, evaluate_step, mtp_table, prefill_time_s
from calculators.records import LengthDistribution

BATCH_GRID_POINTS = 40
"""Batch sizes at which the step is evaluated for one burst (interpolated between them)."""


def burst_output_lengths(distribution: LengthDistribution | None, requests: int,
                         mean_output_tokens: float) -> np.ndarray:
    """The N = ``requests`` output lengths of a burst, sorted: the dataset's quantiles at k / (N + 1), k = 1..N,
    scaled to mean ``mean_output_tokens``; every length the mean without a ``distribution``."""
    n = int(requests)
    mean = float(mean_output_tokens)
    if distribution is None:
        return np.full(n, mean)
    q, tokens = np.asarray(distribution.output_tokens_by_quantile, dtype=float).T
    lengths = np.interp(np.arange(1, n + 1) / (n + 1), q, tokens)
    return lengths * (mean / lengths.mean())


def cohort_peak_context_tokens(lengths, input_tokens: float) -> float:
    """The KV a burst's cohort holds at its peak, per request, in tokens: max over k of (N - k) (I + o_(k)) / N.

    The N requests start together and each holds I + t tokens of KV at step t until it finishes at its o_i; just
    before the k-th shortest finishes (k = 0..N-1, sorted lengths) the N - k still running hold I + o_(k) each. With
    equal lengths the peak is the end, every request at I + O; with a long tail it comes earlier, when most are
    still running. The batch that fits is the one whose peak fits: an engine that admits more (vLLM preempts and
    recomputes, SGLang retracts) runs the excess later."""
    o = np.sort(np.asarray(lengths, dtype=float))
    n = len(o)
    return float(np.max((n - np.arange(n)) * (float(input_tokens) + o)) / n)


def residual_lengths(lengths, slots: int) -> np.ndarray:
    """The sorted remaining lengths of the ``slots`` requests in flight when a long queue of requests of ``lengths``
    empties: ``slots`` positions k / (slots + 1) of the equilibrium excess distribution, P(R > r) = E[(o - r)+] / E[o]
    (see the module docstring)."""
    o = np.sort(np.asarray(lengths, dtype=float))
    n = len(o)
    # E[(o - r)+] at r = 0 and at each sorted length: (sum of the lengths above r - count above x r) / n
    r = np.concatenate([[0.0], o])
    above_sum = np.concatenate([[o.sum()], o.sum() - np.cumsum(o)])
    above_count = n - np.arange(n + 1)
    excess = (above_sum - above_count * r) / n
    cdf = 1.0 - excess / o.mean()
    return np.interp(np.arange(1, slots + 1) / (slots + 1), cdf, r)


def _decode_time_s(lengths_sorted, e_k: float, step_s) -> float:
    """sum_k (o_(k+1) - o_(k)) / E_k x t(n - k): every one of the sorted lengths decoding from the start together."""
    o = np.concatenate([[0.0], lengths_sorted])
    n = len(lengths_sorted)
    return float(np.sum(np.diff(o) / e_k * step_s(n - np.arange(n))))


def evaluate_burst(setup: StepSetup, *, chips, attention_tp, moe_ep, requests: int, input_tokens: float,
                   output_tokens: float, distribution: LengthDistribution | None = None, mtp_layers: int = 0,
                   pipeline_stages=1) -> dict[str, np.ndarray]:
    """A burst of ``requests`` requests of ``input_tokens`` prompt tokens and ``output_tokens`` mean output tokens
    (lengths from ``distribution``, else all equal) on one replica, for each layout of the 1-D arrays
    ``attention_tp`` and ``moe_ep``: the run's ``total_output_tokens_per_s`` (N O / T) and
    ``output_tokens_per_s_per_chip``, its parts ``prefill_s``, ``full_batch_s`` (decode at the capped batch while
    requests queue) and ``drain_s``, the ``running_concurrency`` (the batch that fits, at most N) and
    ``fits_in_memory`` (at least one sequence fits). See the module docstring for the derivation."""
    a = setup.assumptions
    tp = np.atleast_1d(np.asarray(attention_tp, dtype=float))
    ep = np.atleast_1d(np.asarray(moe_ep, dtype=float))
    chips_f = float(chips)
    n = int(requests)
    i_tok, o_mean = float(input_tokens), float(output_tokens)
    context = i_tok + o_mean / 2
    e_k = float(mtp_table(a.mtp_acceptance)[int(mtp_layers)])
    lengths = burst_output_lengths(distribution, n, o_mean)

    layout = dict(chips=chips_f, attention_tp=tp[:, None], moe_ep=ep[:, None], pipeline_stages=pipeline_stages)
    probe = evaluate_step(setup, StepGrid(**layout, concurrency=np.ones((1, 1)),
                                          context_tokens=cohort_peak_context_tokens(lengths, i_tok),
                                          mtp_layers=mtp_layers))
    slots = np.minimum(float(n), np.asarray(probe["max_sequences"], dtype=float).reshape(-1))
    slots = np.broadcast_to(slots, tp.shape)
    grid = np.unique(np.concatenate([np.round(np.geomspace(1, n, BATCH_GRID_POINTS)), np.maximum(slots, 1)]))
    step = evaluate_step(setup, StepGrid(**layout, concurrency=grid[None, :], context_tokens=context,
                                         mtp_layers=mtp_layers))
    step_s = np.broadcast_to(np.asarray(step["step_time_s"], dtype=float), (len(tp), len(grid)))

    dp = chips_f / np.asarray(pipeline_stages, dtype=float) / tp
    prefill_s = np.asarray(prefill_time_s(setup, np.ceil(n / dp) * dp * i_tok, i_tok, chips_f, ranks=dp,
                                          attention_tp=tp, moe_ep=ep), dtype=float) * np.ones(len(tp))
    full_s, drain_s = np.zeros(len(tp)), np.zeros(len(tp))
    for j in range(len(tp)):
        s = int(slots[j])
        if s < 1:
            full_s[j] = drain_s[j] = np.inf
            continue

        def t(batch, j=j):
            return np.interp(batch, grid, step_s[j])

        if s >= n:
            drain_s[j] = _decode_time_s(lengths, e_k, t)
        else:
            residual = residual_lengths(lengths, s)
            full_s[j] = (n * o_mean - residual.sum()) / (e_k * s) * float(t(s))
            drain_s[j] = _decode_time_s(residual, e_k, t)
    total_s = prefill_s + full_s + drain_s
    rate = n * o_mean / total_s
    return {
        "total_output_tokens_per_s": rate,
        "output_tokens_per_s_per_chip": rate / chips_f,
        "prefill_s": prefill_s,
        "full_batch_s": full_s,
        "drain_s": drain_s,
        "run_time_s": total_s,
        "running_concurrency": slots.astype(float),
        "fits_in_memory": slots >= 1,
    }
