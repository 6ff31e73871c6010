"""The calculator calls behind the pages, uncached and without Streamlit: the cached wrappers in
:mod:`ui.results` and the stakeholder report (:mod:`ui.report`) both call these, so the report shows exactly the
numbers the pages show for the same scenario.

A :class:`~calculators.errors.ScenarioError` (a chip without the chosen precision, a bad override) comes back as an
:class:`Unavailable` with the calculator's own message, so one chip's problem never hides the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from calculators.assumptions import resolve_assumptions
from calculators.deployment import Demand
from calculators.errors import ScenarioError
from calculators.fleet import Sizing, frontier_costs, size
from calculators.precision import candidate_precisions, is_best, no_candidate_reason
from calculators.records import Catalog
from calculators.shapes import SHIPPED
from calculators.sweep import SweepSpec, sweep
from ui.params import Scenario

Files = tuple[tuple[str, bytes], ...]
Overrides = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Unavailable:
    """A calculator refused the inputs; ``reason`` is its message (what and why)."""

    accelerator: str
    reason: str


@dataclass(frozen=True)
class Targets:
    """The scenario values every sizing call shares (hashable, so it keys the caches)."""

    model: str
    per_user_tokens_per_s: float
    total_output_tokens_per_s: float
    input_tokens: int
    output_tokens: int
    context_tokens: int
    engine: str | None
    overrides: Overrides
    max_time_to_first_token_s: float | None = None
    chip_engines: tuple[tuple[str, str], ...] = ()
    chip_overrides: tuple[tuple[str, Overrides], ...] = ()
    """Per chip: the engine and the assumption overrides (prices, lifetime) the user set for it."""

    def engine_for(self, accelerator: str) -> str | None:
        """The engine for ``accelerator``: the user's choice for it, else the scenario's (None: its default)."""
        return dict(self.chip_engines).get(accelerator, self.engine)

    def overrides_for(self, accelerator: str) -> dict[str, Any]:
        """The scenario's assumption overrides with ``accelerator``'s own on top."""
        return {**dict(self.overrides), **dict(dict(self.chip_overrides).get(accelerator, ()))}


def targets(scenario: Scenario, **changes: Any) -> Targets:
    """The scenario's targets and assumption overrides (``changes`` replaces any of them)."""
    values = {
        "model": scenario.model or "",
        "per_user_tokens_per_s": scenario.per_user_tokens_per_s,
        "total_output_tokens_per_s": scenario.total_output_tokens_per_s,
        "input_tokens": scenario.input_tokens,
        "output_tokens": scenario.output_tokens,
        "context_tokens": scenario.context_tokens,
        "engine": scenario.engine,
        "overrides": tuple(sorted(scenario.overrides().items())),
        "max_time_to_first_token_s": scenario.max_time_to_first_token_s,
        "chip_engines": tuple(sorted(scenario.chip_engine)),
        "chip_overrides": tuple(sorted((chip, tuple(sorted(scenario.chip_overrides(chip).items())))
                                       for chip in {c for key in ("chip_usd_per_hour", "chip_capex_usd",
                                                                  "chip_lifetime_years")
                                                    for c, _ in getattr(scenario, key)})),
    }
    values.update(changes)
    return Targets(**values)


def size_chip(catalog: Catalog, t: Targets, accelerator: str, precision: str,
              extra: Overrides = (), topology: str = SHIPPED) -> Sizing | Unavailable:
    """``calculators.fleet.size`` for one chip; ``extra`` overrides assumptions on top of the scenario's;
    ``topology`` is the replica shape (``shipped`` by the vendor, or a larger ``assumed`` one)."""
    try:
        a = resolve_assumptions(catalog, accelerator, engine=t.engine_for(accelerator),
                                **{**t.overrides_for(accelerator), **dict(extra)})
        return size(catalog, Demand(model=t.model, accelerator=accelerator, precision=precision,
                                    per_user_tokens_per_s=t.per_user_tokens_per_s,
                                    total_output_tokens_per_s=t.total_output_tokens_per_s, input_tokens=t.input_tokens,
                                    output_tokens=t.output_tokens, context_tokens=t.context_tokens, assumptions=a,
                                    topology=topology, max_time_to_first_token_s=t.max_time_to_first_token_s))
    except ScenarioError as exc:
        return Unavailable(accelerator, str(exc))


def sweep_chips(catalog: Catalog, t: Targets, accelerators: Sequence[str],
                precision: str) -> tuple[pd.DataFrame, tuple[Unavailable, ...]]:
    """``calculators.sweep.sweep`` for the chips that support ``precision`` (``best``: each chip over every
    precision it computes in and the model is served in); the others come back as Unavailable. Each point carries
    its decode replica's $ per million output tokens, owned and rented (``calculators.fleet.frontier_costs``).
    Each chip runs under its engine and assumption overrides in ``t`` (its own over the scenario's)."""
    model, context_tokens = t.model, t.context_tokens
    frames: list[pd.DataFrame] = []
    skipped: list[Unavailable] = []
    for chip in accelerators:
        try:
            a = resolve_assumptions(catalog, chip, engine=t.engine_for(chip), **t.overrides_for(chip))
            if is_best(precision):
                if not candidate_precisions(catalog, catalog.models[model], catalog.accelerators[chip]):
                    skipped.append(Unavailable(chip, no_candidate_reason(catalog, catalog.models[model],
                                                                         catalog.accelerators[chip])))
                    continue
            elif precision not in catalog.accelerators[chip].peak_tflops:
                skipped.append(Unavailable(chip, f"{chip} has no {precision} math; it supports: "
                                                 f"{', '.join(catalog.accelerators[chip].precisions)}"))
                continue
            frames.append(frontier_costs(catalog, sweep(catalog, SweepSpec(model=model, accelerators=[chip],
                                                        precisions=[precision], context_tokens=context_tokens,
                                                        assumptions={chip: a})), {chip: a}))
        except ScenarioError as exc:
            skipped.append(Unavailable(chip, str(exc)))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, tuple(skipped)
