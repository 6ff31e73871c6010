"""Calculations at the edges: zero, tiny and astronomical targets, odd chips, a model that fits nowhere.

The contract (calculators/fleet.py, decode.py): an input outside the domain raises ScenarioError (a ValueError)
naming the argument; anything inside it gives finite numbers or ``feasible=False`` with a reason; never NaN, inf or
a ZeroDivisionError. Hypothesis explores the numeric inputs with fixed seeds and bounded example counts.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from calculators import decode, fleet, sweep
from calculators.assumptions import resolve_assumptions
from calculators.catalog import catalog_from_texts, default_catalog, read_files, shipped_catalog_files
from calculators.deployment import Demand, Deployment
from calculators.errors import ScenarioError
from calculators.sweep import SweepSpec

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CHIPS = [("h200-sxm", "fp8"), ("sn40l", "bf16"), ("groq-lpu", "int8"), ("cerebras-wse3", "bf16"), ("b200", "fp4")]
TARGET = dict(model="deepseek-r1", input_tokens=1000, output_tokens=2000)


def _chip_yaml(chip_id: str, tiers: list[tuple[str, str, str]], *, system: str = "dgx-h100") -> str:
    """A user chip (as a catalog YAML layer) with the given (tier, capacity_gb, bandwidth_gb_s) memory tiers."""
    note = 'note: "hostile test chip"'
    lines = [f"  - tier: {t}\n    capacity_gb: {{value: {c}, kind: assumption, {note}}}\n"
             f"    bandwidth_gb_s: {{value: {b}, kind: assumption, {note}}}" for t, c, b in tiers]
    body = "\n".join("      " + ln for block in lines for ln in block.splitlines())
    return f"""accelerators:
  - id: {chip_id}
    vendor: Hostile
    name: {chip_id}
    chip_class: gpu
    system: {system}
    memory_tiers:
{body}
    peak_tflops:
      bf16: {{value: 989, kind: assumption, {note}}}
      fp8: {{value: 1979, kind: assumption, {note}}}
    scale_up_gb_s_per_direction: {{value: 450, kind: assumption, {note}}}
    scale_out_gb_s_per_direction: {{value: 50, kind: assumption, {note}}}
    tdp_w: {{value: 700, kind: assumption, {note}}}
