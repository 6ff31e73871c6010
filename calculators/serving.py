"""Serving a workload: what a replica delivers for prompts of I tokens and outputs of O tokens at a concurrency.

Three modes, each a strategy behind one interface (:class:`ServingMode`, registered in
:data:`SERVING_STRATEGIES`; :func:`evaluate_serving` is the one entry) and each a thin loop over the one vectorised
step (:func:`calculators.model.step.evaluate_step`):

- ``decode``: a pure decode step of every sequence at ``context_tokens`` (the first-generation question).
- ``aggregated``: continuous batching with chunked prefill on the same chips. In steady state each request's I
  prompt tokens are prefilled while it and others decode, so every step of B_d decoding sequences also carries
      P = B_d x E_k x I / O x (C - 1) / C
  prefill tokens (E_k tokens emitted per step with MTP; a request's own prompt runs before it decodes, so its steps
  carry only the other C - 1 requests' prompts), capped by the engine's prefill chunk per DP rank. A request
  waits TTFT = ceil(I / chunk) steps for its prompt, then decodes O tokens at TPOT = t_step / E_k; of C concurrent
  requests (a closed loop: each finished request is replaced) B_d = C x O TPOT / (TTFT + O TPOT) decode at once,
  solved by fixed-point iteration. Throughput = B_d E_k / t_step. Prefill FLOPs run at the engine's end-to-end
  prefill efficiency, and prompt tokens cross the layout's all-reduces and expert dispatch as decode tokens do
  (:func:`~calculators.model.step.prefill_collectives_s_per_token`); TTFT adds the prompt's own prefill time and its
  queueing behind others' (:func:`time_to_first_token_s`). This is a ``decode-first`` engine (TensorRT-LLM, vLLM
  with chunked prefill).

  A ``prefill-first`` engine (SGLang, vLLM V0, static batching: ``Engine.prefill_scheduling``) prefills every
  waiting prompt before it decodes again, so C like requests move in cohorts: the C prompts are prefilled together
  (T_p, every DP rank its own), then the C sequences decode O tokens together (steps of pure decode, t_d each).
  A prompt gets its first token a share g of the way through the cohort's prefill (:func:`cohort_completion_share`:
  1 when one chunk holds them all, about 1/2 when there are many chunks), and waits out the rest before its second:
      TTFT = g T_p      TPOT = (O t_d / E_k + (1 - g) T_p) / O      throughput = C O / (T_p + O t_d / E_k)
  dstack's DeepSeek-R1 runs at 4 to 128 requests show the signature: TTFT in proportion to the concurrency.
- ``disaggregated``: a separate prefill pool (``prefill_chips``; sized to keep up when not given, in whole
  weight-holding instances, prefix-cache hits free: :func:`prefill_pool`, the one ``size`` uses too); the decode chips
  run pure decode steps at context I + O / 2. TTFT is one prompt's uncached tokens on one prefill instance;
  throughput per chip counts both pools.

Capacity (F3): when the KV cache of every requested sequence does not fit beside the weights, only the batch that
fits runs (``running_concurrency``) and every speed follows from that batch; ``concurrency_capped`` says so.
Per-step host and scheduler overhead (the engine's ``host_overhead_us_per_step`` and ``_per_sequence``) is part of
every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions
from calculators.deployment import SERVING_MODES, Deployment
from calculators.errors import ScenarioError
from calculators.layout import Layout, candidate_layouts, parse_layout, sram_only
from calculators.model.step import (
    StepGrid,
    StepSetup,
    evaluate_step,
    mtp_table,
    prefill_collectives_s_per_token,
    prefill_seconds_per_token,
    prefill_time_s,
)
from calculators.records import Accelerator, Catalog, Model
from calculators.search import peak_batch_candidates

FIXED_POINT_ITERATIONS = 3
"""Aggregated serving's decode share converges in 2-3 iterations (it moves by TTFT / (O TPOT), a small ratio)."""


def prefill_unit_chips(catalog: Catalog, model: Model, chip: Accelerator, precision: str,
                       assumptions: Assumptions) -> int:
    """The fewest chips that hold the weights (whole nodes): one prefill instance."""
    storage = memory.weight_storage_precision(catalog, model, precision, assumptions.weight_storage_precision)
    nodes = memory.nodes_for_capacity(catalog, model, chip, storage, assumptions.usable_memory_fraction)
    return nodes * int(catalog.systems[chip.system].chips_per_node.value)


