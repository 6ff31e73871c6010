"""Vendor claims checked by the model: a verdict for each entry of the catalog's ``claims`` registry.

A claim carries the scenario it implies (:class:`~calculators.records.ClaimScenario`); :func:`check_claim` evaluates
that scenario with the public calculators only (``decode.predict``, ``fleet.size``, ``assumptions``) and compares
the result with the claimed number. The verdict uses one vocabulary for every kind of claim:

- ``holds``: the model's central estimate reaches the claim (for ratios: even the unfavourable end of both
  uncertainty bands does);
- ``conditional``: it holds only if something specific is true: one assumption at its favourable catalog end, the
  weights read from HBM, a slower per-user speed, a production rather than a tuned baseline, or the model's
  central estimate; also a claim the catalog calibrates an assumption on (agreement by construction);
- ``unknown`` (shown "Can't tell"): the claim is inside the model's uncertainty band, or the model cannot size it;
  the band is the leave-one-source-out error of the scenario's regime and chip class (:mod:`calculators.crossval`)
  and the verdict names it ("inside the cross-validated error at concurrency ≥ 64 on GPUs (±47%)");
- ``fails``: not even the favourable end reaches it.

Each verdict lists what it hinges on. The words are plain text (no markup); the app and the report escape them.
No formula of the model lives here: only calls to the calculators and comparisons (ratios) of their results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from calculators.assumptions import assumption_ranges, resolve_assumptions
from calculators.decode import Prediction, meets_speed, predict, uncertainty_band
from calculators.deployment import Demand, Deployment
from calculators.errors import ScenarioError
from calculators.fleet import Sizing, size
from calculators.records import Accelerator, Catalog, Claim, ClaimScenario
from calculators.search import batch_grid, mtp_candidates

Status = Literal["holds", "conditional", "fails", "unknown"]
STATUS_LABELS: dict[str, str] = {"holds": "Holds", "conditional": "Conditional", "fails": "Does not hold",
                                 "unknown": "Can't tell"}
WHAT_IF_SUFFIX = "-hbm-reads"
# the assumptions a per-user speed claim is tried at, each at its favourable catalog end, with how to say it
FAVOURABLE_ENDS: tuple[tuple[str, str, str], ...] = (
    ("fixed_latency_us_per_layer", "low", "the engine's fixed latency is at its low end ({} µs/layer)"),
    ("memory_bandwidth_efficiency", "high", "memory bandwidth efficiency is at its high end ({})"),
    ("usable_memory_fraction", "high", "usable memory is at its high end ({})"),
)


@dataclass(frozen=True)
class ClaimCheck:
    """One claim with the model's verdict; the fields are the CLI's JSON keys."""

    id: str
    vendor: str
    claim: str
    source: str
    source_title: str
    source_url: str | None
    date: str
    kind: str
    unit: str
    claimed: float
    predicted: float | None
    predicted_low: float | None
    predicted_high: float | None
    verdict: str
    status: Status
    finding: str
    hinges: tuple[str, ...]
    scenario: dict[str, Any]
    story: str | None = None
    note: str | None = None
    layout: str | None = None
    mtp_layers: int | None = None
    concurrency: int | None = None
    engine: str | None = None
    chips: int | None = None
    """The configuration the verdict's number was evaluated on (the claim's side): ``predict`` with these flags and
    the scenario's workload gives ``predicted`` for speed and throughput claims; a sized claim states its replica."""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hinges"] = list(self.hinges)
        return out

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class _Outcome:
    verdict: str
    status: Status
    finding: str
    hinges: tuple[str, ...] = ()
    predicted: float | None = None
    low: float | None = None
    high: float | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _config_of(p: Prediction | Sizing) -> dict[str, Any]:
    """The configuration a prediction or a sizing ran (the claim row's ``layout``, ``mtp_layers``, ...)."""
    if isinstance(p, Sizing):
        return {"layout": p.layout or None, "mtp_layers": p.mtp_layers, "concurrency": p.concurrency_per_replica,
                "engine": p.engine, "chips": p.replica_chips}
    return {"layout": p.layout, "mtp_layers": p.mtp_layers, "concurrency": p.concurrency, "engine": p.engine,
            "chips": p.chips}


def n(value: float | None) -> str:
    """A number as a reader wants it: 20,000 / 198 / 3.4 / 0.42; a dash when there is none."""
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def tps(value: float | None) -> str:
    return f"{n(value)} tok/s"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}x" if value < 100 else f"{value:,.0f}x"


# --- scenario plumbing ----------------------------------------------------------------------------------------------


