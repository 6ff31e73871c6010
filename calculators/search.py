"""The one search policy: which batches, replica sizes and MTP depths a search over deployments tries.

Sizing (:mod:`calculators.fleet`), the claims (:mod:`calculators.claims`), the engine's cap at the throughput peak
(:func:`calculators.serving.best_layout`), the saturated validation points and the sweep's default grid all take
their candidates from here, so two answers never differ by what they looked at, only by what they were asked.
"""

from __future__ import annotations

import numpy as np

from calculators.assumptions import Assumptions
from calculators.records import Model

MAX_BATCH = 262_144
"""The largest running batch any search tries per replica (wide expert-parallel replicas run tens of thousands)."""
BATCHES_PER_OCTAVE = 2
"""Batches a search tries: a geometric grid with ~sqrt(2) steps, fine enough that the best batch for a target is
within ~19% of the exact one."""
PEAK_BATCHES_PER_OCTAVE = 8
"""Running batches an engine may cap at: 2^(j/8), so its cap lands within ~9% of the exact peak, where the curve
is flat; one fixed grid, so every concurrency sees the same candidates below it."""
MAX_REPLICA_NODES = 64
"""The largest replica (in nodes) a sizing tries beyond what capacity needs (twice the capacity minimum when that
is larger); ``topology: shipped`` keeps to what the vendor ships."""
SWEEP_MAX_BATCH = 4096
SWEEP_MAX_REPLICA_NODES = 32
"""The sweep CSV's default reach: the same kind of grid, coarser and shorter, since it writes every row to a file
people open (132k rows for the shipped catalog); ``sweep`` takes wider grids as arguments."""


def geometric_batches(limit: int, per_octave: int) -> np.ndarray:
    """Whole batches 2^(j / per_octave) from 1 up to ``limit`` (rounded, deduplicated)."""
    steps = int(np.floor(np.log2(max(limit, 1)) * per_octave + 1e-9)) + 1
    return np.unique(np.round(2 ** (np.arange(steps) / per_octave)).astype(int))


def batch_grid(limit: int = MAX_BATCH) -> tuple[int, ...]:
    """The batches a search tries, up to ``limit`` and ``limit`` itself."""
    grid = geometric_batches(limit, BATCHES_PER_OCTAVE)
    return tuple(int(b) for b in np.unique(np.append(grid[grid < limit], limit)))


def sweep_batches() -> tuple[int, ...]:
    """The sweep's default batches: powers of two to :data:`SWEEP_MAX_BATCH`."""
    return tuple(int(b) for b in geometric_batches(SWEEP_MAX_BATCH, 1))


def peak_batch_candidates(concurrency: int) -> np.ndarray:
    """The running batches tried for the throughput peak: the fixed fine grid below ``concurrency``, and it."""
    grid = geometric_batches(concurrency, PEAK_BATCHES_PER_OCTAVE)
    return np.unique(np.append(grid[grid < concurrency], concurrency)).astype(float)


def default_mtp_layers(model: Model, assumptions: Assumptions) -> int:
    """The MTP depth a deployment runs when none is named: the engine's published recipe's
    (``mtp_layers_default``), where the model has an MTP module; else none."""
    return min(assumptions.mtp_layers_default, assumptions.max_mtp_layers) if model.mtp is not None else 0


def mtp_candidates(model: Model, assumptions: Assumptions) -> list[int]:
    """The MTP depths a search tries when none is named: none, and the engine's recipe depth."""
    return sorted({0, default_mtp_layers(model, assumptions)})
