"""Fleet sizing for a target (F11-F15): decode and prefill chips, nodes, racks, power, energy and money.

``size`` serves the workload disaggregated (:mod:`calculators.serving`): it searches every replica size, layout,
batch and MTP depth of one chip (one vectorised call of the same step, see :mod:`calculators.sweep`; the engine's
per-step host time and the KV capacity included) for the fewest decode chips that reach the per-user speed and the
total output rate at context I + O / 2, then adds a prefill pool at the serving model's prefill rate, packs nodes
into racks by space and by the rack power budget (whichever binds), and prices the result. An unreachable target is
an answer (``feasible=False`` with the best reachable speed and why), never an exception, and no output is ever NaN
or infinite.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from calculators import memory
from calculators.assumptions import Assumptions
from calculators.decode import band, meets_speed, sram_only, uncertainty_band, uncertainty_fraction
from calculators.deployment import Demand, check_demand
from calculators.model.step import STEP_OPS, StepSetup
from calculators.precision import BEST, candidate_precisions, check_requested_precision, is_best, no_candidate_reason
from calculators.records import Catalog
from calculators.search import MAX_REPLICA_NODES, batch_grid, mtp_candidates
from calculators.serving import prefill_pool
from calculators.shapes import (
    max_replica_nodes,
    replica_shape,
    shape_note,
    shipped_node_counts,
)
from calculators.sweep import GridAxes, decode_grid, replica_node_counts

HOURS_PER_YEAR = 8766  # 365.25 days


@dataclass(frozen=True)
class Sizing:
    """A fleet for one target; the fields are the CLI's JSON keys. Money is ``None`` where the catalog has no price."""

    feasible: bool
    reason: str
    model: str
    accelerator: str
    precision: str
    engine: str
    chips: int
    chips_low: int
    chips_high: int
    decode_chips: int
    prefill_chips: int
    replicas: int
    replica_chips: int
    nodes: int
    racks: int
    racks_by_space: int
    racks_by_power: int
    rack_limited_by: str
    rack_power_budget_kw: float
    layout: str
    concurrency_per_replica: int
    mtp_layers: int
    bound_by: str
    per_user_tokens_per_s: float
    per_user_tokens_per_s_low: float
    per_user_tokens_per_s_high: float
    total_output_tokens_per_s: float
    input_tokens_per_s: float
    time_to_first_token_s: float
    it_power_kw: float
    it_power_kw_low: float
    it_power_kw_high: float
    facility_power_kw: float
    joules_per_output_token: float
    joules_per_output_token_low: float
    joules_per_output_token_high: float
    joules_per_request: float
    energy_per_day_kwh: float
    capex_usd: float | None
    usd_per_million_output_tokens: float | None
    usd_per_million_output_tokens_low: float | None
    usd_per_million_output_tokens_high: float | None
    usd_per_million_output_tokens_owned: float | None
    usd_per_million_output_tokens_rental: float | None
    tco_usd: float | None
    lifetime_years: float
    uncertainty_fraction: float
    # added for issue 10 (defaults keep older callers valid): the precision asked for ("best" or an id) and why the
    # one in ``precision`` was chosen; the replica shape ("shipped" by the vendor or "assumed") and what it is; and
    # what the money columns are based on (catalog price kinds), so a table can say "estimate".
    precision_requested: str = ""
    precision_choice: str = ""
    replica_shape: str = ""
    replica_shape_note: str = ""
    cost_basis: str = ""
    # added for issue 17: the kind of the catalog price the headline $ per million tokens rests on ("estimate",
    # "assumption", ...; empty where there is no price), so every place that shows the cost can mark an estimate
    cost_kind: str = ""
    # added for issue 17: the time-to-first-token target (None: none set) and the chips of one prefill instance
    # (the smallest that holds the weights, or larger when the target needs it)
    max_time_to_first_token_s: float | None = None
    prefill_instance_chips: int = 0
    # issue 15: the chosen replica's decode step as named operations (ms), as predict's step_breakdown_ms
    step_breakdown_ms: dict[str, float] = field(default_factory=dict)
    # issue 16: the regime (of the chosen replica's batch) whose leave-one-source-out error sets the band
    uncertainty_regime: str = ""
    uncertainty_basis: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def racks_needed(nodes: int, nodes_per_rack: int, node_power_kw: float, rack_power_budget_kw: float) -> tuple[int, int]:
    """F13: (racks by space, racks by power) = (ceil(nodes / nodes per rack), ceil(nodes / floor(budget / node kW))).

    A node bigger than the budget cannot be placed at all: racks by power is then 0 and the caller reports it."""
    by_space = math.ceil(nodes / nodes_per_rack)
    per_rack_by_power = math.floor(rack_power_budget_kw / node_power_kw + 1e-9)
    by_power = math.ceil(nodes / per_rack_by_power) if per_rack_by_power >= 1 else 0
    return by_space, by_power


