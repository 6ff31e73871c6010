"""Achieved fraction of peak by op class and shape: the catalog's measured kernel and collective curves.

A kernel's time is its roofline at the catalog's peaks divided by the fraction its curve gives at its shape, plus,
for curves that carry one (the GEMMs), a fixed cost per kernel call:
    t = calls x floor + max(bytes x seconds per byte at peak bandwidth, FLOPs / peak FLOP/s) / f_op(x)
with x the op's shape axis (gemm: tokens M; grouped_gemm: tokens per expert; decode_attention: KV tokens read per
chip per step; prefill_attention: prompt tokens). The curves are derived from measured op tables by
``tools/derive_kernel_curves.py`` (AIConfigurator, DeepGEMM, FlashMLA, DeepEP, AMD's MLPerf v5.1 hipBLASLt table for
MI325X FP8 GEMMs; scaled, as assumptions, for chips without their own tables) and stored as a few points each; f
is interpolated linearly in log2(x) and clamped.
A collective costs alpha(group) + bytes per chip / (link bandwidth x achieved fraction) (:mod:`.collectives`).

A weight-only kernel, whose weights are stored narrower than its math and dequantised inside the kernel, has a curve
of its own where one was measured (``weight_precision``): gpt-oss's MoE on Hopper runs MXFP4 weights x BF16
activations in the Triton MXFP4 kernel, whose tiles, dequantisation and BF16 MMA set a different shape of curve
than a BF16 or block-scaled FP8 grouped GEMM of the same size. Its roofline is the step's own: the narrow weights'
bytes at HBM peak against the FLOPs at the math's peak. Without such a curve the math precision's curve applies.

Where the catalog has no curve for a chip (or its chip class), the chip class's single efficiencies are used, as
the first-generation model did: memory at ``memory_bandwidth_efficiency``, compute at ``compute_efficiency_decode``,
links at ``interconnect_efficiency`` with no latency. The engine's ``kernel_efficiency_factor`` scales every curve:
a software stack reaches that share of what the reference stack measured on the same chip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from calculators.records import Accelerator, Catalog, CollectiveCurve, KernelCurve

PRECISION_FALLBACK = ("fp8", "bf16", "fp4", "int8")
"""When a chip has no curve at the precision asked for, the first of these it has stands in (the shape of a
kernel's efficiency curve is set by tiling and memory traffic more than by its number format)."""


@dataclass(frozen=True)
class Curve:
    """One interpolable curve: log2 of the x points and the values there, and a kernel's per-call floor (s)."""

    log2_x: np.ndarray
    y: np.ndarray
    id: str
    floor_s: float = 0.0
    measured: bool = False
    """Derived from measured tables of this chip's own silicon (kind ``measured``, or ``measured_on`` a chip of the
    same compute die), not scaled from another chip's."""
    kv_elements_per_token: int | None = None
    """decode_attention: the measured shape's KV elements per cached token per layer per chip (x's unit)."""
    time_per_x: np.ndarray | None = None
    """For an op whose work grows in proportion to x (decode attention: x is the KV read), the time per unit of work
    x / f(x) at the points made non-decreasing (their running maximum), interpolated in place of f: more work never
    takes less time, though binned measurements (a geometric mean per power-of-two bin over mixed shapes) can dip."""

    def __call__(self, x) -> np.ndarray:
        x = np.maximum(np.asarray(x, dtype=float), 1e-12)
        lx = np.log2(x)
        if self.time_per_x is None:
            return np.interp(lx, self.log2_x, self.y)
        inside = x / np.interp(lx, self.log2_x, self.time_per_x)
        # outside the measured range f is held at its end values (time in proportion to the work), as for any curve
        first, last = 2 ** self.log2_x[0] / self.time_per_x[0], 2 ** self.log2_x[-1] / self.time_per_x[-1]
        return np.where(lx < self.log2_x[0], first, np.where(lx > self.log2_x[-1], last, inside))

    def monotone(self, x, flops_over_bytes) -> np.ndarray:
        """f at ``x`` for a kernel tiled on x over weights it streams once (a GEMM's tokens M, a grouped GEMM's
        tokens per touched expert), never above what makes its time fall as x grows. At x it reads the same bytes
        B as at any x' < x and does x / x' the FLOPs, so it takes at least as long as at x':
            R(x) / f_eff(x) >= max over 1 <= x' <= x of R(x') / f(x'),   R(x') = max(B, F x' / x)
            f_eff(x) = min over 1 <= x' <= x of f(x') max(B, F) / max(B, F x' / x)
        with ``flops_over_bytes`` = F / B at x. While memory-bound that is the smallest fraction measured at any
        smaller shape: streaming the same weights for more tokens never takes less time, though binned measurements (a
        geometric mean per bin over mixed shapes and routings) can rise with x (the grouped-GEMM tables rise by up to
        18% from 1 to 3 tokens per expert). Past the ridge the added FLOPs cost what they cost, so a falling compute-
        bound curve is unchanged. It is the GEMMs' counterpart of decode attention's running maximum of time per unit of
        work (``time_per_x``). x' starts at 1: a GEMM has at least one row and a touched expert at least one token (the
        grouped-GEMM curves' points below 1 are the tables' mean over all experts, untouched ones included). f is linear
        in log2(x) between points, so the minimum is at 1, at a point between 1 and x,
        at x, or where x' crosses the ridge (x' = x B / F)."""
        x = np.maximum(np.asarray(x, dtype=float), 1e-12)
        knots = np.array((1.0, *(2.0 ** self.log2_x[self.log2_x > 0])))
        at_knots = self(knots)
        if np.all(np.diff(at_knots) <= 0):  # never rises from 1 on: f(x) is already the minimum
            return self(x)
        x, ratio = np.broadcast_arrays(x, np.maximum(np.asarray(flops_over_bytes, dtype=float), 0.0))
        shape, x, ratio = x.shape, x.ravel(), ratio.ravel()
        relative_roofline = np.maximum(1.0, ratio)  # R(x) / B

        def bounded_by(xp, f_xp):  # the bound a smaller shape xp (f there f_xp) sets at x; broadcasts
            return f_xp * relative_roofline / np.maximum(1.0, ratio * xp / x)

        # every knot below x at once (knots x shapes), then the ridge crossing
        below = np.where(knots[:, None] < x[None, :], bounded_by(knots[:, None], at_knots[:, None]), np.inf)
        worst = np.minimum(self(x), below.min(axis=0))
        ridge = x / np.where(ratio > 0, ratio, 1.0)
        inside = (ratio > 0) & (ridge > 1.0) & (ridge < x)
        xp = np.where(inside, ridge, x)
        return np.where(inside, np.minimum(worst, bounded_by(xp, self(xp))), worst).reshape(shape)


def _curve(cid: str, points, floor_us: float | None = None, measured: bool = False,
           kv_elements_per_token: int | None = None, work_grows_with_x: bool = False) -> Curve:
    xs, ys = (np.asarray(v, dtype=float) for v in zip(*points, strict=True))
    time_per_x = np.maximum.accumulate(xs / ys) if work_grows_with_x else None
    return Curve(np.log2(xs), ys, cid, (floor_us or 0.0) * 1e-6, measured, kv_elements_per_token, time_per_x)


@dataclass(frozen=True)
class ChipEfficiency:
    """The kernel and collective curves that apply to one chip under one engine."""

    kernels: dict[tuple[str, str | None, str, str | None], Curve] = field(default_factory=dict)
    """By (op, variant, math precision, weight precision of a weight-only kernel or None)."""
    collectives: dict[tuple[str, str], tuple[Curve, float]] = field(default_factory=dict)
    factor: float = 1.0

    @property
    def has_kernel_curves(self) -> bool:
        return bool(self.kernels)

    def kernel_curve(self, op: str, precision: str, variant: str | None = None,
                     weight_precision: str | None = None) -> Curve | None:
        """The curve of ``op`` at ``precision`` (else at the first fallback precision the chip has), or None. With
        ``weight_precision`` (weights stored narrower than the math), the weight-only kernel's own curve at exactly
        that pair comes first; without one the math precision's curves apply as they would to wide weights."""
        if weight_precision is not None and weight_precision != precision:
            for v in (variant, None):
                curve = self.kernels.get((op, v, precision, weight_precision))
                if curve is not None:
                    return curve
        for p in (precision, *PRECISION_FALLBACK):
            for v in (variant, None):
                curve = self.kernels.get((op, v, p, None))
                if curve is not None:
                    return curve
        return None

    def fraction(self, op: str, precision: str, x, variant: str | None = None, weight_precision: str | None = None):
        """Achieved fraction of the peak roofline of ``op`` at shape ``x`` (None when the chip has no such curve)."""
        curve = self.kernel_curve(op, precision, variant, weight_precision)
        if curve is None:
            return None
        return np.clip(curve(x) * self.factor, 1e-6, 1.0)

    def has_weight_only_curve(self, op: str, precision: str, variant: str | None = None,
                    weight_precision: str | None = None) -> bool:
        """Whether :meth:`kernel_curve` answers with a weight-only kernel's own curve (weights stored at
        ``weight_precision``, math at ``precision``), not the math precision's."""
        curve = self.kernel_curve(op, precision, variant, weight_precision)
        return curve is not None and curve is not self.kernel_curve(op, precision, variant)

    def monotone_fraction(self, op: str, precision: str, x, flops_over_bytes, variant: str | None = None,
                          weight_precision: str | None = None):
        """:meth:`fraction` never above what lets the op's time fall as x grows (:meth:`Curve.monotone`): for the
        GEMMs, which stream the same weights whatever their tokens. None when the chip has no such curve."""
        curve = self.kernel_curve(op, precision, variant, weight_precision)
        if curve is None:
            return None
        return np.clip(curve.monotone(x, flops_over_bytes) * self.factor, 1e-6, 1.0)

    def measured(self, op: str, precision: str, variant: str | None = None,
                 weight_precision: str | None = None) -> bool:
        """Whether the curve :meth:`fraction` uses was measured on this chip's silicon (its own table, or one of a chip
        on the same compute die: ``measured_on``), not scaled from another chip's."""
        curve = self.kernel_curve(op, precision, variant, weight_precision)
        return curve is not None and curve.measured

    def floor_s(self, op: str, precision: str, variant: str | None = None,
                weight_precision: str | None = None) -> float:
        """The per-call floor of the curve :meth:`fraction` uses (0 when the curve has none or there is no curve)."""
        curve = self.kernel_curve(op, precision, variant, weight_precision)
        return 0.0 if curve is None else curve.floor_s

    def collective(self, op: str, scope: str) -> tuple[Curve, float] | None:
        """(alpha curve in us by group size, achieved bandwidth fraction) of ``op`` in ``scope``, or None."""
        return self.collectives.get((op, scope))


def _applies(entry: KernelCurve | CollectiveCurve, chip: Accelerator) -> int | None:
    """0 for a chip's own curve, 1 for its chip class's fallback, None when the curve is for something else."""
    if entry.accelerator == chip.id:
        return 0
    if entry.accelerator == chip.chip_class:
        return 1
    return None


EFFICIENCY_MEMO_SIZE = 256
"""Chip efficiencies kept per catalog (by chip and factor)."""


def chip_efficiency(catalog: Catalog, chip: Accelerator, factor: float = 1.0) -> ChipEfficiency:
    """Collect the curves for ``chip``: its own where the catalog has them, else its chip class's. Built once per
    (catalog, chip, factor) in ``catalog.memo``; a chip record that is not the catalog's own (a caller's edited
    copy under the same id) is built afresh, never read from or written to the memo."""
    if catalog.accelerators.get(chip.id) is not chip:
        return _build_chip_efficiency(catalog, chip, factor)
    return catalog.memo.get("efficiency", (chip.id, float(factor)),
                            lambda: _build_chip_efficiency(catalog, chip, factor), size=EFFICIENCY_MEMO_SIZE)


def _build_chip_efficiency(catalog: Catalog, chip: Accelerator, factor: float) -> ChipEfficiency:
    kernels: dict[tuple[str, str | None, str, str | None], tuple[int, Curve]] = {}
    for c in catalog.kernel_curves.values():
        rank = _applies(c, chip)
        key = (c.op, c.variant, c.precision, c.weight_precision)
        if rank is not None and (key not in kernels or rank < kernels[key][0]):
            kernels[key] = (rank, _curve(c.id, c.points, c.floor_us, c.kind == "measured" or c.measured_on is not None,
                                         c.kv_elements_per_token,
                                         work_grows_with_x=c.op == "decode_attention"))
    collectives: dict[tuple[str, str], tuple[int, Curve, float]] = {}
    for c in catalog.collective_curves.values():
        rank = _applies(c, chip)
        key = (c.op, c.scope)
        if rank is not None and (key not in collectives or rank < collectives[key][0]):
            collectives[key] = (rank, _curve(c.id, c.latency_us), c.bandwidth_fraction)
    return ChipEfficiency(
        kernels={k: v[1] for k, v in kernels.items()},
        collectives={k: (v[1], v[2]) for k, v in collectives.items()},
        factor=factor,
    )


def op_time_s(bytes_s_at_peak, flops_s_at_peak, fraction, *, bytes_s_fallback, flops_s_fallback, floor_s=0.0):
    """One op's time: its per-call floors plus its peak roofline over the curve's fraction, or (no curve) the
    class-efficiency roofline.

    ``bytes_s_at_peak`` and ``flops_s_at_peak`` are the memory and compute times at 100% of the peaks; the fallbacks
    the same at the chip class's single efficiencies; ``floor_s`` the op's calls times the curve's per-call floor.
    Returns (time, bytes time, FLOPs time), the floor on the side that binds, so a caller can still tell which side
    bound the op."""
    if fraction is None:
        return np.maximum(bytes_s_fallback, flops_s_fallback), bytes_s_fallback, flops_s_fallback
    b = bytes_s_at_peak / fraction
    f = flops_s_at_peak / fraction
    memory_bound = b >= f
    return (
        np.maximum(b, f) + floor_s,
        b + np.where(memory_bound, floor_s, 0.0),
        f + np.where(memory_bound, 0.0, floor_s),
    )
