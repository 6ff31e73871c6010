"""What a step is made of: named operations over the whole grid of configurations, and the registry of the blocks
that build them.

A step (:mod:`.step`) is a list of :class:`Op` records, each one operation of one replica's step on the busiest
chip, its fields numpy arrays over the grid (or scalars that broadcast). Three kinds, by where the op's time comes
from:

- ``roofline``: bytes and FLOPs per chip priced at the kernel curve's fraction of peak for the op's shape,
  t = max(bytes x s/B at peak, FLOPs / peak FLOP/s) / f(shape) + calls x floor (F7);
- ``collective``: alpha-beta parts, (latency, transfer) seconds for the whole step (F8), hidden or not by the
  two-micro-batch overlap;
- ``fixed``: seconds known when the op is built (the engine's per-layer cost, host time, prefill chunks).

Each op's ``name`` is one of :data:`STEP_OPS`, the public names of the step's breakdown (``predict --json``
``step_breakdown_ms``, the sweep's ``step_<op>_ms`` columns); several collectives may share a name (every
all-reduce and pipeline hop is ``all_reduce_and_hops``) and their times add. A block (attention, dense FFN, MoE,
LM head, collectives, fixed costs) is a function of the step's setup and terms returning its ops, registered by
kind with :func:`block`; which blocks a model has is :func:`.step.blocks_for`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

STEP_OPS: dict[str, str] = {
    "fixed_per_layer": "fixed",
    "host": "fixed",
    "attention_projections": "component:attention_weights",
    "attention_core": "component:kv_cache",
    "dense_ffn": "component:dense_ffn",
    "shared_experts_and_router": "component:shared_experts",
    "routed_experts": "component:routed_experts",
    "lm_head": "component:lm_head",
    "moe_dispatch": "interconnect",
    "moe_combine": "interconnect",
    "all_reduce_and_hops": "interconnect",
    "prefill_chunks": "compute",
}
"""The named operations a step is the sum of (``step_breakdown_ms``), each with where its bound comes from: a fixed
cost, a roofline component (memory or compute, whichever its kernel is held by), or a collective."""
OP_KINDS = ("roofline", "collective", "fixed")
MEMORIES = ("weights", "kv", "experts")
"""What a roofline op streams, hottest first: the tier placement (F3) gives each its own seconds per byte."""
SIDES = ("attention", "moe")
"""The two halves of the two-micro-batch overlap a roofline op computes in (:func:`.collectives.two_micro_batch_s`)."""


class Kernel(NamedTuple):
    """Where an op sits on its measured kernel curve (:mod:`.efficiency`): the curve (``gemm``, ``grouped_gemm``,
    ``decode_attention``), the precision its math runs at, the shape ``x`` (tokens M, tokens per expert, or KV tokens
    per chip), the curve's variant (the attention type), if any, and the precision its weights are stored in when
    narrower than the math (a weight-only kernel, dequantising them inside), else None."""

    op: str
    precision: str
    x: Any
    variant: str | None = None
    weight_precision: str | None = None


@dataclass(frozen=True)
class Op:
    """One operation of a step over the grid of configurations (arrays broadcast together; scalars allowed).

    Roofline ops: ``bytes_per_chip`` read from ``streams`` and ``flops_per_chip``, priced on ``kernel`` with
    ``calls`` kernel calls' per-call floor; ``side`` says which compute half of the overlap it is, and
    ``rereads_weights`` that each micro-batch streams its weights again. Collectives: ``latency_s`` and
    ``transfer_s`` of all the step's calls (a call on half the tokens pays the latency again and half the transfer).
    Fixed ops: ``seconds``."""

    name: str
    kind: str
    bytes_per_chip: Any = 0.0
    flops_per_chip: Any = 0.0
    streams: str = "weights"
    kernel: Kernel | None = None
    calls: float = 0
    side: str = "attention"
    rereads_weights: bool = False
    latency_s: Any = 0.0
    transfer_s: Any = 0.0
    seconds: Any = 0.0

    def __post_init__(self):
        # the names are a public contract (JSON keys, CSV columns); a typo must fail here, not vanish from a sum
        if self.name not in STEP_OPS:
            raise ValueError(f"op {self.name!r} is not one of the step's named operations")
        if self.kind not in OP_KINDS or self.streams not in MEMORIES or self.side not in SIDES:
            raise ValueError(f"op {self.name!r}: bad kind, memory or side ({self.kind}, {self.streams}, {self.side})")
        if (self.kind == "roofline") != STEP_OPS[self.name].startswith("component:"):
            raise ValueError(f"op {self.name!r} is a {STEP_OPS[self.name]!r} operation, not {self.kind!r}")
        if self.kind == "roofline" and self.kernel is None:
            raise ValueError(f"roofline op {self.name!r} needs its kernel shape")

    @property
    def component(self) -> str | None:
        """The roofline component it prices (``attention_weights``, ``kv_cache``, ...), None for other kinds."""
        bound = STEP_OPS[self.name]
        return bound.split(":", 1)[1] if bound.startswith("component:") else None


Builder = Callable[..., tuple[Op, ...]]
BLOCKS: dict[str, Builder] = {}
"""Block builders by kind: ``builder(setup, terms) -> tuple[Op, ...]`` (:mod:`.step` registers them)."""


def block(kind: str) -> Callable[[Builder], Builder]:
    """Register a block builder under ``kind`` (one builder per kind)."""

    def register(builder: Builder) -> Builder:
        if kind in BLOCKS:
            raise ValueError(f"block {kind!r} registered twice")
        BLOCKS[kind] = builder
        return builder

    return register