def prefill_pool(setup: StepSetup, *, input_tokens, input_tokens_per_s, unit_chips, pool_chips=None):
    """F12, the one prefill pool of every disaggregated answer (``size`` and ``predict --serving disaggregated``).

    Each chip prefills at 1 / :func:`~calculators.model.step.prefill_seconds_per_token` (DP ranks = the unit's
    chips); the prefix cache holds a share h of prompt tokens (the catalog's ``prefill_cache_hit_rate``), so the pool
    computes input rate x (1 - h), each computed token attending over the cached prefix as well
    (:func:`~calculators.model.attention.prefill_attention_flops_per_token`); it is whole instances of
    ``unit_chips`` (the fewest chips that hold the weights), at least one, unless ``pool_chips`` fixes it. A
    prompt's TTFT is its uncached tokens on one instance:
        chips = unit x max(1, ceil(rate_in (1 - h) / (r unit)))     TTFT = I (1 - h) / (r min(unit, chips))
    An instance is one attention-DP + expert-parallel group over its chips: the prompt tokens' dispatch and combine
    are charged where they outlast its compute
    (:func:`~calculators.model.step.prefill_collectives_s_per_token`).
    Returns (pool chips, TTFT seconds, per-chip prefill rate in tokens/s)."""
    a = setup.assumptions
    comm = prefill_collectives_s_per_token(setup, attention_tp=1, moe_ep=unit_chips,
                                           chunk_tokens=a.prefill_chunk_tokens, prefill_only=True)
    rate = 1.0 / prefill_seconds_per_token(setup, input_tokens, chunk_tokens=a.prefill_chunk_tokens,
                                           ranks=unit_chips, collective_s=comm, cached_share=a.prefill_cache_hit_rate,
                                           packed=True)
    fresh = 1.0 - a.prefill_cache_hit_rate
    if pool_chips is None:
        units = np.maximum(1.0, np.ceil(np.asarray(input_tokens_per_s) * fresh / (rate * unit_chips) - 1e-9))
        pool = unit_chips * units
    else:
        pool = np.asarray(pool_chips, dtype=float)
    ttft = np.asarray(input_tokens, dtype=float) * fresh / (rate * np.minimum(unit_chips, pool))
    return pool, ttft, rate


def time_to_first_token_s(decode_step_s, prefill_share, prompt_steps, own_prefill_s):
    """A prompt's wait under aggregated serving: its chunks ride ``prompt_steps`` steps (each with the decode batch's
    own time), its FLOPs take ``own_prefill_s``, and it queues behind other prompts' prefill, which keeps the chips
    busy ``prefill_share`` of the time: the mean wait of a single-server queue with deterministic service,
    rho / (2 (1 - rho)) x service (M/D/1), added to its own service."""
    rho = np.minimum(np.asarray(prefill_share, dtype=float), 0.95)
    return prompt_steps * decode_step_s + own_prefill_s * (1 + rho / (2 * (1 - rho)))


def closed_loop_mean_ttft_s(steady_ttft_s, prompt_prefill_s, concurrency, dp, prompts):
    """The mean time to first token over a closed-loop benchmark run of ``prompts`` requests at ``concurrency``
    (``vllm bench serve --max-concurrency C --num-prompts N``) on a decode-first engine: the steady state's TTFT,
    plus the first burst's queueing.

    The run sends its first C requests at once. Each of the ``dp`` attention-DP ranks takes C / dp of them and
    prefills them one after another (its decode batch is still empty, so nothing else competes), so the j-th waits
    j prompts' prefill, ``prompt_prefill_s`` each: the burst's mean extra wait is (ceil(C / dp) - 1) / 2 prompts.
    Their first tokens, and so their completions O tokens later, come out spaced by one prompt's prefill, and each
    completion sends the next request: the later waves arrive at the rate the prefill serves them and wait no more
    than the steady state says (:func:`time_to_first_token_s`). Over the run's N requests:
        mean TTFT = TTFT_steady + (C / N) (ceil(C / dp) - 1) / 2 x t_prompt
    vLLM TPU's Llama 3.3 70B recipe (3,000 prompts at 64 and 128): 2.1% and 4.3% of its requests are that burst,
    each waiting 2.5 and 5.1 s on average."""
    c = np.asarray(concurrency, dtype=float)
    per_rank = np.ceil(c / np.asarray(dp, dtype=float))
    burst_wait_s = (per_rank - 1) / 2 * np.asarray(prompt_prefill_s, dtype=float)
    return np.asarray(steady_ttft_s, dtype=float) + np.minimum(c / np.asarray(prompts, dtype=float), 1.0) * burst_wait_s