def scenario_with(claim: Claim, changes: Mapping[str, Any] | None) -> ClaimScenario:
    """The claim's scenario with ``changes`` applied (validated again; a bad change raises ScenarioError)."""
    if not changes:
        return claim.scenario
    data = {**claim.scenario.model_dump(), **dict(changes)}
    try:
        return ClaimScenario.model_validate(data)
    except ValueError as exc:
        raise ScenarioError(f"claim {claim.id}: the scenario cannot take these changes ({exc})") from None


def _context(s: ClaimScenario) -> int:
    return s.context_tokens if s.context_tokens is not None else s.input_tokens + s.output_tokens // 2


def _workload(s: ClaimScenario) -> dict[str, int]:
    """How ``predict`` serves the claim's scenario: its workload (prefill sharing the chips, as measured end-to-end
    claims are run) when it names input and output lengths, else a pure decode step at its context."""
    if s.context_tokens is None and s.input_tokens and s.output_tokens:
        return {"input_tokens": s.input_tokens, "output_tokens": s.output_tokens}
    return {"context_tokens": _context(s)}


PREDICTIONS_MEMO_SIZE = 256
"""Prediction lists kept per catalog (by claim scenario, chip, chips, precision, batches and assumptions)."""


@dataclass(frozen=True)
class _Run:
    """What every calculator call of one check shares."""

    catalog: Catalog
    scenario: ClaimScenario
    overrides: Mapping[str, Any]

    def assumptions(self, chip: str, extra: Mapping[str, Any] = (), catalog: Catalog | None = None):
        return resolve_assumptions(catalog or self.catalog, chip, engine=self.scenario.engine,
                                   **{**dict(self.overrides), **dict(extra)})

    def mtps(self, chip: str, catalog: Catalog | None = None) -> list[int]:
        """The MTP depths tried: the one the claim's source states, else none and the engine's recipe depth."""
        if self.scenario.mtp_layers is not None:
            return [self.scenario.mtp_layers]
        return mtp_candidates(self.catalog.models[self.scenario.model], self.assumptions(chip, catalog=catalog))

    def predictions(self, chip: str, chips: int, precision: str, concurrencies: Iterable[int],
                    extra: Mapping[str, Any] = (), catalog: Catalog | None = None) -> list[Prediction]:
        """Every fitting prediction over the batches and MTP depths (each one ``decode.predict`` call), kept in a
        small cache: they do not depend on the targets, so a new per-user target re-reads them."""
        cat = catalog or self.catalog
        a = self.assumptions(chip, extra, cat)
        workload = _workload(self.scenario)
        concurrencies = tuple(concurrencies)
        key = (self.scenario.model, chip, chips, precision, concurrencies, a, tuple(sorted(workload.items())))

        def build() -> tuple[Prediction, ...]:
            out = []
            capped: set[int] = set()  # MTP depths whose engine already caps its batch: more users change nothing
            for c in sorted(concurrencies):
                for k in self.mtps(chip, cat):
                    if k in capped:
                        continue
                    p = predict(cat, Deployment(model=self.scenario.model, accelerator=chip, chips=chips,
                                                precision=precision, concurrency=c, mtp_layers=k, assumptions=a,
                                                **workload))
                    if p.fits_in_memory:
                        out.append(p)
                    if p.running_concurrency < p.concurrency:
                        capped.add(k)
            return tuple(out)

        return list(cat.memo.get("claim-predictions", key, build, size=PREDICTIONS_MEMO_SIZE))

    def sizing(self, chip: str, precision: str, per_user: float, total: float,
               extra: Mapping[str, Any] = (), catalog: Catalog | None = None) -> Sizing:
        s = self.scenario
        return size(catalog or self.catalog, Demand(model=s.model, accelerator=chip, precision=precision,
                    per_user_tokens_per_s=per_user, total_output_tokens_per_s=total, input_tokens=s.input_tokens,
                    output_tokens=s.output_tokens, context_tokens=s.context_tokens, mtp_layers=s.mtp_layers,
                                                    assumptions=self.assumptions(chip, extra, catalog)))


@dataclass(frozen=True)
class _Speed:
    """A per-user speed the model finds for one side, with its band and the replica it was found on."""

    value: float
    high: float | None
    low: float | None
    chips: int
    mtp_layers: int
    how: str
    band: str = "the model's uncertainty band"  # which cross-validated band (regime, class) it carries
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def inside(band: str) -> str:
    """A "Can't tell" verdict naming the band the claim sits inside."""
    return f"Can't tell: the claim is inside {band}"


