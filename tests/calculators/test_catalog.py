"""The catalog loader: the shipped catalog loads, and every class of bad file is reported with its file and line."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
import yaml

from calculators import catalog as catalog_module
from calculators import cli
from calculators.catalog import (
    MAX_FILE_BYTES,
    Problem,
    catalog_from_texts,
    default_catalog,
    load_catalog,
    shipped_catalog_files,
)
from calculators.errors import CatalogError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "catalog"
ISSUE_ACCELERATOR_IDS = (
    "h100-sxm h800-sxm h20 h200-sxm b200 b300 gb200 gb300 mi300x mi325x mi355x gaudi3 "
    "tpu-v5e tpu-v5p tpu-v6e tpu7x trainium2 sn40l groq-lpu cerebras-wse3"
).split()


def shipped_texts() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in shipped_catalog_files()]


def problems_in(name: str, raw: bytes | None = None) -> list[Problem]:
    """Problems reported for one fixture layered over the shipped catalog (only the fixture's own)."""
    raw = (FIXTURES / name).read_bytes() if raw is None else raw
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*shipped_texts(), (name, raw)])
    return [p for p in info.value.problems if p.file == name]


def line_of(name: str, needle: str) -> int:
    """1-based line of the first line of a fixture containing needle (or, for '- id: ...', equal to it)."""
    for number, line in enumerate((FIXTURES / name).read_text().splitlines(), start=1):
        if (line.strip() == needle) if needle.startswith("- id:") else (needle in line):
            return number
    raise AssertionError(f"{needle!r} not in {name}")


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


# --- the shipped catalog -----------------------------------------------------------------------------------------


def test_shipped_catalog_loads_with_every_issue_accelerator():
    """The shipped catalog validates and holds the twenty accelerators the product promises."""
    catalog = load_catalog()
    assert set(ISSUE_ACCELERATOR_IDS) <= set(catalog.accelerators)
    for chip in catalog.accelerators.values():
        assert chip.system in catalog.systems
        assert chip.chip_class in catalog.chip_classes


def test_shipped_tiers_match_the_chips_that_have_them():
    """SN40L has SRAM, HBM and DDR; Groq has SRAM only; a GPU has HBM."""
    chips = default_catalog().accelerators
    assert {t.tier for t in chips["sn40l"].memory_tiers} == {"sram", "hbm", "ddr"}
    assert [t.tier for t in chips["groq-lpu"].memory_tiers] == ["sram"]
    assert "hbm" in {t.tier for t in chips["h100-sxm"].memory_tiers}


def test_every_shipped_number_has_a_source_or_a_reason():
    """Every shipped number cites a known source, or is an assumption that says why."""
    from calculators.catalog import _sourced_fields

    catalog = default_catalog()
    for section in ("accelerators", "systems", "precisions", "chip_classes", "engines"):
        for record in getattr(catalog, section).values():
            for path, number in _sourced_fields(record):
                assert number.source in catalog.sources or number.note, (record.id, path)


def test_prices_are_flagged_as_estimates():
    """No price in the shipped catalog pretends to be a vendor spec."""
    catalog = default_catalog()
    for record in [*catalog.accelerators.values(), *catalog.systems.values()]:
        for field in ("price_usd", "rental_usd_per_hour"):
            number = getattr(record, field, None)
            if number is not None:
                assert number.kind in ("estimate", "assumption"), (record.id, field, number.kind)


def test_user_layer_extends_the_shipped_catalog():
    """A valid user file adds its chip and system on top of the shipped catalog."""
    catalog = catalog_from_texts([*shipped_texts(), ("good_chip.yaml", (FIXTURES / "good_chip.yaml").read_bytes())])
    assert catalog.accelerators["x1"].system == "x1-node"
    assert len(catalog.accelerators) == len(default_catalog().accelerators) + 1


