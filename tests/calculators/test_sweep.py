"""The vectorised sweep: its rows agree with predict, and its columns are the JSON keys."""

from __future__ import annotations

import pytest

from calculators.catalog import default_catalog
from calculators.decode import predict
from calculators.sweep import sweep


@pytest.fixture(scope="module")
def frame():
    return sweep(default_catalog(), model="deepseek-r1", accelerators=["h200-sxm"], precisions=["fp8"],
                 concurrencies=[1, 64], context_tokens=8192)


def test_row_matches_predict(frame):
    """A sweep row equals predict for the same chip, layout, batch and MTP (one formula, one place)."""
    row = frame[(frame.chips == 8) & (frame.layout == "tp8") & (frame.concurrency == 64) & (frame.mtp_layers == 1)]
    assert len(row) == 1
    p = predict(default_catalog(), model="deepseek-r1", accelerator="h200-sxm", chips=8, precision="fp8",
                concurrency=64, context_tokens=8192, mtp_layers=1, layout="tp8")
    assert row.per_user_tokens_per_s.iloc[0] == pytest.approx(p.per_user_tokens_per_s)
    assert row.step_time_ms.iloc[0] == pytest.approx(p.step_time_ms)


def test_columns_and_no_nan(frame):
    """The frontier columns exist and nothing is NaN."""
    for col in ("per_user_tokens_per_s", "total_output_tokens_per_s", "output_tokens_per_s_per_chip",
                "output_tokens_per_s_per_rack", "output_tokens_per_s_per_mw", "fits_in_memory", "bound_by", "layout"):
        assert col in frame.columns
    assert not frame.isna().any().any()
    assert set(frame.mtp_layers) == {0, 1, 2, 3}
