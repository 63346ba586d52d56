"""Inspection metrics (algorithms.md §3.1-§3.3).

Threshold metrics (accuracy, overkill, escape, ...), confidence-region metrics,
calibration
(ECE, reliability diagram, Brier), rates at a production prevalence and PPM/DPMO
helpers.
All functions take ``y`` (0 = non-defective, 1 = defective) and ``p`` = P(defective).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inference.errors import DataError
from inference.types import Region, region_of

__all__ = [
    "PrevalenceRates",
    "RegionMetrics",
    "ReliabilityDiagram",
    "ThresholdMetrics",
    "brier_score",
    "dpmo",
    "expected_calibration_error",
    "positive_class_ece",
    "ppm",
    "rate_to_ppm",
    "rates_at_prevalence",
    "region_metrics",
    "regions",
    "reliability_diagram",
    "threshold_metrics",
]


def _check(y: ArrayLike, p: ArrayLike) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    yy = np.asarray(y)
    pp = np.asarray(p, dtype=np.float64)
    if yy.ndim != 1 or pp.ndim != 1:
        msg = f"y and p must be 1-D, got shapes {yy.shape} and {pp.shape}"
        raise DataError(msg)
    if len(yy) != len(pp):
        msg = f"len(y) = {len(yy)} differs from len(p) = {len(pp)}"
        raise DataError(msg)
    if len(yy) == 0:
        msg = "metrics of an empty set are undefined"
        raise DataError(msg)
    if not np.all(np.isin(yy, (0, 1))):
        msg = "labels y must be 0 (non-defective) or 1 (defective)"
        raise DataError(msg)
    if not np.all(np.isfinite(pp)) or pp.min() < 0.0 or pp.max() > 1.0:
        msg = "probabilities p must be finite and lie in [0, 1]"
        raise DataError(msg)
    return yy.astype(np.int64), pp


def _div(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass(frozen=True)
class ThresholdMetrics:
    """Metrics of the hard decision ``y_hat = 1[p >= threshold]`` (§3.1).

    Attributes:
        threshold: decision threshold.
        tp: true positives (defect flagged).
        tn: true negatives.
        fp: false positives (overkill).
        fn: false negatives (escapes).
        n: number of samples.
        accuracy: ``(tp + tn) / n``.
        overkill: ``fp / n``.
        escape: ``fn / n``.
        sensitivity: ``tp / (tp + fn)`` (NaN without defects).
        specificity: ``tn / (tn + fp)`` (NaN without good joints).
        precision: ``tp / (tp + fp)`` (NaN without positive calls).
        f1: harmonic mean of precision and sensitivity.
        auroc: area under the ROC curve (NaN when only one class is present).
    """

    threshold: float
    tp: int
    tn: int
    fp: int
    fn: int
    n: int
    accuracy: float
    overkill: float
    escape: float
    sensitivity: float
    specificity: float
    precision: float
    f1: float
    auroc: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly)."""
        return asdict(self)


def threshold_metrics(
    y: ArrayLike, p: ArrayLike, threshold: float = 0.5
) -> ThresholdMetrics:
    """Accuracy, overkill, escape and friends at one threshold (§3.1).

    Args:
        y: true labels (0/1).
        p: P(defective).
        threshold: ``y_hat = 1`` iff ``p >= threshold``.

    Returns:
        The metrics; ``accuracy + overkill + escape == 1``.
    """
    yy, pp = _check(y, p)
    yh = (pp >= threshold).astype(np.int64)
    tp = int(np.sum((yy == 1) & (yh == 1)))
    tn = int(np.sum((yy == 0) & (yh == 0)))
    fp = int(np.sum((yy == 0) & (yh == 1)))
    fn = int(np.sum((yy == 1) & (yh == 0)))
    n = tp + tn + fp + fn
    sens = _div(tp, tp + fn)
    prec = _div(tp, tp + fp)
    f1 = _div(2 * tp, 2 * tp + fp + fn)
    if 0 < yy.sum() < len(yy):
        from sklearn.metrics import roc_auc_score

        auroc = float(roc_auc_score(yy, pp))
    else:
        auroc = float("nan")
    return ThresholdMetrics(
        threshold=float(threshold),
        tp=tp,
        tn=tn,
        fp=fp,
        fn=fn,
        n=n,
        accuracy=(tp + tn) / n,
        overkill=fp / n,
        escape=fn / n,
        sensitivity=sens,
        specificity=_div(tn, tn + fp),
        precision=prec,
        f1=f1,
        auroc=auroc,
    )


