"""The shipped kernel and collective curves (hardware_catalog/kernels.yaml): they load, cover the chips they should,
and a badly typed point is refused at its line."""

from __future__ import annotations

import pytest

from calculators.catalog import catalog_from_texts, load_catalog, shipped_catalog_files
from calculators.errors import CatalogError

OPS = ("gemm", "grouped_gemm", "decode_attention", "prefill_attention")


def shipped_texts() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in shipped_catalog_files()]


def curve_file(points: str) -> str:
    return (
        "kernel_curves:\n  - id: x1.gemm.fp8\n    accelerator: gpu\n    op: gemm\n    precision: fp8\n"
        f"    x: tokens\n    points: {points}\n    kind: assumption\n    note: test\n"
    )


FUSED_CLASSES = ("tpu", "dataflow", "sram", "wafer")


def test_every_kernel_launching_chip_resolves_to_a_curve_for_every_op():
    """Each GPU-class chip has its own kernel curve or its class's fallback for every op."""
    catalog = load_catalog()
    owners = {(c.accelerator, c.op) for c in catalog.kernel_curves.values()}
    for chip in catalog.accelerators.values():
        if chip.chip_class in FUSED_CLASSES:
            continue
        for op in OPS:
            assert {(chip.id, op), (chip.chip_class, op)} & owners, (chip.id, op)


def test_fused_program_classes_have_no_kernel_curves():
    """TPU, dataflow, SRAM and wafer chips (compiled programs) keep their class efficiencies: a GPU curve's
    per-kernel floor is not theirs."""
    catalog = load_catalog()
    fused = {a.id for a in catalog.accelerators.values() if a.chip_class in FUSED_CLASSES} | set(FUSED_CLASSES)
    assert not [c.id for c in catalog.kernel_curves.values() if c.accelerator in fused]


def test_every_chip_resolves_to_both_collectives_in_both_scopes():
    """Each chip has its own or its class's alpha-beta curve for all-reduce and all-to-all, inside and across."""
    catalog = load_catalog()
    owners = {(c.accelerator, c.op, c.scope) for c in catalog.collective_curves.values()}
    for chip in catalog.accelerators.values():
        for op in ("all_reduce", "all_to_all"):
            for scope in ("scale_up", "scale_out"):
                assert {(chip.id, op, scope), (chip.chip_class, op, scope)} & owners, (chip.id, op, scope)


def test_measured_curves_are_the_published_tables_only():
    """Only chips with published kernel tables carry 'measured' curves (NVIDIA's and DeepSeek's; for AMD the MI325X
    FP8 GEMM of AMD's MLPerf v5.1 hipBLASLt table and the MI355X FP8 GEMM and FP8 / FP4 fused MoE of AITER's tuned
    gfx950 DeepSeek tables); every other chip's curve is not."""
    catalog = load_catalog()
    measured = {c.accelerator for c in catalog.kernel_curves.values() if c.kind == "measured"}
    assert measured == {"h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300", "h800-sxm", "mi325x", "mi355x"}
    amd = sorted(c.id for c in catalog.kernel_curves.values()
                 if c.kind == "measured" and c.accelerator.startswith("mi"))
    assert amd == ["mi325x.gemm.fp8", "mi355x.gemm.fp8", "mi355x.grouped_gemm.fp4", "mi355x.grouped_gemm.fp8"]