def band_words(catalog: Catalog, chip: str, concurrency: int, mtp_layers: int) -> str:
    """The band a prediction at this batch carries, named by regime and class (crossval.band_phrase)."""
    from calculators.crossval import band_phrase

    return band_phrase(uncertainty_band(catalog, catalog.accelerators[chip], concurrency, mtp_layers))


def _best_speed(run: _Run, chip: str, chips: int | None, precision: str, target: float,
                extra: Mapping[str, Any] = (), catalog: Catalog | None = None) -> _Speed | None:
    """The fastest per-user speed at the scenario's batch (default one user) over MTP depths: on ``chips`` chips,
    or (``chips`` None) on the fewest chips whose replica reaches ``target`` (else the best reachable)."""
    batch = run.scenario.concurrency or 1
    if chips is None:
        sized = run.sizing(chip, precision, target, target * batch, extra, catalog)
        if not sized.feasible:
            if sized.per_user_tokens_per_s <= 0:
                return None
            return _Speed(sized.per_user_tokens_per_s, None, None, 0, 0, sized.reason)
        chips = sized.replica_chips
    found = run.predictions(chip, chips, precision, (batch,), extra, catalog)
    if not found:
        return None
    best = max(found, key=lambda p: p.per_user_tokens_per_s)
    how = (f"{chips} {chip} at batch {batch}, {best.layout}, "
           + (f"MTP {best.mtp_layers}" if best.mtp_layers else "no MTP"))
    return _Speed(best.per_user_tokens_per_s, best.per_user_tokens_per_s_high, best.per_user_tokens_per_s_low,
                  chips, best.mtp_layers, how, band_words(catalog or run.catalog, chip, batch, best.mtp_layers),
                  _config_of(best))


def hbm_reads_chip(catalog: Catalog, chip_id: str) -> Catalog | None:
    """:func:`hbm_reads_catalog`, built once per catalog and chip (kept in ``catalog.memo``): the same what-if catalog
    object each time, so what the calculators keep in that catalog's own memo (the validation evidence behind every
    uncertainty band, ~0.7 s) is computed once rather than on every check."""
    return catalog.memo.get("hbm-reads-what-if", chip_id, lambda: hbm_reads_catalog(catalog, chip_id), size=16)


def hbm_reads_catalog(catalog: Catalog, chip_id: str) -> Catalog | None:
    """The catalog with a what-if copy of ``chip_id`` (id + ``-hbm-reads``) whose slower tier (DDR) is read at its
    HBM bandwidth: "every byte a step reads comes from HBM" (hot experts cached there, DDR only as backing store),
    which the model's tier placement (fill fastest first, read each byte where it sits) does not assume. None when
    the chip has no HBM and DDR tiers."""
    chip = catalog.accelerators.get(chip_id)
    if chip is None:
        return None
    entry = chip.model_dump(mode="python", exclude_none=True)
    tiers = entry.get("memory_tiers", ())
    hbm = next((t for t in tiers if t.get("tier") == "hbm"), None)
    if hbm is None or not any(t.get("tier") == "ddr" for t in tiers):
        return None
    what_if = {"value": hbm["bandwidth_gb_s"]["value"], "kind": "assumption",
               "note": "what-if: every byte read at HBM bandwidth (hot experts cached in HBM)"}
    entry["memory_tiers"] = tuple({**t, "bandwidth_gb_s": what_if} if t.get("tier") == "ddr" else t for t in tiers)
    entry["id"] = chip_id + WHAT_IF_SUFFIX
    entry["name"] = f"{chip.name} (what-if: all reads at HBM speed)"
    copy = Accelerator.model_validate(entry, strict=False)
    return catalog.model_copy(update={"accelerators": {**catalog.accelerators, copy.id: copy}})


CONFIG_FIELDS = ("layout", "mtp_layers", "concurrency", "engine", "chips")
CALIBRATED_WITHIN = 0.05  # a calibration measurement within 5% of the claimed number is the claim itself


def _calibrated_on(catalog: Catalog, s: ClaimScenario, metric: str, claimed: float) -> bool:
    """True when the catalog fixes an assumption on a measurement of this configuration that is the claimed number
    (within :data:`CALIBRATED_WITHIN`): agreement with the claim is then by construction."""
    return any(v.use == "calibrate" and v.metric == metric and v.accelerator == s.accelerator and v.model == s.model
               and (s.chips is None or v.chips == s.chips) and abs(v.measured - claimed) <= CALIBRATED_WITHIN * claimed
               for v in catalog.validation.values())


# --- one checker per kind -------------------------------------------------------------------------------------------