def _check_band(t_lo: float, t_hi: float) -> None:
    if not 0.0 <= t_lo <= 0.5 <= t_hi <= 1.0:
        msg = (
            f"thresholds must satisfy 0 <= t_lo <= 0.5 <= t_hi <= 1, got {t_lo}, {t_hi}"
        )
        raise DataError(msg)


def regions(p: ArrayLike, t_lo: float = 0.1, t_hi: float = 0.9) -> list[Region]:
    """Confidence region of every probability (§3.2), via `inference.types.region_of`.

    Args:
        p: P(defective).
        t_lo: below this: non-defect.
        t_hi: at or above this: defect.

    Returns:
        One `Region` per sample.
    """
    _check_band(t_lo, t_hi)
    return [region_of(float(v), t_lo, t_hi) for v in np.asarray(p, dtype=np.float64)]


@dataclass(frozen=True)
class RegionMetrics:
    """Rates of the three confidence regions (§3.2); all rates are divided by ``n``.

    Attributes:
        t_lo: lower threshold.
        t_hi: upper threshold.
        n: number of samples.
        auto_defect_rate: share with ``p >= t_hi`` (sent to repair).
        auto_pass_rate: share with ``p < t_lo`` (passed without review).
        review_rate: share in the possible-defect band (human review).
        auto_escape: defects passed automatically, ``#(y=1, p<t_lo)/n``.
        auto_overkill: good joints sent to repair, ``#(y=0, p>=t_hi)/n``.
        review_count: samples in the review bucket.
        review_accuracy: accuracy of the 0.5 decision inside the review bucket (NaN if
            empty).
    """

    t_lo: float
    t_hi: float
    n: int
    auto_defect_rate: float
    auto_pass_rate: float
    review_rate: float
    auto_escape: float
    auto_overkill: float
    review_count: int
    review_accuracy: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly)."""
        return asdict(self)


def region_metrics(
    y: ArrayLike,
    p: ArrayLike,
    t_lo: float = 0.1,
    t_hi: float = 0.9,
    threshold: float = 0.5,
) -> RegionMetrics:
    """Region rates, automatic escape/overkill and review-bucket accuracy (§3.2).

    Args:
        y: true labels.
        p: P(defective).
        t_lo: lower threshold.
        t_hi: upper threshold.
        threshold: decision threshold used for the review-bucket accuracy.

    Returns:
        The region metrics.
    """
    yy, pp = _check(y, p)
    reg = np.array([str(r) for r in regions(pp, t_lo, t_hi)])
    n = len(yy)
    defect = reg == Region.DEFECT.value
    passed = reg == Region.NON_DEFECT.value
    review = reg == Region.POSSIBLE_DEFECT.value
    n_review = int(review.sum())
    if n_review:
        correct = (pp[review] >= threshold).astype(np.int64) == yy[review]
        review_acc = float(correct.mean())
    else:
        review_acc = float("nan")
    return RegionMetrics(
        t_lo=float(t_lo),
        t_hi=float(t_hi),
        n=n,
        auto_defect_rate=float(defect.sum()) / n,
        auto_pass_rate=float(passed.sum()) / n,
        review_rate=n_review / n,
        auto_escape=float(np.sum(passed & (yy == 1))) / n,
        auto_overkill=float(np.sum(defect & (yy == 0))) / n,
        review_count=n_review,
        review_accuracy=review_acc,
    )


def _bin_index(values: NDArray[np.float64], n_bins: int) -> NDArray[np.int64]:
    """Bins ``(m/M, (m+1)/M]``, with 0 placed in the first bin."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.searchsorted(edges, values, side="left") - 1
    return np.clip(idx, 0, n_bins - 1).astype(np.int64)


@dataclass(frozen=True)
class ReliabilityDiagram:
    """Per-bin data of a reliability diagram.

    Attributes:
        mode: ``"top_label"`` (confidence of the decision vs accuracy) or ``"positive"``
            (p vs observed fraction of defects).
        edges: ``n_bins + 1`` bin edges on [0, 1].
        counts: samples per bin.
        observed: accuracy (top-label) or defect fraction (positive) per bin; NaN if
            empty.
        confidence: mean confidence (top-label) or mean p (positive) per bin; NaN if
            empty.
        ece: expected calibration error ``sum |B_m|/N |observed - confidence|``.
    """

    mode: str
    edges: NDArray[np.float64]
    counts: NDArray[np.int64]
    observed: NDArray[np.float64]
    confidence: NDArray[np.float64]
    ece: float


