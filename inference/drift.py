"""Drift charts: control-chart maths for the model's confidences and the review outcome.

Pure numpy (no torch, Qt or database): the database layer gathers per-joint arrays
(`JointSample`), this module turns a reference window and a list of windows into
control-chart points with alarms (`build_report`).

Charts (one point per window):

* ``mean_logit``: X-bar chart of the mean of logit(p). Logits are far closer to
  normal than p itself (p piles up near 0 and 1). Centre and sigma come from the
  reference joints; limits are ``centre +/- k * sigma * sqrt(phi (1/n + 1/n_ref))``.
* ``psi``: population-stability index of a 10-bin histogram of logit(p) (bins are
  the deciles of the reference) against the reference. One-sided limit: the larger
  of `DriftRules.psi_limit` (0.25, the usual "major shift" level, which rules large
  windows) and the sampling limit of a small window: with no change, PSI is about
  ``chi2(B - 1) * (1/n + 1/n_ref)``, so the limit is that chi-square's upper
  0.135 % quantile (the one-sided 3-sigma tail, Wilson-Hilferty approximation)
  times ``(1/n + 1/n_ref)`` times the over-dispersion of the mean-logit chart.
* ``review_band``, ``false_call``, ``disagreement``: p-charts. Centre p-bar from the
  reference; limits ``p-bar +/- k * sqrt(phi p-bar (1 - p-bar) (1/n_i + 1/n_ref))``
  clipped to [0, 1], with the window's own n_i (joints for the review band; settled
  verdicts for the other two).

The ``1/n_ref`` terms: the centre is itself estimated from the reference, so a
window differs from it by the sampling error of both (the two-sample form of the
Shewhart limit). With a large reference it vanishes and the limits are the textbook
``p-bar +/- 3 sqrt(p-bar (1 - p-bar) / n)``; with a small one it keeps the
false-alarm rate near its nominal value (bench/bench_drift.py, docs/drift.md).

``phi`` is the over-dispersion factor measured on the reference window: joints of one
board share lighting, paste and placement, so board-to-board variation is larger than
the binomial model says. ``phi`` is the Pearson chi-square per degree of freedom of
the reference split by board (a quasi-binomial / Laney-style correction), never below
1; with `DriftRules.overdispersion` off it is 1 and the charts are the textbook ones.

Rules: a point beyond a limit is an alarm; with `DriftRules.run_length` > 0, that
many consecutive points on the same side of the centre are an alarm too (Western
Electric rule 4). The run rule is off by default: the centre comes from a finite
reference, so long runs on one side are common without any change (measured: it
tripled the false-alarm rate of a 240-joint reference). Windows with fewer than
`min_joints` joints (or, for the verdict charts, `min_verdicts` settled verdicts) are
shown but never alarm (status ``too_few``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from inference.control_limits import (
    decile_edges,
    dispersion,
    p_chart_limits,
    psi,
    psi_limit,
    xbar_limits,
)

# Chart keys, in display order, with their titles and units.
CHARTS: tuple[str, ...] = (
    "mean_logit",
    "psi",
    "review_band",
    "false_call",
    "disagreement",
)
CHART_TITLES: dict[str, str] = {
    "mean_logit": "mean logit(p)",
    "psi": "confidence PSI",
    "review_band": "review-band rate",
    "false_call": "false-call rate",
    "disagreement": "model-operator disagreement",
}
PROPORTION_CHARTS = frozenset({"review_band", "false_call", "disagreement"})
VERDICT_CHARTS = frozenset({"false_call", "disagreement"})

OK = "ok"
ALARM = "alarm"
TOO_FEW = "too_few"
NO_REFERENCE = "no_reference"

P_CLIP = 1e-6
N_BINS = 10


@dataclass(frozen=True)
class DriftRules:
    """The alarm rules.

    Attributes:
        sigmas: control-limit width in standard errors (3: the Shewhart limits).
        min_joints: fewer joints in a window: shown, never alarms.
        min_verdicts: fewer settled verdicts: the verdict charts never alarm.
        psi_limit: PSI above this is an alarm (0.25 = "major shift").
        run_length: this many consecutive points on one side of the centre alarm
            (0 switches the rule off).
        overdispersion: widen the limits by the board-to-board over-dispersion
            measured on the reference window.
        reference_error: widen the limits by the sampling error of the reference
            (the 1/n_ref terms).
    """

    sigmas: float = 3.0
    min_joints: int = 30
    min_verdicts: int = 10
    psi_limit: float = 0.25
    run_length: int = 0
    overdispersion: bool = True
    reference_error: bool = True


@dataclass(frozen=True)
class JointSample:
    """Per-joint arrays of one window (all of the same length).

    Attributes:
        p: model confidence of a defect.
        in_band: the joint was in the review band (possible defect region).
        settled: the joint's current verdict is a confirmed defect or a false call.
        false_call: the current verdict is a false call.
        disagree: settled, and the inspector's call differs from the model's
            decision at p >= 0.5.
        group: the inspection (board) of each joint, for the over-dispersion factor.
    """

    p: np.ndarray
    in_band: np.ndarray
    settled: np.ndarray
    false_call: np.ndarray
    disagree: np.ndarray
    group: np.ndarray

    @classmethod
    def empty(cls) -> JointSample:
        """A window without joints."""
        z = np.zeros(0, dtype=bool)
        return cls(np.zeros(0), z, z, z, z, np.zeros(0, dtype=np.int64))

    @classmethod
    def concat(cls, samples: Sequence[JointSample]) -> JointSample:
        """The joints of several samples together."""
        if not samples:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(s, name) for s in samples])
                for name in (
                    "p",
                    "in_band",
                    "settled",
                    "false_call",
                    "disagree",
                    "group",
                )
            )
        )

    def __len__(self) -> int:
        return int(self.p.shape[0])


@dataclass(frozen=True)
class WindowStats:
    """What a window contributes to the charts (counts and sums only).

    Attributes:
        n_joints, n_review_band, n_settled, n_false_calls, n_disagreements: counts.
        mean_logit: mean of logit(p) (None without joints).
        hist: joint counts in the reference's logit bins (empty without edges).
    """

    n_joints: int
    n_review_band: int
    n_settled: int
    n_false_calls: int
    n_disagreements: int
    mean_logit: float | None
    hist: tuple[int, ...] = ()

    def count(self, chart: str) -> tuple[int, int]:
        """(events, trials) of a proportion chart."""
        if chart == "review_band":
            return self.n_review_band, self.n_joints
        if chart == "false_call":
            return self.n_false_calls, self.n_settled
        if chart == "disagreement":
            return self.n_disagreements, self.n_settled
        msg = f"not a proportion chart: {chart!r}"
        raise KeyError(msg)


@dataclass(frozen=True)
class ReferenceModel:
    """Centres, spreads and bins learnt from the reference window.

    Attributes:
        stats: the reference window's own counts.
        rates: p-bar of each proportion chart (None: no trials in the reference).
        phi: over-dispersion factor of each chart (>= 1; 1 when switched off).
        logit_mean, logit_sd: centre and joint-level spread of logit(p).
        edges: the inner bin edges (logit) of the PSI histogram.
        fractions: the reference's share of joints per bin.
        n_groups: boards (inspections) in the reference.
    """

    stats: WindowStats
    rates: dict[str, float | None]
    phi: dict[str, float]
    logit_mean: float | None
    logit_sd: float | None
    edges: tuple[float, ...]
    fractions: tuple[float, ...]
    n_groups: int


@dataclass(frozen=True)
class ChartPoint:
    """One window's point on one chart.

    Attributes:
        chart: the chart key (see `CHARTS`).
        value: the window's value (None: nothing to plot).
        centre, lcl, ucl: centre line and control limits (None where not defined).
        n: the trials behind the point (joints, or settled verdicts).
        status: ``ok``, ``alarm``, ``too_few`` or ``no_reference``.
        rule: why it alarms: ``above UCL``, ``below LCL`` or ``run of 8 above``.
    """

    chart: str
    value: float | None
    centre: float | None
    lcl: float | None
    ucl: float | None
    n: int
    status: str
    rule: str = ""

    @property
    def alarm(self) -> bool:
        """Whether this point raises the alarm."""
        return self.status == ALARM


@dataclass(frozen=True)
class DriftWindow:
    """A window of the chart: its period, counts and one point per chart."""

    label: str
    start: datetime | None
    end: datetime | None
    stats: WindowStats
    points: dict[str, ChartPoint] = field(default_factory=dict)

    @property
    def alarms(self) -> list[ChartPoint]:
        """The points of this window that alarm, in chart order."""
        return [
            self.points[c] for c in CHARTS if c in self.points and self.points[c].alarm
        ]


def logit(p: np.ndarray) -> np.ndarray:
    """logit(p) with p clipped to [1e-6, 1 - 1e-6] (so 0 and 1 stay finite)."""
    q = np.clip(np.asarray(p, dtype=np.float64), P_CLIP, 1.0 - P_CLIP)
    return np.log(q / (1.0 - q))


def window_stats(sample: JointSample, edges: Sequence[float] = ()) -> WindowStats:
    """Counts, mean logit and (with `edges`) the logit histogram of a window."""
    n = len(sample)
    settled = sample.settled.astype(bool)
    z = logit(sample.p) if n else np.zeros(0)
    hist: tuple[int, ...] = ()
    if edges:
        idx = np.searchsorted(np.asarray(edges, dtype=np.float64), z, side="right")
        hist = tuple(int(c) for c in np.bincount(idx, minlength=len(edges) + 1))
    return WindowStats(
        n_joints=n,
        n_review_band=int(np.count_nonzero(sample.in_band)),
        n_settled=int(np.count_nonzero(settled)),
        n_false_calls=int(np.count_nonzero(sample.false_call & settled)),
        n_disagreements=int(np.count_nonzero(sample.disagree & settled)),
        mean_logit=float(z.mean()) if n else None,
        hist=hist,
    )


def reference_model(
    sample: JointSample, rules: DriftRules | None = None
) -> ReferenceModel:
    """Learn centres, spreads, over-dispersion and PSI bins from reference joints."""
    rules = rules or DriftRules()
    z = logit(sample.p) if len(sample) else np.zeros(0)
    edges = decile_edges(z)
    stats = window_stats(sample, edges)
    groups, inverse = np.unique(sample.group, return_inverse=True)
    n_groups = int(groups.size)

    def per_group(mask: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=mask.astype(np.float64), minlength=n_groups)

    rates: dict[str, float | None] = {}
    phi: dict[str, float] = {}
    settled = sample.settled.astype(bool)
    masks = {
        "review_band": (sample.in_band.astype(bool), np.ones(len(sample), dtype=bool)),
        "false_call": (sample.false_call.astype(bool) & settled, settled),
        "disagreement": (sample.disagree.astype(bool) & settled, settled),
    }
    for chart, (event, trial) in masks.items():
        k, n = stats.count(chart)
        rate = k / n if n else None
        rates[chart] = rate
        phi[chart] = (
            dispersion(per_group(event), per_group(trial), rate)
            if rules.overdispersion and rate is not None and n_groups
            else 1.0
        )
    logit_mean = float(z.mean()) if z.size else None
    logit_sd = float(z.std(ddof=1)) if z.size > 1 else None
    phi["mean_logit"] = 1.0
    if rules.overdispersion and logit_sd and n_groups > 1 and logit_mean is not None:
        counts = np.bincount(inverse, minlength=n_groups).astype(np.float64)
        means = np.bincount(inverse, weights=z, minlength=n_groups) / np.maximum(
            counts, 1
        )
        keep = counts > 0
        between = float(np.sum(counts[keep] * (means[keep] - logit_mean) ** 2))
        phi["mean_logit"] = max(1.0, between / (logit_sd**2) / (int(keep.sum()) - 1))
    phi["psi"] = 1.0
    total = max(stats.n_joints, 1)
    fractions = tuple(c / total for c in stats.hist)
    return ReferenceModel(
        stats=stats,
        rates=rates,
        phi=phi,
        logit_mean=logit_mean,
        logit_sd=logit_sd,
        edges=edges,
        fractions=fractions,
        n_groups=n_groups,
    )


def chart_points(
    ref: ReferenceModel, stats: WindowStats, rules: DriftRules | None = None
) -> dict[str, ChartPoint]:
    """The points of one window on every chart (limit rule only; see `apply_runs`)."""
    rules = rules or DriftRules()
    points: dict[str, ChartPoint] = {}
    few_joints = stats.n_joints < rules.min_joints

    # Mean logit: X-bar chart.
    if ref.logit_mean is None or not ref.logit_sd:
        points["mean_logit"] = ChartPoint(
            "mean_logit",
            stats.mean_logit,
            None,
            None,
            None,
            stats.n_joints,
            NO_REFERENCE,
        )
    elif stats.mean_logit is None:
        points["mean_logit"] = ChartPoint(
            "mean_logit", None, ref.logit_mean, None, None, 0, TOO_FEW
        )
    else:
        lcl, ucl = xbar_limits(
            ref.logit_mean,
            ref.logit_sd,
            stats.n_joints,
            sigmas=rules.sigmas,
            phi=ref.phi["mean_logit"],
            n_ref=ref.stats.n_joints if rules.reference_error else None,
        )
        points["mean_logit"] = _judge(
            "mean_logit",
            stats.mean_logit,
            ref.logit_mean,
            lcl,
            ucl,
            stats.n_joints,
            few_joints,
        )

    # PSI of the logit histogram.
    if not ref.fractions or not stats.hist:
        points["psi"] = ChartPoint(
            "psi",
            None,
            0.0,
            None,
            rules.psi_limit,
            stats.n_joints,
            NO_REFERENCE if not ref.fractions else TOO_FEW,
        )
    else:
        total = sum(stats.hist)
        value = psi(ref.fractions, [c / total for c in stats.hist]) if total else None
        ucl = psi_limit(
            max(total, 1),
            ref.stats.n_joints,
            len(ref.fractions),
            floor=rules.psi_limit,
            sigmas=rules.sigmas,
            phi=ref.phi["mean_logit"],
        )
        points["psi"] = _judge(
            "psi",
            value,
            0.0,
            None,
            ucl,
            stats.n_joints,
            few_joints or value is None,
        )

    # Proportions: p-charts.
    for chart in ("review_band", "false_call", "disagreement"):
        k, n = stats.count(chart)
        value = k / n if n else None
        p_bar = ref.rates.get(chart)
        few = few_joints or (chart in VERDICT_CHARTS and n < rules.min_verdicts)
        if p_bar is None:
            points[chart] = ChartPoint(chart, value, None, None, None, n, NO_REFERENCE)
            continue
        if n == 0:
            points[chart] = ChartPoint(chart, None, p_bar, None, None, 0, TOO_FEW)
            continue
        n_ref = ref.stats.count(chart)[1] if rules.reference_error else None
        lcl, ucl = p_chart_limits(
            p_bar, n, sigmas=rules.sigmas, phi=ref.phi[chart], n_ref=n_ref
        )
        points[chart] = _judge(chart, value, p_bar, lcl, ucl, n, few)
    return points


def _judge(
    chart: str,
    value: float | None,
    centre: float,
    lcl: float | None,
    ucl: float | None,
    n: int,
    few: bool,
) -> ChartPoint:
    if value is None or few:
        return ChartPoint(chart, value, centre, lcl, ucl, n, TOO_FEW)
    if ucl is not None and value > ucl:
        return ChartPoint(chart, value, centre, lcl, ucl, n, ALARM, "above UCL")
    if lcl is not None and value < lcl:
        return ChartPoint(chart, value, centre, lcl, ucl, n, ALARM, "below LCL")
    return ChartPoint(chart, value, centre, lcl, ucl, n, OK)


def apply_runs(windows: list[DriftWindow], run_length: int) -> list[DriftWindow]:
    """Mark the points that end a run of `run_length` on one side of the centre.

    Windows that cannot alarm (too few) are skipped, neither breaking nor extending
    a run; PSI has no centre to run about and is left alone.
    """
    if run_length <= 0:
        return windows
    out = list(windows)
    for chart in CHARTS:
        if chart == "psi":
            continue
        side, run = 0, 0
        for i, w in enumerate(out):
            pt = w.points.get(chart)
            if pt is None or pt.status in (TOO_FEW, NO_REFERENCE) or pt.value is None:
                continue
            assert pt.centre is not None
            s = (pt.value > pt.centre) - (pt.value < pt.centre)
            if s == 0:
                side, run = 0, 0
                continue
            run = run + 1 if s == side else 1
            side = s
            if run >= run_length and pt.status == OK:
                where = "above" if s > 0 else "below"
                new = replace(pt, status=ALARM, rule=f"run of {run} {where} centre")
                out[i] = replace(w, points={**w.points, chart: new})
    return out


def build_windows(
    ref: ReferenceModel,
    windows: Sequence[tuple[str, datetime | None, datetime | None, JointSample]],
    rules: DriftRules | None = None,
) -> list[DriftWindow]:
    """Chart points (with both rules) of `(label, start, end, sample)` windows."""
    rules = rules or DriftRules()
    out = []
    for label, start, end, sample in windows:
        stats = window_stats(sample, ref.edges)
        out.append(
            DriftWindow(label, start, end, stats, chart_points(ref, stats, rules))
        )
    return apply_runs(out, rules.run_length)


def describe_alarm(point: ChartPoint) -> str:
    """A sentence on an alarming point: "review-band rate 41.0% above UCL 22.0%"."""
    title = CHART_TITLES.get(point.chart, point.chart)

    def fmt(x: float | None) -> str:
        if x is None:
            return "n/a"
        return f"{x:.1%}" if point.chart in PROPORTION_CHARTS else f"{x:.2f}"

    if point.rule.startswith("run"):
        return f"{title} {fmt(point.value)}: {point.rule} {fmt(point.centre)}"
    if point.rule == "below LCL":
        return f"{title} {fmt(point.value)} below LCL {fmt(point.lcl)}"
    return f"{title} {fmt(point.value)} above UCL {fmt(point.ucl)}"
