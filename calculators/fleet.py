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
from dataclasses import asdict, dataclass

import numpy as np

from calculators import memory, prefill
from calculators.assumptions import Assumptions, check_assumptions, resolve_assumptions
from calculators.decode import (
    _finite_positive,
    band,
    check_accelerator,
    check_model,
    check_mtp_layers,
    check_precision,
    sram_only,
    uncertainty_band,
    uncertainty_fraction,
)
from calculators.model.step import engine_efficiency, prefill_seconds_per_token
from calculators.precision import BEST, candidate_precisions, check_requested_precision, is_best, no_candidate_reason
from calculators.records import Catalog
from calculators.shapes import (
    SHIPPED,
    check_topology,
    max_replica_nodes,
    replica_shape,
    shape_note,
    shipped_node_counts,
)
from calculators.sweep import decode_grid, nodes_for_capacity, replica_node_counts

HOURS_PER_YEAR = 8766  # 365.25 days
SIZE_CONCURRENCIES = tuple(sorted({int(round(2 ** (i / 2))) for i in range(0, 37)}))  # 1 .. 262,144, ~sqrt(2) steps
MAX_REPLICA_NODES = 64


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


def _infeasible(reason: str, **known) -> Sizing:
    zeros = {f: 0 for f in Sizing.__dataclass_fields__ if Sizing.__dataclass_fields__[f].type in ("int", "float")}
    nones = {f: None for f in Sizing.__dataclass_fields__ if "None" in str(Sizing.__dataclass_fields__[f].type)}
    fields = {**zeros, **nones, "layout": "", "rack_limited_by": "", "bound_by": "", **known}
    fields = {k: v for k, v in fields.items() if k in Sizing.__dataclass_fields__}
    return Sizing(feasible=False, reason=reason, **fields)


def size(
    catalog: Catalog,
    *,
    model: str,
    accelerator: str,
    precision: str,
    per_user_tokens_per_s: float,
    total_output_tokens_per_s: float,
    input_tokens: int,
    output_tokens: int,
    context_tokens: int | None = None,
    mtp_layers: int | None = None,
    assumptions: Assumptions | None = None,
    topology: str = SHIPPED,
) -> Sizing:
    """The fewest chips of ``accelerator`` that serve ``model`` at ``per_user_tokens_per_s`` per user and
    ``total_output_tokens_per_s`` in total, for requests of ``input_tokens`` in and ``output_tokens`` out.

    ``precision`` may be ``best``: see :func:`size_best`. ``topology`` ``shipped`` (default) keeps each replica
    within the size the chip's system ships (:mod:`calculators.shapes`); ``assumed`` allows any replica size.

    Decode (F11): over every replica size, layout, batch and MTP depth (``mtp_layers`` None = try 0..3) that fits and
    meets the per-user speed, minimise replicas x replica chips = ceil(total / replica throughput) x N. The mean
    context while decoding defaults to input + output / 2. Prefill (F12) at input rate = total x input / output.
    """
    check_topology(topology)
    if is_best(check_requested_precision(catalog, precision)):
        return size_best(catalog, model=model, accelerator=accelerator,
                         per_user_tokens_per_s=per_user_tokens_per_s,
                         total_output_tokens_per_s=total_output_tokens_per_s, input_tokens=input_tokens,
                         output_tokens=output_tokens, context_tokens=context_tokens, mtp_layers=mtp_layers,
                         assumptions=assumptions, topology=topology)
    m = check_model(catalog, model)
    chip = check_accelerator(catalog, accelerator)
    check_precision(catalog, chip, precision)
    target_user = _finite_positive("per_user_tokens_per_s", per_user_tokens_per_s)
    target_total = _finite_positive("total_output_tokens_per_s", total_output_tokens_per_s)
    input_tokens = _finite_positive("input_tokens", input_tokens, integer=True)
    output_tokens = _finite_positive("output_tokens", output_tokens, integer=True)
    if context_tokens is None:
        context_tokens = input_tokens + output_tokens / 2
    else:
        context_tokens = _finite_positive("context_tokens", context_tokens, integer=True)
    a = resolve_assumptions(catalog, accelerator) if assumptions is None else check_assumptions(catalog, assumptions)
    if mtp_layers is None:
        mtps = list(range(a.max_mtp_layers + 1)) if m.mtp is not None else [0]
    else:
        mtps = [check_mtp_layers(m, a, mtp_layers)]
    system = catalog.systems[chip.system]
    per_node = int(system.chips_per_node.value)
    err = uncertainty_fraction(catalog, chip)
    known = {"model": model, "accelerator": accelerator, "precision": precision, "engine": a.engine,
             "lifetime_years": a.lifetime_years, "uncertainty_fraction": err, "precision_requested": precision,
             "precision_choice": "fixed", "replica_shape": replica_shape(system, topology),
             "replica_shape_note": shape_note(system, topology)}

    low = nodes_for_capacity(
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
    grid = decode_grid(
        catalog, m, chip, precision, a,
        node_counts=shipped_node_counts(replica_node_counts(low, most=most), system, topology),
        concurrencies=SIZE_CONCURRENCIES,
        mtp_layers=mtps,
        context_tokens=context_tokens,
    )
    fits = grid[grid["fits_in_memory"]]
    if fits.empty:
        return _infeasible(
            f"no layout of up to {int(grid['chips'].max())} {accelerator} chips holds {model} at {precision} "
            f"(capacity; {known['replica_shape_note']})", bound_by="capacity", **known,
        )
    ok = fits[fits["per_user_tokens_per_s"] >= target_user]
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

    # prefill (F12)
    input_rate = target_total * input_tokens / output_tokens
    unit = low * per_node
    # the serving model's prefill rate (measured large-shape kernel curves where the chip has them, else the engine's
    # or class's end-to-end efficiency): the same number as disaggregated serving and the prefill validation points
    rate_per_chip = float(1.0 / prefill_seconds_per_token(
        m, chip, precision, a, input_tokens, efficiency=engine_efficiency(catalog, chip, a),
        chunk_tokens=a.prefill_chunk_tokens, ranks=unit,
    ))
    n_prefill = prefill.prefill_chips(input_rate, a.prefill_cache_hit_rate, rate_per_chip, unit)
    ttft = prefill.time_to_first_token_s(input_tokens, a.prefill_cache_hit_rate, rate_per_chip, unit)

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
    if system.price_usd is not None:
        capex = nodes * system.price_usd.value
    elif chip.price_usd is not None:
        capex = chips * chip.price_usd.value
    else:
        capex = None
    known["cost_basis"] = cost_basis(catalog, accelerator)
    owned = (
        usd_per_million_tokens(owned_usd_per_hour(capex, a.lifetime_years, facility_kw, a.electricity_usd_per_kwh),
                               target_total)
        if capex is not None else None
    )
    rental = (
        usd_per_million_tokens(chips * chip.rental_usd_per_hour.value, target_total)
        if chip.rental_usd_per_hour is not None else None
    )
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
        **known,
    )


