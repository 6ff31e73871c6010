"""Serving a workload: capped batches, chunked prefill beside decode, a separate prefill pool, predict's new keys."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from calculators.assumptions import resolve_assumptions
from calculators.catalog import default_catalog
from calculators.decode import predict
from calculators.deployment import Demand, Deployment
from calculators.errors import ScenarioError
from calculators.fleet import size
from calculators.layout import parse_layout
from calculators.sweep import GridAxes, decode_grid_columns

ROOT = Path(__file__).resolve().parents[2]
H200 = dict(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8")


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def test_a_batch_whose_kv_does_not_fit_is_capped_and_says_so(catalog):
    """1,024 sequences at 8k context on 8xH200 do not fit: only the fitting batch runs, and speeds follow from it."""
    p = predict(catalog, Deployment(**H200, concurrency=1024, context_tokens=8192))
    assert p.running_concurrency < 1024 and p.bound_by == "capacity"
    assert "does not fit" in p.concurrency_capped_reason and f"{p.running_concurrency:,}" in p.concurrency_capped_reason
    alone = predict(catalog, Deployment(**H200, concurrency=p.running_concurrency, context_tokens=8192,
                                        layout=p.layout))
    assert p.total_output_tokens_per_s == pytest.approx(alone.total_output_tokens_per_s, rel=1e-9)


def test_a_batch_that_fits_is_not_capped(catalog):
    """Eight sequences at 2k context run in full, with no capping reason."""
    p = predict(catalog, Deployment(**H200, concurrency=8, context_tokens=2000))
    assert p.running_concurrency == 8 and p.concurrency_capped_reason is None


def test_aggregated_prefill_slows_decode_and_more_so_for_long_prompts(catalog):
    """Chunked prefill on the same chips costs decode speed, more for 8k prompts than 1k (same mean context)."""
    decode = predict(catalog, Deployment(**H200, concurrency=256, context_tokens=1536, layout="dp8-ep8"))
    short = predict(catalog, Deployment(**H200, concurrency=256, input_tokens=1024, output_tokens=1024,
                                        layout="dp8-ep8"))
    long_ = predict(catalog, Deployment(**H200, concurrency=256, input_tokens=1024 + 7000, output_tokens=1024,
                                        layout="dp8-ep8"))
    assert short.serving == "aggregated"
    assert short.per_user_tokens_per_s < decode.per_user_tokens_per_s
    assert long_.time_to_first_token_s > short.time_to_first_token_s > 0
    assert long_.output_tokens_per_s_per_chip < short.output_tokens_per_s_per_chip


def test_disaggregated_counts_the_prefill_pool(catalog):
    """A separate prefill pool leaves decode as a pure step and divides the output over both pools' chips."""
    kw = dict(**H200, concurrency=64, input_tokens=1024, output_tokens=1024, layout="dp8-ep8")
    split = predict(catalog, Deployment(serving="disaggregated", prefill_chips=8, **kw))
    decode = predict(catalog, Deployment(**H200, concurrency=64, context_tokens=1536, layout="dp8-ep8"))
    assert split.per_user_tokens_per_s == pytest.approx(decode.per_user_tokens_per_s, rel=1e-9)
    assert split.prefill_chips == 8
    assert split.output_tokens_per_s_per_chip <= split.total_output_tokens_per_s / 16 * (1 + 1e-9)


def test_workload_needs_its_tokens(catalog):
    """Aggregated serving without an output length, or prefill chips outside disaggregated serving, are refused."""
    with pytest.raises(ScenarioError, match="output_tokens"):
        predict(catalog, Deployment(**H200, concurrency=8, input_tokens=1000, serving="aggregated"))
    with pytest.raises(ScenarioError, match="prefill_chips"):
        predict(catalog, Deployment(**H200, concurrency=8, input_tokens=1000, output_tokens=100, prefill_chips=8))
    with pytest.raises(ScenarioError, match="context_tokens"):
        predict(catalog, Deployment(**H200, concurrency=8))


