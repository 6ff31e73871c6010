"""Leave-one-source-out validation (calculators.crossval): no point is predicted with numbers its own source set,
the rows and regimes are what the CLI promises, and bands and verdicts use the cross-validated errors."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from calculators import calibration, crossval
from calculators.catalog import default_catalog
from calculators.claims import check_claim, ratio_verdict
from calculators.cli import main
from calculators.crossval import (
    MIN_CV_POINTS,
    REGIMES,
    CrossValidatedRow,
    band_fraction,
    cross_validate,
    regime_bands,
    regime_of,
)
from calculators.validation import point_engine

CATALOG = default_catalog()


def test_no_point_is_predicted_with_its_own_source_calibration(monkeypatch):
    """In every fold the solver sees no point of the source being predicted, and sees every other solved calibrate
    point of the engines that source touches."""
    calls: list[tuple[str, object]] = []
    real_calibrate, real_predicted = crossval.calibrate, crossval._predicted

    def spy_calibrate(catalog, points, **kwargs):
        calls.append(("calibrate", {p.id for p in points}))
        return real_calibrate(catalog, points, **kwargs)

    def spy_predicted(catalog, point):
        calls.append(("predict", point))
        return real_predicted(catalog, point)

    monkeypatch.setattr(crossval, "calibrate", spy_calibrate)
    monkeypatch.setattr(crossval, "_predicted", spy_predicted)
    rows = cross_validate(CATALOG)
    assert len(rows) == len(CATALOG.validation)
    solved = calibration.calibration_points(CATALOG)
    folds = 0
    last: set[str] | None = None
    for kind, value in calls:
        if kind == "calibrate":
            last, folds = value, folds + 1
            continue
        if last is None:
            continue
        used = {CATALOG.validation[i].source for i in last}
        assert value.source not in used, f"{value.id} predicted with numbers solved on its own source"
    assert folds == len({p.source for p in solved})  # one re-solve per source that calibrates something
    for row in rows:
        touched = {point_engine(CATALOG, p) for p in solved if p.source == row.source}
        expected = {f"{point_engine(CATALOG, p)}.{calibration.field_of(p)}" for p in solved
                    if point_engine(CATALOG, p) in touched and p.source != row.source}
        assert set(row.re_solved) == expected


def test_removing_a_source_moves_the_numbers_it_calibrated():
    """A point that is the only calibration of its engine number is reproduced in sample and not out of sample:
    without it the number takes its peers' value (said in ``fallbacks``)."""
    rows = {r.id: r for r in crossval.cross_validated(CATALOG)}  # the memoised run the bands read
    solved = calibration.calibration_points(CATALOG)
    alone = [p for p in solved
             if sum(point_engine(CATALOG, q) == point_engine(CATALOG, p) and calibration.field_of(q)
                    == calibration.field_of(p) for q in solved) == 1]
    assert alone
    for p in alone:
        row = rows[p.id]
        assert abs(row.in_sample_error_fraction) < 0.02
        assert any(f.startswith(f"{point_engine(CATALOG, p)}.{calibration.field_of(p)}:") for f in row.fallbacks)
        assert abs(row.cross_validated_error_fraction - row.in_sample_error_fraction) > 1e-3


def test_a_source_that_calibrates_nothing_keeps_the_shipped_numbers():
    solved_sources = {p.source for p in calibration.calibration_points(CATALOG)}
    for row in crossval.cross_validated(CATALOG):
        if row.source not in solved_sources:
            assert not row.re_solved and not row.fallbacks
            assert row.cross_validated_error_fraction == pytest.approx(row.in_sample_error_fraction)


def test_cli_json_has_one_row_per_point_with_the_promised_fields(tmp_path, monkeypatch):
    monkeypatch.setenv("RACKSCALE_CACHE_DIR", str(tmp_path))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["validate", "--cross-validate", "--json"]) == 0
    rows = json.loads(out.getvalue())
    assert [r["id"] for r in rows] == list(CATALOG.validation)
    for r in rows:
        for key in ("id", "source", "accelerator", "concurrency", "measured", "predicted",
                    "cross_validated_error_fraction"):
            assert key in r
        assert r["source"] == CATALOG.validation[r["id"]].source
        assert r["cross_validated_error_fraction"] == pytest.approx(r["predicted"] / r["measured"] - 1)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["validate", "--cross-validate"]) == 0
    for label in REGIMES.values():
        assert label in text.getvalue()
    assert "median" in text.getvalue() and "p90" in text.getvalue()