def _gemm_table_against_curve(chip_id: str, table_name: str):
    """A measured FP8 GEMM table under tools/data (tokens, n, k, us per row) beside the chip's FP8 GEMM curve as the
    model uses it, t = floor + roofline at the catalog's peaks / f(M): (rows, measured us, modelled us, M)."""
    import csv
    from pathlib import Path

    import numpy as np

    from calculators.model.efficiency import chip_efficiency

    catalog = load_catalog()
    chip = catalog.accelerators[chip_id]
    eff = chip_efficiency(catalog, chip)
    table = Path(__file__).resolve().parents[2] / "tools" / "data" / table_name
    rows = list(csv.DictReader(line for line in table.open() if not line.startswith("#")))
    m, n, k, us = (np.array([float(r[key]) for r in rows]) for key in ("tokens", "n", "k", "us"))
    weight_bytes = catalog.precisions["fp8"].bytes_per_element.value
    hbm = next(t for t in chip.memory_tiers if t.tier == "hbm")
    roofline_s = np.maximum(((m * k + n * k) * weight_bytes + m * n * 2) / hbm.bandwidth_bytes_s,
                            2 * m * n * k / chip.peak_flop_s("fp8"))
    modelled_us = (eff.floor_s("gemm", "fp8") + roofline_s / eff.fraction("gemm", "fp8", m)) * 1e6
    return rows, us, modelled_us, m


def test_mi325x_fp8_gemm_curve_reproduces_amds_measured_table():
    """The MI325X FP8 GEMM curve, as the model uses it (t = floor + roofline at the catalog's peaks / f(M)), gives
    AMD's published hipBLASLt times (tools/data/amd-mlperf51-mi325x-hipblaslt-fp8.csv, 521 measurements over Llama 2
    70B's four GEMMs, M 16-2,592): median |error| under 5%, every measurement within 30%."""
    import numpy as np

    rows, us, modelled_us, _ = _gemm_table_against_curve("mi325x", "amd-mlperf51-mi325x-hipblaslt-fp8.csv")
    error = np.abs(modelled_us / us - 1)
    assert len(rows) == 521
    assert np.median(error) < 0.05, np.median(error)
    assert error.max() < 0.30, (error.max(), rows[int(error.argmax())])


def test_mi355x_fp8_gemm_curve_reproduces_aiters_measured_table():
    """The MI355X FP8 GEMM curve, as the model uses it (t = floor + roofline / f(M)), gives AITER's tuned gfx950 times
    for DeepSeek-R1's block-scale GEMMs (tools/data/aiter-gfx950-dsv3-fp8-blockscale-gemm.csv, 507 measurements over
    37 shapes): at every M the summed time of the shapes within 25%, and the median |error| per shape under 30% (the
    shapes differ more among themselves, e.g. N = 64 against N = 36,864, than one curve per M can follow)."""
    import numpy as np

    rows, us, modelled_us, m = _gemm_table_against_curve("mi355x", "aiter-gfx950-dsv3-fp8-blockscale-gemm.csv")
    assert len(rows) == 507
    for tokens in np.unique(m):
        at = m == tokens
        assert abs(modelled_us[at].sum() / us[at].sum() - 1) < 0.25, tokens
    assert np.median(np.abs(modelled_us / us - 1)) < 0.30


def test_mi355x_grouped_gemm_curves_reproduce_aiters_fused_moe():
    """The MI355X grouped_gemm curves give AITER's tuned fused-MoE times for DeepSeek-R1 at TP8 (inter 256 per rank):
    the roofline of the distinct experts a step touches (plus the fused shared expert) over the curve's fraction at
    x = tokens x 8 / 256 is within 15% of every measured row at 16 tokens or more (FP8 and MXFP4)."""
    import csv
    from pathlib import Path

    from calculators.model.efficiency import chip_efficiency

    catalog = load_catalog()
    chip = catalog.accelerators["mi355x"]
    eff = chip_efficiency(catalog, chip)
    hbm = next(t for t in chip.memory_tiers if t.tier == "hbm")
    table = Path(__file__).resolve().parents[2] / "tools" / "data" / "aiter-gfx950-dsv3-fused-moe.csv"
    rows = [r for r in csv.DictReader(line for line in table.open() if not line.startswith("#"))
            if r["inter"] == "256" and int(r["tokens"]) >= 16]
    assert {r["precision"] for r in rows} == {"fp8", "fp4"}
    for r in rows:
        tokens, b = float(r["tokens"]), catalog.precisions[r["precision"]].bytes_per_element.value
        touched = 256 * (1 - (1 - 8 / 256) ** tokens) + 1
        bytes_ = touched * 3 * 7168 * 256 * b + 9 * tokens * 7168 * (b + 2)
        flops = 2 * 3 * 7168 * 256 * 9 * tokens
        roofline_s = max(bytes_ / hbm.bandwidth_bytes_s, flops / chip.peak_flop_s(r["precision"]))
        modelled_us = roofline_s / eff.fraction("grouped_gemm", r["precision"], tokens * 8 / 256) * 1e6
        assert abs(modelled_us / float(r["us"]) - 1) < 0.15, r