def test_user_layer_overrides_a_shipped_chip_by_id():
    """A user entry with a shipped id replaces the shipped entry."""
    text = (FIXTURES / "good_chip.yaml").read_text().replace("  - id: x1\n", "  - id: h100-sxm\n")
    catalog = catalog_from_texts([*shipped_texts(), ("mine.yaml", text)])
    assert catalog.accelerators["h100-sxm"].vendor == "Example Corp"


# --- one test per class of bad input -------------------------------------------------------------------------------


def test_unknown_field_is_named_with_its_line():
    """An unknown field is reported as such, at its own line."""
    p = only(problems_in("unknown_field.yaml"))
    assert (p.line, p.path, p.message) == (line_of("unknown_field.yaml", "colour:"), "accelerators[x1].colour",
                                           "unknown field")


def test_missing_field_is_named_at_its_entry():
    """A missing required field is named, at the line of the entry that lacks it."""
    p = only(problems_in("missing_field.yaml"))
    assert p.path == "accelerators[x1].tdp_w" and p.message == "missing field"
    assert p.line == line_of("missing_field.yaml", "- id: x1")


def test_wrong_type_names_the_value():
    """A list where a number belongs is a type error showing the value."""
    p = only(problems_in("wrong_type.yaml"))
    assert p.path == "accelerators[x1].memory_tiers[0].capacity_gb.value"
    assert "valid number" in p.message and str(p).endswith("(got [144])")
    assert p.line == line_of("wrong_type.yaml", "capacity_gb")


@pytest.mark.parametrize(
    ("name", "needle", "path"),
    [
        ("negative_bandwidth.yaml", "bandwidth_gb_s", "accelerators[x1].memory_tiers[0].bandwidth_gb_s.value"),
        ("zero_power.yaml", "node_power_max_w", "systems[x1-node].node_power_max_w.value"),
    ],
)
def test_out_of_range_number_names_bound_and_value(name, needle, path):
    """Zero or negative bandwidth or power is out of range, with the bound and the value in the message."""
    p = only(problems_in(name))
    assert (p.line, p.path) == (line_of(name, needle), path)
    assert "must be > 0" in p.message and p.has_value


def test_duplicate_id_in_one_file_points_at_both():
    """The same id twice in one file is an error naming where the first one is."""
    p = only(problems_in("duplicate_id.yaml"))
    assert p.message.startswith("duplicate id (first at line") and p.value == "x1"


def test_duplicate_key_is_an_error_not_a_silent_overwrite():
    """PyYAML keeps the last of two equal keys; the loader reports the second instead."""
    problems = problems_in("duplicate_key.yaml")
    p = only([x for x in problems if "duplicate key" in x.message])
    assert p.line == line_of("duplicate_key.yaml", "name: X1 again")
    assert p.path == "accelerators[0].name"


def test_unknown_precision_is_named():
    """A peak-FLOPS precision that the catalog does not define is reported with the known ones."""
    p = only(problems_in("unknown_precision.yaml"))
    assert p.value == "fp6" and "unknown precision" in p.message
    assert p.line == line_of("unknown_precision.yaml", "fp6")


def test_reference_to_missing_system_is_named():
    """A chip whose system id does not exist is reported at the reference."""
    p = only(problems_in("unknown_system.yaml"))
    assert (p.value, p.line) == ("x9-node", line_of("unknown_system.yaml", "system: x9-node"))


def test_reference_to_missing_model_is_named():
    """A validation point citing a model that does not exist is reported at the reference."""
    point = (
        "validation:\n  - id: p1\n    use: test\n    source: nvidia-h100\n    date: 2025-01-01\n"
        "    model: no-such-model\n    accelerator: h100-sxm\n    chips: 8\n    precision: fp8\n"
        "    concurrency: 1\n    context_tokens: 1000\n    metric: per_user_tokens_per_s\n    measured: 30\n"
        "    tolerance: 0.25\n"
    )
    with pytest.raises(CatalogError) as info:
        catalog_from_texts([*shipped_texts(), ("points.yaml", point)])
    p = only([x for x in info.value.problems if x.file == "points.yaml"])
    assert (p.line, p.path, p.value) == (6, "validation[p1].model", "no-such-model")