@pytest.mark.parametrize(("concurrency", "mtp", "metric", "regime"), [
    (1, 0, "per_user_tokens_per_s", "batch-small"),
    (4, 0, "output_tokens_per_s_per_chip", "batch-small"),
    (1, 3, "per_user_tokens_per_s", "batch-small-mtp"),
    (5, 0, "per_user_tokens_per_s", "concurrency-mid"),
    (63, 2, "per_user_tokens_per_s", "concurrency-mid"),
    (64, 0, "output_tokens_per_s_per_chip", "concurrency-high"),
    (256, 3, "request_output_tokens_per_s", "concurrency-high"),
    (1, 0, "time_to_first_token_s", "prefill"),
    (512, 0, "input_tokens_per_s_per_chip", "prefill"),
    (128, 0, "joules_per_output_token", "energy"),
])
def test_regimes(concurrency, mtp, metric, regime):
    assert regime_of(concurrency, mtp, metric) == regime


def _row(pid: str, regime: str, chip_class: str, error: float) -> CrossValidatedRow:
    return CrossValidatedRow(pid, "s", "h200-sxm", 1, 1.0, 1 + error, error, regime, chip_class, "test",
                             "per_user_tokens_per_s", "e", error)


def test_band_is_measured_with_enough_points_else_a_wider_fallback():
    errors = [0.1, -0.2, 0.3, -0.1, 0.05]
    rows = [_row(f"p{i}", "concurrency-high", "gpu", e) for i, e in enumerate(errors)]
    rows += [_row("q0", "batch-small", "gpu", 1.0)] * (MIN_CV_POINTS - 1)
    bands = regime_bands(CATALOG, rows)
    high = bands[("concurrency-high", "gpu")]
    assert high.basis == "cross-validated" and high.fraction == pytest.approx(band_fraction(errors))
    assert "concurrency ≥ 64 on GPUs" in high.statement
    small = bands[("batch-small", "gpu")]
    assert small.basis == "fallback" and small.fraction >= high.fraction
    assert small.fraction >= CATALOG.chip_classes["gpu"].validation_error_fraction.value
    tpu = bands[("concurrency-high", "tpu")]  # no TPU row: never below the catalog fallback
    assert tpu.basis == "fallback" and tpu.fraction >= CATALOG.chip_classes["tpu"].validation_error_fraction.value


def test_a_verdict_inside_the_band_says_cant_tell_and_names_the_regime():
    """A throughput claim between the central prediction and the top of its band is undecided, and says which
    cross-validated band it is inside."""
    claim = CATALOG.claims["nvidia-h200-r1-3872-throughput"]
    base = check_claim(CATALOG, claim)
    assert base.status == "holds"
    inside = claim.model_copy(update={"claimed": (base.predicted * base.predicted_high) ** 0.5})
    check = check_claim(CATALOG, inside)
    assert check.status == "unknown" and check.verdict.startswith("Can't tell")
    assert "concurrency ≥ 64 on GPUs" in check.verdict and "cross-validated" in check.verdict
    beyond = claim.model_copy(update={"claimed": base.predicted_high * 1.5})
    assert check_claim(CATALOG, beyond).status == "fails"
    verdict, status = ratio_verdict(claimed=2.0, central=1.5, worst=1.0, best=2.5, bands="the X band")
    assert status == "unknown" and "the X band" in verdict


def test_cached_once_per_catalog_and_on_disk(tmp_path, monkeypatch):
    """The bands come from one cross-validation per catalog version: a second catalog object with the same content
    reads it from disk instead of re-solving."""
    monkeypatch.setenv("RACKSCALE_CACHE_DIR", str(tmp_path))
    catalog = default_catalog().model_copy()  # a copy: its memo starts empty
    first = crossval.cross_validated(catalog)
    assert list(tmp_path.glob("crossval-*.json"))
    monkeypatch.setattr(crossval, "cross_validate", lambda _c: pytest.fail("re-solved a cached catalog"))
    again = crossval.cross_validated(catalog.model_copy())
    assert again == first


def test_stated_figures_are_the_sources_own_numbers_not_the_solved_ones():
    """A source's stated figures (listed on its rows) are catalog numbers citing it that no solve re-derives."""
    solved = calibration.calibration_points(CATALOG)
    for source in {p.source for p in CATALOG.validation.values()}:
        figures = calibration.stated_fields(CATALOG, source)
        for p in solved:
            if p.source == source:
                assert f"engines.{point_engine(CATALOG, p)}.{calibration.field_of(p)}" not in figures
        for path in figures:
            section, key, *rest = path.replace("[", ".").replace("]", "").split(".")
            record = getattr(CATALOG, section)
            record = record[key] if isinstance(record, dict) else getattr(record, key)
            for part in rest:
                record = record[int(part)] if part.isdigit() else getattr(record, part)
            assert record.source == source
