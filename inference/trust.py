"""Question-answer trust metrics (algorithms.md §2).

Implements question-answer trust ``Q``, the trust spectrum ``T(z)``, NetTrustScore, the
trust matrix with its count matrix, trust densities and conditional trust densities
(Wong, Wang, Hryniowski 2020; Hryniowski, Wong, Wang 2021).

Conventions: ``z`` is the oracle (true) label, ``p`` is P(defective) for a single-logit
binary model (shape ``(N,)``) or a row-stochastic probability matrix ``(N, K)`` for the
multi-class variant. The model answer is ``y = 1[p >= threshold]`` (binary) or
``argmax`` (multi-class); its confidence ``C`` is ``max(p, 1 - p)`` or the max
probability. Trust matrix rows are oracle answers and columns model answers (seed Fig.
5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inference.errors import DataError

__all__ = [
    "answers_and_confidence",
    "conditional_trust_densities",
    "net_trust_score",
    "question_answer_trust",
    "trust_density",
    "trust_kde",
    "trust_matrix",
    "trust_spectrum",
]

_ROW_SUM_TOL = 1e-5


def _labels(z: ArrayLike) -> NDArray[np.int64]:
    arr = np.asarray(z)
    if arr.ndim != 1:
        msg = f"labels z must be 1-D, got shape {arr.shape}"
        raise DataError(msg)
    if arr.size and not np.all(np.equal(np.mod(arr, 1), 0)):
        msg = "labels z must be integers"
        raise DataError(msg)
    return arr.astype(np.int64)


def _probabilities(p: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim not in (1, 2):
        msg = f"probabilities p must be (N,) or (N, K), got shape {arr.shape}"
        raise DataError(msg)
    if not np.all(np.isfinite(arr)):
        msg = "probabilities p contain NaN or inf"
        raise DataError(msg)
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        msg = f"probabilities p must lie in [0, 1], got [{arr.min()}, {arr.max()}]"
        raise DataError(msg)
    if arr.ndim == 2 and arr.size:
        sums = arr.sum(axis=1)
        worst = float(np.max(np.abs(sums - 1.0)))
        if worst > _ROW_SUM_TOL:
            msg = f"rows of the probability matrix must sum to 1 (off by {worst:.3g})"
            raise DataError(msg)
    return arr


def _check_pair(
    z: ArrayLike, p: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    zz = _labels(z)
    pp = _probabilities(p)
    if len(zz) != len(pp):
        msg = f"len(z) = {len(zz)} differs from len(p) = {len(pp)}"
        raise DataError(msg)
    return zz, pp


def _check_exponents(alpha: float, beta: float) -> None:
    if not (np.isfinite(alpha) and alpha > 0):
        msg = f"alpha (reward relaxation) must be > 0, got {alpha}"
        raise DataError(msg)
    if not (np.isfinite(beta) and beta > 0):
        msg = f"beta (penalty relaxation) must be > 0, got {beta}"
        raise DataError(msg)


def answers_and_confidence(
    p: ArrayLike, threshold: float = 0.5
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Model answers ``y`` and their confidences ``C(y|x)``.

    Args:
        p: P(defective) ``(N,)`` or a probability matrix ``(N, K)``.
        threshold: decision threshold of the binary case (``y = 1`` iff ``p >=
            threshold``).

    Returns:
        ``(y, C)``: integer answers and confidences (binary: ``max(p, 1 - p)``).
    """
    pp = _probabilities(p)
    if pp.ndim == 2:
        y = np.argmax(pp, axis=1).astype(np.int64)
        return y, pp[np.arange(len(pp)), y]
    if not 0.0 <= threshold <= 1.0:
        msg = f"threshold must lie in [0, 1], got {threshold}"
        raise DataError(msg)
    y = (pp >= threshold).astype(np.int64)
    return y, np.where(y == 1, pp, 1.0 - pp)


def question_answer_trust(
    z: ArrayLike,
    p: ArrayLike,
    alpha: float = 1.0,
    beta: float = 1.0,
    threshold: float = 0.5,
) -> NDArray[np.float64]:
    """Question-answer trust ``Q`` of every sample (§2.1).

    ``Q = C^alpha`` for a correct answer, ``(1 - C)^beta`` for a wrong one.

    Args:
        z: oracle labels ``(N,)``.
        p: P(defective) ``(N,)``, or a row-stochastic matrix ``(N, K)``.
        alpha: reward relaxation exponent (> 0).
        beta: penalty relaxation exponent (> 0).
        threshold: binary decision threshold.

    Returns:
        ``Q`` as float64 ``(N,)``.

    Raises:
        DataError: length mismatch, probabilities outside [0, 1], rows not summing to 1,
            or non-positive exponents.
    """
    zz, pp = _check_pair(z, p)
    _check_exponents(alpha, beta)
    y, c = answers_and_confidence(pp, threshold)
    return np.where(y == zz, c**alpha, (1.0 - c) ** beta)


def trust_spectrum(
    z: ArrayLike, q: ArrayLike, classes: Sequence[int] = (0, 1)
) -> dict[int, float]:
    """Trust spectrum ``T(z) = E[Q | oracle = z]`` per class (NaN for absent classes).

    Args:
        z: oracle labels ``(N,)``.
        q: question-answer trust values ``(N,)``.
        classes: the classes to report.

    Returns:
        ``{class: T(class)}``.
    """
    zz, qq = _check_pair(z, q)
    if qq.ndim != 1:
        msg = "q must be 1-D"
        raise DataError(msg)
    out: dict[int, float] = {}
    for cls in classes:
        sel = zz == cls
        out[int(cls)] = float(qq[sel].mean()) if np.any(sel) else float("nan")
    return out