def cohort_completion_share(prompts, prompt_tokens, chunk_tokens):
    """The mean share of a cohort's prefill time that has passed when one of its prompts gets its first token:
    ``prompts`` prompts of I tokens prefilled first come first served in chunks of S tokens, prompt j (1..c) done
    with chunk ceil(j x) of n = ceil(c x), x = I / S. The mean of ceil(j x) is about x (c + 1) / 2 + 1/2, at least
    ceil(x) and at most n: 1 when one chunk holds them all, about (c + 1) / 2c when each prompt fills chunks."""
    c = np.maximum(np.asarray(prompts, dtype=float), 1.0)
    x = np.asarray(prompt_tokens, dtype=float) / np.asarray(chunk_tokens, dtype=float)
    n = np.ceil(c * x)
    return np.clip(x * (c + 1) / 2 + 0.5, np.ceil(x), n) / n


def _set_output_rate(out: dict, total_output_tokens_per_s, chips) -> None:
    """Set a served workload's output rate and what follows from it: per chip (of ``chips``) and J per token."""
    out["total_output_tokens_per_s"] = total_output_tokens_per_s
    out["output_tokens_per_s_per_chip"] = total_output_tokens_per_s / chips
    out["joules_per_output_token"] = out["power_w"] / total_output_tokens_per_s


def mean_context_tokens(input_tokens, output_tokens):
    """A decoding sequence's mean context over its life: the prompt plus half the output."""
    return np.asarray(input_tokens, dtype=float) + np.asarray(output_tokens, dtype=float) / 2


@dataclass(frozen=True)
class ServingGrid:
    """The configurations one serving evaluation runs over (arrays or scalars, broadcast together) and their
    workload: ``context_tokens`` for pure decode, ``input_tokens`` and ``output_tokens`` for the others, and a fixed
    disaggregated prefill pool of ``prefill_chips`` (None: sized to keep up)."""

    chips: Any
    attention_tp: Any
    moe_ep: Any
    concurrency: Any
    mtp_layers: Any
    pipeline_stages: Any = 1
    context_tokens: Any = None
    input_tokens: Any = None
    output_tokens: Any = None
    prefill_chips: Any = None


@dataclass(frozen=True)
class Replica:
    """What every serving mode starts from: the step of the replica (``step(batch, prefill_tokens, prompt)``, the one
    vectorised :func:`evaluate_step`), the batch that runs (``running``: the requested one, or what fits), whether
    capacity capped it, and the tokens a step emits per sequence (``e_k``, MTP's expected accepted tokens)."""

    setup: StepSetup
    grid: ServingGrid
    step: Callable[..., dict]
    running: np.ndarray
    capped: np.ndarray
    e_k: np.ndarray

    @property
    def assumptions(self) -> Assumptions:
        return self.setup.assumptions

    @property
    def chips(self) -> np.ndarray:
        return np.asarray(self.grid.chips, dtype=float)

    @property
    def dp(self) -> np.ndarray:
        """Attention data-parallel ranks of one pipeline stage."""
        g = self.grid
        return self.chips / np.asarray(g.pipeline_stages, dtype=float) / np.asarray(g.attention_tp)

    @property
    def input_tokens(self) -> np.ndarray:
        return np.asarray(self.grid.input_tokens, dtype=float)

    @property
    def output_tokens(self) -> np.ndarray:
        return np.asarray(self.grid.output_tokens, dtype=float)


@dataclass(frozen=True)
class Served:
    """A serving mode's answer: the step's outputs with the workload's output rate set (``out``), a prompt's time to
    first token (NaN for pure decode), the time per output token where it is not one step's share (None), the prompt
    tokens each decode step carries, and the separate prefill pool's chips."""

    out: dict
    time_to_first_token_s: Any
    time_per_output_token_s: Any = None
    prefill_tokens_per_step: Any = 0.0
    prefill_chips: Any = 0.0


class ServingMode:
    """One way of serving a workload (see the module docstring); :data:`SERVING_STRATEGIES` registers them."""

    name: str = ""

    def serve(self, r: Replica) -> Served:
        raise NotImplementedError