def test_missing_source_on_a_spec_is_an_error():
    """A vendor-spec number without a source is refused; only assumptions may go without."""
    p = only(problems_in("missing_source.yaml"))
    assert p.path == "accelerators[x1].tdp_w" and "needs a 'source'" in p.message


def test_unknown_source_id_is_an_error():
    """A number citing a source id that does not exist is reported."""
    p = only(problems_in("unknown_source.yaml"))
    assert p.path == "accelerators[x1].tdp_w.source" and p.value == "nowhere"


def test_yaml_syntax_error_names_line_and_column():
    """A syntax error says line and column."""
    p = only(problems_in("syntax_error.yaml"))
    assert re.search(r"line \d+, column \d+", p.message)
    assert p.line in (line_of("syntax_error.yaml", "name: [X1"), line_of("syntax_error.yaml", "name: [X1") + 1)


# --- hostile uploads -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["number_as_string.yaml", "number_with_unit.yaml"])
def test_numbers_as_strings_or_with_units_are_refused(name):
    """'144' and '144 GB' are not numbers: the field and value are named."""
    p = only(problems_in(name))
    assert p.path.endswith("capacity_gb.value") and "valid number" in p.message


def test_python_object_tag_is_refused_without_running():
    """A !!python tag is refused as a tag, never constructed."""
    p = only(problems_in("python_tag.yaml"))
    assert "python/object/apply" in p.message and "not allowed" in p.message


def test_billion_laughs_is_refused_quickly():
    """An alias bomb is refused at its first alias, in well under a second."""
    start = time.perf_counter()
    p = only(problems_in("billion_laughs.yaml"))
    assert "aliases are not allowed" in p.message
    assert time.perf_counter() - start < 5  # generous: the point is that it does not expand 10^9 nodes


def test_deep_nesting_is_refused():
    """Thousands of nested brackets are refused with Rackscale's message and the line, whatever PyYAML says."""
    p = only(problems_in("deep_nesting.yaml"))
    assert p.message == "nesting is too deep (the limit is 40 levels)"
    assert p.file == "deep_nesting.yaml" and p.line == 2


@pytest.mark.parametrize("levels", [41, 300])
def test_deep_block_nesting_is_refused_at_its_line(levels):
    """Indented (block) nesting past the limit is refused at the line where it crosses it, not by the parser."""
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + f"{'  ' * levels}v\n"
    p = only(problems_in("deep_block.yaml", text.encode()))
    assert p.message == "nesting is too deep (the limit is 40 levels)"
    assert p.line == 41  # the 41st mapping opens at key k40 on line 41


def test_nesting_at_the_limit_is_not_refused_for_depth():
    """A document exactly at the depth limit passes the depth check (it fails later only as an unknown section)."""
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(39)) + f"{'  ' * 39}v\n"
    problems = problems_in("at_limit.yaml", text.encode())
    assert problems and all("nesting" not in p.message for p in problems)


def test_non_utf8_is_refused_naming_the_byte():
    """Latin-1 bytes are refused with the offending byte."""
    p = only(problems_in("not_utf8.yaml"))
    assert "not UTF-8" in p.message and "\\xe9" in p.message


def test_oversize_file_is_refused_before_parsing():
    """A file over the size limit is refused by size."""
    raw = b"# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    p = only(problems_in("big.yaml", raw))
    assert "limit" in p.message and f"{MAX_FILE_BYTES:,}" in p.message