"""


@pytest.fixture(scope="module")
def catalog():
    return default_catalog()


@pytest.fixture(scope="module")
def odd_catalog():
    """The shipped catalog plus a one-tier SRAM chip, a one-tier HBM chip and a chip too small to hold anything."""
    layer = "".join([
        _chip_yaml("one-tier-hbm", [("hbm", "192", "8000")]),
        _chip_yaml("one-tier-sram", [("sram", "0.5", "100000")]).removeprefix("accelerators:\n"),
        _chip_yaml("tiny-memory", [("hbm", "0.0001", "3000")]).removeprefix("accelerators:\n"),
        _chip_yaml("slow-ddr", [("ddr", "4096", "0.001")]).removeprefix("accelerators:\n"),
    ])
    return catalog_from_texts([*read_files(shipped_catalog_files()), ("hostile.yaml", layer)])


def _finite(record) -> list[str]:
    """Names of float fields (top level and step breakdown) that are NaN or infinite."""
    d = record.to_dict()
    bad = [k for k, v in d.items() if isinstance(v, float) and not math.isfinite(v)]
    bad += [f"breakdown.{k}" for k, v in d.get("step_time_breakdown_ms", {}).items() if not math.isfinite(v)]
    return bad


def _check_sizing(s, who: str) -> None:
    assert not _finite(s), f"{who}: non-finite {_finite(s)}"
    if s.feasible:
        assert s.chips >= 1 and s.racks >= 1 and s.it_power_kw > 0, who
        assert s.per_user_tokens_per_s > 0 and s.joules_per_output_token > 0, who
    else:
        assert s.reason.strip(), f"{who}: infeasible without a reason"
    ints = [k for k, v in s.to_dict().items() if isinstance(v, int) and not isinstance(v, bool)]
    assert all(getattr(s, k) >= 0 for k in ints), who


@pytest.mark.parametrize(("chip", "precision"), CHIPS)
@pytest.mark.parametrize(("user", "total"), [(1e-9, 1e-9), (1e-9, 1e12), (1e12, 1e-9), (1e12, 1e12), (0.1, 1.0)])
def test_size_at_tiny_and_astronomical_targets(catalog, chip, precision, user, total, hostile_report):
    """1e-9 and 1e12 tok/s targets give finite sizings or an infeasible answer with a reason, never NaN/inf."""
    s = fleet.size(catalog, Demand(accelerator=chip, precision=precision, per_user_tokens_per_s=user,
                                   total_output_tokens_per_s=total, **TARGET))
    hostile_report("edges", cases=1)
    _check_sizing(s, f"{chip} user={user} total={total}")
    if user >= 1e12:
        assert not s.feasible and ("cannot reach" in s.reason or s.bound_by == "capacity")


@pytest.mark.parametrize("arg", ["per_user_tokens_per_s", "total_output_tokens_per_s", "input_tokens",
                                 "output_tokens", "context_tokens"])
@pytest.mark.parametrize("bad", [0, -1, -1e-9, float("nan"), float("inf"), float("-inf"), "10", None, True, 2.5])
def test_size_rejects_bad_numbers_naming_the_argument(catalog, arg, bad, hostile_report):
    """Zero, negative, NaN, inf, strings, None, booleans (and fractions for counts) raise ScenarioError naming it."""
    if bad == 2.5 and arg in ("per_user_tokens_per_s", "total_output_tokens_per_s"):
        pytest.skip("a fractional rate is a valid rate")
    if bad is None and arg == "context_tokens":
        pytest.skip("context_tokens=None means the documented default")
    kw = dict(accelerator="h200-sxm", precision="fp8", per_user_tokens_per_s=50.0,
              total_output_tokens_per_s=1000.0, **TARGET)
    kw[arg] = bad
    hostile_report("edges", cases=1)
    with pytest.raises(ScenarioError, match=arg):
        fleet.size(catalog, Demand(**kw))


@pytest.mark.parametrize("arg", ["chips", "concurrency", "context_tokens"])
@pytest.mark.parametrize("bad", [0, -3, float("nan"), float("inf"), 1.5, "8", None, False])
def test_predict_rejects_bad_numbers_naming_the_argument(catalog, arg, bad, hostile_report):
    """predict's counts reject zero, negative, NaN, inf, fractions, strings, None and booleans by name."""
    kw = dict(model="deepseek-r1", accelerator="h200-sxm", chips=16, precision="fp8", concurrency=8,
              context_tokens=1000)
    kw[arg] = bad
    hostile_report("edges", cases=1)
    with pytest.raises(ScenarioError, match=arg):
        decode.predict(catalog, Deployment(**kw))


@pytest.mark.parametrize("name", ["pue", "electricity_usd_per_kwh", "rack_power_budget_kw",
                                  "memory_bandwidth_efficiency", "lifetime_years"])
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_assumption_overrides_reject_bad_values_naming_them(catalog, name, bad):
    """An override of zero, negative, NaN or inf raises ScenarioError naming the assumption."""
    if name == "electricity_usd_per_kwh" and bad == 0.0:
        pytest.skip("free electricity is a valid scenario")
    with pytest.raises(ScenarioError, match=name):
        resolve_assumptions(catalog, "h200-sxm", **{name: bad})


@SETTINGS
@seed(5)
@given(chip=st.sampled_from(CHIPS),
       user=st.floats(min_value=1e-9, max_value=1e12, allow_nan=False),
       total=st.floats(min_value=1e-9, max_value=1e12, allow_nan=False),
       input_tokens=st.integers(1, 10_000_000), output_tokens=st.integers(1, 10_000_000),
       context=st.one_of(st.none(), st.integers(1, 10_000_000)))
def test_size_is_finite_or_infeasible_over_random_targets(catalog, chip, user, total, input_tokens, output_tokens,
                                                          context, hostile_report):
    """Any positive finite targets and request shapes give finite numbers or feasible=False with a reason."""
    s = fleet.size(catalog, Demand(accelerator=chip[0], precision=chip[1], per_user_tokens_per_s=user,
                                   total_output_tokens_per_s=total, model="deepseek-r1", input_tokens=input_tokens,
                                   output_tokens=output_tokens, context_tokens=context))
    _check_sizing(s, f"{chip} {user} {total} {input_tokens} {output_tokens} {context}")
    hostile_report("edges", cases=1)


@SETTINGS
@seed(7)
@given(chip=st.sampled_from(CHIPS + [("one-tier-hbm", "fp8"), ("one-tier-sram", "bf16"), ("slow-ddr", "fp8")]),
       model=st.sampled_from(["deepseek-r1", "llama-3.1-70b"]),
       chips=st.integers(1, 200_000), concurrency=st.integers(1, 10_000_000),
       context=st.integers(1, 100_000_000), mtp=st.integers(0, 3))