class DecodeOnly(ServingMode):
    """Every sequence in a pure decode step at the grid's context."""

    name = "decode"

    def serve(self, r: Replica) -> Served:
        return Served(out=dict(r.step(r.running)), time_to_first_token_s=np.nan)


class AggregatedDecodeFirst(ServingMode):
    """Continuous batching with chunked prefill riding the decode steps (TensorRT-LLM, vLLM): a fixed point of the
    decoding share B_d = C x O TPOT / (TTFT + O TPOT)."""

    name = "aggregated"

    def serve(self, r: Replica) -> Served:
        a = r.assumptions
        i_tok, o_tok, dp, e_k, running = r.input_tokens, r.output_tokens, r.dp, r.e_k, r.running
        chunk_total = a.prefill_chunk_tokens * dp
        prompt_steps = np.ceil(i_tok / a.prefill_chunk_tokens)
        # a prompt is prefilled by one attention-DP rank, the others prefilling theirs at the same time: its own
        # prefill runs at 1/dp of the replica's prefill rate (all of it at DP 1)
        own_prefill_s = prefill_time_s(r.setup, i_tok, i_tok, r.chips / dp, ranks=dp,
                                       attention_tp=r.grid.attention_tp, moe_ep=r.grid.moe_ep)
        decoding = running
        for iteration in range(FIXED_POINT_ITERATIONS):
            # prefill can feed at most chunk_total tokens a step: beyond that the decode batch starves
            decoding = np.minimum(decoding, chunk_total * o_tok / (e_k * i_tok))
            # the prompts the running requests' decode steps carry are the *others'*: a request's own prompt is
            # prefilled before it decodes (its TTFT), so of C requests' prefill a decode step sees (C - 1) / C
            prefill_per_step = decoding * e_k * i_tok / o_tok * (running - 1) / running
            out = r.step(decoding, prefill_per_step, i_tok)
            ttft = time_to_first_token_s(out["step_time_s"] - out["prefill_s"], out["prefill_s"] / out["step_time_s"],
                                         prompt_steps, own_prefill_s)
            if iteration == FIXED_POINT_ITERATIONS - 1:
                break
            tpot = out["step_time_s"] / e_k
            decoding = np.maximum(1.0, running * o_tok * tpot / (ttft + o_tok * tpot))
        out = dict(out)
        _set_output_rate(out, decoding * out["per_user_tokens_per_s"], r.chips)
        out["decoding_concurrency"] = decoding
        out["prompt_prefill_s"] = own_prefill_s  # one prompt on its DP rank (closed_loop_mean_ttft_s)
        return Served(out=out, time_to_first_token_s=ttft, prefill_tokens_per_step=prefill_per_step)


class AggregatedPrefillFirst(ServingMode):
    """A scheduler that prefills every waiting prompt before it decodes again (SGLang, vLLM V0): requests move in
    cohorts, TTFT = g T_p and TPOT = (O t_d / E_k + (1 - g) T_p) / O."""

    name = "aggregated"

    def serve(self, r: Replica) -> Served:
        a = r.assumptions
        i_tok, o_tok, dp, running = r.input_tokens, r.output_tokens, r.dp, r.running
        per_rank = np.ceil(running / dp)  # the busiest attention-DP rank's prompts of a cohort
        # the cohort's prompts, every DP rank prefilling its own at once while decoding waits
        cohort_prefill_s = prefill_time_s(r.setup, per_rank * dp * i_tok, i_tok, r.chips, ranks=dp,
                                          attention_tp=r.grid.attention_tp, moe_ep=r.grid.moe_ep, prefill_only=True)
        out = dict(r.step(running))
        decode_s = o_tok / r.e_k * out["step_time_s"]  # the cohort decodes together, O tokens at E_k a step
        share = cohort_completion_share(per_rank, i_tok, a.prefill_chunk_tokens)
        # a prompt done early waits out the rest of its cohort's prefill before its second token
        tpot = (decode_s + (1 - share) * cohort_prefill_s) / o_tok
        cycle_s = cohort_prefill_s + decode_s
        out["per_user_tokens_per_s"] = 1.0 / tpot
        _set_output_rate(out, running * o_tok / cycle_s, r.chips)
        out["decoding_concurrency"] = running * decode_s / cycle_s
        return Served(out=out, time_to_first_token_s=share * cohort_prefill_s, time_per_output_token_s=tpot)


