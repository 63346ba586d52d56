"""Trust quantification against the worked vectors of algorithms.md §2.3 and §2.4."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inference.errors import DataError
from inference.trust import (
    answers_and_confidence,
    conditional_trust_densities,
    net_trust_score,
    question_answer_trust,
    trust_density,
    trust_kde,
    trust_matrix,
    trust_spectrum,
)

Z = np.array([0, 0, 0, 1, 1, 1, 1])
P = np.array([0.15, 0.35, 0.85, 0.92, 0.55, 0.25, 0.97])


def test_answers_and_confidence():
    y, c = answers_and_confidence(P)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1, 0, 1])
    np.testing.assert_allclose(c, [0.85, 0.65, 0.85, 0.92, 0.55, 0.75, 0.97])
    y, _ = answers_and_confidence([0.5])
    assert y[0] == 1  # tie p = 0.5 -> defective


def test_alpha_beta_one():
    q = question_answer_trust(Z, P)
    np.testing.assert_allclose(q, [0.85, 0.65, 0.15, 0.92, 0.55, 0.25, 0.97])
    assert net_trust_score(Z, q) == pytest.approx(4.34 / 7)
    assert net_trust_score(Z, q) == pytest.approx(0.62)
    spec = trust_spectrum(Z, q)
    assert spec[0] == pytest.approx(0.55)
    assert spec[1] == pytest.approx(0.6725)
    assert net_trust_score(Z, q, class_balanced=True) == pytest.approx(0.61125)
    tm, counts = trust_matrix(Z, P)
    np.testing.assert_allclose(tm, [[0.75, 0.15], [0.25, 2.44 / 3]])
    np.testing.assert_array_equal(counts, [[2, 1], [1, 3]])


def test_alpha_two_beta_half():
    q = question_answer_trust(Z, P, alpha=2.0, beta=0.5)
    np.testing.assert_allclose(
        q, [0.7225, 0.4225, 0.3872983, 0.8464, 0.3025, 0.5, 0.9409], atol=1e-7
    )
    assert net_trust_score(Z, q) == pytest.approx(0.5888712, abs=1e-7)
    assert net_trust_score(Z, q) == pytest.approx(4.1220983 / 7, abs=1e-7)
    spec = trust_spectrum(Z, q)
    assert spec[0] == pytest.approx(0.5107661, abs=1e-7)
    assert spec[1] == pytest.approx(0.64745, abs=1e-7)
    tm, _ = trust_matrix(Z, P, alpha=2.0, beta=0.5)
    np.testing.assert_allclose(tm, [[0.5725, 0.3872983], [0.5, 0.6966]], atol=1e-7)


@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (2.0, 0.5), (0.7, 3.0)])
def test_relations_between_matrix_spectrum_and_nts(alpha, beta):
    rng = np.random.default_rng(0)
    z = rng.integers(0, 2, 200)
    p = rng.random(200)
    q = question_answer_trust(z, p, alpha, beta)
    tm, n = trust_matrix(z, p, alpha, beta)
    spec = trust_spectrum(z, q)
    for cls in (0, 1):
        expected = np.nansum(n[cls] * tm[cls]) / n[cls].sum()
        assert spec[cls] == pytest.approx(expected)
    assert net_trust_score(z, q) == pytest.approx(np.nansum(n * tm) / n.sum())


def test_trustpy_cross_checks():
    # all answers correct with confidences 0.9, 0.8, 0.8, 0.6 -> NTS 0.775
    z = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.2, 0.4])
    assert net_trust_score(z, question_answer_trust(z, p)) == pytest.approx(0.775)
    # all wrong with confidences 0.9, 0.8, 0.8, 0.7 -> NTS 0.2
    z = np.array([0, 0, 1, 1])
    p = np.array([0.9, 0.8, 0.2, 0.3])
    assert net_trust_score(z, question_answer_trust(z, p)) == pytest.approx(0.2)


def test_seed_fig5_consistency():
    tm = np.array([[0.97663, 0.022753], [0.078545, 0.99382]])
    counts = np.array([[182, 27], [21, 308]])
    assert counts.sum() == 538
    assert counts[1].sum() == 329
    assert counts[0].sum() == 209
    nts = float((counts * tm).sum() / counts.sum())
    assert nts == pytest.approx(0.90354, abs=5e-6)
    assert round(nts, 3) == 0.904
    t_nd = (counts[0] * tm[0]).sum() / counts[0].sum()
    t_d = (counts[1] * tm[1]).sum() / counts[1].sum()
    assert round(float(t_nd), 3) == 0.853
    assert round(float(t_d), 3) == 0.935


def test_empty_class_is_nan():
    z = np.array([0, 0])
    p = np.array([0.1, 0.2])
    q = question_answer_trust(z, p)
    spec = trust_spectrum(z, q)
    assert math.isnan(spec[1])
    tm, counts = trust_matrix(z, p)
    assert np.isnan(tm[0, 1])
    assert np.isnan(tm[1]).all()
    np.testing.assert_array_equal(counts, [[2, 0], [0, 0]])
    assert net_trust_score(z, q, class_balanced=True) == pytest.approx(0.85)


def test_trust_density_and_conditional():
    q = question_answer_trust(Z, P)
    edges, density = trust_density(q)
    assert len(edges) == 21
    assert density.sum() * 0.05 == pytest.approx(1.0)
    _, empty = trust_density([])
    assert np.isnan(empty).all()
    cond = conditional_trust_densities(Z, P)
    assert set(cond) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    # the single false positive (Q = 0.15) sits in bin [0.15, 0.20)
    _, fp = cond[(0, 1)]
    assert fp[3] == pytest.approx(20.0)
    grid_density = trust_kde(q)
    assert grid_density is not None
    grid, dens = grid_density
    assert len(grid) == 201
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=0.05)
    assert trust_kde([0.5]) is None


def test_multiclass_variant():
    z = np.array([0, 1, 2])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.0, 0.0, 1.0]])
    q = question_answer_trust(z, p)
    np.testing.assert_allclose(q, [0.7, 0.4, 1.0])
    tm, counts = trust_matrix(z, p, classes=(0, 1, 2))
    assert counts[1, 2] == 1
    assert tm[1, 2] == pytest.approx(0.4)
    with pytest.raises(DataError, match="sum to 1"):
        question_answer_trust(z, p * 0.9)


@pytest.mark.parametrize(
    ("z", "p", "kwargs", "match"),
    [
        ([0, 1], [0.5], {}, "len"),
        ([0, 1], [0.5, 1.2], {}, r"\[0, 1\]"),
        ([0, 1], [0.5, np.nan], {}, "NaN"),
        ([0, 1], [0.5, 0.5], {"alpha": 0.0}, "alpha"),
        ([0, 1], [0.5, 0.5], {"beta": -1.0}, "beta"),
    ],
)
def test_validation(z, p, kwargs, match):
    with pytest.raises(DataError, match=match):
        question_answer_trust(z, p, **kwargs)


def test_nts_empty_raises():
    with pytest.raises(DataError, match="empty"):
        net_trust_score([], [])