def reliability_diagram(
    y: ArrayLike,
    p: ArrayLike,
    n_bins: int = 15,
    mode: Literal["top_label", "positive"] = "top_label",
    threshold: float = 0.5,
) -> ReliabilityDiagram:
    """Reliability-diagram data and the matching ECE (§3.3).

    Args:
        y: true labels.
        p: P(defective).
        n_bins: equal-width bins ``(m/M, (m+1)/M]`` on [0, 1] (0 in the first bin).
        mode: ``"top_label"`` bins the decision confidence ``C`` and compares with the
            accuracy; ``"positive"`` bins ``p`` and compares with the fraction of ``y =
            1``.
        threshold: decision threshold (top-label mode).

    Returns:
        The diagram data.
    """
    yy, pp = _check(y, p)
    if n_bins < 1:
        msg = f"n_bins must be >= 1, got {n_bins}"
        raise DataError(msg)
    if mode == "top_label":
        yh = (pp >= threshold).astype(np.int64)
        conf = np.where(yh == 1, pp, 1.0 - pp)
        obs = (yh == yy).astype(np.float64)
    elif mode == "positive":
        conf = pp
        obs = yy.astype(np.float64)
    else:
        msg = f"mode must be 'top_label' or 'positive', got {mode!r}"
        raise DataError(msg)
    idx = _bin_index(conf, n_bins)
    counts = np.bincount(idx, minlength=n_bins).astype(np.int64)
    sum_obs = np.bincount(idx, weights=obs, minlength=n_bins)
    sum_conf = np.bincount(idx, weights=conf, minlength=n_bins)
    nonempty = counts > 0
    observed = np.full(n_bins, np.nan)
    confidence = np.full(n_bins, np.nan)
    observed[nonempty] = sum_obs[nonempty] / counts[nonempty]
    confidence[nonempty] = sum_conf[nonempty] / counts[nonempty]
    gaps = np.abs(observed[nonempty] - confidence[nonempty])
    ece = float(np.sum(counts[nonempty] * gaps) / len(yy))
    return ReliabilityDiagram(
        mode=mode,
        edges=np.linspace(0.0, 1.0, n_bins + 1),
        counts=counts,
        observed=observed,
        confidence=confidence,
        ece=ece,
    )


def expected_calibration_error(
    y: ArrayLike, p: ArrayLike, n_bins: int = 15, threshold: float = 0.5
) -> float:
    """Top-label expected calibration error (§3.3, Guo et al. 2017).

    Args:
        y: true labels.
        p: P(defective).
        n_bins: number of bins (15 by default; the spec's tests use 10).
        threshold: decision threshold.

    Returns:
        The ECE in [0, 1].
    """
    return reliability_diagram(y, p, n_bins, "top_label", threshold).ece


def positive_class_ece(y: ArrayLike, p: ArrayLike, n_bins: int = 15) -> float:
    """Positive-class ECE: bins on ``p``, compared with the fraction of defects.

    Args:
        y: true labels.
        p: P(defective).
        n_bins: number of bins.

    Returns:
        The ECE in [0, 1].
    """
    return reliability_diagram(y, p, n_bins, "positive").ece


def brier_score(y: ArrayLike, p: ArrayLike) -> float:
    """Brier score ``mean((p - y)^2)``.

    Args:
        y: true labels.
        p: P(defective).

    Returns:
        The score (lower is better).
    """
    yy, pp = _check(y, p)
    return float(np.mean((pp - yy) ** 2))