class Disaggregated(ServingMode):
    """Pure decode steps on the replica and a separate prefill pool (:func:`prefill_pool`, the one ``size`` uses)."""

    name = "disaggregated"

    def serve(self, r: Replica) -> Served:
        a = r.assumptions
        i_tok, o_tok = r.input_tokens, r.output_tokens
        out = dict(r.step(r.running))
        su = r.setup
        unit = prefill_unit_chips(su.catalog, su.model, su.chip, su.precision, a)
        pool, ttft, prefill_rate = prefill_pool(
            su, input_tokens=i_tok,
            input_tokens_per_s=out["total_output_tokens_per_s"] * i_tok / o_tok, unit_chips=unit,
            pool_chips=r.grid.prefill_chips)
        # a fixed prefill pool too small for the decode pool's appetite caps the output rate
        fresh = 1.0 - a.prefill_cache_hit_rate
        ratio = np.minimum(1.0, pool * prefill_rate * o_tok / (i_tok * fresh) / out["total_output_tokens_per_s"])
        chips_all = r.chips + pool
        out["power_w"] = out["power_w"] / r.chips * chips_all  # both pools' nodes
        _set_output_rate(out, out["total_output_tokens_per_s"] * ratio, chips_all)
        return Served(out=out, time_to_first_token_s=ttft, prefill_chips=pool)


SERVING_STRATEGIES: dict[tuple[str, str | None], ServingMode] = {
    ("decode", None): DecodeOnly(),
    ("aggregated", "decode-first"): AggregatedDecodeFirst(),
    ("aggregated", "prefill-first"): AggregatedPrefillFirst(),
    ("disaggregated", None): Disaggregated(),
}
"""The serving modes by (mode, the engine's prefill scheduling where the mode depends on it)."""


def serving_mode(serving: str, assumptions: Assumptions) -> ServingMode:
    """The strategy that serves ``serving`` under the engine of ``assumptions``."""
    strategy = SERVING_STRATEGIES.get((serving, None)) or SERVING_STRATEGIES.get(
        (serving, assumptions.prefill_scheduling))
    if strategy is None:
        raise ScenarioError(f"'serving' must be one of {', '.join(SERVING_MODES)} (got {serving!r})")
    return strategy


def evaluate_serving(setup: StepSetup, *, serving: str, grid: ServingGrid,
                     capacity_cap: bool = True) -> dict[str, np.ndarray]:
    """Every output of :func:`evaluate_step` for the batch that runs, plus the workload's ``running_concurrency``,
    ``concurrency_capped``, ``time_to_first_token_s``, ``time_per_output_token_s``, ``prefill_tokens_per_step`` and
    ``prefill_chips``, served by the ``serving`` mode's strategy (:func:`serving_mode`). See the module docstring.

    ``capacity_cap`` False runs every requested sequence even where their KV cache does not fit (``fits_in_memory``
    says so): the sweep's rows, which report a configuration rather than what an engine would make of it."""
    a = setup.assumptions
    strategy = serving_mode(serving, a)
    g = grid
    if serving == "decode":
        context = np.asarray(g.context_tokens, dtype=float)
    else:
        context = mean_context_tokens(g.input_tokens, g.output_tokens)
    layout = dict(chips=g.chips, attention_tp=g.attention_tp, moe_ep=g.moe_ep, pipeline_stages=g.pipeline_stages)
    mtp_layers = g.mtp_layers

    def step(batch, prefill_tokens=0.0, prompt=0.0):
        return evaluate_step(setup, StepGrid(
            **layout, concurrency=batch, context_tokens=context, mtp_layers=mtp_layers, prefill_tokens=prefill_tokens,
            prompt_tokens=prompt,
        ))

    requested = np.asarray(g.concurrency, dtype=float)
    if capacity_cap:
        max_sequences = step(requested)["max_sequences"]
        capped = max_sequences < requested
        running = np.where(capped & (max_sequences >= 1), max_sequences, requested)
        capped = capped & (max_sequences >= 1)  # nothing fits at all: reported as not fitting, not as capped
    else:
        running, capped = requested, np.zeros(np.shape(requested), dtype=bool)
    e_k = mtp_table(a.mtp_acceptance)[np.asarray(mtp_layers, dtype=int)]
    replica = Replica(setup=setup, grid=g, step=step, running=running, capped=capped, e_k=e_k)
    served = strategy.serve(replica)
    shape = np.broadcast(running, context).shape
    out = dict(served.out)
    out["running_concurrency"] = running
    out["concurrency_capped"] = capped
    out["time_to_first_token_s"] = np.zeros(shape) + served.time_to_first_token_s
    tpot = served.time_per_output_token_s
    out["time_per_output_token_s"] = out["step_time_s"] / e_k if tpot is None else tpot
    out["prefill_tokens_per_step"] = np.zeros(shape) + served.prefill_tokens_per_step
    out["prefill_chips"] = np.zeros(shape) + served.prefill_chips
    return out