def test_mi300x_fp8_gemm_curve_is_the_mi325x_table_on_the_same_die():
    """MI300X, the MI325X's compute die at 750 W instead of 1,000, reads the MI325X's measured FP8 GEMM curve: the
    same fraction of the roofline where a GEMM streams its weights (memory-bound: the bytes side is each chip's own
    bandwidth), lower where it is compute-bound (the MAMF ratio 51.4 / 60.4 at large M, blended in by the shape's
    compute share), the same per-call floor; and the model counts it as measured on its silicon (prefill runs at
    it)."""
    import numpy as np

    from calculators.model.efficiency import chip_efficiency

    catalog = load_catalog()
    mi300x, mi325x = (catalog.kernel_curves[f"{c}.gemm.fp8"] for c in ("mi300x", "mi325x"))
    assert mi300x.measured_on == "mi325x" and mi300x.source == mi325x.source and mi300x.floor_us == mi325x.floor_us
    assert [x for x, _ in mi300x.points] == [x for x, _ in mi325x.points]
    ratio = np.array([f3 / f5 for (_, f3), (_, f5) in zip(mi300x.points, mi325x.points, strict=True)])
    assert np.all(ratio <= 1) and np.all(np.diff(ratio) <= 1e-3), ratio     # falls as M turns compute-bound
    assert ratio[0] > 0.98 and abs(ratio[-1] - 0.514 / 0.604) < 0.03, ratio
    assert chip_efficiency(catalog, catalog.accelerators["mi300x"]).measured("gemm", "fp8")
    assert not chip_efficiency(catalog, catalog.accelerators["mi300x"]).measured("gemm", "bf16")


def test_measured_on_must_name_another_known_chip():
    """'measured_on' names a chip of the catalog other than the curve's own, else the curve is refused there."""
    base = curve_file("[[1, 0.1]]").replace("accelerator: gpu", "accelerator: mi300x")
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*shipped_texts(), ("k.yaml", base + "    measured_on: mi999\n")])
    assert any("measured_on" in str(p) for p in info.value.problems), [str(p) for p in info.value.problems]
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*shipped_texts(), ("k.yaml", base + "    measured_on: mi300x\n")])
    assert any("another chip" in str(p) for p in info.value.problems), [str(p) for p in info.value.problems]


def test_yaml_list_points_load_as_pairs():
    """Curve points written as YAML lists become (x, fraction) pairs."""
    catalog = catalog_from_texts([*shipped_texts(), ("k.yaml", curve_file("[[1, 0.1], [64, 0.5]]"))])
    assert catalog.kernel_curves["x1.gemm.fp8"].points == ((1.0, 0.1), (64.0, 0.5))


@pytest.mark.parametrize(("points", "needle"), [
    ('[[1, "0.1"]]', "valid number"),
    ("[[1, 0.1], [1, 0.2]]", "strictly increasing"),
    ("[[1, 1.5]]", "(0, 1]"),
])
def test_bad_points_are_refused_at_their_line(points, needle):
    """A quoted fraction, a repeated x or a fraction above 1 is reported on the points line."""
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*shipped_texts(), ("k.yaml", curve_file(points))])
    mine = [p for p in info.value.problems if p.file == "k.yaml"]
    assert mine and all(p.line == 7 for p in mine), [str(p) for p in mine]
    assert any(needle in p.message for p in mine), [str(p) for p in mine]
