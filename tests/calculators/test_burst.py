"""A burst of requests sent at once: ramp, KV-capped batch, drain tail, and the datasets' length distributions."""

from __future__ import annotations

import numpy as np
import pytest

from calculators.assumptions import resolve_assumptions
from calculators.burst import burst_output_lengths, cohort_peak_context_tokens, evaluate_burst, residual_lengths
from calculators.catalog import catalog_from_texts, default_catalog, read_files, shipped_catalog_files
from calculators.errors import CatalogError
from calculators.model.step import StepGrid, StepSetup, evaluate_step, mtp_table
from calculators.records import ValidationPoint
from calculators.validation import validate


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


def _r1_h200(catalog):
    a = resolve_assumptions(catalog, "h200-sxm", engine="tuned-2025")
    return StepSetup(catalog, catalog.models["deepseek-r1"], catalog.accelerators["h200-sxm"], "fp8", a)


TP8 = dict(chips=8, attention_tp=[8], moe_ep=[1])


def _step_s(setup, batch, context, mtp_layers=0):
    return float(np.ravel(evaluate_step(setup, StepGrid(chips=8, attention_tp=8, moe_ep=1, concurrency=batch,
                                                        context_tokens=context, mtp_layers=mtp_layers))
                          ["step_time_s"])[0])


def test_a_long_tailed_burst_is_slower_than_fixed_lengths_of_the_same_mean(catalog):
    """ShareGPT's lengths (median 134, longest ~1,900) leave a few requests decoding alone at the end: the same
    total output takes longer than 1,000 requests of 200 tokens each, and the extra time is all in the drain."""
    setup = _r1_h200(catalog)
    sharegpt = catalog.datasets["sharegpt-vllm"]
    tail = evaluate_burst(setup, **TP8, requests=1000, input_tokens=220, output_tokens=200, distribution=sharegpt)
    fixed = evaluate_burst(setup, **TP8, requests=1000, input_tokens=220, output_tokens=200)
    assert tail["total_output_tokens_per_s"][0] < 0.8 * fixed["total_output_tokens_per_s"][0]
    assert tail["prefill_s"][0] == pytest.approx(fixed["prefill_s"][0])
    assert tail["drain_s"][0] > fixed["drain_s"][0]


def test_a_burst_of_one_request_runs_at_the_batch_one_speed(catalog):
    """One request alone: its prefill, then every token at the batch-1 step; with a long output the prefill is
    amortised and the run's rate is the batch-1 per-user speed."""
    setup = _r1_h200(catalog)
    out = evaluate_burst(setup, **TP8, requests=1, input_tokens=64, output_tokens=50_000)
    batch_one = 1.0 / _step_s(setup, 1, 64 + 25_000)
    assert out["total_output_tokens_per_s"][0] == pytest.approx(batch_one, rel=0.01)
    assert out["running_concurrency"][0] == 1


def test_a_fixed_length_burst_that_fits_decodes_at_the_full_batch_step(catalog):
    """N equal requests that all fit decode O / E_k steps together at batch N, with MTP's tokens per step."""
    setup = _r1_h200(catalog)
    e_k = float(mtp_table(setup.assumptions.mtp_acceptance)[2])
    out = evaluate_burst(setup, **TP8, requests=64, input_tokens=1000, output_tokens=1000, mtp_layers=2)
    assert out["running_concurrency"][0] == 64 and out["full_batch_s"][0] == 0
    assert out["drain_s"][0] == pytest.approx(1000 / e_k * _step_s(setup, 64, 1500, mtp_layers=2), rel=1e-9)


def test_a_burst_far_beyond_the_kv_capacity_tends_to_the_steady_state_at_the_capped_batch(catalog):
    """When the KV cache holds S sequences and many more are queued, the run is mostly steps at batch S: the decode
    rate tends to S tokens per step (the drain and the ramp are fixed costs of the run)."""
    setup = _r1_h200(catalog)
    kwargs = dict(input_tokens=30_000, output_tokens=500)
    slots = int(evaluate_burst(setup, **TP8, requests=10**6, **kwargs)["running_concurrency"][0])
    assert 1 < slots < 10**6
    out = evaluate_burst(setup, **TP8, requests=200 * slots, **kwargs)
    decode_rate = 200 * slots * 500 / (out["full_batch_s"][0] + out["drain_s"][0])
    assert decode_rate == pytest.approx(slots / _step_s(setup, slots, 30_250), rel=0.02)
    short = evaluate_burst(setup, **TP8, requests=2 * slots, **kwargs)
    assert short["total_output_tokens_per_s"][0] < out["total_output_tokens_per_s"][0]