def best_layout(catalog: Catalog, deployment: Deployment, *, cap_at_peak: bool = True) -> tuple[Layout, dict]:
    """The layout a prediction reports and its :func:`evaluate_serving` values (scalars), for a checked
    ``deployment`` (:func:`calculators.deployment.check_deployment`): layout ``auto`` = the layout that fits with the
    most output (then the fastest per user), else the fastest; any other value a layout label.

    ``cap_at_peak``: an engine caps its running batch where the replica's total output peaks (more sequences would
    only lower it, e.g. once their KV spills to a slower memory tier), so more users never mean less output; the rest
    queue. ``throughput_capped`` says so. A published measurement at a stated concurrency is evaluated uncapped."""
    d = deployment
    model, chip = d.model_record(catalog), d.chip_record(catalog)
    chips, concurrency, layout = d.chips, d.concurrency, d.layout
    system = catalog.systems[chip.system]
    if layout == "auto":
        kinds = d.assumptions.layout_kinds
        layouts = candidate_layouts(model, chips, int(system.scale_up_domain_chips.value), pipeline=sram_only(chip),
                                    kinds=kinds)
        if not layouts:
            raise ScenarioError(f"engine {d.engine!r} runs no layout of {chips} {chip.id} chips for {model.id} "
                                f"(it supports: {', '.join(kinds)})")
    else:
        layouts = [parse_layout(layout, model, chips)]
    batches = peak_batch_candidates(concurrency) if cap_at_peak else np.array([float(concurrency)])
    setup = StepSetup(catalog, model, chip, d.precision, d.assumptions)
    grid = evaluate_serving(setup, serving=d.serving, grid=ServingGrid(
        chips=chips,
        attention_tp=np.array([lay.attention_tp for lay in layouts])[None, :],
        moe_ep=np.array([lay.moe_ep for lay in layouts])[None, :],
        pipeline_stages=np.array([lay.pipeline_stages for lay in layouts])[None, :],
        concurrency=batches[:, None],
        context_tokens=d.context_tokens,
        input_tokens=d.input_tokens,
        output_tokens=d.output_tokens,
        prefill_chips=d.prefill_chips,
        mtp_layers=d.mtp_layers,
    ))
    shape = (len(batches), len(layouts))
    grid = {key: np.broadcast_to(value, shape) for key, value in grid.items()}
    # per layout, the batch with the most output that runs (the requested one at a tie)
    runs = grid["fits_in_memory"] | grid["concurrency_capped"]
    total = np.where(runs, np.asarray(grid["total_output_tokens_per_s"], dtype=float), -np.inf)
    k = len(batches) - 1 - np.argmax(total[::-1] >= total.max(axis=0) * (1 - 1e-9), axis=0)
    columns = np.arange(len(layouts))
    out = {key: value[k, columns] for key, value in grid.items()}
    requested = len(batches) - 1
    out["throughput_capped"] = (k < requested) & runs[k, columns]
    # the requested batch's capacity cap is what a capped answer reports when the peak is the requested batch itself
    out["concurrency_capped"] = np.where(out["throughput_capped"], grid["concurrency_capped"][requested],
                                         out["concurrency_capped"])
    # layouts that run every requested sequence first, then those that cap the batch, then those that do not fit;
    # within a group the most output, per-user speed breaking ties (at batch 1 they rank alike). An operator who
    # asks for C concurrent users gets a layout that serves C when one exists, even if queueing would pay more.
    total = np.asarray(out["total_output_tokens_per_s"], dtype=float)
    per_user = np.asarray(out["per_user_tokens_per_s"], dtype=float)
    capped = out["concurrency_capped"] | out["throughput_capped"]
    full = out["fits_in_memory"] & ~capped
    group = np.where(full, 2, np.where(capped, 1, 0))
    order = np.lexsort((per_user, np.where(group > 0, total, per_user), group))
    i = int(order[-1])
    return layouts[i], {key: value[i] for key, value in out.items()}