def usd_per_million_tokens(usd_per_hour: float, output_tokens_per_s: float) -> float:
    """F15: $ per million output tokens = $ per hour / (output tokens per hour / 1e6)."""
    return usd_per_hour / (output_tokens_per_s * 3600 / 1e6)


def owned_usd_per_hour(capex_usd: float, lifetime_years: float, facility_power_kw: float, usd_per_kwh: float) -> float:
    """Straight-line amortised capex over the lifetime plus electricity at the facility meter, per hour."""
    return capex_usd / (lifetime_years * HOURS_PER_YEAR) + facility_power_kw * usd_per_kwh


def hourly_costs(catalog: Catalog, accelerator: str, a: Assumptions, *, chips, nodes, facility_power_kw):
    """(capex $, owned $ per hour, rented $ per hour) of ``chips`` chips on ``nodes`` nodes drawing
    ``facility_power_kw`` at the meter; each None where there is no price. Capex is the user's price per chip if
    set, else the system's price per node, else the chip's; rental is the user's or the catalog's rate per
    chip-hour. Works on numbers or numpy arrays alike (one row per configuration of a sweep)."""
    chip = catalog.accelerators[accelerator]
    system = catalog.systems[chip.system]
    if a.price_usd_per_chip is not None:
        capex = chips * a.price_usd_per_chip
    elif system.price_usd is not None:
        capex = nodes * system.price_usd.value
    elif chip.price_usd is not None:
        capex = chips * chip.price_usd.value
    else:
        capex = None
    rate = a.rental_usd_per_chip_hour if a.rental_usd_per_chip_hour is not None else (
        chip.rental_usd_per_hour.value if chip.rental_usd_per_hour is not None else None)
    owned = (owned_usd_per_hour(capex, a.lifetime_years, facility_power_kw, a.electricity_usd_per_kwh)
             if capex is not None else None)
    return capex, owned, (chips * rate if rate is not None else None)


def frontier_costs(catalog: Catalog, frame, assumptions: dict[str, Assumptions]):
    """A sweep frame (:func:`calculators.sweep.sweep`) with ``usd_per_million_output_tokens_owned`` and
    ``_rental`` for each configuration: one decode replica's hourly cost (:func:`hourly_costs`, facility power =
    the row's IT power x PUE) over the tokens it outputs. Prefill chips are not counted (a sweep has none).
    ``assumptions`` by chip id; NaN where a chip has no price."""
    out = frame.copy()
    out["usd_per_million_output_tokens_owned"] = np.nan
    out["usd_per_million_output_tokens_rental"] = np.nan
    for chip_id, rows in frame.groupby("accelerator", sort=False):
        a = assumptions[chip_id]
        _, owned, rented = hourly_costs(catalog, chip_id, a, chips=rows["chips"].to_numpy(dtype=float),
                                        nodes=rows["nodes"].to_numpy(dtype=float),
                                        facility_power_kw=rows["power_kw"].to_numpy(dtype=float) * a.pue)
        rate = rows["total_output_tokens_per_s"].to_numpy(dtype=float)
        if owned is not None:
            out.loc[rows.index, "usd_per_million_output_tokens_owned"] = usd_per_million_tokens(owned, rate)
        if rented is not None:
            out.loc[rows.index, "usd_per_million_output_tokens_rental"] = usd_per_million_tokens(rented, rate)
    return out


