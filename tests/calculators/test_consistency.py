"""One scenario, one answer: every command that evaluates the same deployment gives the same number (within 2%)."""

from __future__ import annotations

import pytest

from calculators.catalog import default_catalog
from calculators.claims import check_claims
from calculators.decode import predict
from calculators.deployment import Demand, Deployment
from calculators.fleet import size
from calculators.sweep import SweepSpec, sweep

CATALOG = default_catalog()
AGREE = 0.02  # the bar: predict, size, sweep and claims agree to 2% on the same deployment
CLAIMS = {c.id: c for c in check_claims(CATALOG)}


def _predict_row(row, **extra):
    """``predict`` with exactly the configuration a claims row states it evaluated."""
    s = row.scenario
    workload = ({"context_tokens": s["context_tokens"]} if "context_tokens" in s
                else {"input_tokens": s["input_tokens"], "output_tokens": s["output_tokens"]})
    return predict(CATALOG, Deployment(model=s["model"], accelerator=s["accelerator"], precision=s["precision"],
                                       chips=row.chips,
                   concurrency=row.concurrency, layout=row.layout, mtp_layers=row.mtp_layers, engine=row.engine,
                                       **workload, **extra))


@pytest.mark.parametrize("claim_id", [i for i, c in CLAIMS.items()
                                      if c.kind in ("per-user-speed", "throughput") and c.predicted is not None])
def test_claim_states_its_configuration_and_predict_reproduces_it(claim_id):
    """A speed or throughput claim's row names layout, MTP, batch and engine; predict with them gives its number."""
    row = CLAIMS[claim_id]
    assert None not in (row.layout, row.mtp_layers, row.concurrency, row.engine, row.chips)
    p = _predict_row(row)
    got = p.per_user_tokens_per_s if row.kind == "per-user-speed" else p.total_output_tokens_per_s
    assert got == pytest.approx(row.predicted, rel=AGREE)


def test_every_claim_row_states_an_engine():
    """Each evaluated claim (sized, ratio or speed) says which engine its number came from."""
    evaluated = [c for c in CLAIMS.values() if c.predicted is not None]
    assert evaluated and all(c.engine in CATALOG.engines for c in evaluated)


def test_a_claim_the_catalog_calibrates_on_reproduces_its_figure():
    """SambaNova's 198 tok/s/user on 16 SN40L is a calibration point: the claim check gives 198, without MTP."""
    row = CLAIMS["sambanova-2025-02-a-198-per-user"]
    assert row.predicted == pytest.approx(198, rel=AGREE)
    assert row.mtp_layers == 0


@pytest.mark.parametrize("chip,precision", [("b200", "fp4"), ("h200-sxm", "fp8"), ("sn40l", "bf16")])
def test_size_and_predict_agree_on_the_replica_size_chose(chip, precision):
    """The replica ``size`` picks, asked of ``predict`` (same layout, batch, MTP, context), runs at the same speed."""
    s = size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision=precision, per_user_tokens_per_s=50,
                             total_output_tokens_per_s=20_000, input_tokens=1000, output_tokens=2000))
    assert s.feasible
    p = predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, precision=precision, chips=s.replica_chips,
                concurrency=s.concurrency_per_replica, layout=s.layout, mtp_layers=s.mtp_layers, engine=s.engine,
                                    context_tokens=2000))
    assert p.per_user_tokens_per_s == pytest.approx(s.per_user_tokens_per_s, rel=AGREE)
    for op, ms in p.step_breakdown_ms.items():  # the sizing's own breakdown is the same step
        assert s.step_breakdown_ms[op] == pytest.approx(ms, rel=AGREE, abs=1e-9)


