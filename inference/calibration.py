"""Post-hoc calibration and confidence-region threshold selection (algorithms.md
§3.2-3.3).

- Temperature scaling (Guo et al. 2017): one scalar ``T > 0`` fitted on validation
logits
  by minimising the binary negative log-likelihood of ``sigmoid(logit / T)``.
- `select_thresholds`: the spec's deterministic rule for ``t_lo`` / ``t_hi``.
- `select_thresholds_for_escape`: the smallest review band that meets a target escape
  rate (optionally per defect and at a production prevalence).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inference.errors import DataError

__all__ = [
    "ThresholdChoice",
    "apply_temperature",
    "binary_nll",
    "fit_temperature",
    "select_thresholds",
    "select_thresholds_for_escape",
]

logger = logging.getLogger(__name__)


def _check_logits(
    logits: ArrayLike, y: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    z = np.asarray(logits, dtype=np.float64).ravel()
    yy = np.asarray(y, dtype=np.float64).ravel()
    if len(z) != len(yy):
        msg = f"len(logits) = {len(z)} differs from len(y) = {len(yy)}"
        raise DataError(msg)
    if len(z) == 0:
        msg = "cannot fit a temperature on an empty set"
        raise DataError(msg)
    if not np.all(np.isfinite(z)):
        msg = "logits contain NaN or inf"
        raise DataError(msg)
    if not np.all(np.isin(yy, (0.0, 1.0))):
        msg = "labels y must be 0 or 1"
        raise DataError(msg)
    return z, yy


def binary_nll(logits: ArrayLike, y: ArrayLike, temperature: float = 1.0) -> float:
    """Mean binary negative log-likelihood of ``sigmoid(logits / temperature)``.

    Args:
        logits: raw model logits.
        y: labels 0/1.
        temperature: ``T > 0``.

    Returns:
        The mean NLL (numerically stable: ``softplus(s) - y*s`` with ``s = logit/T``).
    """
    z, yy = _check_logits(logits, y)
    s = z / temperature
    return float(np.mean(np.logaddexp(0.0, s) - yy * s))


def fit_temperature(
    logits: ArrayLike,
    y: ArrayLike,
    bounds: tuple[float, float] = (0.05, 20.0),
    smoothing: float | None = None,
) -> float:
    """Fit the temperature ``T`` that minimises the validation NLL.

    The search runs on ``log T`` with a bounded scalar minimiser (deterministic).
    The labels are smoothed to ``y (1 - e) + e / 2``, by default with Laplace's
    ``e = 2 / (N + 2)``: on a validation set the model separates perfectly, the plain
    NLL keeps falling as ``T -> 0`` and the fit lands on the lower bound, so the rare
    error later made in the field is reported at a confidence of 1 - 1e-9. Smoothed,
    the fit claims no more certainty than ``N`` examples support (about
    ``1 - 1/N``); on a large, imperfect set it changes ``T`` by well under 1 %.

    Args:
        logits: validation logits ``(N,)``.
        y: validation labels ``(N,)``.
        bounds: allowed range of ``T``.
        smoothing: label smoothing ``e`` of the fit (None: ``2 / (N + 2)``; 0: the
            plain NLL).

    Returns:
        The fitted temperature (``> 1`` softens an over-confident model).

    Raises:
        DataError: empty or malformed input, or a single-class set.
    """
    from scipy.optimize import minimize_scalar

    z, yy = _check_logits(logits, y)
    if yy.min() == yy.max():
        msg = "temperature scaling needs both classes in the validation set"
        raise DataError(msg)
    lo, hi = bounds
    if not 0 < lo < hi:
        msg = f"bounds must satisfy 0 < lo < hi, got {bounds}"
        raise DataError(msg)

    eps = 2.0 / (len(yy) + 2.0) if smoothing is None else float(smoothing)
    if not 0.0 <= eps < 1.0:
        msg = f"smoothing must lie in [0, 1), got {smoothing}"
        raise DataError(msg)
    target = yy * (1.0 - eps) + eps / 2.0

    def nll(log_t: float) -> float:
        s = z / np.exp(log_t)
        return float(np.mean(np.logaddexp(0.0, s) - target * s))

    res = minimize_scalar(
        nll, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": 1e-7}
    )
    t = float(np.exp(res.x))
    if np.isclose(t, lo, rtol=1e-3) or np.isclose(t, hi, rtol=1e-3):
        logger.warning("fitted temperature %.4g sits at the search bound %s", t, bounds)
    return t


def apply_temperature(logits: ArrayLike, temperature: float) -> NDArray[np.float64]:
    """Calibrated probabilities ``sigmoid(logits / T)``.

    Args:
        logits: raw logits.
        temperature: ``T > 0``.

    Returns:
        P(defective) as float64.
    """
    if not temperature > 0:
        msg = f"temperature must be > 0, got {temperature}"
        raise DataError(msg)
    s = np.asarray(logits, dtype=np.float64) / temperature
    return 0.5 * (1.0 + np.tanh(0.5 * s))


@dataclass(frozen=True)
class ThresholdChoice:
    """Chosen region thresholds and the validation rates they give.

    Attributes:
        t_lo: below this, joints pass automatically.
        t_hi: at or above this, joints go to repair automatically.
        auto_escape: achieved automatic escape (in the rule's units).
        auto_overkill: achieved automatic overkill (in the rule's units).
        review_rate: share of samples in the review band (in the rule's weighting).
        feasible: ``False`` when no candidate met a constraint (then the most
            conservative threshold was returned).
    """

    t_lo: float
    t_hi: float
    auto_escape: float
    auto_overkill: float
    review_rate: float
    feasible: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly)."""
        return asdict(self)


def _check_yp(
    y: ArrayLike, p: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    yy = np.asarray(y).ravel()
    pp = np.asarray(p, dtype=np.float64).ravel()
    if len(yy) != len(pp) or len(yy) == 0:
        msg = f"y and p must be non-empty, of equal length; got {len(yy)}, {len(pp)}"
        raise DataError(msg)
    if not np.all(np.isin(yy, (0, 1))):
        msg = "labels y must be 0 or 1"
        raise DataError(msg)
    if not np.all(np.isfinite(pp)) or pp.min() < 0.0 or pp.max() > 1.0:
        msg = "probabilities p must be finite and lie in [0, 1]"
        raise DataError(msg)
    return yy.astype(np.int64), pp


def _candidates(p: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.unique(np.concatenate([p, [0.0, 1.0]]))


def _weights(y: NDArray[np.int64], prevalence: float | None) -> NDArray[np.float64]:
    n = len(y)
    if prevalence is None:
        return np.full(n, 1.0 / n)
    if not 0.0 < prevalence < 1.0:
        msg = f"prevalence must lie in (0, 1), got {prevalence}"
        raise DataError(msg)
    n1 = int(y.sum())
    n0 = n - n1
    if n1 == 0 or n0 == 0:
        msg = "re-weighting to a prevalence needs both classes"
        raise DataError(msg)
    return np.where(y == 1, prevalence / n1, (1.0 - prevalence) / n0)


def _escape_at(t: float, y, p, w) -> float:
    return float(w[(y == 1) & (p < t)].sum())


def _overkill_at(t: float, y, p, w) -> float:
    return float(w[(y == 0) & (p >= t)].sum())


def _lowest_t_lo(y, p, w, e_max: float, cands) -> tuple[float, bool]:
    """Largest candidate <= 0.5 whose escape is within the budget."""
    ok = [
        float(c) for c in cands if c <= 0.5 and _escape_at(c, y, p, w) <= e_max + 1e-12
    ]
    return (max(ok), True) if ok else (0.0, False)


def _highest_t_hi(y, p, w, o_max: float, cands) -> tuple[float, bool]:
    """Smallest candidate >= 0.5 whose overkill is within the budget."""
    ok = [
        float(c)
        for c in cands
        if c >= 0.5 and _overkill_at(c, y, p, w) <= o_max + 1e-12
    ]
    return (min(ok), True) if ok else (1.0, False)


def select_thresholds(
    y: ArrayLike, p: ArrayLike, e_max: float = 0.0, o_max: float = 0.01
) -> ThresholdChoice:
    """Choose ``t_lo`` / ``t_hi`` on a validation set by the rule of §3.2.

    Candidates are the sorted unique ``p`` values together with 0, 0.5 and 1 (the spec
    lists 0 and 1; 0.5 keeps a confident model from reviewing every good joint, see
    the comment below). ``t_lo`` is the
    largest candidate ``<= 0.5`` with ``#(y=1, p<t_lo)/N <= e_max``; ``t_hi`` is the
    smallest candidate ``>= 0.5`` with ``#(y=0, p>=t_hi)/N <= o_max``. The two choices
    are
    independent (each rate depends on one threshold). Deterministic.

    Args:
        y: validation labels.
        p: validation P(defective) (calibrated, if a temperature is used).
        e_max: allowed automatic escape rate.
        o_max: allowed automatic overkill rate.

    Returns:
        The thresholds and the rates they reach on the validation set.
    """
    yy, pp = _check_yp(y, p)
    w = _weights(yy, None)
    # 0.5 joins the spec's candidates: when no defect scores <= 0.5 (a confident model,
    # saturated probabilities) the spec's rule would stop at the highest good p, whose
    # own joint then goes to review, or at 0 (everything reviewed) when all good
    # joints score exactly 0.
    cands = np.unique(np.concatenate([_candidates(pp), [0.5]]))
    t_lo, ok_lo = _lowest_t_lo(yy, pp, w, e_max, cands)
    t_hi, ok_hi = _highest_t_hi(yy, pp, w, o_max, cands)
    if not ok_hi:
        logger.warning("no t_hi meets o_max=%g; using t_hi=1", o_max)
    return ThresholdChoice(
        t_lo=t_lo,
        t_hi=t_hi,
        auto_escape=_escape_at(t_lo, yy, pp, w),
        auto_overkill=_overkill_at(t_hi, yy, pp, w),
        review_rate=float(w[(pp >= t_lo) & (pp < t_hi)].sum()),
        feasible=ok_lo and ok_hi,
    )


def select_thresholds_for_escape(
    y: ArrayLike,
    p: ArrayLike,
    target_escape: float,
    max_overkill: float | None = None,
    escape_per: Literal["joint", "defect"] = "joint",
    prevalence: float | None = None,
) -> ThresholdChoice:
    """Smallest review band ``[t_lo, t_hi)`` that meets a target escape rate.

    Minimises the review rate subject to ``auto_escape <= target_escape`` (and, when
    given, ``auto_overkill <= max_overkill``) with ``t_lo <= 0.5 <= t_hi`` over the
    candidates of `select_thresholds` plus 0.5 (so an empty band is possible). Because
    the review rate falls as ``t_lo`` rises
    and as ``t_hi`` falls, and each constraint involves one threshold only, the optimum
    is the largest feasible ``t_lo`` with the smallest feasible ``t_hi`` (``t_hi = 0.5``
    when no overkill budget is given).

    Args:
        y: validation labels.
        p: validation P(defective).
        target_escape: allowed escape, e.g. ``100e-6`` for 100 PPM.
        max_overkill: optional automatic-overkill budget (same units).
        escape_per: ``"joint"`` divides escapes by all joints; ``"defect"`` by defective
            joints (the miss rate among defects).
        prevalence: optional production prevalence to re-weight classes to (``"joint"``
            units only; ``"defect"`` units do not depend on prevalence).

    Returns:
        The thresholds and the rates they reach.
    """
    yy, pp = _check_yp(y, p)
    if target_escape < 0:
        msg = f"target_escape must be >= 0, got {target_escape}"
        raise DataError(msg)
    w = _weights(yy, prevalence)
    w_escape = w
    if escape_per == "defect":
        n1 = int(yy.sum())
        if n1 == 0:
            msg = "escape per defect needs defective samples"
            raise DataError(msg)
        w_escape = np.full(len(yy), 1.0 / n1)
    elif escape_per != "joint":
        msg = f"escape_per must be 'joint' or 'defect', got {escape_per!r}"
        raise DataError(msg)
    cands = np.unique(np.concatenate([_candidates(pp), [0.5]]))
    t_lo, ok_lo = _lowest_t_lo(yy, pp, w_escape, target_escape, cands)
    if max_overkill is None:
        t_hi, ok_hi = 0.5, True
    else:
        t_hi, ok_hi = _highest_t_hi(yy, pp, w, max_overkill, cands)
    return ThresholdChoice(
        t_lo=t_lo,
        t_hi=t_hi,
        auto_escape=_escape_at(t_lo, yy, pp, w_escape),
        auto_overkill=_overkill_at(t_hi, yy, pp, w),
        review_rate=float(w[(pp >= t_lo) & (pp < t_hi)].sum()),
        feasible=ok_lo and ok_hi,
    )
