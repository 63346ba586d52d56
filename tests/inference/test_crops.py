"""Joint crops: shape, dtype, margin, per-kind scale, border replicate, mapping back."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from inference.crops import JointCrops, crop_boxes, crop_joints, to_image_coords
from inference.errors import DataError
from inference.types import BBox, JointBox, JointType


def _image(h: int = 300, w: int = 400) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx % 256, yy % 256, (xx * 3 + yy) % 256], -1).astype(np.uint8)


def _jb(
    x: int, y: int, w: int, h: int, package: str = "0603", **kw: object
) -> JointBox:
    return JointBox(BBox(x, y, w, h), package=package, **kw)  # type: ignore[arg-type]


def test_shape_dtype_and_empty() -> None:
    img = _image()
    joints = [_jb(50, 60, 20, 30), _jb(200, 100, 40, 40, package="SOIC-8")]
    out = crop_joints(img, joints, size=64)
    assert isinstance(out, JointCrops)
    crops, boxes = out  # unpacks like a tuple
    assert crops.shape == (2, 64, 64, 3)
    assert crops.dtype == np.uint8
    assert boxes.shape == (2, 4)
    assert boxes.dtype == np.int32
    empty = crop_joints(img, [], size=32)
    assert empty.crops.shape == (0, 32, 32, 3)
    assert empty.boxes.shape == (0, 4)


def test_margin_is_a_square_around_the_box_centre() -> None:
    img = _image()
    # 40x40 box at (100, 80): margin 0.25 -> side 60, top-left (90, 70).
    out = crop_joints(img, [_jb(100, 80, 40, 40)], size=60, margin=0.25)
    assert out.boxes[0].tolist() == [90, 70, 60, 60]
    np.testing.assert_array_equal(out.crops[0], img[70:130, 90:150])
    # Non-square box: the square follows the longer side and stays centred.
    out = crop_joints(img, [_jb(100, 80, 20, 40)], size=32, margin=0.5)
    x, y, s, s2 = out.boxes[0].tolist()
    assert s == s2 == 80
    assert (x + s / 2, y + s / 2) == (110, 100)
    # No margin: exactly the box (longer side).
    assert crop_boxes([_jb(10, 20, 30, 30)], margin=0.0)[0].tolist() == [10, 20, 30, 30]


def test_resize_matches_reference() -> None:
    img = _image()
    out = crop_joints(img, [_jb(100, 80, 40, 40)], size=128, margin=0.25)
    ref = cv2.resize(img[70:130, 90:150], (128, 128), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out.crops[0], ref)
    small = crop_joints(img, [_jb(100, 80, 40, 40)], size=30, margin=0.25)
    ref = cv2.resize(img[70:130, 90:150], (30, 30), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(small.crops[0], ref)


def test_consistent_scale_per_kind() -> None:
    joints = [
        _jb(10, 10, 40, 40),
        _jb(100, 10, 50, 50),
        _jb(200, 10, 60, 60),  # same package: median side 50 * 1.5 = 75
        _jb(10, 150, 20, 20, package="0402"),
        _jb(100, 150, 20, 20, package="0603", joint_type=JointType.THT),
    ]
    boxes = crop_boxes(joints, margin=0.25)
    assert boxes[:3, 2].tolist() == [75, 75, 75]
    assert boxes[3, 2] == 30
    assert boxes[4, 2] == 30  # THT 0603 is its own group
    own = crop_boxes(joints, margin=0.25, per_kind=False)
    assert own[:3, 2].tolist() == [60, 75, 90]


def test_border_replicate_when_crop_leaves_image() -> None:
    img = _image(100, 120)
    out = crop_joints(img, [_jb(-5, -8, 20, 20)], size=30, margin=0.25)
    x, y, s, _ = out.boxes[0].tolist()
    assert (x, y, s) == (-10, -13, 30)
    crop = out.crops[0]
    # Rows above the image repeat row 0, columns left of it repeat column 0.
    np.testing.assert_array_equal(crop[13:, 10:], img[0:17, 0:20])
    np.testing.assert_array_equal(crop[0, 10:], img[0, 0:20])
    np.testing.assert_array_equal(crop[13:, 0], img[0:17, 0])
    assert (crop[:13, :10] == img[0, 0]).all()
    # A box entirely off the image still gives a crop (all replicated edge).
    far = crop_joints(img, [_jb(500, 500, 10, 10)], size=8)
    assert far.crops.shape == (1, 8, 8, 3)
    assert (far.crops[0] == img[-1, -1]).all()


def test_gray_input_and_mapping_back() -> None:
    gray = _image()[:, :, 0].copy()
    out = crop_joints(gray, [_jb(100, 80, 40, 40)], size=120, margin=0.25)
    assert out.crops.shape == (1, 120, 120, 3)
    assert (out.crops[0, :, :, 0] == out.crops[0, :, :, 2]).all()
    pts = to_image_coords(np.array([[0.0, 0.0], [60.0, 60.0]]), out.boxes[0], size=120)
    np.testing.assert_allclose(pts, [[90.0, 70.0], [120.0, 100.0]])


def test_bad_inputs() -> None:
    with pytest.raises(DataError, match="uint8"):
        crop_joints(np.zeros((10, 10, 3), np.float32), [])
    with pytest.raises(DataError, match="HxWx3"):
        crop_joints(np.zeros((10, 10, 4), np.uint8), [])
    with pytest.raises(DataError, match="size"):
        crop_joints(np.zeros((10, 10, 3), np.uint8), [], size=0)
    with pytest.raises(DataError, match="margin"):
        crop_boxes([_jb(0, 0, 5, 5)], margin=-0.1)
