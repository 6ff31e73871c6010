"""The step: MTP tokens per step, kernel curves applied by shape, host overhead, prefill tokens beside decode."""

from __future__ import annotations

import numpy as np
import pytest

from calculators.model import step


def test_mtp_expected_tokens():
    """E_k = 1 + p1 + p1 p2 + p1 p2 p3: 1.92, 2.58, 2.82 with p = 0.92, 0.717, 0.364."""
    acc = (0.92, 0.717, 0.364)
    # 1 + 0.92 = 1.92; + 0.92*0.717 = 0.6596 -> 2.5796; + 0.6596*0.364 = 0.2401 -> 2.8197
    assert step.mtp_expected_tokens(acc, np.array([0, 1, 2, 3])) == pytest.approx([1, 1.92, 2.5796, 2.8197], 1e-4)