def net_trust_score(z: ArrayLike, q: ArrayLike, class_balanced: bool = False) -> float:
    """NetTrustScore ``NTS = sum_z P(z) T(z)`` (§2.1).

    Args:
        z: oracle labels ``(N,)``.
        q: question-answer trust values ``(N,)``.
        class_balanced: ``False`` uses the empirical class frequencies (= mean of
            ``Q``);
            ``True`` gives every class present the weight ``1/|Z|``.

    Returns:
        The NTS in [0, 1].

    Raises:
        DataError: empty input or shape mismatch.
    """
    zz, qq = _check_pair(z, q)
    if qq.ndim != 1:
        msg = "q must be 1-D"
        raise DataError(msg)
    if len(qq) == 0:
        msg = "NetTrustScore of an empty set is undefined"
        raise DataError(msg)
    if not class_balanced:
        return float(qq.mean())
    present = np.unique(zz)
    return float(np.mean([qq[zz == cls].mean() for cls in present]))


def trust_matrix(
    z: ArrayLike,
    p: ArrayLike,
    alpha: float = 1.0,
    beta: float = 1.0,
    threshold: float = 0.5,
    classes: Sequence[int] = (0, 1),
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Trust matrix and count matrix (rows = oracle answer, columns = model answer).

    Args:
        z: oracle labels ``(N,)``.
        p: P(defective) ``(N,)`` or a probability matrix ``(N, K)``.
        alpha: reward relaxation exponent.
        beta: penalty relaxation exponent.
        threshold: binary decision threshold.
        classes: class order of rows and columns.

    Returns:
        ``(TM, counts)``: ``TM[i, j]`` is the mean ``Q`` over samples with oracle
        ``classes[i]`` and answer ``classes[j]`` (NaN when empty); ``counts`` is the
        confusion matrix.
    """
    zz, pp = _check_pair(z, p)
    q = question_answer_trust(zz, pp, alpha, beta, threshold)
    y, _ = answers_and_confidence(pp, threshold)
    k = len(classes)
    tm = np.full((k, k), np.nan)
    counts = np.zeros((k, k), dtype=np.int64)
    for i, zc in enumerate(classes):
        for j, yc in enumerate(classes):
            sel = (zz == zc) & (y == yc)
            counts[i, j] = int(sel.sum())
            if counts[i, j]:
                tm[i, j] = float(q[sel].mean())
    return tm, counts


def trust_density(
    q_subset: ArrayLike, bins: int = 20
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Normalised histogram of ``Q`` on [0, 1] (the testable trust density).

    Args:
        q_subset: trust values of one answer scenario.
        bins: number of equal-width bins on [0, 1].

    Returns:
        ``(edges, density)`` with ``len(edges) == bins + 1``; the density integrates to
        1,
        and is all NaN when the subset is empty.
    """
    if bins < 1:
        msg = f"bins must be >= 1, got {bins}"
        raise DataError(msg)
    qq = np.asarray(q_subset, dtype=np.float64).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    if qq.size == 0:
        return edges, np.full(bins, np.nan)
    if qq.min() < 0.0 or qq.max() > 1.0:
        msg = "trust values must lie in [0, 1]"
        raise DataError(msg)
    density, edges = np.histogram(qq, bins=bins, range=(0.0, 1.0), density=True)
    return edges, density


def trust_kde(
    q_subset: ArrayLike, points: int = 201
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Smooth trust density for plots: Gaussian KDE reflected at 0 and 1.

    Args:
        q_subset: trust values of one answer scenario.
        points: evaluation points on [0, 1].

    Returns:
        ``(grid, density)``, or ``None`` when the subset has fewer than two distinct
        values.
    """
    from scipy.stats import gaussian_kde

    qq = np.asarray(q_subset, dtype=np.float64).ravel()
    if qq.size < 2 or np.ptp(qq) == 0.0:
        return None
    kde = gaussian_kde(qq)
    grid = np.linspace(0.0, 1.0, points)
    return grid, kde(grid) + kde(-grid) + kde(2.0 - grid)


def conditional_trust_densities(
    z: ArrayLike,
    p: ArrayLike,
    alpha: float = 1.0,
    beta: float = 1.0,
    threshold: float = 0.5,
    classes: Sequence[int] = (0, 1),
    bins: int = 20,
) -> dict[tuple[int, int], tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Trust densities conditioned on oracle answer ``z`` and model answer ``y``.

    Args:
        z: oracle labels ``(N,)``.
        p: P(defective) ``(N,)`` or a probability matrix ``(N, K)``.
        alpha: reward relaxation exponent.
        beta: penalty relaxation exponent.
        threshold: binary decision threshold.
        classes: classes to combine.
        bins: histogram bins.

    Returns:
        ``{(z, y): (edges, density)}`` for every pair of classes (NaN density if empty).
    """
    zz, pp = _check_pair(z, p)
    q = question_answer_trust(zz, pp, alpha, beta, threshold)
    y, _ = answers_and_confidence(pp, threshold)
    return {
        (int(zc), int(yc)): trust_density(q[(zz == zc) & (y == yc)], bins)
        for zc in classes
        for yc in classes
    }
