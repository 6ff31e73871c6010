"""The vectorised sweep: its rows agree with predict, its columns are the JSON keys, and its CSV is written fast."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from calculators import sweep as sweep_module
from calculators.catalog import default_catalog
from calculators.decode import predict
from calculators.deployment import Deployment
from calculators.sweep import SweepSpec, sweep

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frame():
    return sweep(default_catalog(), SweepSpec(model="deepseek-r1", accelerators=["h200-sxm"], precisions=["fp8"],
                 concurrencies=[1, 64], context_tokens=8192))


def test_row_matches_predict(frame):
    """A sweep row equals predict for the same chip, layout, batch and MTP (one formula, one place)."""
    row = frame[(frame.chips == 8) & (frame.layout == "tp8") & (frame.concurrency == 64) & (frame.mtp_layers == 1)]
    assert len(row) == 1
    p = predict(default_catalog(), Deployment(model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                                              concurrency=64, context_tokens=8192, mtp_layers=1, layout="tp8"))
    assert row.per_user_tokens_per_s.iloc[0] == pytest.approx(p.per_user_tokens_per_s)
    assert row.step_time_ms.iloc[0] == pytest.approx(p.step_time_ms)
    for name, ms in p.step_breakdown_ms.items():
        assert row[f"step_{name}_ms"].iloc[0] == pytest.approx(ms, abs=1e-9)


def test_columns_and_no_nan(frame):
    """The frontier columns exist and nothing is NaN."""
    for col in ("per_user_tokens_per_s", "total_output_tokens_per_s", "output_tokens_per_s_per_chip",
                "output_tokens_per_s_per_rack", "output_tokens_per_s_per_mw", "fits_in_memory", "bound_by", "layout"):
        assert col in frame.columns
    assert not frame.isna().any().any()
    assert set(frame.mtp_layers) == {0, 1, 2, 3}


def test_round_significant_six_digits():
    """CSV floats are rounded to six significant digits and print short (zero and non-finite pass through)."""
    values = np.array([1234.56789, 0.000123456789, 98765432.1, 0.0, -2.5, np.inf])
    rounded = sweep_module.round_significant(values)
    # hand-rounded: 1234.57, 0.000123457, 98765400, 0, -2.5, inf
    assert [repr(float(v)) for v in rounded] == ["1234.57", "0.000123457", "98765400.0", "0.0", "-2.5", "inf"]


def test_text_column_concatenates_over_label_union():
    """Two text blocks with different labels join into one column with the right strings in order."""
    a = sweep_module.TextColumn(("tp8", "dp8-ep8"), np.array([1, 0], dtype=np.int32))
    b = sweep_module.TextColumn(("tp16", "tp8"), np.array([0, 1, 1], dtype=np.int32))
    joined = sweep_module.TextColumn.concatenate([a, b])
    assert list(joined.to_numpy()) == ["dp8-ep8", "tp8", "tp16", "tp8", "tp8"]


def test_csv_matches_frame(frame, tmp_path):
    """The CSV the CLI writes has the DataFrame's columns and rows, numbers equal to six significant digits."""
    columns = sweep_module.sweep_columns(default_catalog(), SweepSpec(model="deepseek-r1", accelerators=["h200-sxm"],
                                         precisions=["fp8"], concurrencies=[1, 64], context_tokens=8192))
    path = tmp_path / "sweep.csv"
    assert sweep_module.write_csv(columns, str(path)) == len(frame)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(frame.columns) and len(rows) == len(frame)
    for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
        assert row["layout"] == expected["layout"] and row["bound_by"] == expected["bound_by"]
        assert float(row["per_user_tokens_per_s"]) == pytest.approx(expected["per_user_tokens_per_s"], rel=5e-6)
        assert row["fits_in_memory"] == str(bool(expected["fits_in_memory"])).lower()


def test_csv_from_blocks_is_the_csv_of_the_joined_columns(monkeypatch, tmp_path):
    """Blocks formatted in batches while later ones compute write the same bytes as all rows formatted at once."""
    monkeypatch.setattr(sweep_module, "_CSV_BLOCK_ROWS", 500)  # several batches from a small sweep
    sweep_args = dict(model="deepseek-r1", accelerators=["h200-sxm", "mi300x"], concurrencies=[1, 8, 64])
    blocks = list(sweep_module.iter_sweep_blocks(default_catalog(), SweepSpec(**sweep_args)))
    assert len(blocks) > 2
    joined = sweep_module.sweep_columns(default_catalog(), SweepSpec(**sweep_args))
    assert sweep_module.write_csv(iter(blocks), str(tmp_path / "blocks.csv")) == len(joined["chips"])
    sweep_module.write_csv(joined, str(tmp_path / "joined.csv"))
    assert (tmp_path / "blocks.csv").read_bytes() == (tmp_path / "joined.csv").read_bytes()


def test_cli_sweep_does_not_import_pandas():
    """`sweep --csv` runs without importing pandas (its import alone costs about half a predict process)."""
    code = (
        "import sys, tempfile, os\n"
        "from calculators.cli import main\n"
        "path = os.path.join(tempfile.mkdtemp(), 's.csv')\n"
        "assert main(['sweep', '--model', 'deepseek-r1', '--accelerator', 'sn40l', '--csv', path]) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