def _per_user(run: _Run, claim: Claim) -> _Outcome:
    s = run.scenario
    claimed = claim.claimed
    base = _best_speed(run, s.accelerator, s.chips, s.precision, claimed)
    where = f"{s.chips} {s.accelerator}" if s.chips else f"the fewest {s.accelerator} that reach it"
    ranges = {r.name: r for r in assumption_ranges(run.catalog, s.accelerator, engine=s.engine)}
    if base is None:
        return _does_not_fit(run, claim, where, ranges)
    favourable: dict[str, float] = {}
    together: dict[str, float] = {}
    for name, end, words in FAVOURABLE_ENDS:
        r = ranges.get(name)
        if r is None or getattr(r, end) == r.value:
            continue
        value = getattr(r, end)
        together[name] = value
        p = _best_speed(run, s.accelerator, s.chips, s.precision, claimed, {name: value})
        if p is not None:
            favourable[words.format(n(value))] = p.value
    both = _best_speed(run, s.accelerator, s.chips, s.precision, claimed, together) if together else None
    what_if = hbm_reads_chip(run.catalog, s.accelerator)
    hbm = (None if what_if is None else
           _best_speed(run, s.accelerator + WHAT_IF_SUFFIX, s.chips, s.precision, claimed, catalog=what_if))
    band = f", up to {tps(base.high)} at the top of its uncertainty band" if base.high else ""
    finding = f"The model predicts {tps(base.value)} per user ({base.how}){band}."
    fixed = ranges.get("fixed_latency_us_per_layer")
    chip = run.catalog.accelerators[s.accelerator]
    tiers = ", ".join(f"{t.tier.upper()} {n(t.capacity_gb.value)} GB at {n(t.bandwidth_gb_s.value)} GB/s"
                      for t in chip.memory_tiers)
    hinges = [f"Engine fixed latency per layer: {n(fixed.value)} µs ({fixed.low:g}-{fixed.high:g} plausible)."
              if fixed else "Engine fixed latency per layer (catalog default).",
              f"Memory each {s.accelerator} reads from: {tiers}; the model fills the fastest tier first and reads "
              "each byte where it sits.",
              f"Batch: {s.concurrency or 1} user(s) at once; a bigger batch slows each user."]
    if s.chips is None:
        hinges.append("Chip count: not published; the model takes the fewest chips that reach the speed.")
    calibrated = _calibrated_on(run.catalog, s, "per_user_tokens_per_s", claimed)
    if calibrated:
        hinges.append("The catalog calibrates an assumption on a measurement of this very configuration, so "
                      "agreement with it is by construction, not evidence.")
    out = {"predicted": base.value, "low": base.low, "high": base.high, "hinges": tuple(hinges),
           "config": base.config}
    if calibrated and claimed * (1 - CALIBRATED_WITHIN) <= base.value < claimed:
        return _Outcome("Holds by construction, within the calibration's reach: the model is calibrated on this "
                        "configuration", "conditional", finding + f" The calibration point gives {tps(claimed)}; "
                        "this scenario's workload differs from it slightly.", **out)
    if base.value >= claimed:
        if calibrated:
            return _Outcome("Holds by construction: the model is calibrated on this configuration", "conditional",
                            finding, **out)
        return _Outcome("Holds", "holds", finding, **out)
    single = [words for words, speed in favourable.items() if speed >= claimed]
    if single:
        return _Outcome(f"Holds only if {single[0]}", "conditional",
                        finding + f" If so, it reaches {tps(favourable[single[0]])}.", **out)
    if both is not None and both.value >= claimed:
        return _Outcome("Holds only if every assumption is at its favourable end", "conditional",
                        finding + f" With all of them there it reaches {tps(both.value)}.", **out)
    all_fav = both.value if both is not None else base.value
    if hbm is not None and hbm.value >= claimed:
        return _Outcome("Holds only if the weights stream from HBM, not DDR", "conditional",
                        finding + f" No single assumption in its plausible range gets there (all favourable together: "
                        f"{tps(all_fav)}). If every byte a step reads came from HBM (hot experts cached there), the "
                        f"model gives {tps(hbm.value)}.", **out)
    if base.high is not None and base.high >= claimed:
        return _Outcome(inside(base.band), "unknown", finding, **out)
    return _Outcome("Does not hold", "fails",
                    finding + f" Even with every assumption favourable it reaches {tps(all_fav)}.", **out)