def test_failed_loads_leave_the_shipped_catalog_untouched():
    """After every bad fixture, the shipped files and the cached default catalog are unchanged."""
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped_catalog_files()}
    catalog = default_catalog()
    for fixture in sorted(FIXTURES.glob("*.yaml")):
        if fixture.name != "good_chip.yaml":
            with pytest.raises(CatalogError):
                catalog_from_texts([*shipped_texts(), (fixture.name, fixture.read_bytes())])
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in shipped_catalog_files()} == before
    assert default_catalog() is catalog and load_catalog() == catalog


# --- a broken copy of a shipped file -------------------------------------------------------------------------------


def test_broken_copy_of_shipped_file_reports_each_planted_error_with_its_line(tmp_path):
    """Three errors planted in a copy of accelerators.yaml are each reported, on the line where they were planted."""
    lines = (shipped_catalog_files()[0].parent / "accelerators.yaml").read_text().splitlines()
    plans = iter(["bandwidth", "system", "vendor"])  # one error per chip entry, so none hides another
    planted: dict[int, str] = {}
    plan = None
    for i, line in enumerate(lines):
        if line.strip().startswith("- id:"):
            plan = next(plans, None)
        if plan == "bandwidth" and "bandwidth_gb_s:" in line and "value:" in line:
            lines[i] = re.sub(r"value: *[0-9.]+", "value: -5.3", line)
        elif plan == "system" and line.strip().startswith("system:"):
            lines[i] = line.split("system:")[0] + "system: no-such-system"
        elif plan == "vendor" and line.strip().startswith("vendor:"):
            lines[i] = line.replace("vendor:", "vendorr:")
        else:
            continue
        planted[i + 1] = plan
        plan = None
    assert len(planted) == 3
    broken = tmp_path / "accelerators.yaml"
    broken.write_text("\n".join(lines) + "\n")
    others = [p for p in shipped_catalog_files() if p.name != "accelerators.yaml"]
    with pytest.raises(CatalogError) as info:
        load_catalog([*others, broken])
    reported = {p.line for p in info.value.problems if p.file == str(broken)}
    assert set(planted) <= reported, (planted, [str(p) for p in info.value.problems])


# --- the CLI -------------------------------------------------------------------------------------------------------


def test_cli_check_valid_files_exit_0_with_one_line(capsys):
    """`catalog check` on the shipped files exits 0 and prints one summary line."""
    code = cli.main(["catalog", "check", *map(str, shipped_catalog_files())])
    out = capsys.readouterr().out
    assert code == 0 and out.count("\n") == 1 and out.startswith("ok:")


