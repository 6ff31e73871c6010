"""calculators.shapes and fleet.size topology: replicas held to what vendors ship unless a larger one is assumed."""

import pytest

from calculators import default_catalog
from calculators.deployment import Demand
from calculators.errors import ScenarioError
from calculators.fleet import size
from calculators.shapes import ASSUMED, SHIPPED, check_topology, shipped_node_counts

CATALOG = default_catalog()
TARGETS = dict(model="deepseek-r1", per_user_tokens_per_s=198.0, total_output_tokens_per_s=20_000.0,
               input_tokens=1000, output_tokens=2000, context_tokens=2000)


def test_sn40l_replicas_are_one_sambarack_by_default():
    """By default an SN40L fleet is whole SambaRacks: 16-chip replicas, more racks as more replicas."""
    s = size(CATALOG, Demand(accelerator="sn40l", precision="best", **TARGETS))
    assert s.feasible and s.replica_chips == int(CATALOG.systems["sambarack-sn40l-16"].max_replica_chips.value)
    assert s.replica_shape == SHIPPED and s.decode_chips == s.replicas * s.replica_chips


@pytest.mark.parametrize("chip", ["sn40l", "gb200", "h200-sxm"])
def test_an_assumed_topology_is_labelled_and_never_needs_more_racks(chip):
    """'assumed' lifts the shipped limit: labelled assumed, and a superset of shapes never needs more racks."""
    shipped = size(CATALOG, Demand(accelerator=chip, precision="best", **TARGETS))
    assumed = size(CATALOG, Demand(accelerator=chip, precision="best", topology=ASSUMED, **TARGETS))
    assert assumed.replica_shape == ASSUMED and "assumed" in assumed.replica_shape_note
    assert assumed.racks <= shipped.racks
    limit = CATALOG.systems[CATALOG.accelerators[chip].system].max_replica_chips.value
    assert shipped.replica_chips <= limit


def test_a_model_too_big_for_the_largest_shipped_replica_says_so():
    """Groq: R1 needs more chips than the largest pipeline shown publicly; the reason names both and the option."""
    s = size(CATALOG, Demand(accelerator="groq-lpu", precision="int8", **TARGETS))
    limit = int(CATALOG.systems["groq-node"].max_replica_chips.value)
    assert not s.feasible and f"{limit:,} chips" in s.reason and "assumed" in s.reason


def test_shipped_node_counts_cut_at_the_limit_and_include_it():
    """Replica sizes above the shipped limit are dropped and the limit itself is tried (40 DGX nodes = 320 GPUs);
    'assumed' keeps every size and still tries the shipped one, so it searches a superset."""
    system = CATALOG.systems["dgx-h100"]
    limit = int(system.max_replica_chips.value // system.chips_per_node.value)
    got = shipped_node_counts([16, 24, 32, 48, 64], system, SHIPPED)
    assert max(got) == limit and limit in got and all(c <= limit for c in got)
    assert shipped_node_counts([16, 64], system, ASSUMED) == sorted({16, 64, limit})
    assert shipped_node_counts([1, 2], system, ASSUMED) == [1, 2]


def test_an_unknown_topology_is_refused_with_the_choices():
    """A topology other than shipped/assumed is a ScenarioError naming both."""
    with pytest.raises(ScenarioError, match="shipped, assumed"):
        check_topology("huge")


def test_cli_size_topology_assumed_is_labelled(capsys):
    """`size --topology assumed --json` labels the answer 'assumed'; the default is 'shipped' for SN40L."""
    import json

    from calculators.cli import main

    base = ["size", "--model", "deepseek-r1", "--accelerator", "sn40l", "--precision", "bf16",
            "--per-user-tokens-per-s", "198", "--total-output-tokens-per-s", "20000", "--input-tokens", "1000",
            "--output-tokens", "2000", "--json"]
    assert main(base) == 0
    assert json.loads(capsys.readouterr().out)["replica_shape"] == SHIPPED
    assert main([*base, "--topology", "assumed"]) == 0
    assert json.loads(capsys.readouterr().out)["replica_shape"] == ASSUMED