def _infeasible(reason: str, **known) -> Sizing:
    zeros = {f: 0 for f in Sizing.__dataclass_fields__ if Sizing.__dataclass_fields__[f].type in ("int", "float")}
    nones = {f: None for f in Sizing.__dataclass_fields__ if "None" in str(Sizing.__dataclass_fields__[f].type)}
    fields = {**zeros, **nones, "layout": "", "rack_limited_by": "", "bound_by": "", **known}
    fields = {k: v for k, v in fields.items() if k in Sizing.__dataclass_fields__}
    return Sizing(feasible=False, reason=reason, **fields)


def size(catalog: Catalog, demand: Demand) -> Sizing:
    """The fewest chips of the demand's accelerator that serve its model at ``per_user_tokens_per_s`` per user and
    ``total_output_tokens_per_s`` in total, for requests of ``input_tokens`` in and ``output_tokens`` out
    (:class:`calculators.deployment.Demand`).

    ``precision`` may be ``best``: see :func:`size_best`. ``topology`` ``shipped`` (default) keeps each replica
    within the size the chip's system ships (:mod:`calculators.shapes`); ``assumed`` allows any replica size.

    Decode (F11): over every replica size, layout, batch and MTP depth (``mtp_layers`` None = none and the engine's
    recipe depth, :func:`calculators.search.mtp_candidates`) that fits and
    meets the per-user speed, minimise replicas x replica chips = ceil(total / replica throughput) x N. The mean
    context while decoding defaults to input + output / 2. Prefill (F12) at input rate = total x input / output.

    ``max_time_to_first_token_s`` (None = no target) constrains the prefill pool: see :func:`prefill_instance`.
    """
    if is_best(check_requested_precision(catalog, demand.precision)):
        return size_best(catalog, demand)
    d = check_demand(catalog, demand)
    model, accelerator, precision, topology = d.model, d.accelerator, d.precision, d.topology
    m, chip, a = d.model_record(catalog), d.chip_record(catalog), d.assumptions
    target_user, target_total = d.per_user_tokens_per_s, d.total_output_tokens_per_s
    input_tokens, output_tokens, context_tokens = d.input_tokens, d.output_tokens, d.decode_context_tokens
    max_time_to_first_token_s = d.max_time_to_first_token_s
    mtps = mtp_candidates(m, a) if d.mtp_layers is None else [d.mtp_layers]
    system = catalog.systems[chip.system]
    per_node = int(system.chips_per_node.value)
    err = uncertainty_fraction(catalog, chip)
    known = {"model": model, "accelerator": accelerator, "precision": precision, "engine": a.engine,
             "lifetime_years": a.lifetime_years, "uncertainty_fraction": err, "precision_requested": precision,
             "precision_choice": "fixed", "replica_shape": replica_shape(system, topology),
             "replica_shape_note": shape_note(system, topology),
             "max_time_to_first_token_s": max_time_to_first_token_s}

    low = memory.nodes_for_capacity(
        catalog, m, chip, memory.weight_storage_precision(catalog, m, precision, a.weight_storage_precision),
        a.usable_memory_fraction,
    )
    most = 2 * low if sram_only(chip) else max(MAX_REPLICA_NODES, 2 * low)
    limit = max_replica_nodes(system, topology)
    if limit is not None and low > limit:
        return _infeasible(
            f"no replica of {accelerator} that {system.name} ships or has shown publicly holds {model} at "
            f"{precision}: its weights need at least {low * per_node:,} chips, the largest such replica has "
            f"{int(system.max_replica_chips.value):,} chips "
            f"({system.max_replica_chips.note or 'catalog max_replica_chips'}); "
            f"topology 'assumed' sizes a larger replica",
            bound_by="capacity", **known,
        )
    most_chips, fits = _fitting_grid(catalog, m, chip, precision, a,
                               tuple(shipped_node_counts(replica_node_counts(low, most=most), system, topology)),
                               tuple(mtps), context_tokens)
    if most_chips == 0:
        return _infeasible(f"engine {a.engine!r} runs no layout of {accelerator} tried for {model} (it supports: "
                           f"{', '.join(a.layout_kinds)})", **known)
    if fits.empty:
        return _infeasible(
            f"no layout of up to {most_chips} {accelerator} chips holds {model} at {precision} "
            f"(capacity; {known['replica_shape_note']})", bound_by="capacity", **known,
        )
    ok = fits[meets_speed(fits["per_user_tokens_per_s"].to_numpy(), target_user)]
    if ok.empty:
        best = fits.loc[fits["per_user_tokens_per_s"].idxmax()]
        return _infeasible(
            f"{accelerator} cannot reach {target_user:g} tok/s/user: the best reachable is "
            f"{best['per_user_tokens_per_s']:.1f} tok/s/user ({best['layout']} on {int(best['chips'])} chips, batch "
            f"{int(best['concurrency'])}, MTP {int(best['mtp_layers'])}), bound by {best['bound_by']}",
            per_user_tokens_per_s=float(best["per_user_tokens_per_s"]),
            bound_by=str(best["bound_by"]),
            layout=str(best["layout"]),
            **known,
        )
    replicas = np.ceil(target_total / ok["total_output_tokens_per_s"].to_numpy())
    decode_chips = replicas * ok["chips"].to_numpy()
    # fewest chips; ties broken by the faster per-user speed
    order = np.lexsort((-ok["per_user_tokens_per_s"].to_numpy(), decode_chips))
    best = ok.iloc[order[0]]
    n_replicas = int(replicas[order[0]])
    n_decode = int(decode_chips[order[0]])
    # the band of the regime the chosen replica runs in (its batch and MTP), not the widest of the class
    regime_band = uncertainty_band(catalog, chip, int(best["concurrency"]), int(best["mtp_layers"]))
    err = regime_band.fraction
    known.update(uncertainty_fraction=err, uncertainty_regime=regime_band.label,
                 uncertainty_basis=regime_band.statement)

    # prefill (F12): the one disaggregated prefill pool (serving.prefill_pool), as predict --serving disaggregated
    input_rate = target_total * input_tokens / output_tokens
    unit = low * per_node
    # the one disaggregated prefill pool (serving.prefill_pool, as predict --serving disaggregated): instances of the
    # chips that hold the weights, or larger ones when a time-to-first-token target needs them
    instance_sizes = [unit, *(n * per_node for n in shipped_node_counts(replica_node_counts(low, most=most), system,
                                                                         topology) if n > low)]
    instance, pool, ttft = prefill_instance(StepSetup(catalog, m, chip, precision, a), input_tokens,
                                            input_rate, instance_sizes, max_time_to_first_token_s)
    if max_time_to_first_token_s is not None and ttft > max_time_to_first_token_s:
        return _infeasible(
            f"{accelerator} cannot reach a time to first token of {max_time_to_first_token_s:g} s for "
            f"{input_tokens:,}-token prompts: the best reachable is {ttft:.3g} s on a prefill instance of "
            f"{instance:,} chips, the largest tried ({known['replica_shape_note']})",
            bound_by="time to first token", time_to_first_token_s=ttft, prefill_instance_chips=instance, **known,
        )
    n_prefill = pool

    # nodes and racks (F13)
    nodes = math.ceil(n_decode / per_node) + math.ceil(n_prefill / per_node)
    node_kw = system.node_power_max_w.value / 1e3
    budget = a.rack_power_budget_kw if a.rack_power_budget_kw is not None else system.rack_power_kw.value
    by_space, by_power = racks_needed(nodes, int(system.nodes_per_rack.value), node_kw, budget)
    if by_power == 0:
        return _infeasible(
            f"one {system.id} node draws up to {node_kw:g} kW, more than the rack power budget of {budget:g} kW",
            rack_power_budget_kw=budget, **known,
        )
    racks = max(by_space, by_power)

    # power and energy (F14): nameplate x measured utilisation, all nodes
    it_kw = nodes * node_kw * a.power_utilisation
    facility_kw = it_kw * a.pue
    joules = it_kw * 1e3 / target_total
    chips = n_decode + n_prefill

    # money (F15)
    capex, owned_hourly, rental_hourly = hourly_costs(catalog, accelerator, a, chips=chips, nodes=nodes,
                                                      facility_power_kw=facility_kw)
    known["cost_basis"] = cost_basis(catalog, accelerator, a)
    known["cost_kind"] = headline_cost_kind(catalog, accelerator, a)
    owned = usd_per_million_tokens(owned_hourly, target_total) if owned_hourly is not None else None
    rental = usd_per_million_tokens(rental_hourly, target_total) if rental_hourly is not None else None
    headline = owned if owned is not None else rental
    tco = capex + facility_kw * HOURS_PER_YEAR * a.lifetime_years * a.electricity_usd_per_kwh if capex else None
    # band (decode.band): per-chip throughput within a factor 1 + err either way needs chips within the same factor;
    # cost, power and J/token follow the chip count
    grow, shrink = 1 + err, 1 / (1 + err)
    per_user = float(best["per_user_tokens_per_s"])
    reason = (
        f"{n_replicas} replica(s) of {int(best['chips'])} chips ({best['layout']}, batch {int(best['concurrency'])}, "
        f"MTP {int(best['mtp_layers'])}) at {per_user:.1f} tok/s/user, bound by {best['bound_by']}; "
        f"racks limited by {'power' if by_power > by_space else 'space'}"
    )
    if instance > unit:
        reason += (f"; time to first token binds: prefill instances of {instance:,} chips (not the {unit:,} that hold "
                   f"the weights) to prefill a {input_tokens:,}-token prompt in {ttft:.3g} s, within the "
                   f"{max_time_to_first_token_s:g} s target")
    return Sizing(
        feasible=True,
        reason=reason,
        chips=chips,
        chips_low=math.ceil(chips * shrink),
        chips_high=math.ceil(chips * grow),
        decode_chips=n_decode,
        prefill_chips=n_prefill,
        replicas=n_replicas,
        replica_chips=int(best["chips"]),
        nodes=nodes,
        racks=racks,
        racks_by_space=by_space,
        racks_by_power=by_power,
        rack_limited_by="power" if by_power > by_space else "space",
        rack_power_budget_kw=budget,
        layout=str(best["layout"]),
        concurrency_per_replica=int(best["concurrency"]),
        mtp_layers=int(best["mtp_layers"]),
        step_breakdown_ms={op: float(best[f"step_{op}_ms"]) for op in STEP_OPS},
        bound_by=str(best["bound_by"]),
        per_user_tokens_per_s=per_user,
        per_user_tokens_per_s_low=band(per_user, err)[0],
        per_user_tokens_per_s_high=band(per_user, err)[1],
        total_output_tokens_per_s=target_total,
        input_tokens_per_s=input_rate,
        time_to_first_token_s=ttft,
        it_power_kw=it_kw,
        it_power_kw_low=it_kw * shrink,
        it_power_kw_high=it_kw * grow,
        facility_power_kw=facility_kw,
        joules_per_output_token=joules,
        joules_per_output_token_low=joules * shrink,
        joules_per_output_token_high=joules * grow,
        joules_per_request=joules * output_tokens,
        energy_per_day_kwh=facility_kw * 24,
        capex_usd=capex,
        usd_per_million_output_tokens=headline,
        usd_per_million_output_tokens_low=headline * shrink if headline is not None else None,
        usd_per_million_output_tokens_high=headline * grow if headline is not None else None,
        usd_per_million_output_tokens_owned=owned,
        usd_per_million_output_tokens_rental=rental,
        tco_usd=tco,
        prefill_instance_chips=instance,
        **known,
    )


