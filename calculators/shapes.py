"""Replica shapes a vendor ships: how many chips one copy of the model may span (``System.max_replica_chips``).

``shipped`` (the default topology of ``size``) keeps to replicas no larger than the system declares it ships or
has shown publicly (SambaRack: 16 chips, one rack; NVL72: 72, one NVLink domain; 8-GPU nodes: scale-out expert
parallelism as published; Groq and Cerebras: multi-system pipelines as their vendors describe them); more
throughput then means more replicas. ``assumed`` lifts the limit to any replica the layouts allow, and results say
so. A system that declares no limit is searched as under ``assumed`` and labelled ``assumed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from calculators.errors import ScenarioError
from calculators.records import System

SHIPPED = "shipped"
ASSUMED = "assumed"
TOPOLOGIES = (SHIPPED, ASSUMED)


def check_topology(topology: str) -> str:
    """``topology`` if it is one of :data:`TOPOLOGIES`, else a ScenarioError naming them."""
    if topology not in TOPOLOGIES:
        raise ScenarioError(f"'topology' must be one of {', '.join(TOPOLOGIES)} (got {topology!r})")
    return topology


def max_replica_nodes(system: System, topology: str) -> int | None:
    """The most nodes one replica may span under ``topology`` (None = no limit)."""
    if topology != SHIPPED or system.max_replica_chips is None:
        return None
    return max(1, int(system.max_replica_chips.value // system.chips_per_node.value))


def replica_shape(system: System, topology: str) -> str:
    """``shipped`` when replicas are held to what the vendor ships, else ``assumed``."""
    return SHIPPED if max_replica_nodes(system, topology) is not None else ASSUMED


def shipped_node_counts(counts: Sequence[int], system: System, topology: str) -> list[int]:
    """``counts`` (replica sizes in nodes) without those larger than the shipped limit, plus the limit itself when
    it lies within their range (DeepSeek's 40-node unit is not a power of two).

    Under ``assumed`` nothing is dropped, and the shipped size is still tried when it lies within the counts' range,
    so ``assumed`` searches a superset of ``shipped`` and never needs more racks."""
    declared = max_replica_nodes(system, SHIPPED)
    most = max_replica_nodes(system, topology)
    if most is None:
        within = declared is not None and counts and min(counts) <= declared <= max(counts)
        return sorted(set(counts) | ({declared} if within else set()))
    kept = sorted({c for c in counts if c <= most} | ({most} if counts and min(counts) <= most else set()))
    return kept


def shape_note(system: System, topology: str) -> str:
    """One line on the replica shape used, for tables and CSVs."""
    most = max_replica_nodes(system, topology)
    if most is not None:
        chips = int(system.max_replica_chips.value)
        return f"shipped: replicas of at most {chips} chips ({system.max_replica_chips.note or system.name})"
    if topology == SHIPPED:
        return f"assumed: {system.name} declares no shipped replica size; any replica the layouts allow"
    return "assumed: any replica the layouts allow, larger than the vendor ships"