def test_predict_is_finite_over_random_replicas(odd_catalog, chip, model, chips, concurrency, context, mtp,
                                                hostile_report):
    """Any replica size, batch and context on any chip (one-tier ones included) predicts finite numbers."""
    try:
        p = decode.predict(odd_catalog, Deployment(model=model, accelerator=chip[0], precision=chip[1], chips=chips,
                                                   concurrency=concurrency, context_tokens=context, mtp_layers=mtp))
    except ScenarioError as exc:
        # only the documented domain limits: MTP on a model without it, or a replica size the chip's engine runs no
        # layout of (its message names the engine and the kinds it runs)
        assert "mtp_layers" in str(exc) or ("runs no layout of" in str(exc) and "it supports:" in str(exc)), exc
        return
    assert not _finite(p), f"non-finite {_finite(p)}"
    assert p.per_user_tokens_per_s > 0 and p.step_time_ms > 0
    assert p.memory_used_fraction >= 0
    hostile_report("edges", cases=1)


@pytest.mark.parametrize("chip", ["one-tier-hbm", "one-tier-sram", "slow-ddr"])
def test_one_tier_chips_size_to_an_answer(odd_catalog, chip):
    """A user chip with a single memory tier (HBM, SRAM or a very slow DDR) sizes to a finite answer or a reason."""
    s = fleet.size(odd_catalog, Demand(accelerator=chip, precision="fp8", per_user_tokens_per_s=20.0,
                                       total_output_tokens_per_s=5000.0, **TARGET))
    _check_sizing(s, chip)


def test_model_that_fits_nowhere_is_infeasible_by_capacity(odd_catalog):
    """A chip with 100 kB of memory cannot hold DeepSeek-R1: feasible=False, bound by capacity, zeros not NaN."""
    s = fleet.size(odd_catalog, Demand(accelerator="tiny-memory", precision="fp8", per_user_tokens_per_s=20.0,
                                       total_output_tokens_per_s=5000.0, **TARGET))
    assert not s.feasible
    assert s.bound_by == "capacity" and "holds" in s.reason and "tiny-memory" in s.reason
    assert s.chips == 0 and s.racks == 0
    _check_sizing(s, "tiny-memory")


def test_sweep_over_odd_chips_has_no_nan_or_inf(odd_catalog):
    """The frontier sweep over one-tier and tiny chips at batch 1 and 10^7 has no NaN or inf in any number."""
    frame = sweep.sweep(odd_catalog, SweepSpec(model="deepseek-r1", precisions=["fp8"],
                        accelerators=["one-tier-hbm", "tiny-memory", "slow-ddr", "h200-sxm"],
                        concurrencies=[1, 10_000_000], max_replica_nodes=4))
    numbers = frame.select_dtypes("number")
    assert len(frame) > 0
    bad = [c for c in numbers.columns if not np.isfinite(numbers[c].to_numpy(dtype=float)).all()]
    assert not bad, f"non-finite values in {bad}"


SIZE = ["size", "--model", "deepseek-r1", "--accelerator", "h200-sxm", "--precision", "fp8",
        "--per-user-tokens-per-s", "50", "--total-output-tokens-per-s", "1000", "--input-tokens", "1000",
        "--output-tokens", "1000"]


def _swap(flag: str, value: str) -> list[str]:
    argv = list(SIZE)
    argv[argv.index(flag) + 1] = value
    return argv


@pytest.mark.parametrize(("argv", "needle"), [
    (_swap("--per-user-tokens-per-s", "abc"), "per-user-tokens-per-s"),
    (_swap("--per-user-tokens-per-s", "-5"), "per"),
    (_swap("--total-output-tokens-per-s", "inf"), "total_output_tokens_per_s"),
    (_swap("--total-output-tokens-per-s", "0"), "total_output_tokens_per_s"),
    (_swap("--input-tokens", "1e999"), "input-tokens"),
    (_swap("--output-tokens", "0"), "output_tokens"),
    (_swap("--accelerator", "<script>"), "<script>"),
    (SIZE[:-2], "output-tokens"),
    (["frobnicate"], "frobnicate"),
])
def test_cli_bad_arguments_exit_2_with_one_line(argv, needle):
    """Bad CLI numbers, ids, a missing flag or an unknown command exit 2 with exactly one line naming the problem."""
    proc = subprocess.run([sys.executable, "-m", "calculators", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    assert needle in lines[0] and "Traceback" not in proc.stderr
    assert proc.stdout == ""