def test_cli_check_bad_file_exit_1_with_file_line_problems(capsys):
    """`catalog check` on a bad file exits 1 and prints `file:line:` problems on stderr."""
    path = FIXTURES / "negative_bandwidth.yaml"
    code = cli.main(["catalog", "check", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{path}:{line_of('negative_bandwidth.yaml', 'bandwidth_gb_s')}: " in err


def test_cli_check_missing_file_exit_1(capsys):
    """A path that does not exist is a clear problem, not a traceback."""
    assert cli.main(["catalog", "check", "/no/such/file.yaml"]) == 1
    assert "cannot read file" in capsys.readouterr().err


class _FutureParser(yaml.SafeLoader):
    """A stand-in for a parser release that refuses flow nesting itself, early and in words of its own."""

    def __init__(self, stream):
        super().__init__(stream)
        if "[[[[[[[[[[" in stream:
            raise yaml.scanner.ScannerError(None, None, "some future wording about levels", None)


def test_nesting_refused_by_the_parser_itself_gets_our_message(monkeypatch):
    """When the fast parser refuses deep nesting in its own words, the loader still reports its own message."""
    monkeypatch.setattr(catalog_module, "_FAST_SAFE_LOADER", _FutureParser)
    p = only(problems_in("deep_nesting.yaml"))
    assert p.message == "nesting is too deep (the limit is 40 levels)"


def test_a_real_syntax_error_is_not_mistaken_for_nesting(monkeypatch):
    """A parser error in a shallow document stays a syntax error with its line, not a nesting refusal."""
    monkeypatch.setattr(catalog_module, "_FAST_SAFE_LOADER", _FutureParser)
    p = only(problems_in("shallow.yaml", b"sources: [[[[[[[[[[1]]]]]]]]]]\nbad: [unclosed\n"))
    assert "nesting" not in p.message and "syntax error" in p.message


# --- engines: the layout kinds they run and their KV-cache default ---------------------------------------------------


def test_every_shipped_engine_declares_layout_kinds_and_a_kv_default_with_sources():
    """Each shipped engine states its layout kinds and its KV-cache precision, each cited or an explained assumption."""
    catalog = default_catalog()
    for engine in catalog.engines.values():
        assert engine.layout_kinds and engine.kv_cache_precision is not None, engine.id
        for choice in (*engine.layout_kinds, engine.kv_cache_precision):
            cited = choice.source in catalog.sources
            assert cited or (choice.kind == "assumption" and choice.note), (engine.id, choice)
        assert engine.kv_cache_precision.value in catalog.precisions


def test_every_shipped_engine_declares_its_mtp_default_with_a_source():
    """Each shipped engine states the MTP depth its published recipes run (0 included), cited or an explained
    assumption: a prediction that names no depth runs it."""
    catalog = default_catalog()
    for engine in catalog.engines.values():
        mtp = engine.mtp_layers_default
        assert mtp is not None, engine.id
        assert mtp.source in catalog.sources or (mtp.kind == "assumption" and mtp.note), (engine.id, mtp)


def _engine_yaml(kinds: str, source: str = "vllm-pr4412") -> str:
    return ("engines:\n  - id: tp-only\n    name: An engine that runs tensor parallel only\n"
            "    fixed_latency_us_per_layer: {value: 100, kind: assumption, note: test}\n"
            f"    layout_kinds:\n      - {{value: {kinds}, kind: vendor-spec, source: {source}}}\n")


def test_an_unknown_layout_kind_is_a_problem():
    """An engine naming a layout kind the model does not know is refused, listing the known kinds."""
    problem = only(problems_in("engine.yaml", _engine_yaml("ring").encode()))
    assert "layout_kinds" in problem.path and "tp, tp-ep, dp-tp, dp-ep, pipeline" in problem.message


def test_a_layout_kind_must_cite_a_known_source():
    """A layout kind's source, like every sourced value's, must exist in the catalog."""
    problem = only(problems_in("engine.yaml", _engine_yaml("tp", "no-such-source").encode()))
    assert problem.path.endswith("layout_kinds[0].source") and "unknown source" in problem.message


def test_a_point_whose_engine_does_not_run_its_layout_fails_loading():
    """A measured point stating layout dp8-ep8 under an engine that runs only tp is a catalog problem, so a
    declaration that a measurement contradicts cannot ship."""
    raw = yaml.safe_load((catalog_module.SHIPPED_CATALOG_DIR / "validation_nvidia_2026.yaml").read_text())
    point = next(p for p in raw["validation"] if p.get("layout") == "dp8-ep8")
    point = {**point, "id": "dep8-under-tp-only", "engine": "tp-only"}
    text = _engine_yaml("tp") + yaml.safe_dump({"validation": [point]}, sort_keys=False)
    problem = only(problems_in("point.yaml", text.encode()))
    assert problem.path == "validation[dep8-under-tp-only].layout"
    assert "engine 'tp-only' does not run layout kind 'dp-ep' (supports: tp)" in problem.message


def test_an_unknown_host_reference_model_is_a_problem():
    """The model the engines' per-sequence time is stated for must exist: a typo names the field and the id."""
    texts = [(name, raw.replace(b"host_reference_model: {value: deepseek-r1", b"host_reference_model: {value: r2"))
             for name, raw in shipped_texts()]
    with pytest.raises(CatalogError) as info:
        catalog_from_texts(texts)
    problem = only(info.value.problems)
    assert "host_reference_model" in problem.path and problem.value == "r2"
