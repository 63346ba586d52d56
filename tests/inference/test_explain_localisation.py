"""Localisation metrics against hand-made defect masks (exact numbers)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.explain.errors import ExplainError
from inference.explain.localisation import (
    dilate,
    disk,
    energy_inside,
    load_gt_mask,
    localisation_summary,
    localise,
    pointing_hit,
)


def _box(r0: int, r1: int, c0: int, c1: int, size: int = 10) -> np.ndarray:
    m = np.zeros((size, size), dtype=bool)
    m[r0:r1, c0:c1] = True
    return m


GT = _box(2, 5, 2, 5)  # rows 2-4, cols 2-4: 9 px
PRED = _box(3, 6, 3, 6)  # rows 3-5, cols 3-5: 9 px, 4 px shared


def test_disk_and_dilation() -> None:
    assert disk(0).sum() == 1
    assert disk(1).sum() == 5
    assert disk(2).sum() == 13
    one = _box(5, 6, 5, 6)
    assert dilate(one, 2).sum() == 13
    assert dilate(one, 0).sum() == 1
    assert not dilate(np.zeros((4, 4)), 3).any()


def test_iou_recall_precision_exact() -> None:
    loc = localise(PRED, None, GT, tolerance_px=0)
    assert loc is not None
    assert loc.iou == pytest.approx(4 / 14, abs=0)
    assert loc.recall == pytest.approx(4 / 9, abs=0)
    assert loc.precision == pytest.approx(4 / 9, abs=0)
    assert loc.gt_area_frac == pytest.approx(0.09)
    assert loc.pred_area_frac == pytest.approx(0.09)


def test_pointing_game_tolerance_is_a_disk() -> None:
    heat = np.zeros((10, 10))
    heat[6, 6] = 1.0  # offset (2, 2) from the GT corner (4, 4): distance² = 8
    assert not pointing_hit(heat, GT, tolerance_px=0)
    assert not pointing_hit(heat, GT, tolerance_px=2)  # 8 > 4
    assert pointing_hit(heat, GT, tolerance_px=3)  # 8 <= 9
    heat = np.zeros((10, 10))
    heat[5, 4] = 0.7  # one row below the mask
    assert not pointing_hit(heat, GT, tolerance_px=0)
    assert pointing_hit(heat, GT, tolerance_px=1)


def test_pointing_game_ties_zero_heat_and_empty_mask() -> None:
    heat = np.zeros((10, 10))
    heat[0, 9] = 1.0  # far outside
    heat[3, 3] = 1.0  # inside: tie with the outside maximum counts as a hit
    assert pointing_hit(heat, GT, tolerance_px=0)
    heat[3, 3] = 0.99
    assert not pointing_hit(heat, GT, tolerance_px=0)
    assert not pointing_hit(np.zeros((10, 10)), GT)
    assert not pointing_hit(heat, np.zeros((10, 10), bool))


def test_energy_inside_exact() -> None:
    heat = np.zeros((10, 10))
    heat[2:4, 2:4] = 1.0  # 4 px inside
    heat[8:10, 8:10] = 1.0  # 4 px far outside
    heat[0, 0] = -5.0  # negative heat is ignored
    assert energy_inside(heat, GT, tolerance_px=0) == 0.5
    assert energy_inside(np.zeros((10, 10)), GT) == 0.0


def test_localise_uses_heat_for_pointing_and_none_for_good_joints() -> None:
    heat = np.zeros((10, 10))
    heat[9, 0] = 1.0
    loc = localise(PRED, heat, GT, tolerance_px=1)
    assert loc is not None
    assert not loc.pointing_hit
    assert localise(PRED, None, GT, tolerance_px=0).pointing_hit  # mask as heat
    assert localise(PRED, heat, np.zeros((10, 10))) is None
    with pytest.raises(ExplainError, match="differ in size"):
        localise(PRED, None, np.zeros((5, 5)))


def test_summary_means_over_images_with_a_mask() -> None:
    a = localise(PRED, None, GT, tolerance_px=0)
    b = localise(GT, None, GT, tolerance_px=0)
    s = localisation_summary([a, None, b])
    assert s["n"] == 2
    assert s["pointing_game"] == 1.0
    assert s["iou"] == pytest.approx((4 / 14 + 1.0) / 2)
    assert s["recall"] == pytest.approx((4 / 9 + 1.0) / 2)
    assert s["precision"] == pytest.approx((4 / 9 + 1.0) / 2)
    empty = localisation_summary([None])
    assert empty["n"] == 0
    assert np.isnan(empty["iou"])


def test_load_gt_mask_resizes_nearest(tmp_path) -> None:
    big = np.zeros((20, 20), np.uint8)
    big[4:10, 4:10] = 255
    cv2.imwrite(str(tmp_path / "m.png"), big)
    m = load_gt_mask(tmp_path / "m.png", (10, 10))
    assert m.dtype == bool
    assert np.array_equal(m, _box(2, 5, 2, 5))
    colour = np.zeros((10, 10, 3), np.uint8)
    colour[1, 1, 2] = 9
    cv2.imwrite(str(tmp_path / "c.png"), colour)
    assert load_gt_mask(tmp_path / "c.png", (10, 10)).sum() == 1
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(ExplainError, match=r"bad\.png"):
        load_gt_mask(tmp_path / "bad.png", (10, 10))
