"""ui.comparison's answer: one sentence per side with racks, facility power and $ per million tokens."""

from __future__ import annotations

from calculators import default_catalog
from ui import compute
from ui import format as fmt
from ui.comparison import answer_sentence, side_label, verdict_line
from ui.params import default_scenario

CATALOG = default_catalog()


def test_answer_sentence_states_racks_power_and_cost_of_a_sizing():
    """A feasible side reads '<label>: N racks, P at the facility, $C per million output tokens.'"""
    s = default_scenario(CATALOG)
    result = compute.size_chip(CATALOG, compute.targets(s), "h200-sxm", "fp8")
    text = answer_sentence("H200", result)
    assert text == (f"H200: {fmt.racks(result.racks)}, {fmt.power_kw(result.facility_power_kw)} at the facility, "
                    f"{fmt.usd(result.usd_per_million_output_tokens)} per million output tokens.")


def test_answer_sentence_says_why_a_side_has_no_answer():
    """An infeasible side or an unavailable one gives the calculator's reason instead of numbers."""
    s = default_scenario(CATALOG)
    unavailable = compute.Unavailable("x", "no such chip")
    assert answer_sentence("X", unavailable) == "X: cannot be sized (no such chip)."
    slow = compute.size_chip(CATALOG, compute.targets(s), "groq-lpu", "bf16")
    assert not slow.feasible and answer_sentence("Groq", slow).startswith("Groq: cannot meet the targets (")


def test_side_label_and_verdict_line_use_words():
    """A side is named by chip name and precision in capitals; a verdict line carries its status label."""
    assert side_label("H200 SXM", "int8") == "H200 SXM (INT8)"
    check = type("C", (), {"status": "fails", "claim": "3x faster"})()
    assert verdict_line("b", check) == ("fails", "Does not hold", "(b) 3x faster")