def prefill_instance(setup: StepSetup, input_tokens: int, input_tokens_per_s: float, instance_chips: list[int],
                     max_time_to_first_token_s: float | None) -> tuple[int, int, float]:
    """(chips of one prefill instance, chips of the pool, its time to first token) from the one prefill pool
    (:func:`calculators.serving.prefill_pool`): the smallest instance (``instance_chips[0]``, the chips that hold the
    weights) unless a target is set and it is too slow, then the smallest of ``instance_chips`` that prefills one
    prompt within the target, or the largest if none does (the caller reports it infeasible).

    A bigger instance splits one prompt over more chips at the same per-chip rate (an optimistic assumption: the
    extra communication of sequence or context parallelism is not charged). Queueing is not included. Under
    disaggregated serving a prompt never waits on the decode batch, so the target moves only the prefill pool;
    the decode batch is chosen for the per-user speed as before."""
    for chips in instance_chips:
        pool, ttft, _ = prefill_pool(setup, input_tokens=input_tokens, input_tokens_per_s=input_tokens_per_s,
                                     unit_chips=chips)
        if max_time_to_first_token_s is None or ttft <= max_time_to_first_token_s:
            break
    return chips, int(pool), float(ttft)


GRID_MEMO_SIZE = 64
"""Decode grids kept per catalog (the fitting rows and the columns sizing reads, ~0.5 MB each): the 8 chips x 2
precisions of a few scenarios."""
_GRID_COLUMNS = ["chips", "layout", "concurrency", "mtp_layers", "bound_by", "per_user_tokens_per_s",
                 "total_output_tokens_per_s", *(f"step_{op}_ms" for op in STEP_OPS)]