def test_a_cohorts_kv_peaks_at_the_end_for_equal_lengths_and_earlier_for_a_long_tail():
    """Equal requests all reach prompt + output at the end; with one long request among short ones the peak is just
    before the short ones finish, not the long one's full length."""
    assert cohort_peak_context_tokens(np.full(64, 2048.0), 128) == pytest.approx(128 + 2048)
    lengths = np.array([100.0] * 9 + [10_000.0])
    assert cohort_peak_context_tokens(lengths, 50) == pytest.approx(max(10 * 150, 10_050) / 10)


def test_a_burst_that_fits_at_its_mean_context_but_not_at_its_peak_does_not_run_whole(catalog):
    """N equal requests whose KV fits at I + O / 2 but not at I + O: the run caps the batch at what fits at I + O."""
    setup = _r1_h200(catalog)
    i_tok, o_tok = 1000, 16_000

    def fits(context):
        return int(np.ravel(evaluate_step(setup, StepGrid(chips=8, attention_tp=8, moe_ep=1, concurrency=1,
                                                          context_tokens=context, mtp_layers=0))["max_sequences"])[0])

    at_peak, at_mean = fits(i_tok + o_tok), fits(i_tok + o_tok / 2)
    assert at_peak < at_mean
    out = evaluate_burst(setup, **TP8, requests=at_mean, input_tokens=i_tok, output_tokens=o_tok)
    assert out["running_concurrency"][0] == at_peak and out["full_batch_s"][0] > 0


def test_residuals_of_equal_lengths_are_uniform_and_long_requests_are_the_ones_in_flight():
    """Equal lengths leave residuals uniform on [0, O]; a spread of lengths leaves mostly long requests in flight
    (the equilibrium excess is length-biased), so the residual mean exceeds half the length mean."""
    np.testing.assert_allclose(residual_lengths(np.full(500, 300.0), 9), 300 * np.arange(1, 10) / 10, rtol=1e-9)
    lengths = np.concatenate([np.full(900, 20.0), np.full(100, 1800.0)])
    assert residual_lengths(lengths, 99).mean() > lengths.mean() / 2


def test_burst_lengths_keep_the_measured_mean_and_the_dataset_shape(catalog):
    """The N lengths are sorted, average the point's mean and spread as the table does (longest far above median)."""
    sharegpt = catalog.datasets["sharegpt-vllm"]
    lengths = burst_output_lengths(sharegpt, 1000, 193.0)
    assert np.all(np.diff(lengths) >= 0) and lengths.mean() == pytest.approx(193.0)
    assert lengths[-1] > 5 * np.median(lengths)
    assert np.all(burst_output_lengths(None, 7, 42.0) == 42.0)


def test_every_burst_point_names_a_known_dataset_or_none_and_is_predicted(catalog):
    """The catalog's burst points validate and are predicted by the burst model (the layout label says so)."""
    bursts = {p.id for p in catalog.validation.values() if p.arrival == "burst"}
    assert bursts
    for r in validate(catalog):
        if r.id in bursts:
            assert "burst of" in r.layout and r.predicted > 0


def test_a_dataset_with_decreasing_lengths_is_refused():
    """Quantiles must run 0 .. 1 and lengths must not fall as the quantile rises."""
    text = ("datasets:\n  - id: bad\n    name: bad\n    kind: assumption\n    note: test\n"
            "    mean_output_tokens: 10\n    output_tokens_by_quantile:\n      - [0.0, 5]\n      - [0.5, 20]\n"
            "      - [1.0, 12]\n")
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*read_files(shipped_catalog_files()), ("d.yaml", text)])
    assert any("must not decrease" in p.message for p in info.value.problems)


def test_a_point_naming_an_unknown_dataset_or_a_steady_point_with_a_distribution_is_refused(catalog):
    """A burst point's ``length_distribution`` must exist in ``datasets``; a steady point may not carry one."""
    base = catalog.validation["gpustack-h200-sglang-r1-tp8-sharegpt"].model_dump()
    with pytest.raises(ValueError, match="applies only to 'arrival: burst'"):
        ValidationPoint.model_validate({**base, "arrival": "steady"})
    point = ("validation:\n  - id: p1\n    use: test\n    source: gpustack-perf-lab-r1-h200\n    date: 2025-01-01\n"
             "    model: deepseek-r1\n    accelerator: h200-sxm\n    chips: 8\n    precision: fp8\n"
             "    concurrency: 100\n    input_tokens: 200\n    output_tokens: 200\n    serving: aggregated\n"
             "    arrival: burst\n    length_distribution: no-such-set\n"
             "    metric: output_tokens_per_s_per_chip\n    measured: 30\n    tolerance: 0.4\n")
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*read_files(shipped_catalog_files()), ("p.yaml", point)])
    problem = [p for p in info.value.problems if p.file == "p.yaml"]
    assert [(p.path, p.value) for p in problem] == [("validation[p1].length_distribution", "no-such-set")]
