"""The catalog carries the December 2026 audit's corrections (shared/reference/hardware.md Part C), value and kind."""

import pytest

from calculators import default_catalog

CATALOG = default_catalog()
A, S = CATALOG.accelerators, CATALOG.systems


@pytest.mark.parametrize(("number", "value", "kind"), [
    # TPU DCN per chip (Google Cloud "TPU machines" table): 100 / 100 / 50 Gbps; v5e 2 x 100 Gbps per 8 chips
    (A["tpu7x"].scale_out_gb_s_per_direction, 12.5, "vendor-spec"),
    (A["tpu-v6e"].scale_out_gb_s_per_direction, 12.5, "vendor-spec"),
    (A["tpu-v5p"].scale_out_gb_s_per_direction, 6.25, "vendor-spec"),
    (A["tpu-v5e"].scale_out_gb_s_per_direction, 3.125, "vendor-spec"),
    (A["tpu7x"].memory_tiers[0].bandwidth_gb_s, 7380, "vendor-spec"),
    # SN40L HBM: Hot Chips 2024 slide, 25.6 TB/s per 16 sockets
    (next(t for t in A["sn40l"].memory_tiers if t.tier == "hbm").bandwidth_gb_s, 1600, "vendor-spec"),
    # Cerebras: no dense figure published, the halving is ours
    (A["cerebras-wse3"].peak_tflops["bf16"], 62500, "estimate"),
    # B300 TDP: NVIDIA's 1,000 W max TGP preferred over Verda's 1,100
    (A["b300"].tdp_w, 1000, "vendor-spec"),
    # GB300 NVL72 rack: NVIDIA's own planning example, 18 x 7.5 kW
    (S["gb300-nvl72"].rack_power_kw, 135, "vendor-spec"),
])
def test_part_c_value_and_kind(number, value, kind):
    """Each audited number has the corrected value and kind."""
    assert number.value == pytest.approx(value) and number.kind == kind


def test_sn40l_ddr_bandwidth_is_in_the_best_supported_range():
    """SN40L DDR: 100-150 GB/s per socket (slide 100, paper > 125), no longer 200."""
    ddr = next(t for t in A["sn40l"].memory_tiers if t.tier == "ddr").bandwidth_gb_s
    assert 100 <= ddr.value <= 150 and ddr.low == 100 and ddr.high == 150


def test_cerebras_band_reaches_below_the_halved_figure():
    """The Cerebras dense estimate's low end sits below 62,500 (the vendor's sparse peak halved)."""
    assert A["cerebras-wse3"].peak_tflops["bf16"].low < 62500


def test_one_usable_hbm_convention():
    """B200, B300 and GB300 list usable HBM (below the physical 192/288 GB, which `high` keeps)."""
    for chip in ("b200", "b300", "gb300"):
        hbm = next(t for t in A[chip].memory_tiers if t.tier == "hbm").capacity_gb
        assert hbm.high is not None and hbm.value < hbm.high


def test_groq_rack_and_card_power():
    """GroqRack = 9 GroqNodes (ALCF); GroqCard 375 W max, 240 W average as the band's low end."""
    assert S["groq-node"].nodes_per_rack.value == 9
    assert A["groq-lpu"].tdp_w.value == 375 and A["groq-lpu"].tdp_w.low == 240
