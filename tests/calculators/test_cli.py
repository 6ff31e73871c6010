"""The model's CLI commands: JSON keys, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from calculators.cli import main

ROOT = Path(__file__).resolve().parents[2]
PREDICT = ["predict", "--model", "deepseek-r1", "--accelerator", "h200-sxm", "--chips", "8", "--precision", "fp8",
           "--concurrency", "64", "--context-tokens", "8192"]
SIZE = ["size", "--model", "deepseek-r1", "--accelerator", "sn40l", "--precision", "bf16",
        "--per-user-tokens-per-s", "198", "--total-output-tokens-per-s", "20000", "--input-tokens", "1000",
        "--output-tokens", "8000"]


def test_predict_json_keys(capsys):
    """predict --json prints the contract's keys."""
    assert main([*PREDICT, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("per_user_tokens_per_s", "total_output_tokens_per_s", "step_time_ms", "fits_in_memory", "bound_by",
                "layout", "power_kw", "joules_per_output_token", "per_user_tokens_per_s_low",
                "per_user_tokens_per_s_high"):
        assert key in d


def test_size_json_keys(capsys):
    """size --json prints the contract's keys."""
    assert main([*SIZE, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("feasible", "reason", "chips", "decode_chips", "prefill_chips", "nodes", "racks", "it_power_kw",
                "facility_power_kw", "capex_usd", "usd_per_million_output_tokens", "joules_per_output_token",
                "per_user_tokens_per_s", "total_output_tokens_per_s", "bound_by", "layout"):
        assert key in d


def test_infeasible_exits_zero(capsys):
    """An unreachable target exits 0 with feasible false."""
    argv = [*SIZE, "--json"]
    argv[argv.index("sn40l")] = "h100-sxm"
    argv[argv.index("bf16")] = "fp8"
    argv[argv.index("198")] = "2000"
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["feasible"] is False


def test_bad_arguments_exit_2_with_one_line(capsys):
    """Unknown chip, a precision the chip lacks, zero and NaN targets exit 2 with one line on stderr."""
    for swap in (("h200-sxm", "h999"), ("fp8", "fp4"), ("64", "0")):
        argv = list(PREDICT)
        argv[argv.index(swap[0])] = swap[1]
        assert main(argv) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    argv = list(SIZE)
    argv[argv.index("198")] = "nan"
    assert main(argv) == 2
    assert "per_user_tokens_per_s" in capsys.readouterr().err


def test_validate_prints_every_point(capsys):
    """validate prints each point's error."""
    assert main(["validate"]) == 0
    assert "sglang-h200-fp8-batch8" in capsys.readouterr().out


def test_validate_json_parses(capsys):
    """validate --json prints every point as plain JSON (numbers and booleans, no numpy types)."""
    assert main(["validate", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(isinstance(r["within_tolerance"], bool) for r in rows)


def test_subprocess_predict():
    """python -m calculators predict runs as a whole process."""
    out = subprocess.run([sys.executable, "-m", "calculators", *PREDICT, "--json"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["layout"]


def test_output_cut_short_by_the_reader_is_not_a_traceback():
    """`predict ... | head -1` exits quietly: a closed pipe is the reader's choice, not an error."""
    cmd = (f"{sys.executable} -m calculators predict --model deepseek-r1 --accelerator h200-sxm --chips 8 "
           "--precision fp8 --concurrency 8 --context-tokens 2000 | head -1")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("model") and "Traceback" not in done.stderr
    assert done.returncode == 0