def cost_basis(catalog: Catalog, accelerator: str) -> str:
    """What the money columns rest on: the catalog prices used and their kind (an estimate or an assumption is
    named as such), or why there is none."""
    chip = catalog.accelerators[accelerator]
    system = catalog.systems[chip.system]
    parts = []
    if system.price_usd is not None:
        parts.append(f"owned: {system.name} price {system.price_usd.kind}")
    elif chip.price_usd is not None:
        parts.append(f"owned: chip price {chip.price_usd.kind}")
    else:
        parts.append("owned: no purchase price in the catalog (not sold, or none public)")
    if chip.rental_usd_per_hour is not None:
        parts.append(f"rented: {chip.rental_usd_per_hour.kind} per chip-hour")
    else:
        parts.append("rented: no public rental rate in the catalog")
    return "; ".join(parts)


def _rank_key(s: Sizing, order: int) -> tuple:
    cost = s.usd_per_million_output_tokens
    return (not s.feasible, s.racks if s.feasible else math.inf, cost if cost is not None else math.inf,
            s.chips if s.feasible else math.inf, order)


def size_best(
    catalog: Catalog,
    *,
    model: str,
    accelerator: str,
    per_user_tokens_per_s: float,
    total_output_tokens_per_s: float,
    input_tokens: int,
    output_tokens: int,
    context_tokens: int | None = None,
    mtp_layers: int | None = None,
    assumptions: Assumptions | None = None,
    topology: str = SHIPPED,
) -> Sizing:
    """``size`` at each precision ``accelerator`` computes in and ``model`` is served in
    (:func:`calculators.precision.candidate_precisions`), keeping the one that meets the targets with the fewest
    racks, then the lowest $ per million output tokens, then the fewest chips (ties: the model's native format,
    then the wider one). ``precision`` is the one chosen, ``precision_requested`` is ``best`` and
    ``precision_choice`` says how each candidate did. When none meets the targets the answer is infeasible with
    each precision's reason."""
    m = check_model(catalog, model)
    chip = check_accelerator(catalog, accelerator)
    candidates = candidate_precisions(catalog, m, chip)
    if not candidates:
        a = resolve_assumptions(catalog, accelerator) if assumptions is None else assumptions
        system = catalog.systems[chip.system]
        return _infeasible(
            no_candidate_reason(catalog, m, chip), model=model, accelerator=accelerator, precision="",
            engine=a.engine, lifetime_years=a.lifetime_years, uncertainty_fraction=uncertainty_fraction(catalog, chip),
            precision_requested=BEST, precision_choice="no candidate precision",
            replica_shape=replica_shape(system, topology), replica_shape_note=shape_note(system, topology),
        )
    tried = [
        size(catalog, model=model, accelerator=accelerator, precision=p, per_user_tokens_per_s=per_user_tokens_per_s,
             total_output_tokens_per_s=total_output_tokens_per_s, input_tokens=input_tokens,
             output_tokens=output_tokens, context_tokens=context_tokens, mtp_layers=mtp_layers,
             assumptions=assumptions, topology=topology)
        for p in candidates
    ]
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
