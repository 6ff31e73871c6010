"""The deployment and demand records: one checker each, idempotent, naming the field it refuses."""

from __future__ import annotations

import math

import pytest

from calculators.catalog import default_catalog
from calculators.deployment import Demand, Deployment, check_demand, check_deployment
from calculators.errors import ScenarioError

CATALOG = default_catalog()
R1_B200 = dict(model="deepseek-r1", accelerator="b200", precision="fp4", chips=8, concurrency=64)


def test_a_checked_deployment_resolves_every_default_and_checks_again_to_itself():
    """Checking fills engine, assumptions, MTP depth, serving and context; checking the result changes nothing."""
    d = check_deployment(CATALOG, Deployment(**R1_B200, input_tokens=1000, output_tokens=2000))
    assert d.serving == "aggregated" and d.context_tokens == 2000
    assert d.engine == d.assumptions.engine and d.mtp_layers is not None and d.kv_cache_precision is not None
    assert check_deployment(CATALOG, d) == d


@pytest.mark.parametrize("field,value", [("chips", 0), ("concurrency", -3), ("concurrency", math.nan),
                                         ("context_tokens", 1.5), ("mtp_layers", 99), ("model", "no-such-model"),
                                         ("precision", "fp2"), ("engine", "no-such-engine"), ("serving", "batch")])
def test_a_bad_deployment_field_is_refused_by_name(field, value):
    """Each bad value raises one error type whose message names the field (or the unknown id) it refuses."""
    fields = {**R1_B200, "context_tokens": 2000, field: value}
    with pytest.raises(ScenarioError) as err:
        check_deployment(CATALOG, Deployment(**fields))
    assert field in str(err.value) or repr(value) in str(err.value)


def test_a_checked_demand_keeps_the_fractional_mean_context_and_checks_again_to_itself():
    """A demand decodes at input + output / 2 (fractional when the output is odd); checking twice is checking once."""
    d = check_demand(CATALOG, Demand(model="deepseek-r1", accelerator="h200-sxm", precision="fp8",
                                     per_user_tokens_per_s=50, total_output_tokens_per_s=20_000, input_tokens=1000,
                                     output_tokens=2001))
    assert d.decode_context_tokens == pytest.approx(2000.5) and d.engine == d.assumptions.engine
    assert check_demand(CATALOG, d) == d


def test_a_demand_refuses_a_bad_target_by_name():
    """A zero total output or a negative latency target is refused naming the field."""
    base = dict(model="deepseek-r1", accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=50,
                total_output_tokens_per_s=20_000, input_tokens=1000, output_tokens=2000)
    for field, value in (("total_output_tokens_per_s", 0), ("max_time_to_first_token_s", -1.0),
                         ("topology", "imagined")):
        with pytest.raises(ScenarioError, match=field):
            check_demand(CATALOG, Demand(**{**base, field: value}))
