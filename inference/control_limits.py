"""Control-chart limits: p-chart, X-bar chart, PSI and over-dispersion (pure numpy).

The statistics behind `inference.drift`'s charts, kept apart so each can be checked
against hand-computed numbers (tests/inference/test_drift_math.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "chi2_quantile",
    "decile_edges",
    "dispersion",
    "p_chart_limits",
    "psi",
    "psi_limit",
    "xbar_limits",
]


def p_chart_limits(
    p_bar: float,
    n: int,
    *,
    sigmas: float = 3.0,
    phi: float = 1.0,
    n_ref: int | None = None,
) -> tuple[float, float]:
    """(LCL, UCL) of a p-chart: p-bar +/- k sqrt(phi p-bar (1 - p-bar) (1/n + 1/n_ref)).

    Clipped to [0, 1]; `n_ref` None means a known p-bar (no reference term).
    Example: p-bar 0.1, n 100 gives (0.01, 0.19).

    Raises:
        ValueError: n < 1.
    """
    if n < 1:
        msg = f"a p-chart point needs n >= 1, got {n}"
        raise ValueError(msg)
    inv = 1.0 / n + (1.0 / n_ref if n_ref else 0.0)
    half = sigmas * math.sqrt(phi * p_bar * (1.0 - p_bar) * inv)
    return max(0.0, p_bar - half), min(1.0, p_bar + half)


def xbar_limits(
    centre: float,
    sd: float,
    n: int,
    *,
    sigmas: float = 3.0,
    phi: float = 1.0,
    n_ref: int | None = None,
) -> tuple[float, float]:
    """(LCL, UCL) of an X-bar chart of a mean of n values.

    centre +/- k sd sqrt(phi (1/n + 1/n_ref)); `n_ref` None: a known centre.

    Raises:
        ValueError: n < 1.
    """
    if n < 1:
        msg = f"an X-bar point needs n >= 1, got {n}"
        raise ValueError(msg)
    inv = 1.0 / n + (1.0 / n_ref if n_ref else 0.0)
    half = sigmas * sd * math.sqrt(phi * inv)
    return centre - half, centre + half


def psi(
    expected: Sequence[float], observed: Sequence[float], eps: float = 1e-4
) -> float:
    """Population-stability index sum((o - e) ln(o / e)) of two bin-share vectors.

    Shares are floored at `eps` so an empty bin stays finite.
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), eps)
    o = np.maximum(np.asarray(observed, dtype=np.float64), eps)
    return float(np.sum((o - e) * np.log(o / e)))


def chi2_quantile(dof: int, z: float) -> float:
    """Upper quantile of chi-square(dof) at the normal deviate z (Wilson-Hilferty).

    Example: dof 9, z 3 gives 27.25 (exact: 27.09).
    """
    k = float(max(dof, 1))
    c = 2.0 / (9.0 * k)
    return k * (1.0 - c + z * math.sqrt(c)) ** 3


def psi_limit(
    n: int,
    n_ref: int,
    bins: int,
    *,
    floor: float = 0.25,
    sigmas: float = 3.0,
    phi: float = 1.0,
) -> float:
    """The PSI control limit of a window of n joints against n_ref reference joints.

    max(floor, phi * chi2_q(bins - 1) * (1/n + 1/n_ref)): the sampling spread of PSI
    under no change rules small windows, the fixed floor large ones.
    """
    sampling = phi * chi2_quantile(bins - 1, sigmas) * (1.0 / n + 1.0 / max(n_ref, 1))
    return max(floor, sampling)


def decile_edges(z: np.ndarray, n_bins: int = 10) -> tuple[float, ...]:
    """Inner edges cutting `z` into `n_bins` equal-count bins (duplicates dropped)."""
    if z.size == 0:
        return ()
    qs = np.quantile(z, np.linspace(0, 1, n_bins + 1)[1:-1])
    return tuple(float(q) for q in np.unique(qs))


def dispersion(events: np.ndarray, trials: np.ndarray, rate: float) -> float:
    """Pearson chi-square per degree of freedom of grouped binomial counts (>= 1)."""
    keep = trials > 0
    events, trials = events[keep], trials[keep]
    k = events.size
    if k < 2 or rate <= 0.0 or rate >= 1.0:
        return 1.0
    chi2 = float(np.sum((events - trials * rate) ** 2 / (trials * rate * (1 - rate))))
    return max(1.0, chi2 / (k - 1))
