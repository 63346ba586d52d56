"""Inspection metrics against algorithms.md §3.1-§3.3."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.errors import DataError
from inference.metrics import (
    brier_score,
    dpmo,
    expected_calibration_error,
    positive_class_ece,
    ppm,
    rate_to_ppm,
    rates_at_prevalence,
    region_metrics,
    regions,
    reliability_diagram,
    threshold_metrics,
)
from inference.types import Region

Y = np.array([0, 0, 0, 1, 1, 1, 1])
P = np.array([0.15, 0.35, 0.85, 0.92, 0.55, 0.25, 0.97])


def test_threshold_metrics_worked_example():
    m = threshold_metrics(Y, P)
    assert (m.tp, m.tn, m.fp, m.fn, m.n) == (3, 2, 1, 1, 7)
    assert m.accuracy == pytest.approx(5 / 7)
    assert m.accuracy == pytest.approx(0.714286, abs=1e-6)
    assert m.overkill == pytest.approx(1 / 7)
    assert m.escape == pytest.approx(1 / 7)
    assert m.sensitivity == pytest.approx(3 / 4)
    assert m.specificity == pytest.approx(2 / 3)
    assert m.precision == pytest.approx(3 / 4)
    assert m.f1 == pytest.approx(0.75)
    # AUROC: 12 positive/negative pairs, 9 ranked correctly
    assert m.auroc == pytest.approx(9 / 12)
    assert m.to_dict()["fn"] == 1


def test_identity_accuracy_overkill_escape():
    rng = np.random.default_rng(1)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        p = rng.random(50)
        m = threshold_metrics(y, p, threshold=float(rng.random()))
        assert m.accuracy + m.overkill + m.escape == pytest.approx(1.0)


def test_single_class_gives_nan_auroc_and_ratios():
    m = threshold_metrics([0, 0], [0.1, 0.7])
    assert math.isnan(m.auroc)
    assert math.isnan(m.sensitivity)
    assert m.specificity == pytest.approx(0.5)


def test_tie_at_threshold_is_defective():
    assert threshold_metrics([1], [0.5]).tp == 1


def test_regions_worked_example():
    r = regions(P, t_lo=0.2, t_hi=0.8)
    assert r == [
        Region.NON_DEFECT,
        Region.POSSIBLE_DEFECT,
        Region.DEFECT,
        Region.DEFECT,
        Region.POSSIBLE_DEFECT,
        Region.POSSIBLE_DEFECT,
        Region.DEFECT,
    ]
    m = region_metrics(Y, P, t_lo=0.2, t_hi=0.8)
    assert m.review_rate == pytest.approx(3 / 7)
    assert m.auto_pass_rate == pytest.approx(1 / 7)
    assert m.auto_defect_rate == pytest.approx(3 / 7)
    assert m.auto_escape == 0.0
    assert m.auto_overkill == pytest.approx(1 / 7)
    assert m.review_count == 3
    assert m.review_accuracy == pytest.approx(2 / 3)


def test_region_threshold_validation():
    with pytest.raises(DataError, match="t_lo"):
        region_metrics(Y, P, t_lo=0.6, t_hi=0.9)
    assert math.isnan(region_metrics(Y, P, t_lo=0.5, t_hi=0.5).review_accuracy)


def test_ece_worked_example():
    ece = expected_calibration_error(Y, P, n_bins=10)
    assert ece == pytest.approx(2.36 / 7)
    assert ece == pytest.approx(0.337143, abs=1e-6)
    assert brier_score(Y, P) == pytest.approx(0.2342571, abs=1e-7)
    d = reliability_diagram(Y, P, n_bins=10)
    np.testing.assert_array_equal(d.counts, [0, 0, 0, 0, 0, 1, 1, 1, 2, 2])
    np.testing.assert_allclose(d.observed[5:], [1, 1, 0, 0.5, 1])
    np.testing.assert_allclose(d.confidence[5:], [0.55, 0.65, 0.75, 0.85, 0.945])
    assert np.isnan(d.observed[:5]).all()


def test_ece_bins_are_right_closed_with_zero_in_first():
    # p = 0 -> C = 1 (last bin); positive variant puts p = 0 in bin 0 and p = 0.1 too
    d = reliability_diagram(
        [0, 0, 1], [0.0, 0.1, 0.1 + 1e-9], n_bins=10, mode="positive"
    )
    np.testing.assert_array_equal(d.counts[:2], [2, 1])


def test_positive_class_ece_perfect_and_bad():
    y = np.array([0] * 8 + [1] * 2)
    assert positive_class_ece(y, np.full(10, 0.2), n_bins=10) == pytest.approx(0.0)
    assert positive_class_ece(y, np.full(10, 0.9), n_bins=10) == pytest.approx(0.7)


def test_rates_at_prevalence():
    r = rates_at_prevalence(Y, P, prevalence=0.5)
    # sensitivity 3/4, specificity 2/3 -> escape = 0.5 * 1/4, overkill = 0.5 * 1/3
    assert r.escape == pytest.approx(0.125)
    assert r.overkill == pytest.approx(1 / 6)
    assert r.accuracy + r.escape + r.overkill == pytest.approx(1.0)
    r = rates_at_prevalence(Y, P, prevalence=1e-3)
    assert r.escape == pytest.approx(1e-3 / 4)
    assert r.escape_ppm == pytest.approx(250.0)
    assert r.ppv == pytest.approx(0.75e-3 / (0.75e-3 + 0.999 / 3))
    r = rates_at_prevalence(Y, P, prevalence=0.5, t_lo=0.2, t_hi=0.8)
    assert r.auto_escape == 0.0
    assert r.auto_overkill == pytest.approx(0.5 / 3)
    with pytest.raises(DataError, match="prevalence"):
        rates_at_prevalence(Y, P, prevalence=0.0)


def test_ppm_helpers():
    assert rate_to_ppm(0.0005) == pytest.approx(500.0)
    assert ppm(3, 1_000_000) == pytest.approx(3.0)
    assert dpmo(5, 100, 500) == pytest.approx(100.0)
    with pytest.raises(DataError):
        ppm(1, 0)


@pytest.mark.parametrize(
    ("y", "p", "match"),
    [
        ([0, 1], [0.5], "len"),
        ([0, 2], [0.5, 0.5], "labels"),
        ([], [], "empty"),
        ([0, 1], [0.5, 1.5], r"\[0, 1\]"),
    ],
)
def test_validation(y, p, match):
    with pytest.raises(DataError, match=match):
        threshold_metrics(y, p)