def _does_not_fit(run: _Run, claim: Claim, where: str, ranges: Mapping[str, Any]) -> _Outcome:
    """A per-user claim on a chip count the model cannot fit the model on: how much memory it needs, and whether
    the usable-memory fraction at its favourable end would let it fit and reach the claim."""
    s = run.scenario
    finding = f"No layout of {where} holds {s.model} at {s.precision}"
    if s.chips:
        p = predict(run.catalog, Deployment(model=s.model, accelerator=s.accelerator, chips=s.chips,
                                            precision=s.precision,
                    concurrency=s.concurrency or 1, assumptions=run.assumptions(s.accelerator), **_workload(s)))
        finding += f": weights and cache need {p.memory_used_fraction:.0%} of their memory"
    usable = ranges.get("usable_memory_fraction")
    hinges = (f"Usable memory: {n(usable.value)} of each chip's capacity ({n(usable.low)}-{n(usable.high)} "
              "plausible).",) if usable else ()
    if usable is not None and usable.high > usable.value:
        roomy = _best_speed(run, s.accelerator, s.chips, s.precision, claim.claimed,
                            {"usable_memory_fraction": usable.high})
        if roomy is not None:
            finding += (f". With usable memory at its high end ({n(usable.high)}) it fits and the model predicts "
                        f"{tps(roomy.value)} per user ({roomy.how}).")
            out = {"predicted": roomy.value, "low": roomy.low, "high": roomy.high, "hinges": hinges,
                   "config": roomy.config}
            if roomy.value >= claim.claimed:
                return _Outcome(f"Holds only if usable memory is at its high end ({n(usable.high)})", "conditional",
                                finding, **out)
            if roomy.high is not None and roomy.high >= claim.claimed:
                return _Outcome("Can't tell: it fits only at the high end of usable memory, and the claim is "
                                f"inside {roomy.band} there", "unknown", finding, **out)
            return _Outcome("Does not hold", "fails", finding, **out)
    return _Outcome("Can't tell: the model finds no layout that holds the model", "unknown", finding + ".", hinges)


def _throughput_points(run: _Run, chip: str, chips: int, precision: str) -> list[Prediction]:
    s = run.scenario
    return run.predictions(chip, chips, precision, (s.concurrency,) if s.concurrency else batch_grid())


def _throughput(run: _Run, claim: Claim) -> _Outcome:
    s = run.scenario
    claimed = claim.claimed
    chips = int(s.chips or 0)
    points = _throughput_points(run, s.accelerator, chips, s.precision)
    system = f"{chips} {s.accelerator}"
    hinges = ["Batch: a system only reaches high throughput by serving many users at once, which slows each of them"
              + (f"; the claim fixes it at {s.concurrency}." if s.concurrency else "."),
              f"System: one replica of {system} ({s.precision}); layouts and MTP depths as the model finds best."]
    if not points:
        return _Outcome("Can't tell: the model finds no layout that holds the model", "unknown",
                        f"No layout of {system} holds {s.model} at {s.precision}.", tuple(hinges))
    floor = s.per_user_tokens_per_s
    at_floor = [p for p in points if floor is None or meets_speed(p.per_user_tokens_per_s, floor)]
    best_any = max(points, key=lambda p: p.total_output_tokens_per_s)
    reach = [p for p in points if p.total_output_tokens_per_s >= claimed]
    fastest = max(reach, key=lambda p: p.per_user_tokens_per_s) if reach else None
    if floor is not None:
        hinges.append(f"Per-user floor: {tps(floor)} per user.")
    if not at_floor:
        finding = (f"No configuration of {system} reaches {tps(floor)} per user. The most it produces at any speed "
                   f"is {tps(best_any.total_output_tokens_per_s)}.")
        best = None
    else:
        best = max(at_floor, key=lambda p: p.total_output_tokens_per_s)
        speed = f" at {tps(floor)} per user or faster" if floor is not None else ""
        finding = (f"The most {system} produces{speed} is {tps(best.total_output_tokens_per_s)} (batch "
                   f"{best.concurrency}, {best.layout}, {tps(best.per_user_tokens_per_s)} per user), up to "
                   f"{tps(best.total_output_tokens_per_s_high)} at the top of its uncertainty band.")
    out = {"hinges": tuple(hinges)}
    if best is not None:
        out.update(predicted=best.total_output_tokens_per_s, low=best.total_output_tokens_per_s_low,
                   high=best.total_output_tokens_per_s_high, config=_config_of(best))
    if best is not None and best.total_output_tokens_per_s >= claimed:
        return _Outcome("Holds", "holds", finding, **out)
    if floor is not None and fastest is not None:
        return _Outcome(f"Holds only at {tps(fastest.per_user_tokens_per_s)} per user or slower", "conditional",
                        finding + f" It reaches {tps(claimed)} only at batch {fastest.concurrency}, where each user "
                        f"gets {tps(fastest.per_user_tokens_per_s)}.", **out)
    if best is not None and best.total_output_tokens_per_s_high >= claimed:
        return _Outcome(inside(band_words(run.catalog, s.accelerator, best.concurrency, best.mtp_layers)), "unknown",
                        finding, **out)
    return _Outcome("Does not hold", "fails",
                    finding + f" The most it reaches at any batch is {tps(best_any.total_output_tokens_per_s)}.", **out)


