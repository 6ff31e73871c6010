"""Physical sanity over random deployments (hypothesis): what no serving system does, the model never says."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from calculators.catalog import default_catalog
from calculators.decode import predict
from calculators.deployment import Deployment
from calculators.layout import candidate_layouts

CATALOG = default_catalog()
GPUS = ["h100-sxm", "h200-sxm", "b200", "gb200", "mi300x", "mi355x"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOLERANCE = 1e-3  # the peak-batch grid and float noise; every property is otherwise exact


@st.composite
def deployments(draw):
    """A random R1 deployment on a GPU: chip, replica of 1-4 nodes, a layout of that replica, batch, context, MTP."""
    chip_id = draw(st.sampled_from(GPUS))
    chip = CATALOG.accelerators[chip_id]
    system = CATALOG.systems[chip.system]
    nodes = draw(st.sampled_from([1, 2, 4]))
    chips = nodes * int(system.chips_per_node.value)
    model = CATALOG.models["deepseek-r1"]
    layouts = candidate_layouts(model, chips, int(system.scale_up_domain_chips.value))
    layout = draw(st.sampled_from(layouts)).label
    return dict(model="deepseek-r1", accelerator=chip_id, chips=chips, layout=layout,
                concurrency=draw(st.integers(1, 2048)), context_tokens=draw(st.integers(256, 32_000)),
                mtp_layers=draw(st.integers(0, 3)))


def _run(d, **changes):
    return predict(CATALOG, Deployment(**{"precision": "fp8", **d, **changes}))


@SETTINGS
@given(deployments())
# found by hypothesis: FP8 ran 0.18% slower than BF16 (FP8 weights both) once two micro-batches overlap, the FP8
# GEMMs' larger per-call floor counted twice where memory-bound and the weight-only BF16 kernel not offered to them
@example(dict(model="deepseek-r1", accelerator="h200-sxm", chips=32, layout="dp32-ep32", concurrency=929,
              context_tokens=256, mtp_layers=3))
def test_fewer_weight_bytes_are_never_slower(d):
    """The same deployment with FP8 weights never runs slower than with BF16 weights (half the bytes to stream)."""
    wide, narrow = _run(d, precision="bf16"), _run(d, precision="fp8")
    assume(wide.fits_in_memory and narrow.fits_in_memory and wide.running_concurrency == narrow.running_concurrency)
    assert narrow.step_time_ms <= wide.step_time_ms * (1 + TOLERANCE)


@SETTINGS
@given(deployments(), st.floats(1.1, 8.0))
# found by hypothesis: 16 users ran 0.54% faster each than 4, the grouped-GEMM fraction rising from 1.3 to 2.3 tokens
# per touched expert while the busiest rank's expert bytes barely grew
@example(dict(model="deepseek-r1", accelerator="gb200", chips=72, layout="dp72-ep72", concurrency=4,
              context_tokens=256, mtp_layers=3), 4.0)
# found by hypothesis: 253 users ran 0.58% faster each than 202 on GB200 tp4dp36-ep144, the two-micro-batch overlap
# gated on tokens per chip (6 tokens over a TP4 rank's 4 chips: off; 8: on) rather than on the rank's tokens
@example(dict(model="deepseek-r1", accelerator="gb200", chips=144, layout="tp4dp36-ep144", concurrency=202,
              context_tokens=256, mtp_layers=0), 1.25)
def test_more_users_never_raise_per_user_speed_nor_lower_total_output(d, factor):
    """More concurrent users never make each faster, and never lower the total (the engine caps at the peak)."""
    few = _run(d)
    many = _run(d, concurrency=math.ceil(d["concurrency"] * factor))
    assume(few.fits_in_memory and many.fits_in_memory)
    assert many.per_user_tokens_per_s <= few.per_user_tokens_per_s * (1 + TOLERANCE)
    assert many.total_output_tokens_per_s >= few.total_output_tokens_per_s * (1 - TOLERANCE)


@SETTINGS
@given(deployments(), st.floats(1.1, 4.0))
def test_a_longer_context_is_never_faster(d, factor):
    """Reading more KV per step never speeds a step up."""
    short = _run(d)
    long = _run(d, context_tokens=math.ceil(d["context_tokens"] * factor))
    assume(short.fits_in_memory and long.fits_in_memory
           and short.running_concurrency == long.running_concurrency)
    assert long.step_time_ms >= short.step_time_ms * (1 - TOLERANCE)


@pytest.mark.parametrize("chip", ["h200-sxm", "b200"])
def test_more_chips_at_the_same_per_chip_batch_cost_at_most_their_collectives(chip):
    """Doubling a wide-EP replica at the same batch per chip changes J/token by no more than its collectives add."""
    per_node = int(CATALOG.systems[CATALOG.accelerators[chip].system].chips_per_node.value)
    small = predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, precision="fp8", chips=2 * per_node,
                                        layout=f"dp{2 * per_node}-ep{2 * per_node}", concurrency=64 * 2 * per_node,
                                        context_tokens=2000, mtp_layers=0))
    big = predict(CATALOG, Deployment(model="deepseek-r1", accelerator=chip, precision="fp8", chips=4 * per_node,
                                      layout=f"dp{4 * per_node}-ep{4 * per_node}", concurrency=64 * 4 * per_node,
                                      context_tokens=2000, mtp_layers=0))
    comm = {k: sum(p.step_breakdown_ms[o] for o in ("moe_dispatch", "moe_combine", "all_reduce_and_hops"))
            for k, p in (("small", small), ("big", big))}
    allowed = (big.step_time_ms - (comm["big"] - comm["small"])) / big.step_time_ms
    assert small.joules_per_output_token >= big.joules_per_output_token * allowed * (1 - TOLERANCE)