@dataclass(frozen=True)
class PrevalenceRates:
    """Error rates re-weighted to a production defect prevalence.

    Attributes:
        prevalence: share of defective joints in production.
        accuracy: expected accuracy at that prevalence.
        overkill: expected share of all joints that are good but flagged.
        escape: expected share of all joints that are defective but passed.
        ppv: precision at that prevalence (NaN if nothing is flagged).
        npv: negative predictive value (NaN if nothing is passed).
        review_rate: share in the possible-defect band (when thresholds were given).
        auto_escape: defects auto-passed below ``t_lo`` (when thresholds were given).
        auto_overkill: good joints auto-flagged at or above ``t_hi`` (when given).
    """

    prevalence: float
    accuracy: float
    overkill: float
    escape: float
    ppv: float
    npv: float
    review_rate: float | None = None
    auto_escape: float | None = None
    auto_overkill: float | None = None

    @property
    def escape_ppm(self) -> float:
        """Escape in parts per million joints."""
        return rate_to_ppm(self.escape)

    @property
    def overkill_ppm(self) -> float:
        """Overkill in parts per million joints."""
        return rate_to_ppm(self.overkill)


def rates_at_prevalence(
    y: ArrayLike,
    p: ArrayLike,
    prevalence: float,
    threshold: float = 0.5,
    t_lo: float | None = None,
    t_hi: float | None = None,
) -> PrevalenceRates:
    """Rates expected at a production prevalence instead of the test set's class mix.

    Every defective sample gets the weight ``prevalence / n_defective`` and every good
    one ``(1 - prevalence) / n_good``; rates are then weighted sums. Sensitivity and
    specificity are unchanged, overkill/escape/accuracy/PPV change with the prevalence.

    Args:
        y: true labels (both classes must be present).
        p: P(defective).
        prevalence: defect prevalence in (0, 1), e.g. ``500e-6`` for 500 PPM.
        threshold: decision threshold.
        t_lo: lower region threshold (optional, with ``t_hi``).
        t_hi: upper region threshold (optional, with ``t_lo``).

    Returns:
        The re-weighted rates.
    """
    yy, pp = _check(y, p)
    if not 0.0 < prevalence < 1.0:
        msg = f"prevalence must lie in (0, 1), got {prevalence}"
        raise DataError(msg)
    n1 = int(yy.sum())
    n0 = len(yy) - n1
    if n1 == 0 or n0 == 0:
        msg = "re-weighting to a prevalence needs both defective and good samples"
        raise DataError(msg)
    w = np.where(yy == 1, prevalence / n1, (1.0 - prevalence) / n0)
    yh = pp >= threshold
    tp = float(w[yh & (yy == 1)].sum())
    fp = float(w[yh & (yy == 0)].sum())
    fn = float(w[~yh & (yy == 1)].sum())
    tn = float(w[~yh & (yy == 0)].sum())
    extra: dict[str, float] = {}
    if (t_lo is None) != (t_hi is None):
        msg = "give both t_lo and t_hi, or neither"
        raise DataError(msg)
    if t_lo is not None and t_hi is not None:
        _check_band(t_lo, t_hi)
        low = pp < t_lo
        high = pp >= t_hi
        extra = {
            "review_rate": float(w[~low & ~high].sum()),
            "auto_escape": float(w[low & (yy == 1)].sum()),
            "auto_overkill": float(w[high & (yy == 0)].sum()),
        }
    return PrevalenceRates(
        prevalence=float(prevalence),
        accuracy=tp + tn,
        overkill=fp,
        escape=fn,
        ppv=_div(tp, tp + fp),
        npv=_div(tn, tn + fn),
        **extra,
    )


def rate_to_ppm(rate: float) -> float:
    """Convert a rate (fraction) to parts per million.

    Args:
        rate: a fraction, e.g. 0.0005.

    Returns:
        ``rate * 1e6`` (500.0 for 0.0005).
    """
    return float(rate) * 1e6


def ppm(count: int, total: int) -> float:
    """Parts per million of ``count`` events among ``total`` units.

    Args:
        count: number of events (e.g. escaped defective joints).
        total: number of units (e.g. joints inspected), > 0.

    Returns:
        ``count / total * 1e6``.
    """
    if total <= 0:
        msg = f"total must be > 0, got {total}"
        raise DataError(msg)
    return count / total * 1e6


def dpmo(defects: int, units: int, opportunities_per_unit: int = 1) -> float:
    """Defects per million opportunities (e.g. joints per board as opportunities).

    Args:
        defects: defects found.
        units: units inspected (boards).
        opportunities_per_unit: defect opportunities per unit (joints per board).

    Returns:
        ``defects / (units * opportunities_per_unit) * 1e6``.
    """
    if units <= 0 or opportunities_per_unit <= 0:
        msg = "units and opportunities_per_unit must be > 0"
        raise DataError(msg)
    return defects / (units * opportunities_per_unit) * 1e6
