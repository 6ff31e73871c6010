"""Parallel layouts of one model replica and the search over them (F10's choice of layout).

A replica of N chips runs attention with tensor parallel ``attention_tp`` inside data-parallel groups
(``attention_dp`` = N / (attention_tp x pipeline_stages); DP attention keeps each sequence's MLA latent on one
TP group instead of replicating it on every chip) and the routed experts with expert parallel ``moe_ep`` times
tensor parallel ``moe_tp`` (moe_ep x moe_tp = N / pipeline_stages). Labels read like the engines' flags:
``tp8`` (everything TP8), ``dp8-ep8`` (DP attention + EP8, SGLang's ``--enable-dp-attention``), ``tp4dp2-ep8``,
``tp8-ep8``, and a ``pp4-`` prefix for four pipeline stages.

Pipeline stages split the layers across groups of chips. They add capacity, not speed: a token still passes every
layer in turn, so a replica of N chips in P stages serving B sequences decodes like one stage of N/P chips serving
B/P sequences per micro-batch, with P micro-batches in flight. They are considered only for SRAM-only chips (Groq,
Cerebras), whose per-chip memory cannot hold even one layer set of a large model otherwise.

Each layout has a kind (:attr:`Layout.kind`, one of ``calculators.records.LAYOUT_KINDS``): ``tp``, ``tp-ep``,
``dp-tp``, ``dp-ep`` or ``pipeline``. An engine declares the kinds it runs; :func:`candidate_layouts` filters by them
and :func:`check_layout_kind` refuses a stated layout of another kind. A dense model has no experts (``moe_ep`` 1):
its layouts are ``tp``, ``pipeline`` on SRAM chips, and ``dp-tp`` for the fallback ``tpNdpM-tpK`` when the stage
has more chips than the attention can shard over (more chips than heads, or beyond the scale-up domain).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from calculators.errors import ScenarioError
from calculators.records import LAYOUT_KINDS, Accelerator, Model


def sram_only(chip: Accelerator) -> bool:
    """A chip whose only memory is on-chip SRAM (Groq, Cerebras): its chip count is set by capacity alone, and only
    its layouts may add pipeline stages."""
    return all(t.tier == "sram" for t in chip.memory_tiers)


@dataclass(frozen=True)
class Layout:
    """How a replica of ``chips`` chips splits attention (TP x DP) and the routed experts (EP x TP)."""

    chips: int
    attention_tp: int
    moe_ep: int
    pipeline_stages: int = 1

    @property
    def stage_chips(self) -> int:
        return self.chips // self.pipeline_stages

    @property
    def attention_dp(self) -> int:
        return self.stage_chips // self.attention_tp

    @property
    def moe_tp(self) -> int:
        return self.stage_chips // self.moe_ep

    @property
    def label(self) -> str:
        t, d = self.attention_tp, self.attention_dp
        attention = f"tp{t}" if d == 1 else (f"dp{d}" if t == 1 else f"tp{t}dp{d}")
        if self.moe_ep == 1:
            label = attention if (d == 1) else f"{attention}-tp{self.stage_chips}"
        else:
            label = f"{attention}-ep{self.moe_ep}" + (f"tp{self.moe_tp}" if self.moe_tp > 1 else "")
        return label if self.pipeline_stages == 1 else f"pp{self.pipeline_stages}-{label}"

    @property
    def kind(self) -> str:
        """``pipeline`` with more than one stage, else by attention (TP or DP groups) and experts (EP or TP):
        ``tp``, ``tp-ep``, ``dp-tp`` or ``dp-ep``."""
        if self.pipeline_stages > 1:
            return "pipeline"
        attention = "tp" if self.attention_dp == 1 else "dp"
        experts = "ep" if self.moe_ep > 1 else "tp"
        return "tp" if (attention, experts) == ("tp", "tp") else f"{attention}-{experts}"


def check_layout_kind(layout: Layout, kinds: tuple[str, ...], engine: str) -> Layout:
    """``layout`` when its kind is one of ``kinds`` (the engine's), else a ScenarioError naming the engine."""
    if layout.kind not in kinds:
        raise ScenarioError(
            f"engine {engine!r} does not run layout kind {layout.kind!r} (layout {layout.label}; supports: "
            f"{', '.join(kinds)})"
        )
    return layout


def _powers_of_two_dividing(n: int, most: int) -> list[int]:
    out, p = [], 1
    while p <= min(n, most):
        if n % p == 0:
            out.append(p)
        p *= 2
    return out


def candidate_layouts(
    model: Model, chips: int, scale_up_domain_chips: int, *, pipeline: bool = False,
    kinds: tuple[str, ...] = LAYOUT_KINDS,
) -> list[Layout]:
    """Every layout considered for ``chips`` chips.

    attention_tp: powers of two dividing the stage, at most the attention heads and the scale-up domain unless the
    stage is larger (then up to the heads: SRAM-only chips must shard that far); DP groups fill the rest. Experts:
    expert parallel over every chip of the stage (more ranks than experts hold replicas, as DeepSeek's EP320 does),
    or pure tensor parallel when the stage fits in the scale-up domain. A dense model has no expert choice.
    ``pipeline`` adds power-of-two pipeline stages (at most one per layer), and lets a stage's attention shard over
    all its chips even when they are not a power of two. ``kinds`` keeps only layouts of those kinds (an engine's
    :attr:`~calculators.records.Engine.supported_layout_kinds`); the list may then be empty.
    """
    if chips < 1:
        raise ScenarioError(f"'chips' must be >= 1 (got {chips})")
    stages = _powers_of_two_dividing(chips, model.layers) if pipeline else [1]
    layouts = []
    for pp in stages:
        n = chips // pp
        most_tp = model.attention.heads if pipeline else min(model.attention.heads, max(1, scale_up_domain_chips))
        tps = _powers_of_two_dividing(n, most_tp)
        if pipeline and n <= most_tp and n not in tps:
            # a compiled SRAM pipeline shards each stage over all its chips, whatever their count (Groq's 576 =
            # 64 stages x 9): no DP copies of the weights, which SRAM cannot afford
            tps.append(n)
        if model.moe is None:
            layouts += [Layout(chips, t, 1, pp) for t in tps if t == n] or [Layout(chips, tps[-1], 1, pp)]
            continue
        for t in tps:
            layouts.append(Layout(chips, t, n, pp))
            if n <= scale_up_domain_chips and n > 1 and t == n:
                layouts.append(Layout(chips, t, 1, pp))
    return [lay for lay in layouts if lay.kind in kinds]


_LABEL = re.compile(r"^(?:pp(\d+)-)?(?:tp(\d+))?(?:dp(\d+))?(?:-(?:ep(\d+))?(?:tp(\d+))?)?$")


def parse_layout(label: str, model: Model, chips: int) -> Layout:
    """The :class:`Layout` a label names (``tp8``, ``dp8-ep8``, ``tp4dp2-ep8``, ``pp4-tp8dp2-ep16`` ...), checked
    against ``chips``."""
    m = _LABEL.match(label or "")
    if not label or not m or not any(m.groups()):
        raise ScenarioError(f"'layout' must be 'auto' or a label like tp8, dp8-ep8, tp4dp2-ep8 (got {label!r})")
    pp, t, d, e, mt = (int(g) if g else None for g in m.groups())
    pp = pp or 1
    if pp < 1 or chips % pp:
        raise ScenarioError(f"'layout' {label!r}: {pp} pipeline stages do not divide {chips} chips")
    n = chips // pp
    t = t or (n // d if d else n)
    d = d or max(n // max(t, 1), 1)
    if t < 1 or t * d != n:
        raise ScenarioError(f"'layout' {label!r} uses {t * d * pp} chips but 'chips' is {chips}")
    if model.moe is None:
        e = 1
    elif e is None:
        e = 1 if (mt or n) == n else n // mt
    if e < 1 or n % e or (mt and e * mt != n) or t > model.attention.heads:
        raise ScenarioError(f"'layout' {label!r} does not split {chips} chips evenly")
    return Layout(chips, t, e, pp)
