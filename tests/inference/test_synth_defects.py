"""Defect catalogue: every defect renders, masks line up with what changed, severity."""

from __future__ import annotations

import itertools
from functools import cache

import cv2
import numpy as np
import pytest

from inference.synth import (
    DEFECTS_FOR,
    JOINT_KINDS,
    MIN_DEFECT_SEVERITY,
    STYLES,
    JointSample,
    JointSpec,
    defects_for,
    render_joint,
)
from inference.types import DefectCode as D

SIZE = 96
PAIRS = [(k, d) for k in JOINT_KINDS for d in defects_for(k)]
DILATE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))  # 5 px radius


@cache
def _render(kind: str, defect: D | None, sev: float, style: str, seed: int):
    return render_joint(JointSpec(kind, defect, sev, style, SIZE), seed)


def _changed_inside_mask(good: JointSample, bad: JointSample) -> tuple[int, float]:
    diff = np.abs(bad.image.astype(int) - good.image.astype(int)).max(axis=2) > 30
    near = cv2.dilate(bad.mask, DILATE) > 0
    return int(diff.sum()), float((diff & near).sum() / max(1, diff.sum()))


def test_table_covers_every_kind_with_valid_codes() -> None:
    assert set(DEFECTS_FOR) == set(JOINT_KINDS)
    for kind in JOINT_KINDS:
        codes = defects_for(kind)
        assert D.INSUFFICIENT_SOLDER in codes
        assert D.BRIDGE in codes
        assert all(isinstance(c, D) for c in codes)
    assert D.TOMBSTONE in defects_for("chip_0402")
    assert D.TOMBSTONE not in defects_for("tht_round")
    assert D.LIFTED_LEAD in defects_for("gullwing")
    assert D.LIFTED_LEAD not in defects_for("chip_1206")


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(("kind", "defect"), PAIRS, ids=[f"{k}-{d}" for k, d in PAIRS])
def test_defect_renders_and_mask_covers_changes(
    kind: str, defect: D, style: str
) -> None:
    """Defective vs good render of the same seed: >= 90 % of the changed pixels lie
    within 5 px of the mask. (A defect can be hidden for a seed, e.g. a solder ball on
    a dark board, then it is labelled 0 with an empty mask: try the next seed.)"""
    for seed in range(3):
        bad = _render(kind, defect, 0.8, style, seed)
        if bad.label == 1:
            break
    assert bad.label == 1, "defect never visible"
    assert bad.defect_type == defect.value
    assert bad.mask.any()
    assert set(np.unique(bad.mask)) <= {0, 1}
    good = _render(kind, None, 0.0, style, seed)
    n_changed, inside = _changed_inside_mask(good, bad)
    assert n_changed > 0
    assert inside >= 0.9, f"{n_changed} changed px, only {inside:.2f} near the mask"


@pytest.mark.parametrize("style", STYLES)
def test_bridge_mask_spans_the_gap(style: str) -> None:
    s = _render("tht_round", D.BRIDGE, 0.7, style, 1)
    (cx, cy), (nx, ny) = s.meta["centre_xy"], s.meta["neighbour_xy"]
    h, w = s.mask.shape
    for t in (0.4, 0.5, 0.6):  # points between the two joints
        x, y = round(cx + t * (nx - cx)), round(cy + t * (ny - cy))
        if 0 <= x < w and 0 <= y < h:
            assert s.mask[y, x] == 1


@pytest.mark.parametrize("kind", ["chip_0805", "tht_square", "gullwing"])
def test_missing_component_mask_covers_the_pad(kind: str) -> None:
    s = _render(kind, D.MISSING_COMPONENT, 1.0, "color", _sharp_seed(kind))
    x, y = (round(v) for v in s.meta["centre_xy"])
    assert s.mask[y - 4 : y + 5, x - 4 : x + 5].mean() > 0.5  # most of the pad
    assert s.mask.sum() > 0.01 * s.mask.size


MONOTONE = [
    D.INSUFFICIENT_SOLDER,
    D.EXCESS_SOLDER,
    D.BRIDGE,
    D.SOLDER_BALL,
    D.FRACTURED_JOINT,
    D.VOID_PINHOLE,
    D.BURN,
    D.FLUX_RESIDUE,
    D.FOREIGN_OBJECT,
    D.PAD_DAMAGE,
    D.SHIFTED_COMPONENT,
    D.LIFTED_LEAD,
    D.SIDE_OVERHANG,
]


def _sharp_seed(kind: str) -> int:
    """First seed whose color capture of `kind` is not a low-resolution capture."""
    return next(
        seed
        for seed in range(50)
        if _render(kind, None, 0.0, "color", seed).meta["lowres"] == 1.0
    )


@pytest.mark.parametrize("defect", MONOTONE)
def test_severity_grows_the_mask(defect: D) -> None:
    kinds = [
        k for k in ("tht_round", "chip_0805", "gullwing") if defect in DEFECTS_FOR[k]
    ]
    for kind in kinds:
        seed = _sharp_seed(kind)
        areas = [
            int(_render(kind, defect, s, "color", seed).mask.sum())
            for s in (0.25, 0.5, 0.75, 1.0)
        ]
        assert areas[-1] > areas[0], (kind, areas)
        for a, b in itertools.pairwise(areas):
            assert b >= 0.9 * a, (kind, areas)


def test_low_severity_is_good_but_imperfect() -> None:
    s = _render(
        "tht_round", D.INSUFFICIENT_SOLDER, MIN_DEFECT_SEVERITY / 2, "aoi_gray", 0
    )
    assert (s.label, s.defect_type) == (0, "none")
    assert not s.mask.any()
    assert s.meta["imperfection"] == "insufficient_solder"
    good = _render("tht_round", None, 0.0, "aoi_gray", 0)
    near = np.abs(s.image.astype(int) - good.image.astype(int)).mean()
    far = np.abs(
        _render("tht_round", D.INSUFFICIENT_SOLDER, 0.9, "aoi_gray", 0).image.astype(
            int
        )
        - good.image.astype(int)
    ).mean()
    assert near < far  # near 0 looks almost good


def test_missing_component_ignores_the_severity_rule() -> None:
    s = _render("chip_0603", D.MISSING_COMPONENT, 0.01, "color", 0)
    assert s.label == 1