def test_wide_ep_across_nodes_pays_collective_latency(catalog):
    """EP128 over 16 H200 nodes: dispatch + combine cost at least the scale-out alpha on all 58 MoE layers."""
    p = predict(catalog, Deployment(model="deepseek-r1", accelerator="h200-sxm", chips=128, precision="fp8",
                                    concurrency=128,
                                    context_tokens=2000, layout="dp128-ep128"))
    alpha_us = dict(catalog.collective_curves["h200-sxm.all_to_all.scale_out"].latency_us)
    floor_ms = 2 * 58 * min(alpha_us.values()) / 1e3
    assert p.step_time_breakdown_ms["communication"] >= floor_ms * 0.5  # overlap may hide up to half behind compute


def test_predict_cli_has_the_workload_flags_and_keys():
    """`predict --input-tokens --output-tokens --serving` prints the serving keys in its JSON."""
    out = subprocess.run(
        [sys.executable, "-m", "calculators", "predict", "--model", "deepseek-r1", "--accelerator", "h200-sxm",
         "--chips", "8", "--precision", "fp8", "--concurrency", "64", "--input-tokens", "1024",
         "--output-tokens", "1024", "--serving", "aggregated", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )
    d = json.loads(out.stdout)
    assert d["serving"] == "aggregated" and d["running_concurrency"] == 64
    assert d["time_to_first_token_s"] > 0 and d["time_per_output_token_ms"] > 0


def _cohort_run(catalog, engine, concurrency):
    """evaluate_serving on 8x MI300X, DeepSeek-R1 FP8 at TP8, 3,200/800 requests, under ``engine``'s scheduling."""
    from calculators.assumptions import resolve_assumptions
    from calculators.model.step import StepSetup
    from calculators.serving import ServingGrid, evaluate_serving

    a = resolve_assumptions(catalog, "mi300x", engine=engine)
    grid = ServingGrid(chips=8, attention_tp=8, moe_ep=1, concurrency=concurrency, mtp_layers=0, input_tokens=3200,
                       output_tokens=800)
    setup = StepSetup(catalog, catalog.models["deepseek-r1"], catalog.accelerators["mi300x"], "fp8", a)
    out = evaluate_serving(setup, serving="aggregated", grid=grid)
    return {k: float(v) for k, v in out.items() if k in (
        "time_to_first_token_s", "time_per_output_token_s", "total_output_tokens_per_s")}


def test_cohort_completion_share_spans_one_chunk_to_half():
    """All prompts in one chunk finish together (1); one prompt alone is done when its prefill is (1); many prompts
    each filling chunks finish on average about half-way through the cohort's prefill."""
    from calculators.serving import cohort_completion_share

    assert float(cohort_completion_share(4, 1000, 8192)) == 1.0
    assert float(cohort_completion_share(1, 30_000, 8192)) == 1.0
    assert float(cohort_completion_share(100, 8192, 8192)) == pytest.approx(101 / 200, rel=0.02)


def test_prefill_first_engine_moves_a_closed_loop_in_cohorts(catalog):
    """Under a prefill-first scheduler a prompt waits for its cohort's prompts: TTFT grows with the concurrency (as
    dstack measured, 1.6 s at 4 to 13.9 s at 64 on MI300X), while a decode-first engine's stays near one prompt's;
    either way TTFT + O x TPOT is the request's latency, so throughput = C x O / latency."""
    low, high = _cohort_run(catalog, "rocm-early-2025", 4), _cohort_run(catalog, "rocm-early-2025", 64)
    assert high["time_to_first_token_s"] > 8 * low["time_to_first_token_s"]
    mixed_low, mixed_high = _cohort_run(catalog, "rocm-vllm-2025", 4), _cohort_run(catalog, "rocm-vllm-2025", 64)
    assert mixed_high["time_to_first_token_s"] < 3 * mixed_low["time_to_first_token_s"]
    for run, c in ((low, 4), (high, 64)):
        latency = run["time_to_first_token_s"] + 800 * run["time_per_output_token_s"]
        assert run["total_output_tokens_per_s"] == pytest.approx(c * 800 / latency, rel=1e-9)


def test_unknown_prefill_scheduling_is_refused(catalog):
    """A scheduling policy the model does not know is refused with the field's name and the known values."""
    from calculators.assumptions import resolve_assumptions

    with pytest.raises(ScenarioError, match="prefill_scheduling.*decode-first, prefill-first"):
        resolve_assumptions(catalog, "mi300x", prefill_scheduling="round-robin")


def test_auto_search_picks_only_layouts_the_engine_runs(catalog):
    """An engine without expert parallelism (generic-2024: tp, dp-tp, pipeline) gets tp8 on 8 H200 at 256
    sequences, where TensorRT-LLM's class picks dp8-ep8."""
    workload = dict(**H200, concurrency=256, context_tokens=2000)
    assert predict(catalog, Deployment(**workload, engine="tuned-2025")).layout == "dp8-ep8"
    p = predict(catalog, Deployment(**workload, engine="generic-2024"))
    assert p.layout == "tp8" and p.engine == "generic-2024"


def test_a_stated_layout_the_engine_does_not_run_is_refused(catalog):
    """layout dp8-ep8 under generic-2024 raises a ScenarioError naming the engine and the kind."""
    with pytest.raises(ScenarioError, match=r"engine 'generic-2024' does not run layout kind 'dp-ep'"):
        predict(catalog, Deployment(**H200, concurrency=8, context_tokens=2000, engine="generic-2024",
                                    layout="dp8-ep8"))


def test_no_supported_layout_is_a_clear_error(catalog):
    """An engine that runs no layout of the chips asked (here DP attention with TP experts only) says so."""
    a = dataclasses.replace(resolve_assumptions(catalog, "h200-sxm"), layout_kinds=("dp-tp",))
    with pytest.raises(ScenarioError, match="runs no layout of 8 h200-sxm chips"):
        predict(catalog, Deployment(**H200, concurrency=8, context_tokens=2000, assumptions=a))


def test_sweep_grid_holds_only_the_engines_layout_kinds(catalog):
    """The decode grid (what size searches) of DeepSeek-R1 on TPU v5e under tpu-jax-2025 has no DP attention."""
    chip, model = catalog.accelerators["tpu-v5e"], catalog.models["deepseek-r1"]
    a = resolve_assumptions(catalog, "tpu-v5e")
    axes = GridAxes(node_counts=[16], concurrencies=[64], mtp_layers=[0], context_tokens=2000)
    columns = decode_grid_columns(catalog, model, chip, "int8", a, axes, band=False)
    kinds = {parse_layout(label, model, int(chips)).kind
             for label, chips in zip(columns["layout"].to_numpy(), columns["chips"], strict=True)}
    assert kinds and kinds <= set(a.layout_kinds) and "dp-ep" not in kinds


def test_size_with_no_supported_layout_is_infeasible_and_says_why(catalog):
    """size under an engine that runs none of the layouts tried answers infeasible, naming the engine's kinds."""
    a = dataclasses.replace(resolve_assumptions(catalog, "h200-sxm"), layout_kinds=("pipeline",))
    sizing = size(catalog, Demand(model="deepseek-r1", accelerator="h200-sxm", precision="fp8",
                                  per_user_tokens_per_s=20, total_output_tokens_per_s=1e5, input_tokens=1000,
                                  output_tokens=1000, assumptions=a))
    assert not sizing.feasible and "supports: pipeline" in sizing.reason


def test_a_closed_loop_run_pays_its_first_burst_once():
    """A run of N requests at concurrency C sends its first C at once: each DP rank prefills its C / dp one after
    another, so over N requests the mean TTFT gains (C / N) (ceil(C / dp) - 1) / 2 prompts' prefill; a run that is
    one burst (N = C) pays it on every request."""
    from calculators.serving import closed_loop_mean_ttft_s

    assert float(closed_loop_mean_ttft_s(0.1, 0.08, 64, 1, 3000)) == pytest.approx(0.1 + 64 / 3000 * 31.5 * 0.08)
    assert float(closed_loop_mean_ttft_s(0.1, 0.08, 64, 8, 64)) == pytest.approx(0.1 + 3.5 * 0.08)
    assert float(closed_loop_mean_ttft_s(0.1, 0.08, 1, 1, 3000)) == pytest.approx(0.1)