def ratio_verdict(*, claimed: float, central: float, worst: float, best: float,
                  bands: str = "the uncertainty band") -> tuple[str, Status]:
    """A ratio claim against the model's ratio and the range both uncertainty bands allow (``bands`` names them)."""
    if worst >= claimed:
        return "Holds", "holds"
    if central >= claimed:
        return "Holds only at the model's central estimate", "conditional"
    if best >= claimed:
        return f"Can't tell: only the favourable end of {bands} reaches it", "unknown"
    return "Does not hold", "fails"


def _ratio(run: _Run, claim: Claim) -> _Outcome:
    s = run.scenario
    metric = s.ratio_of
    base_chip = s.baseline_accelerator
    base_precision = s.baseline_precision or s.precision
    claimed = claim.claimed
    label = f"{s.accelerator} ({s.precision})"
    base_label = f"{base_chip} ({base_precision})" if base_chip else "the baseline"
    if metric == "per_user_tokens_per_s":
        side = _best_speed(run, s.accelerator, s.chips, s.precision, 1.0)
        base = (_best_speed(run, base_chip, s.baseline_chips, base_precision, 1.0) if base_chip else None)
        measured = run.catalog.validation.get(s.baseline_measurement) if s.baseline_measurement else None
        hinges = [f"Which baseline: the fastest {base_label} can be run (tuned engine, MTP, one user)"
                  + (f" or what was measured in production ({measured.id}: {tps(measured.measured)} per user)"
                     if measured else "") + ".",
                  f"The {s.accelerator} speed used: the model's prediction at one user, not the vendor's figure."]
        if side is None:
            return _Outcome(f"Can't tell: no layout of {label} holds the model", "unknown",
                            f"{label}: no fitting layout.", tuple(hinges))
        parts = [f"{label}: {tps(side.value)} per user ({side.how})."]
        vs_best = vs_meas = None
        if base is not None:
            vs_best = side.value / base.value
            parts.append(f"{base_label}: {tps(base.value)} ({base.how}): {ratio(vs_best)}.")
        if measured is not None:
            vs_meas = side.value / measured.measured
            parts.append(f"Against the measured {tps(measured.measured)} per user: {ratio(vs_meas)}.")
        finding = " ".join(parts)
        out = {"predicted": vs_best if vs_best is not None else vs_meas, "hinges": tuple(hinges),
               "config": side.config}
        if vs_best is not None and vs_best >= claimed:
            return _Outcome("Holds", "holds", finding, **out)
        if vs_meas is not None and vs_meas >= claimed:
            return _Outcome(f"Holds only against throughput-first deployments ({measured.id}), not against the "
                            f"fastest {base_label} configuration", "conditional", finding, **out)
        if vs_best is None and vs_meas is None:
            return _Outcome(f"Can't tell: the model finds no configuration of {base_label} that holds the model",
                            "unknown", finding, **out)
        if vs_best is not None and side.high and base.low and side.high / base.low >= claimed:
            return _Outcome(f"Can't tell: only the favourable end of {_both(side.band, base.band)} reaches it",
                            "unknown", finding, **out)
        return _Outcome("Does not hold", "fails", finding, **out)
    if base_chip is None:
        return _Outcome("Can't tell: the claim names no baseline chip the model can size", "unknown",
                        "A measured baseline only supports per-user speed ratios.")
    if metric == "output_tokens_per_s_per_chip":
        side_chips, base_chips = s.chips, s.baseline_chips or s.chips
        hinges = [f"Both sides at the same batch ({s.concurrency})" if s.concurrency else
                  "Each side at the batch where it produces the most"
                  + (f" while keeping {tps(s.per_user_tokens_per_s)} per user" if s.per_user_tokens_per_s else ""),
                  f"Systems: {side_chips} {s.accelerator} vs {base_chips} {base_chip}."]
        if not side_chips or not base_chips:
            return _Outcome("Can't tell: the claim does not say how many chips each side has", "unknown",
                            "Output per chip needs a chip count on both sides.", tuple(hinges))
        sides = []
        for chip, count, precision in ((s.accelerator, side_chips, s.precision), (base_chip, base_chips,
                                                                                   base_precision)):
            pts = [p for p in _throughput_points(run, chip, count, precision)
                   if s.per_user_tokens_per_s is None or meets_speed(p.per_user_tokens_per_s, s.per_user_tokens_per_s)]
            sides.append(max(pts, key=lambda p: p.output_tokens_per_s_per_chip) if pts else None)
        a, b = sides
        if a is None or b is None:
            missing = label if a is None else base_label
            return _Outcome(f"Can't tell: no configuration of {missing} meets the scenario", "unknown",
                            f"{missing}: no fitting layout at this batch.", tuple(hinges))
        bands = _both(band_words(run.catalog, s.accelerator, a.concurrency, a.mtp_layers),
                      band_words(run.catalog, base_chip, b.concurrency, b.mtp_layers))
        central = a.output_tokens_per_s_per_chip / b.output_tokens_per_s_per_chip
        worst = a.total_output_tokens_per_s_low / a.chips / (b.total_output_tokens_per_s_high / b.chips)
        best = a.total_output_tokens_per_s_high / a.chips / (b.total_output_tokens_per_s_low / b.chips)
        finding = (f"{label}: {tps(a.output_tokens_per_s_per_chip)} per chip (batch {a.concurrency}, {a.layout}); "
                   f"{base_label}: {tps(b.output_tokens_per_s_per_chip)} per chip (batch {b.concurrency}, "
                   f"{b.layout}): {ratio(central)} (between {ratio(worst)} and {ratio(best)} across both "
                   "uncertainty bands).")
    else:  # joules_per_output_token: both sides sized for the same targets
        per_user = s.per_user_tokens_per_s or 1.0
        total = s.total_output_tokens_per_s or per_user
        hinges = ["Node power: nameplate x measured utilisation on both sides (an assumption where no spec is "
                  "published).",
                  f"Equal targets: both sides sized for {tps(per_user)} per user and {tps(total)} in total."]
        a = run.sizing(s.accelerator, s.precision, per_user, total)
        b = run.sizing(base_chip, base_precision, per_user, total)
        if not a.feasible or not b.feasible:
            return _Outcome("Can't tell: the model cannot size one side", "unknown",
                            f"{label}: {a.reason}; {base_label}: {b.reason}.", tuple(hinges))
        bands = _both(_sized_band(run.catalog, a), _sized_band(run.catalog, b))
        central = b.joules_per_output_token / a.joules_per_output_token
        worst = b.joules_per_output_token_low / a.joules_per_output_token_high
        best = b.joules_per_output_token_high / a.joules_per_output_token_low
        finding = (f"At {tps(per_user)} per user and {tps(total)} in total, {label} uses "
                   f"{n(a.joules_per_output_token)} J per output token and {base_label} "
                   f"{n(b.joules_per_output_token)} J: {ratio(central)} (between {ratio(worst)} and {ratio(best)} "
                   f"across both uncertainty bands). Chips: {a.chips:,} vs {b.chips:,}.")
    verdict, status = ratio_verdict(claimed=claimed, central=central, worst=worst, best=best, bands=bands)
    return _Outcome(verdict, status, finding, tuple(hinges), central, worst, best, _config_of(a))


