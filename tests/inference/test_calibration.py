"""Temperature scaling and threshold selection (algorithms.md §3.2-§3.3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from inference.calibration import (
    apply_temperature,
    binary_nll,
    fit_temperature,
    select_thresholds,
    select_thresholds_for_escape,
)
from inference.errors import DataError

Y = np.array([0, 0, 0, 1, 1, 1, 1])
P = np.array([0.15, 0.35, 0.85, 0.92, 0.55, 0.25, 0.97])


@pytest.mark.parametrize("t_true", [0.5, 2.5])
def test_fit_temperature_recovers_known_temperature(t_true):
    rng = np.random.default_rng(0)
    z_cal = rng.normal(0.0, 3.0, 40_000)  # calibrated logits
    y = (rng.random(z_cal.size) < 1.0 / (1.0 + np.exp(-z_cal))).astype(int)
    logits = z_cal * t_true  # over- (T > 1) or under-confident model
    t = fit_temperature(logits, y)
    assert t == pytest.approx(t_true, rel=0.04)
    assert binary_nll(logits, y, t) <= binary_nll(logits, y, 1.0)
    assert fit_temperature(logits, y) == t  # deterministic


def test_apply_temperature():
    np.testing.assert_allclose(
        apply_temperature([0.0, 2.0], 2.0), [0.5, 1 / (1 + np.e**-1)]
    )
    with pytest.raises(DataError):
        apply_temperature([0.0], 0.0)


def test_fit_temperature_validation():
    with pytest.raises(DataError, match="both classes"):
        fit_temperature([1.0, 2.0], [1, 1])
    with pytest.raises(DataError, match="empty"):
        fit_temperature([], [])


def test_select_thresholds_spec_rule():
    c = select_thresholds(Y, P, e_max=0.0, o_max=0.0)
    # escape budget 0: t_lo may not exceed the lowest defect p (0.25) -> 0.25
    assert c.t_lo == 0.25
    assert c.auto_escape == 0.0
    # overkill budget 0: t_hi must exceed the good joint at 0.85 -> next candidate 0.92
    assert c.t_hi == 0.92
    assert c.auto_overkill == 0.0
    assert c.review_rate == pytest.approx(4 / 7)  # 0.25, 0.35, 0.55, 0.85
    assert c.feasible
    c2 = select_thresholds(Y, P, e_max=1 / 7, o_max=1 / 7)
    # One escape allowed: the spec's candidates give 0.35, which sends the good joint
    # at 0.35 to review for nothing; with 0.5 as a candidate it passes, same escape.
    assert c2.t_lo == 0.5
    assert c2.auto_escape == pytest.approx(1 / 7)
    assert c2.t_hi == 0.5  # likewise (spec: 0.55); overkill stays 1/7
    assert c2.auto_overkill == pytest.approx(1 / 7)
    assert c2.review_rate == 0.0
    assert select_thresholds(Y, P) == select_thresholds(Y, P)


def test_select_thresholds_saturated_probabilities_do_not_review_everything():
    # A confident model: every good joint at exactly 0, every defect at exactly 1.
    c = select_thresholds([0, 0, 0, 1, 1], [0.0, 0.0, 0.0, 1.0, 1.0], e_max=0.0)
    assert c.t_lo == 0.5  # the spec's candidates {0, 1} would give 0: all reviewed
    assert c.review_rate == 0.0
    assert c.auto_escape == 0.0


def test_select_thresholds_infeasible_overkill():
    c = select_thresholds([0, 1], [1.0, 1.0], o_max=0.0)
    assert c.t_hi == 1.0
    assert not c.feasible


def _brute_force(y, p, target, o_max):
    cands = np.unique(np.concatenate([p, [0.0, 0.5, 1.0]]))
    n = len(y)
    best = None
    for lo, hi in itertools.product(cands, cands):
        if not lo <= 0.5 <= hi:
            continue
        esc = np.sum((y == 1) & (p < lo)) / n
        ovk = np.sum((y == 0) & (p >= hi)) / n
        if esc > target + 1e-12 or (o_max is not None and ovk > o_max + 1e-12):
            continue
        review = np.sum((p >= lo) & (p < hi)) / n
        if best is None or review < best[0] - 1e-15:
            best = (review, lo, hi)
    return best


@pytest.mark.parametrize(("target", "o_max"), [(0.0, None), (0.02, None), (0.0, 0.02)])
def test_escape_mode_gives_smallest_band(target, o_max):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 150)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1).round(3)
    c = select_thresholds_for_escape(y, p, target_escape=target, max_overkill=o_max)
    review, _, _ = _brute_force(y, p, target, o_max)
    assert c.review_rate == pytest.approx(review)
    assert c.auto_escape <= target + 1e-12


def test_escape_mode_per_defect_and_prevalence():
    c = select_thresholds_for_escape(Y, P, target_escape=0.25, escape_per="defect")
    # one of four defects (p = 0.25) may pass automatically: no review band needed
    assert (c.t_lo, c.t_hi, c.review_rate) == (0.5, 0.5, 0.0)
    assert c.auto_escape == pytest.approx(0.25)
    c = select_thresholds_for_escape(Y, P, target_escape=0.2, escape_per="defect")
    assert (c.t_lo, c.t_hi) == (0.25, 0.5)  # the defect at 0.25 must be reviewed
    assert c.review_rate == pytest.approx(2 / 7)
    c = select_thresholds_for_escape(Y, P, target_escape=1e-4, prevalence=1e-3)
    assert c.t_lo == 0.25  # at 0.1 % prevalence one defect of four weighs 2.5e-4
    c = select_thresholds_for_escape(Y, P, target_escape=3e-4, prevalence=1e-3)
    assert c.t_lo == 0.5
    with pytest.raises(DataError, match="escape_per"):
        select_thresholds_for_escape(Y, P, 0.1, escape_per="board")  # type: ignore[arg-type]


def test_fit_temperature_on_separable_data_stays_off_the_bound():
    # 300 validation logits, perfectly separated: the plain NLL runs to T -> 0.
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.1).astype(int)
    logits = np.where(y == 1, rng.normal(6.0, 1.0, 300), rng.normal(-6.0, 1.0, 300))
    plain = fit_temperature(logits, y, smoothing=0.0)
    assert plain == pytest.approx(0.05, rel=1e-3)  # the lower bound
    t = fit_temperature(logits, y)
    assert t > 0.5
    p = apply_temperature(logits, t)
    confidence = np.maximum(p, 1 - p)
    # No more certain than 300 examples support (about 1 - 1/300 on average).
    assert 1 - 1 / 30 < np.mean(confidence) < 1 - 1 / 3000
    with pytest.raises(DataError, match="smoothing"):
        fit_temperature(logits, y, smoothing=1.0)
