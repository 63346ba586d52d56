"""Drift control-chart maths against hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.control_limits import (
    chi2_quantile,
    p_chart_limits,
    psi,
    psi_limit,
    xbar_limits,
)
from inference.drift import (
    ALARM,
    OK,
    TOO_FEW,
    DriftRules,
    JointSample,
    WindowStats,
    apply_runs,
    build_windows,
    chart_points,
    describe_alarm,
    logit,
    reference_model,
    window_stats,
)

NO_OD = DriftRules(overdispersion=False, reference_error=False)


def sample(
    p: list[float] | np.ndarray,
    *,
    band: list[bool] | None = None,
    settled: list[bool] | None = None,
    false_call: list[bool] | None = None,
    disagree: list[bool] | None = None,
    group: list[int] | None = None,
) -> JointSample:
    n = len(p)

    def arr(x: list[bool] | None) -> np.ndarray:
        return np.zeros(n, dtype=bool) if x is None else np.asarray(x, dtype=bool)

    return JointSample(
        np.asarray(p, dtype=np.float64),
        arr(band),
        arr(settled),
        arr(false_call),
        arr(disagree),
        np.zeros(n, dtype=np.int64) if group is None else np.asarray(group),
    )


def test_p_chart_limits_by_hand() -> None:
    # p-bar 0.1, n 100: sigma = sqrt(0.1 * 0.9 / 100) = 0.03, limits 0.1 +/- 0.09.
    lcl, ucl = p_chart_limits(0.1, 100)
    assert lcl == pytest.approx(0.01)
    assert ucl == pytest.approx(0.19)
    # Clipped at 0 for a small n: 0.1 - 3 * sqrt(0.09 / 25) = 0.1 - 0.18 < 0.
    lcl, ucl = p_chart_limits(0.1, 25)
    assert lcl == 0.0
    assert ucl == pytest.approx(0.28)
    # Over-dispersion phi = 4 doubles the half-width.
    assert p_chart_limits(0.1, 100, phi=4.0)[1] == pytest.approx(0.28)
    # A reference of 300 joints: half-width 3 sqrt(0.09 (1/100 + 1/300)) = 0.1039.
    assert p_chart_limits(0.1, 100, n_ref=300)[1] == pytest.approx(
        0.1 + 3 * math.sqrt(0.09 * (1 / 100 + 1 / 300))
    )
    with pytest.raises(ValueError, match="n >= 1"):
        p_chart_limits(0.1, 0)


def test_xbar_limits_by_hand() -> None:
    # centre -1, sd 2, n 100: half-width 3 * 2 / 10 = 0.6.
    assert xbar_limits(-1.0, 2.0, 100) == pytest.approx((-1.6, -0.4))
    assert xbar_limits(0.0, 1.0, 25, sigmas=2.0) == pytest.approx((-0.4, 0.4))
    # An estimated centre (100 reference values): 3 * 2 * sqrt(1/100 + 1/100).
    half = 6 * math.sqrt(0.02)
    assert xbar_limits(-1.0, 2.0, 100, n_ref=100) == pytest.approx(
        (-1 - half, -1 + half)
    )


def test_psi_by_hand() -> None:
    # (0.6 - 0.5) ln(0.6/0.5) + (0.4 - 0.5) ln(0.4/0.5)
    expected = 0.1 * math.log(1.2) - 0.1 * math.log(0.8)
    assert psi([0.5, 0.5], [0.6, 0.4]) == pytest.approx(expected)
    assert psi([0.25] * 4, [0.25] * 4) == 0.0
    assert psi([0.5, 0.5], [1.0, 0.0]) > 1.0  # an empty bin stays finite


def test_logit_is_clipped() -> None:
    z = logit(np.array([0.0, 0.5, 1.0]))
    assert np.isfinite(z).all()
    assert z[1] == 0.0
    assert z[0] == pytest.approx(-z[2])


def test_window_stats_counts() -> None:
    s = sample(
        [0.1, 0.6, 0.9, 0.3],
        band=[False, True, True, True],
        settled=[False, True, True, False],
        false_call=[False, True, False, True],  # the unsettled one is not counted
        disagree=[False, True, False, False],
    )
    st = window_stats(s, edges=(0.0,))
    assert (st.n_joints, st.n_review_band, st.n_settled) == (4, 3, 2)
    assert (st.n_false_calls, st.n_disagreements) == (1, 1)
    assert st.hist == (2, 2)
    assert st.mean_logit == pytest.approx(float(logit(s.p).mean()))


def _reference(rate: float = 0.1, n: int = 1000, seed: int = 0) -> JointSample:
    rng = np.random.default_rng(seed)
    band = np.zeros(n, dtype=bool)
    band[: int(rate * n)] = True
    settled = np.zeros(n, dtype=bool)
    settled[:200] = True
    fc = np.zeros(n, dtype=bool)
    fc[:100] = True  # 100 of 200 settled: rate 0.5
    dis = np.zeros(n, dtype=bool)
    dis[:20] = True  # 20 of 200 settled: rate 0.1
    p = 1 / (1 + np.exp(-rng.normal(-1.0, 2.0, n)))
    return JointSample(p, band, settled, fc, dis, np.arange(n) // 50)


def test_reference_rates_and_points() -> None:
    ref = reference_model(_reference(), NO_OD)
    assert ref.rates == pytest.approx(
        {"review_band": 0.1, "false_call": 0.5, "disagreement": 0.1}
    )
    assert all(v == 1.0 for v in ref.phi.values())
    assert len(ref.edges) == 9
    assert ref.fractions == pytest.approx([0.1] * 10)
    # A window of 100 joints, 20 in the band: above UCL 0.19.
    st = WindowStats(100, 20, 0, 0, 0, ref.logit_mean, tuple([10] * 10))
    pts = chart_points(ref, st, NO_OD)
    band = pts["review_band"]
    assert band.status == ALARM
    assert band.rule == "above UCL"
    assert band.ucl == pytest.approx(0.19)
    assert pts["mean_logit"].status == OK
    assert pts["psi"].value == pytest.approx(0.0)
    assert pts["psi"].status == OK
    # No settled verdicts: the verdict charts have nothing to plot.
    assert pts["false_call"].status == TOO_FEW
    # 18 in the band is inside the limits.
    st = WindowStats(100, 18, 50, 25, 5, ref.logit_mean, tuple([10] * 10))
    pts = chart_points(ref, st, NO_OD)
    assert pts["review_band"].status == OK
    assert pts["false_call"].status == OK
    assert describe_alarm(band) == "review-band rate 20.0% above UCL 19.0%"


def test_too_few_never_alarms() -> None:
    ref = reference_model(_reference(), NO_OD)
    # 29 joints, all in the band: far above the limit, but too few to alarm.
    st = WindowStats(29, 29, 5, 5, 5, 5.0, tuple([3] * 9 + [2]))
    pts = chart_points(ref, st, NO_OD)
    assert {p.status for p in pts.values()} == {TOO_FEW}
    # Enough joints but only 9 settled verdicts: the verdict charts cannot alarm.
    st = WindowStats(100, 10, 9, 9, 9, ref.logit_mean, tuple([10] * 10))
    pts = chart_points(ref, st, NO_OD)
    assert pts["false_call"].status == TOO_FEW
    assert pts["disagreement"].status == TOO_FEW
    assert pts["review_band"].status == OK


def test_mean_logit_shift_alarms_below() -> None:
    ref = reference_model(_reference(), NO_OD)
    assert ref.logit_mean is not None
    assert ref.logit_sd is not None
    # 400 joints: the half-width is 3 sd / 20 = 0.15 sd; a 0.3 sd drop is beyond it.
    st = WindowStats(400, 40, 0, 0, 0, ref.logit_mean - 0.3 * ref.logit_sd, ())
    pt = chart_points(ref, st, NO_OD)["mean_logit"]
    assert pt.status == ALARM
    assert pt.rule == "below LCL"
    assert pt.lcl == pytest.approx(ref.logit_mean - 0.15 * ref.logit_sd)


def test_overdispersion_widens_limits() -> None:
    # Boards of 50 joints whose band rate alternates 0 / 0.2: strongly over-dispersed.
    n = 1000
    group = np.arange(n) // 50
    band = np.zeros(n, dtype=bool)
    for g in range(0, 20, 2):
        band[g * 50 : g * 50 + 10] = True
    s = JointSample(np.full(n, 0.3), band, band.copy() * 0, band * 0, band * 0, group)
    plain = reference_model(s, NO_OD)
    wide = reference_model(s, DriftRules())
    assert plain.phi["review_band"] == 1.0
    # chi2 = sum over 20 boards of (x - 5)^2 / (50 * 0.1 * 0.9) = 20 * 25 / 4.5
    assert wide.phi["review_band"] == pytest.approx(20 * 25 / 4.5 / 19)
    st = WindowStats(100, 20, 0, 0, 0, 0.0, ())
    assert chart_points(plain, st, NO_OD)["review_band"].status == ALARM
    wide_rules = DriftRules(reference_error=False)
    assert chart_points(wide, st, wide_rules)["review_band"].status == OK


def test_run_rule_and_build_windows() -> None:
    ref_sample = _reference()
    rules = DriftRules(overdispersion=False, reference_error=False, run_length=8)
    ref = reference_model(ref_sample, rules)
    # Ten windows of 100 joints, each with 13 in the band (inside UCL 0.19, above
    # the centre 0.1): the 8th in a row alarms.
    windows = []
    for i in range(10):
        band = np.zeros(100, dtype=bool)
        band[:13] = True
        s = JointSample(
            ref_sample.p[:100], band, band * 0, band * 0, band * 0, np.zeros(100)
        )
        windows.append((f"w{i}", None, None, s))
    out = build_windows(ref, windows, rules)
    statuses = [w.points["review_band"].status for w in out]
    assert statuses == [OK] * 7 + [ALARM] * 3
    assert out[7].points["review_band"].rule == "run of 8 above centre"
    alarm = next(a for a in out[7].alarms if a.chart == "review_band")
    assert (
        describe_alarm(alarm) == "review-band rate 13.0%: run of 8 above centre 10.0%"
    )
    # Switched off: no alarm.
    assert apply_runs(out[:1], 0) == out[:1]
    quiet = build_windows(ref, windows, NO_OD)
    assert all(w.points["review_band"].status == OK for w in quiet)


def test_psi_limit_follows_the_window_size() -> None:
    # Wilson-Hilferty: 9 * (1 - 2/81 + 3 sqrt(2/81))^3 = 27.25 (exact 27.09).
    assert chi2_quantile(9, 3.0) == pytest.approx(27.09, rel=0.01)
    # 100 joints against 500: 27.25 * (0.01 + 0.002) = 0.327 > 0.25.
    assert psi_limit(100, 500, 10) == pytest.approx(chi2_quantile(9, 3.0) * 0.012)
    # Large windows: the fixed 0.25 rules.
    assert psi_limit(10_000, 5_000, 10) == 0.25
    assert psi_limit(100, 500, 10, phi=2.0) == pytest.approx(
        2 * psi_limit(100, 500, 10)
    )