def _both(first: str, second: str) -> str:
    return first if first == second else f"{first} and {second}"


def _sized_band(catalog: Catalog, sized: Sizing) -> str:
    """The band a sizing carries, named like :func:`band_words` (its chosen replica's batch and MTP)."""
    if not sized.feasible or sized.accelerator not in catalog.accelerators:
        return "the uncertainty band"
    return band_words(catalog, sized.accelerator, sized.concurrency_per_replica, sized.mtp_layers)


def _sized(run: _Run, claim: Claim) -> _Outcome:
    s = run.scenario
    per_user, total = float(s.per_user_tokens_per_s or 0), float(s.total_output_tokens_per_s or 0)
    label = f"{s.accelerator} ({s.precision})"
    hinges = (f"The targets: {tps(per_user)} per user and {tps(total)} in total "
              f"({s.input_tokens:,} tokens in, {s.output_tokens:,} out).",
              "Rack packing: each system's nodes per rack and rack power budget from the catalog.")
    sized = run.sizing(s.accelerator, s.precision, per_user, total)
    if not sized.feasible:
        return _Outcome(f"Can't tell: {label} cannot meet the targets", "unknown", f"The model: {sized.reason}.",
                        hinges)
    at_most = claim.bound == "at-most"
    if claim.kind == "racks-for-target":
        finding = (f"For these targets the model sizes {label} at {sized.racks:,} rack(s): {sized.chips:,} chips "
                   f"({sized.chips_low:,} to {sized.chips_high:,} across the uncertainty band) in {sized.nodes:,} "
                   f"node(s), racks limited by {sized.rack_limited_by}.")
        ok = sized.racks <= claim.claimed if at_most else sized.racks >= claim.claimed
        if ok:
            return _Outcome("Holds", "holds", finding, hinges, float(sized.racks), config=_config_of(sized))
        return _Outcome(f"Does not hold: {sized.racks:,} rack(s) of {label} for the same targets", "fails",
                        finding, hinges, float(sized.racks), config=_config_of(sized))
    cost, low, high = (sized.usd_per_million_output_tokens, sized.usd_per_million_output_tokens_low,
                       sized.usd_per_million_output_tokens_high)
    if cost is None:
        return _Outcome(f"Can't tell: the catalog has no price for {s.accelerator}", "unknown",
                        f"Sized at {sized.chips:,} chips, but without a purchase or rental price there is no cost.",
                        hinges)
    finding = (f"The model prices {label} at ${cost:.3g} per million output tokens (${low:.3g} to ${high:.3g} across "
               "the uncertainty band).")
    hinges = (*hinges, "Price: owned (amortised capex + electricity) where the catalog has a purchase price, else "
                       "rental.")
    if at_most:
        verdict, status = ratio_verdict(claimed=1.0, central=claim.claimed / cost, worst=claim.claimed / high,
                                        best=claim.claimed / low, bands=_sized_band(run.catalog, sized))
    else:
        verdict, status = ratio_verdict(claimed=claim.claimed, central=cost, worst=low, best=high,
                                        bands=_sized_band(run.catalog, sized))
    return _Outcome(verdict, status, finding, hinges, cost, low, high, _config_of(sized))


