"""Kernel and collective curves: log2 interpolation, clamping, a chip's own curve before its class's, fallbacks."""

from __future__ import annotations

import numpy as np
import pytest

from calculators.catalog import catalog_from_texts, shipped_catalog_files
from calculators.model import collectives
from calculators.model.efficiency import chip_efficiency

# the same ids as shipped curves replace them (layering), so each test knows exactly which curve applies
EXTRA = """
kernel_curves:
  - {id: h200-sxm.gemm.fp8, accelerator: h200-sxm, op: gemm, precision: fp8, x: tokens, points: [[1, 0.1], [16, 0.5]],
     kind: assumption, note: "test curve"}
  - {id: gpu.gemm.fp8, accelerator: gpu, op: gemm, precision: fp8, x: tokens, points: [[1, 0.9], [16, 0.9]],
     kind: assumption, note: "test curve"}
  - {id: h200-sxm.grouped_gemm.bf16.weights-fp4, accelerator: h200-sxm, op: grouped_gemm, precision: bf16,
     weight_precision: fp4, x: tokens per expert, points: [[1, 0.2], [16, 0.2]], kind: assumption, note: "test curve"}
collective_curves:
  - {id: h200-sxm.all_to_all.scale_out, accelerator: h200-sxm, op: all_to_all, scope: scale_out,
     latency_us: [[16, 20], [128, 100]], bandwidth_fraction: 0.5, kind: assumption, note: "test curve"}
"""


@pytest.fixture(scope="module")
def catalog():
    files = [(p.name, p.read_bytes()) for p in shipped_catalog_files()]
    return catalog_from_texts([*files, ("extra.yaml", EXTRA)])


def test_interpolates_in_log2_and_clamps(catalog):
    """Halfway in log2 (x = 4 between 1 and 16) gives the mean fraction; beyond the ends the end values."""
    eff = chip_efficiency(catalog, catalog.accelerators["h200-sxm"])
    assert float(eff.fraction("gemm", "fp8", 4)) == pytest.approx(0.3)
    assert float(eff.fraction("gemm", "fp8", 0.25)) == pytest.approx(0.1)
    assert float(eff.fraction("gemm", "fp8", 1e6)) == pytest.approx(0.5)


def test_a_chips_own_curve_wins_over_its_class(catalog):
    """H200's own curve applies to H200; another GPU without one falls back to the gpu class curve."""
    assert float(chip_efficiency(catalog, catalog.accelerators["h200-sxm"]).fraction("gemm", "fp8", 1)) == 0.1
    assert float(chip_efficiency(catalog, catalog.accelerators["h20"]).fraction("gemm", "fp8", 1)) == 0.9


def test_engine_factor_scales_the_curves(catalog):
    """An engine reaching 60% of the reference stack's kernels gets 0.6 x the curve."""
    eff = chip_efficiency(catalog, catalog.accelerators["h200-sxm"], factor=0.6)
    assert float(eff.fraction("gemm", "fp8", 16)) == pytest.approx(0.3)


def test_a_weight_only_curve_applies_only_to_weights_stored_at_its_precision(catalog):
    """FP4-stored weights under BF16 math read the weight-only curve; BF16-stored weights, or weights stored at a
    precision without such a curve, read the math precision's curves as before (H200 has no BF16 grouped-GEMM
    curve, so the FP8 one stands in)."""
    eff = chip_efficiency(catalog, catalog.accelerators["h200-sxm"])
    assert float(eff.fraction("grouped_gemm", "bf16", 4, weight_precision="fp4")) == pytest.approx(0.2)
    math_curve = float(eff.kernel_curve("grouped_gemm", "fp8")(4))
    assert math_curve != pytest.approx(0.2)
    assert float(eff.fraction("grouped_gemm", "bf16", 4)) == pytest.approx(math_curve)
    assert float(eff.fraction("grouped_gemm", "bf16", 4, weight_precision="int8")) == pytest.approx(math_curve)
    # a weight-only curve is never a fallback for other math: FP8 math with FP4 weights has no such curve here
    assert float(eff.fraction("grouped_gemm", "fp8", 4, weight_precision="fp4")) == pytest.approx(math_curve)


def test_only_a_weight_only_kernels_own_curve_counts_as_one(catalog):
    """has_weight_only_curve is true where the lookup answers with a weight-only curve (FP4 weights, BF16 math),
    false where narrow weights fall back to the math precision's curve (FP8 weights, no such curve) or are wide."""
    eff = chip_efficiency(catalog, catalog.accelerators["h200-sxm"])
    assert eff.has_weight_only_curve("grouped_gemm", "bf16", weight_precision="fp4")
    assert not eff.has_weight_only_curve("grouped_gemm", "bf16", weight_precision="fp8")
    assert not eff.has_weight_only_curve("grouped_gemm", "bf16")


def test_no_curve_means_none(catalog):
    """A chip class with no kernel curves reports None, so the step uses the class's single efficiencies."""
    assert chip_efficiency(catalog, catalog.accelerators["sn40l"]).fraction("gemm", "bf16", 8) is None


def test_all_to_all_is_alpha_plus_bytes_over_achieved_bandwidth(catalog):
    """EP32 across 8-chip domains: alpha(32) by log2 interpolation plus the off-domain bytes at 50% of the link."""
    eff = chip_efficiency(catalog, catalog.accelerators["h200-sxm"])
    t = float(collectives.all_to_all_s(3.1e6, 32, 8, 450e9, 50e9, eff=eff))
    alpha = (20 + (100 - 20) / 3) * 1e-6  # log2 32 is a third of the way from 16 to 128
    assert t == pytest.approx(alpha + 3.1e6 * 24 / 31 / (50e9 * 0.5))
    assert float(collectives.all_to_all_s(3.1e6, 1, 8, 450e9, 50e9, eff=eff)) == 0


def test_a_gemm_streaming_the_same_weights_is_never_faster_with_more_tokens():
    """Curve.monotone caps a rising memory-bound fraction at the smallest one measured from 1 up to x, leaves a
    falling curve alone, and lets the compute-bound side rise no faster than its FLOPs."""
    from calculators.model.efficiency import _curve

    rising = _curve("t", [(0.25, 0.3), (1, 0.6), (3, 0.9), (10, 0.8), (100, 0.4)])
    xs = np.geomspace(1, 200, 400)
    memory_bound = rising.monotone(xs, 0.0)  # no FLOPs: time = bytes / f
    assert np.all(np.diff(1 / memory_bound) >= -1e-12)
    assert memory_bound[0] == pytest.approx(0.6)  # x' from 1: the 0.25 point is below any real shape
    assert rising.monotone(np.array([50.0]), 0.0)[0] == pytest.approx(rising(50.0))  # falling part unchanged
    # FLOPs grow with x at a fixed ratio to x: time = max(B, F) / f, F = c x, never falls
    c = 0.05
    times = np.maximum(1.0, c * xs) / rising.monotone(xs, c * xs)
    assert np.all(np.diff(times) >= -1e-12)
    falling = _curve("f", [(1, 0.9), (8, 0.8), (64, 0.5)])
    assert falling.monotone(xs, 0.0) == pytest.approx(falling(xs))
