"""Memory formulas (F1-F3): parameter counts, weight bytes, KV per token, tier placement."""

from __future__ import annotations

import numpy as np
import pytest

from calculators import memory
from calculators.catalog import default_catalog


@pytest.fixture(scope="module")
def r1():
    return default_catalog().models["deepseek-r1"]


def test_mla_attention_params_per_layer(r1):
    """MLA attention weights per layer come from the latent ranks, not a typed total."""
    # 7168*1536 + 1536*128*192 + 7168*576 + 512*128*256 + 128*128*7168
    # = 11,010,048 + 37,748,736 + 4,128,768 + 16,777,216 + 117,440,512 = 187,105,280
    assert memory.attention_params_per_layer(r1) == 187_105_280


def test_r1_total_and_active_parameters(r1):
    """R1 derives to 671B total and ~37B active from its architecture."""
    p = memory.parameter_counts(r1)
    # 61*187,105,280 + 3*396,361,728 + 58*(257*44,040,192 + 1,835,008) + 2*926,679,040 = 671,025,397,760
    assert p.total == 671_025_397_760
    # active: 11,413,422,080 + 1,189,085,184 + 58*(9*44,040,192 + 1,835,008) + 1,853,358,080 = 37,551,276,032
    assert p.active == 37_551_276_032


def test_r1_fp8_weights_about_069_tb(r1):
    """R1 FP8 weights incl. the MTP module are ~0.69 TB."""
    bytes_fp8 = memory.bytes_per_element(default_catalog(), "fp8")
    # (671.025e9 + 11.5e9) * 1.000244 = 682.69e9 bytes
    assert memory.weight_bytes(r1, bytes_fp8) == pytest.approx(682.69e9, rel=1e-4)
    assert 0.66e12 < memory.weight_bytes(r1, bytes_fp8) < 0.70e12


def test_r1_kv_per_token_bf16(r1):
    """MLA KV per token is the latent plus RoPE key per layer: 61*(512+64)*2 = 70,272 B in BF16."""
    assert memory.kv_bytes_per_token(r1, 2) == 70_272


def test_gqa_kv_per_token():
    """A GQA model caches K and V per KV head: 2 x kv_heads x head_dim x layers x bytes."""
    llama = default_catalog().models.get("llama-3.1-405b")
    if llama is None:
        pytest.skip("catalog has no llama-3.1-405b")
    # 2 * 8 * 128 * 126 * 2 = 516,096 B (DeepSeek ISCA'25 Table 1: 516.096 KB)
    assert memory.kv_bytes_per_token(llama, 2) == 516_096


def test_tiers_fill_fastest_first_and_charge_reads_per_tier():
    """Placement fills SRAM, then HBM, then DDR; reads are charged to the tier each byte sits in."""
    sn40l = default_catalog().accelerators["sn40l"]
    usable = 1.0
    sram, hbm = 0.545e9, 68.7e9
    (shares,), fits = memory.place_in_tiers(sn40l, usable, np.array(sram + hbm + 10e9))
    total = sram + hbm + 10e9
    assert [float(s) for s in shares] == pytest.approx([sram / total, hbm / total, 10e9 / total])
    assert bool(fits)
    spb = memory.seconds_per_byte(sn40l, shares, 1.0)
    # sum share_t / BW_t with BW = 200 TB/s, 1.8 TB/s, 200 GB/s (catalog values)
    expected = sum(s / t.bandwidth_bytes_s for s, t in zip(shares, memory.tiers_fastest_first(sn40l), strict=True))
    assert float(spb) == pytest.approx(float(expected))


def test_overflow_reports_not_fitting():
    """Bytes beyond every tier's usable capacity make fits False."""
    h100 = default_catalog().accelerators["h100-sxm"]
    _, fits = memory.place_in_tiers(h100, 0.5, np.array(41e9))  # 80 GB x 0.5 = 40 GB usable
    assert not bool(fits)


def test_weight_storage_precision_choices():
    """None keeps the compute precision; 'native' takes R1's FP8 checkpoint only when narrower; an id is used as is."""
    c = default_catalog()
    r1 = c.models["deepseek-r1"]  # native_precision fp8 (1.000244 B) vs bf16 (2 B) vs fp4 (0.5625 B)
    assert memory.weight_storage_precision(c, r1, "bf16", None) == "bf16"
    assert memory.weight_storage_precision(c, r1, "bf16", "native") == "fp8"
    assert memory.weight_storage_precision(c, r1, "fp4", "native") == "fp4"
    assert memory.weight_storage_precision(c, r1, "bf16", "int8") == "int8"
