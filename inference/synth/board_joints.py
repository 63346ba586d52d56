"""Joint crops cut from synthetic boards, exactly as the inspection pipeline cuts them.

The classifier that ships inspects crops that `inference.crops.crop_joints` cuts from
whole board images; training it only on single-joint renders would leave it blind to
that framing (neighbouring parts, board-scale lighting, the crop margin). This module
renders boards with `render_board`, cuts every joint with the pipeline's own cropper
and writes a manifest-format dataset (one group per board, so a board never straddles
a split) with the defect mask of each crop.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from inference.crops import crop_joints
from inference.synth.boards import BoardConfig, BoardSample, board_seed, render_board
from inference.types import BBox, JointBox, JointType

__all__ = ["board_joint_crops", "generate_board_joint_dataset"]

MANIFEST_COLUMNS = ("path", "label", "defect_type", "group", "mask")


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[:, :, None], 3, axis=2))
    return np.ascontiguousarray(image[:, :, ::-1])


def board_joint_crops(
    sample: BoardSample, *, size: int = 256, margin: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Cut every joint of a rendered board as the pipeline would.

    Args:
        sample: a board from `render_board`.
        size: crop side in pixels.
        margin: context margin (fraction of the joint box), as in the pipeline.

    Returns:
        `(crops, masks)`: `N×size×size×3` uint8 RGB crops and `N×size×size` uint8
        0/1 masks of the joint's own defect (all zero for good joints).
    """
    joints = [
        JointBox(
            bbox=BBox(*(round(v) for v in t.box)),
            joint_type=JointType(t.type),
            refdes=t.refdes,
            pin=t.pin,
            package=t.package,
        )
        for t in sample.joints
    ]
    rgb = _rgb(sample.image)
    cut = crop_joints(rgb, joints, size=size, margin=margin)
    h, w = sample.defect_ids.shape[:2]
    masks = np.zeros((len(joints), size, size), dtype=np.uint8)
    for k, truth in enumerate(sample.joints):
        if not truth.defect_id:
            continue
        x, y, side, _ = (int(v) for v in cut.boxes[k])
        window = np.zeros((side, side), dtype=np.uint8)
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + side, w), min(y + side, h)
        if x1 > x0 and y1 > y0:
            window[y0 - y : y1 - y, x0 - x : x1 - x] = (
                sample.defect_ids[y0:y1, x0:x1] == truth.defect_id
            )
        masks[k] = cv2.resize(window, (size, size), interpolation=cv2.INTER_NEAREST)
    return cut.crops, masks


def generate_board_joint_dataset(
    out_dir: str | Path,
    n_boards: int,
    seed: int,
    *,
    config: BoardConfig | None = None,
    size: int = 256,
    margin: float = 0.25,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render `n_boards` boards and write their joint crops as a dataset.

    Args:
        out_dir: output folder (`images/`, `masks/`, `manifest.csv`).
        n_boards: number of boards to render.
        seed: dataset seed; board `i` uses `board_seed(seed, i)`.
        config: board configuration (default: 1600×1200 boards, 30 % defect rate).
        size: crop side in pixels.
        margin: context margin, as in the pipeline.
        progress: called with `(boards done, n_boards)`.

    Returns:
        The path of the written `manifest.csv`.
    """
    if n_boards <= 0:
        msg = f"n_boards must be positive, got {n_boards}"
        raise ValueError(msg)
    cfg = config or BoardConfig(width=1600, height=1200, defect_rate=0.3)
    cfg = replace(cfg)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, str, str, str]] = []
    for i in range(n_boards):
        sample = render_board(board_seed(seed, i), cfg)
        crops, masks = board_joint_crops(sample, size=size, margin=margin)
        group = f"board-{seed}-{i}"
        for k, truth in enumerate(sample.joints):
            name = f"b{i:04d}_j{k:04d}"
            image_rel, mask_rel = f"images/{name}.png", f"masks/{name}.png"
            cv2.imwrite(str(out / image_rel), crops[k][:, :, ::-1])
            cv2.imwrite(str(out / mask_rel), masks[k] * 255)
            label = int(truth.label)
            defect = truth.defect_type if label else "none"
            rows.append((image_rel, label, defect or "none", group, mask_rel))
        if progress is not None:
            progress(i + 1, n_boards)
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(MANIFEST_COLUMNS)
        writer.writerows(rows)
    return manifest
