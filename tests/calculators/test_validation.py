"""Validation against published measurements: every test point within its stated tolerance, misses recorded."""

from __future__ import annotations

import pytest

from calculators.catalog import default_catalog
from calculators.validation import validate, validation_frame

# Points the model misses today: kept, not re-tuned. Each reason states the suspected cause.
KNOWN_MISSES = {
    "deepseek-prod-h800-per-user": "model ~1.7x optimistic at EP144 scale: two-micro-batch overlap assumed to hide "
    "all IB all-to-all (33 ms of 53) and expert load imbalance ignored in FLOPs; 14.8k/node is a 24 h average",
    "deepseek-prod-h800-throughput": "same cause as the per-user miss (same configuration)",
    "lmsys-h100-ep72-decode": "saturated batch assumed; overlap and expert imbalance optimistic at large EP",
    "lmsys-gb200-nvl72-decode": "saturated batch assumed; FP8 attention modelled as FP4; imbalance ignored",
    "mlperf-b200-offline": "Offline includes prefill on the same GPUs and long reasoning outputs (not modelled)",
    "mlperf-gb200-offline": "Offline includes prefill; saturated batch on one NVL72 far above what serving uses",
    "mlperf-gb300-offline": "Offline includes prefill; saturated batch on one NVL72 far above what serving uses",
    "mlenergy-b200-batch128": "large-batch power draw above TDP x utilisation or engine slower than tuned-2025",
}

RESULTS = {r.id: r for r in validate(default_catalog())}


def test_every_point_has_a_finite_prediction():
    """validate returns one finite prediction per catalog point with its source."""
    frame = validation_frame(list(RESULTS.values()))
    assert len(frame) == len(default_catalog().validation) >= 15
    assert frame.predicted.notna().all() and (frame.predicted > 0).all()


@pytest.mark.parametrize(
    "point_id",
    [
        pytest.param(pid, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[pid]))
        if pid in KNOWN_MISSES else pid
        for pid, r in RESULTS.items()
        if r.use == "test"
    ],
)
def test_point_within_tolerance(point_id):
    """Each test point lies within its stated tolerance (known misses are strict expected failures)."""
    r = RESULTS[point_id]
    assert r.within_tolerance, f"{point_id}: predicted {r.predicted:.4g} vs measured {r.measured:.4g}"


def test_single_node_gpu_decode_within_25_percent():
    """Single-node GPU per-user decode test points are within +-25%."""
    pts = [r for r in RESULTS.values() if r.use == "test" and r.chips <= 8 and r.metric == "per_user_tokens_per_s"]
    assert pts
    assert all(abs(r.error_fraction) <= 0.25 for r in pts)
