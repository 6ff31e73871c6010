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


def test_measured_curves_are_the_nvidia_and_deepseek_tables_only():
    """Only chips with published kernel tables carry 'measured' curves; every other chip's curve is not."""
    catalog = load_catalog()
    measured = {c.accelerator for c in catalog.kernel_curves.values() if c.kind == "measured"}
    assert measured == {"h100-sxm", "h200-sxm", "b200", "b300", "gb200", "gb300", "h800-sxm"}


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