def _fitting_grid(catalog: Catalog, m, chip, precision: str, a: Assumptions, node_counts: tuple[int, ...],
                  mtps: tuple[int, ...], context_tokens: float):
    """(most chips of any layout tried, the decode grid's rows that fit in memory with the columns sizing reads) for
    one chip, precision and set of assumptions.

    The grid does not depend on the targets (per-user speed, total output, TTFT), so a new target re-reads it from
    ``catalog.memo``, keyed on every input of the grid, instead of evaluating the step again."""
    def build():
        axes = GridAxes(node_counts=list(node_counts), concurrencies=batch_grid(), mtp_layers=list(mtps),
                        context_tokens=context_tokens)
        grid = decode_grid(catalog, m, chip, precision, a, axes)
        fits = grid.loc[grid["fits_in_memory"].to_numpy(dtype=bool), _GRID_COLUMNS]
        most = int(grid["chips"].max()) if len(grid) else 0  # 0: the engine runs none of the layouts tried
        return most, fits

    key = (m.id, chip.id, precision, a, node_counts, mtps, float(context_tokens))
    return catalog.memo.get("fitting-grid", key, build, size=GRID_MEMO_SIZE)


def cost_basis(catalog: Catalog, accelerator: str, assumptions: Assumptions | None = None) -> str:
    """What the money columns rest on: the catalog prices used and their kind (an estimate or an assumption is
    named as such), the user's own prices where ``assumptions`` carry them, or why there is none."""
    chip = catalog.accelerators[accelerator]
    system = catalog.systems[chip.system]
    parts = []
    own_price = assumptions.price_usd_per_chip if assumptions is not None else None
    own_rate = assumptions.rental_usd_per_chip_hour if assumptions is not None else None
    if own_price is not None:
        parts.append(f"owned: your price of ${own_price:,.0f} per chip")
    elif system.price_usd is not None:
        parts.append(f"owned: {system.name} price {system.price_usd.kind}")
    elif chip.price_usd is not None:
        parts.append(f"owned: chip price {chip.price_usd.kind}")
    else:
        parts.append("owned: no purchase price in the catalog (not sold, or none public)")
    if own_rate is not None:
        parts.append(f"rented: your rate of ${own_rate:,.2f} per chip-hour")
    elif chip.rental_usd_per_hour is not None:
        parts.append(f"rented: {chip.rental_usd_per_hour.kind} per chip-hour")
    else:
        parts.append("rented: no public rental rate in the catalog")
    return "; ".join(parts)