@pytest.mark.parametrize("chip,precision", [("b200", "fp4"), ("h200-sxm", "fp8")])
def test_size_and_disaggregated_predict_share_one_prefill_pool(chip, precision):
    """``size`` and ``predict --serving disaggregated`` on the same replica give the same TTFT, and the same pool for
    the same input rate (one prefill function: cache hits free, whole weight-holding instances)."""
    s = size(CATALOG, Demand(model="deepseek-r1", accelerator=chip, precision=precision, per_user_tokens_per_s=50,
                             total_output_tokens_per_s=20_000, input_tokens=4000, output_tokens=1000))
    p = predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, precision=precision, chips=s.replica_chips,
                concurrency=s.concurrency_per_replica, layout=s.layout, mtp_layers=s.mtp_layers, engine=s.engine,
                                    input_tokens=4000, output_tokens=1000, serving="disaggregated"))
    assert p.time_to_first_token_s == pytest.approx(s.time_to_first_token_s, rel=AGREE)
    if s.replicas == 1:
        assert p.prefill_chips == s.prefill_chips


def test_prefill_pool_counts_cache_hits_free_and_rounds_to_instances():
    """Pool = whole instances covering the uncached input rate; TTFT = one prompt's uncached tokens on one instance."""
    from calculators.assumptions import resolve_assumptions
    from calculators.model.step import StepSetup
    from calculators.serving import prefill_pool

    chip, model = CATALOG.accelerators["h200-sxm"], CATALOG.models["deepseek-r1"]
    a = resolve_assumptions(CATALOG, "h200-sxm")
    setup = StepSetup(CATALOG, model, chip, "fp8", a)
    one, ttft, rate = prefill_pool(setup, input_tokens=2000, input_tokens_per_s=1.0, unit_chips=8)
    assert one == 8  # a trickle still needs one instance
    fresh = 1 - a.prefill_cache_hit_rate
    assert ttft == pytest.approx(2000 * fresh / (8 * rate))
    many, _, _ = prefill_pool(setup, input_tokens=2000, input_tokens_per_s=float(rate) * 20 / fresh, unit_chips=8)
    assert many == 24  # 20 chips' worth of uncached tokens -> three 8-chip instances


@pytest.mark.parametrize("chip,precision", [("b200", "fp4"), ("h200-sxm", "fp8"), ("sn40l", "bf16")])
def test_sweep_rows_agree_with_predict_on_the_same_deployment(chip, precision):
    """A sweep row (replica, layout, batch, MTP, context) asked of ``predict`` gives the row's speed and output."""
    frame = sweep(CATALOG, SweepSpec(model="deepseek-r1", accelerators=[chip], precisions=[precision],
                                     concurrencies=[1, 8, 64], context_tokens=2000))
    rows = frame[frame["fits_in_memory"]]
    assert not rows.empty
    for _, row in rows.iloc[:: max(1, len(rows) // 6)].iterrows():
        p = predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, precision=precision,
                                        chips=int(row["chips"]), concurrency=int(row["concurrency"]),
                                        layout=row["layout"], mtp_layers=int(row["mtp_layers"]),
                                        context_tokens=2000))
        assert p.running_concurrency == int(row["concurrency"])
        assert p.per_user_tokens_per_s == pytest.approx(row["per_user_tokens_per_s"], rel=AGREE)
        assert p.output_tokens_per_s_per_chip == pytest.approx(row["output_tokens_per_s_per_chip"], rel=AGREE)


def test_size_picks_a_replica_the_sweep_lists_at_the_same_speed():
    """The replica ``size`` chooses is a row of the sweep at the same context, with the same per-user speed."""
    s = size(CATALOG, Demand(model="deepseek-r1", accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=50,
                             total_output_tokens_per_s=20_000, input_tokens=1000, output_tokens=2000))
    frame = sweep(CATALOG, SweepSpec(model="deepseek-r1", accelerators=["h200-sxm"], precisions=["fp8"],
                                     concurrencies=[s.concurrency_per_replica], context_tokens=2000))
    row = frame[(frame["chips"] == s.replica_chips) & (frame["layout"] == s.layout)
                & (frame["mtp_layers"] == s.mtp_layers)]
    assert len(row) == 1
    assert float(row["per_user_tokens_per_s"].iloc[0]) == pytest.approx(s.per_user_tokens_per_s, rel=AGREE)