_CHECKERS: dict[str, Callable[[_Run, Claim], _Outcome]] = {
    "per-user-speed": _per_user, "throughput": _throughput, "efficiency-ratio": _ratio,
    "racks-for-target": _sized, "cost": _sized,
}


def check_claim(catalog: Catalog, claim: Claim, *, changes: Mapping[str, Any] | None = None,
                overrides: Mapping[str, Any] | None = None) -> ClaimCheck:
    """The model's verdict on ``claim``; ``changes`` replaces scenario fields (the app's sidebar targets and GPU
    side), ``overrides`` replaces assumptions (PUE, electricity, rack budget). A scenario the calculators refuse
    is a "Can't tell" verdict naming why, never an exception."""
    try:
        scenario = scenario_with(claim, changes)
        outcome = _CHECKERS[claim.kind](_Run(catalog, scenario, dict(overrides or {})), claim)
    except ScenarioError as exc:
        scenario = claim.scenario
        outcome = _Outcome("Can't tell: the calculators cannot evaluate this scenario", "unknown", str(exc))
    source = catalog.sources.get(claim.source)
    date = claim.date.isoformat() if isinstance(claim.date, dt.date) else str(claim.date)
    return ClaimCheck(
        id=claim.id, vendor=claim.vendor, claim=claim.claim, source=claim.source,
        source_title=source.title if source else claim.source, source_url=source.url if source else None,
        date=date, kind=claim.kind, unit=claim.unit, claimed=claim.claimed, predicted=outcome.predicted,
        predicted_low=outcome.low, predicted_high=outcome.high, verdict=outcome.verdict, status=outcome.status,
        finding=outcome.finding, hinges=outcome.hinges, scenario=scenario.model_dump(exclude_none=True),
        story=claim.story, note=claim.note, **{key: outcome.config.get(key) for key in CONFIG_FIELDS},
    )


def check_claims(catalog: Catalog, ids: Iterable[str] | None = None, **kwargs: Any) -> list[ClaimCheck]:
    """:func:`check_claim` for the given claim ids (default: every claim in the catalog, in catalog order)."""
    wanted = list(catalog.claims) if ids is None else list(ids)
    missing = [i for i in wanted if i not in catalog.claims]
    if missing:
        raise ScenarioError(f"unknown claim id(s): {', '.join(missing)}; known: {', '.join(catalog.claims)}")
    return [check_claim(catalog, catalog.claims[i], **kwargs) for i in wanted]


def story(catalog: Catalog, story_id: str) -> list[Claim]:
    """The claims told together under ``story_id``, in id order (their letters (a), (b), ... follow it)."""
    return sorted((c for c in catalog.claims.values() if c.story == story_id), key=lambda c: c.id)