def headline_cost_kind(catalog: Catalog, accelerator: str, assumptions: Assumptions | None = None) -> str:
    """The kind of the price the headline $ per million tokens uses, in the order :func:`size` prices a fleet
    (system price, else chip price, else rental), or "" where the catalog has none; ``user`` where the user's own
    purchase price (or, with no purchase price at all, rental rate) sets it."""
    if assumptions is not None and assumptions.price_usd_per_chip is not None:
        return "user"
    chip = catalog.accelerators[accelerator]
    if (assumptions is not None and assumptions.rental_usd_per_chip_hour is not None
            and catalog.systems[chip.system].price_usd is None and chip.price_usd is None):
        return "user"
    system = catalog.systems[chip.system]
    price = next((p for p in (system.price_usd, chip.price_usd, chip.rental_usd_per_hour) if p is not None), None)
    return price.kind if price is not None else ""


def _rank_key(s: Sizing, order: int) -> tuple:
    cost = s.usd_per_million_output_tokens
    return (not s.feasible, s.racks if s.feasible else math.inf, cost if cost is not None else math.inf,
            s.chips if s.feasible else math.inf, order)


def size_best(catalog: Catalog, demand: Demand) -> Sizing:
    """``size`` at each precision the demand's accelerator computes in and its model is served in
    (:func:`calculators.precision.candidate_precisions`), keeping the one that meets the targets with the fewest
    racks, then the lowest $ per million output tokens, then the fewest chips (ties: the model's native format,
    then the wider one). ``precision`` is the one chosen, ``precision_requested`` is ``best`` and
    ``precision_choice`` says how each candidate did. When none meets the targets the answer is infeasible with
    each precision's reason."""
    d = check_demand(catalog, demand, precision_checked=False)
    model, accelerator, topology = d.model, d.accelerator, d.topology
    m, chip = d.model_record(catalog), d.chip_record(catalog)
    candidates = candidate_precisions(catalog, m, chip)
    if not candidates:
        a = d.assumptions
        system = catalog.systems[chip.system]
        return _infeasible(
            no_candidate_reason(catalog, m, chip), model=model, accelerator=accelerator, precision="",
            engine=a.engine, lifetime_years=a.lifetime_years, uncertainty_fraction=uncertainty_fraction(catalog, chip),
            precision_requested=BEST, precision_choice="no candidate precision",
            max_time_to_first_token_s=d.max_time_to_first_token_s, replica_shape=replica_shape(system, topology),
            replica_shape_note=shape_note(system, topology),
        )
    # the demand as given (its context and engine as the user said them), at each candidate precision
    tried = [size(catalog, dataclasses.replace(demand, precision=p, assumptions=d.assumptions, engine=None,
                                               kv_cache_precision=None))
             for p in candidates]
    ranked = sorted(range(len(tried)), key=lambda i: _rank_key(tried[i], i))
    best = tried[ranked[0]]

    def how(s: Sizing) -> str:
        if not s.feasible:
            return f"{s.precision} cannot meet the targets"
        cost = f", ${s.usd_per_million_output_tokens:.3g}/M tok" if s.usd_per_million_output_tokens else ""
        return f"{s.precision} {s.racks} rack(s){cost}"

    if best.feasible:
        choice = (f"best of {', '.join(candidates)}: {best.precision} (fewest racks, then lowest cost; "
                  + "; ".join(how(tried[i]) for i in ranked) + ")")
        return dataclasses.replace(best, precision_requested=BEST, precision_choice=choice)
    reasons = "; ".join(f"at {s.precision}: {s.reason}" for s in tried)
    fastest = max(tried, key=lambda s: s.per_user_tokens_per_s)
    return dataclasses.replace(
        fastest,
        reason=f"{accelerator} cannot meet the targets at any precision it computes in and {model} is served in "
               f"({', '.join(candidates)}): {reasons}",
        precision_requested=BEST,
        precision_choice=f"none of {', '.join(candidates)} meets the targets",
    )
