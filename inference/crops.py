"""Joint crops: square, context-margined, fixed-size uint8 RGB cut-outs of each joint.

The classifier sees every joint at a *consistent scale per joint kind*: all joints
of the same (joint type, package) get the same crop side, the median over that
group of ``max(w, h) * (1 + 2 * margin)`` — so a 0402 pad fills the crop the same
way on every board and every instance, whatever small differences the projection
or a detector introduced in its box. The crop is centred on the box centre; where
it leaves the image the border pixels are replicated (``cv2.BORDER_REPLICATE``),
never zero-filled, so no artificial black edge reaches the classifier. The square
is then resized to ``size`` x ``size`` (area interpolation when shrinking, linear
when enlarging). Output is uint8 RGB, the input of `inference.preprocessing`.

`JointCrops.boxes` holds, per joint, the square ``(x, y, side, side)`` cut from the
image (it may extend past the image); a point ``(u, v)`` of crop ``i`` maps back
to image pixel ``(x + u * side / size, y + v * side / size)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import cv2
import numpy as np

from inference.errors import DataError
from inference.types import JointBox

__all__ = ["JointCrops", "crop_boxes", "crop_joints", "to_image_coords"]

_MIN_SIDE = 4


class JointCrops(NamedTuple):
    """Crops of a batch of joints (unpacks as ``crops, boxes``).

    Attributes:
        crops: (N, size, size, 3) uint8 RGB.
        boxes: (N, 4) int32 ``x, y, side, side`` cut from the image per joint.
    """

    crops: np.ndarray
    boxes: np.ndarray


def crop_boxes(
    joints: Sequence[JointBox], *, margin: float = 0.25, per_kind: bool = True
) -> np.ndarray:
    """The square crop box of every joint, before cutting.

    Args:
        joints: joints with boxes in image pixels.
        margin: context on each side as a fraction of the box's longer side.
        per_kind: one side length per (joint type, package) group (the group
            median); False: each joint's own side.

    Returns:
        (N, 4) int32 ``x, y, side, side``.

    Raises:
        DataError: negative margin.
    """
    if margin < 0:
        msg = f"margin must be >= 0, got {margin}"
        raise DataError(msg)
    n = len(joints)
    if n == 0:
        return np.zeros((0, 4), np.int32)
    b = np.array([(j.bbox.x, j.bbox.y, j.bbox.w, j.bbox.h) for j in joints], np.float64)
    side = np.maximum(b[:, 2], b[:, 3]) * (1.0 + 2.0 * margin)
    if per_kind:
        keys = [(str(j.joint_type), j.package) for j in joints]
        groups: dict[tuple[str, str], list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        for idx in groups.values():
            side[idx] = float(np.median(side[idx]))
    side = np.maximum(np.rint(side), _MIN_SIDE)
    cx = b[:, 0] + b[:, 2] / 2.0
    cy = b[:, 1] + b[:, 3] / 2.0
    x0 = np.rint(cx - side / 2.0)
    y0 = np.rint(cy - side / 2.0)
    return np.stack([x0, y0, side, side], axis=1).astype(np.int32)


def crop_joints(
    image_rgb: np.ndarray,
    joints: Sequence[JointBox],
    *,
    size: int = 256,
    margin: float = 0.25,
    per_kind: bool = True,
) -> JointCrops:
    """Cut every joint as a square with context and resize it to ``size``.

    Args:
        image_rgb: HxWx3 uint8 RGB board image (HxW gray is expanded to RGB).
        joints: joints with boxes in image pixels.
        size: output side in pixels.
        margin: context on each side as a fraction of the box's longer side.
        per_kind: consistent scale per (joint type, package), see module doc.

    Returns:
        The crops ``(N, size, size, 3)`` uint8 and the crop boxes ``(N, 4)``.

    Raises:
        DataError: the image is not uint8 HxW/HxWx3, or `size` < 1.
    """
    if size < 1:
        msg = f"crop size must be >= 1, got {size}"
        raise DataError(msg)
    img = _as_rgb(image_rgb)
    boxes = crop_boxes(joints, margin=margin, per_kind=per_kind)
    out = np.empty((len(boxes), size, size, 3), np.uint8)
    h, w = img.shape[:2]
    for i, (x, y, s, _) in enumerate(boxes.tolist()):
        x1, y1 = x + s, y + s
        if x >= 0 and y >= 0 and x1 <= w and y1 <= h:
            patch = img[y:y1, x:x1]
        else:
            # Border replicate, also for crops wholly outside the image.
            rows = np.clip(np.arange(y, y1), 0, h - 1)
            cols = np.clip(np.arange(x, x1), 0, w - 1)
            patch = img[rows[:, None], cols[None, :]]
        if s == size:
            out[i] = patch
        else:
            interp = cv2.INTER_AREA if s > size else cv2.INTER_LINEAR
            cv2.resize(patch, (size, size), dst=out[i], interpolation=interp)
    return JointCrops(out, boxes)


def to_image_coords(
    points: np.ndarray, box: Sequence[int] | np.ndarray, size: int = 256
) -> np.ndarray:
    """Map (N, 2) points of a crop back to board-image pixels.

    Args:
        points: (N, 2) ``u, v`` in crop pixels.
        box: that crop's ``x, y, side, side`` (a row of `JointCrops.boxes`).
        size: the crop size used.

    Returns:
        (N, 2) float64 image coordinates.
    """
    x, y, s = float(box[0]), float(box[1]), float(box[2])
    p = np.asarray(points, np.float64).reshape(-1, 2)
    return p * (s / size) + [x, y]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        msg = "image must be a uint8 numpy array"
        raise DataError(msg)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] != 3:
        msg = f"image must be HxWx3 RGB or HxW gray, got shape {image.shape}"
        raise DataError(msg)
    if image.shape[0] < 1 or image.shape[1] < 1:
        msg = f"image is empty, shape {image.shape}"
        raise DataError(msg)
    return image
