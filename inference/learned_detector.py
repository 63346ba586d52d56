"""Recipe-free joint detector: a small Faster R-CNN run tile by tile.

Boards without a recipe (product.md §7) cannot be registered, so their joints are
searched with a learned detector trained on synthetic boards
(`inference.detector_training`). The model is torchvision's `FasterRCNN` on a small
from-scratch backbone (stride 8, dilated context convs; no ImageNet weights can be
downloaded here), with two classes, ``smd`` and ``tht`` (`JointType`).

Large images are cut into overlapping square tiles (`tile_grid`); a detection that
touches an inner tile edge is dropped (the overlap is larger than any joint, so the
joint lies whole in a neighbouring tile), and the rest go through one class-agnostic
NMS (`merge_tile_detections`). Joints get stable ids ``J0001``... sorted by rows
then columns (`sort_reading_order`).

A model folder holds ``detector.safetensors`` (read by `inference.weights`, never
unpickled) and ``detector.json`` (architecture, tile, thresholds, training record).

Usage::

    det = LearnedDetector.from_folder("build/detector")
    result = det.detect(load_image("board.jpg").rgb)  # DetectionResult, "learned"
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.detector import DetectionResult
from inference.errors import DataError, ModelLoadError
from inference.types import BBox, JointBox, JointType
from inference.weights import read_state_dict, write_state_dict

__all__ = [
    "CARD_FILE",
    "CLASSES",
    "WEIGHTS_FILE",
    "DetectorCard",
    "LearnedDetector",
    "build_model",
    "merge_tile_detections",
    "save_detector",
    "sort_reading_order",
    "tile_grid",
]

log = logging.getLogger(__name__)

CARD_FILE = "detector.json"
WEIGHTS_FILE = "detector.safetensors"
ARCHITECTURE = "frcnn-small-s8"
CLASSES: tuple[JointType, ...] = (JointType.SMD, JointType.THT)
"""Class k + 1 of the model (0 is background)."""


@dataclass
class DetectorCard:
    """What a detector folder says about its model (``detector.json``).

    Attributes:
        architecture: model family (only ``frcnn-small-s8``).
        width: channels of the backbone.
        tile: tile side in px (the model sees ``tile x tile`` images).
        overlap: overlap of neighbouring tiles in px (> the largest joint).
        score_threshold: detections below are dropped.
        nms_iou: IoU of the cross-tile NMS.
        scale: the image is resized by this factor before tiling (1.0: as is).
        classes: class names, in model order after background.
        training: free-form record of how the model was trained and measured.
        weights_sha256: SHA-256 of the weight file.
    """

    architecture: str = ARCHITECTURE
    width: int = 64
    tile: int = 512
    overlap: int = 128
    score_threshold: float = 0.5
    nms_iou: float = 0.5
    scale: float = 1.0
    classes: list[str] = field(default_factory=lambda: [c.value for c in CLASSES])
    training: dict[str, Any] = field(default_factory=dict)
    weights_sha256: str = ""

    def validate(self) -> None:
        """Raise `DataError` naming the first bad field."""
        if self.architecture != ARCHITECTURE:
            msg = f"unknown detector architecture {self.architecture!r}"
            raise DataError(msg)
        if not 64 <= self.tile <= 4096 or not 0 <= self.overlap < self.tile // 2:
            msg = f"tile {self.tile} / overlap {self.overlap} out of range"
            raise DataError(msg)
        if not 0.0 < self.scale <= 8.0:
            msg = f"scale must be within (0, 8], got {self.scale}"
            raise DataError(msg)
        if self.classes != [c.value for c in CLASSES]:
            msg = f"classes must be {[c.value for c in CLASSES]}, got {self.classes}"
            raise DataError(msg)


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SmallBackbone(nn.Sequential):
    """Stride-8 CNN, dilated context convs at the end (receptive field 263 px)."""

    def __init__(self, width: int = 64) -> None:
        w1, w2 = max(8, width // 4), max(8, width // 2)
        super().__init__(
            _conv(3, w1, 2),
            _conv(w1, w2, 2),
            _conv(w2, w2),
            _conv(w2, width, 2),
            _conv(width, width),
            _conv(width, width, dilation=2),
            _conv(width, width, dilation=4),
            _conv(width, width, dilation=8),
        )
        self.out_channels = width


def build_model(card: DetectorCard) -> nn.Module:
    """The (untrained) torchvision Faster R-CNN of ``card``."""
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    backbone = SmallBackbone(card.width)
    anchors = AnchorGenerator(
        sizes=((16, 32, 64, 128),), aspect_ratios=((0.33, 0.5, 1.0, 2.0, 3.0),)
    )
    return FasterRCNN(
        backbone,
        num_classes=None,
        min_size=card.tile,
        max_size=card.tile,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.25, 0.25, 0.25],
        rpn_anchor_generator=anchors,
        rpn_pre_nms_top_n_train=2000,
        rpn_post_nms_top_n_train=1000,
        rpn_pre_nms_top_n_test=1500,
        rpn_post_nms_top_n_test=600,
        box_roi_pool=MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2),
        box_head=TwoMLPHead(card.width * 49, 256),
        box_predictor=FastRCNNPredictor(256, len(CLASSES) + 1),
        box_score_thresh=min(0.05, card.score_threshold),
        box_nms_thresh=card.nms_iou,
        box_detections_per_img=400,
        box_batch_size_per_image=256,
    )


def tile_grid(
    width: int, height: int, tile: int, overlap: int
) -> list[tuple[int, int]]:
    """Top-left corners of square tiles covering a ``width x height`` image.

    Tiles step by ``tile - overlap``; the last row/column is aligned to the image
    edge, so every tile lies inside the image when it is at least ``tile`` wide
    (smaller images give the single tile ``(0, 0)``, padded by the caller).

    Returns:
        ``[(x0, y0), ...]`` row by row.
    """
    step = max(1, tile - overlap)

    def starts(n: int) -> list[int]:
        if n <= tile:
            return [0]
        out = list(range(0, n - tile, step))
        out.append(n - tile)
        return out

    return [(x, y) for y in starts(height) for x in starts(width)]


def merge_tile_detections(
    per_tile: list[tuple[tuple[int, int], np.ndarray, np.ndarray, np.ndarray]],
    image_size: tuple[int, int],
    tile: int,
    *,
    nms_iou: float = 0.5,
    edge_px: float = 2.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map tile detections to the image, drop inner-edge ones, NMS across tiles.

    Args:
        per_tile: ``((x0, y0), boxes (K, 4) x1 y1 x2 y2 in tile px, scores (K,),
            labels (K,))`` per tile.
        image_size: ``(width, height)`` of the (scaled) image.
        tile: tile side.
        nms_iou: class-agnostic NMS threshold.
        edge_px: a box within this distance of a tile edge that is not an image
            edge is cut by the tile and dropped.

    Returns:
        ``boxes (N, 4)`` in image px, ``scores (N,)``, ``labels (N,)`` by score.
    """
    from torchvision.ops import nms

    w, h = image_size
    boxes_all, scores_all, labels_all = [], [], []
    for (x0, y0), boxes, scores, labels in per_tile:
        if len(boxes) == 0:
            continue
        b = np.asarray(boxes, np.float32).reshape(-1, 4)
        keep = np.ones(len(b), bool)
        if x0 > 0:
            keep &= b[:, 0] > edge_px
        if y0 > 0:
            keep &= b[:, 1] > edge_px
        if x0 + tile < w:
            keep &= b[:, 2] < tile - edge_px
        if y0 + tile < h:
            keep &= b[:, 3] < tile - edge_px
        b = b[keep] + np.array([x0, y0, x0, y0], np.float32)
        boxes_all.append(b)
        scores_all.append(np.asarray(scores, np.float32)[keep])
        labels_all.append(np.asarray(labels, np.int64)[keep])
    if not boxes_all:
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, int)
    b = np.concatenate(boxes_all)
    s = np.concatenate(scores_all)
    lab = np.concatenate(labels_all)
    b[:, [0, 2]] = b[:, [0, 2]].clip(0, w)
    b[:, [1, 3]] = b[:, [1, 3]].clip(0, h)
    keep = nms(torch.from_numpy(b), torch.from_numpy(s), nms_iou).numpy()
    return b[keep], s[keep], lab[keep]


def sort_reading_order(boxes: np.ndarray) -> np.ndarray:
    """Indices of ``boxes`` (x1 y1 x2 y2) in reading order: rows, then columns.

    A row is a band of the median box height; within it joints go left to right.
    """
    if len(boxes) == 0:
        return np.zeros(0, int)
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    band = max(1.0, float(np.median(boxes[:, 3] - boxes[:, 1])))
    return np.lexsort((cx, np.floor(cy / band)))


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        msg = f"board pixels must be a uint8 array, got {type(image).__name__}"
        raise DataError(msg)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    msg = f"board pixels must be HxW or HxWx3, got shape {image.shape}"
    raise DataError(msg)


class LearnedDetector:
    """Recipe-free detector (`JointDetector` protocol): tiled Faster R-CNN.

    Args:
        model: the network (`build_model`), weights loaded.
        card: its card (tile, overlap, thresholds, scale).
        scale: overrides ``card.scale`` (resize factor applied before tiling).
        score_threshold: overrides ``card.score_threshold``.
    """

    def __init__(
        self,
        model: nn.Module,
        card: DetectorCard,
        *,
        scale: float | None = None,
        score_threshold: float | None = None,
    ) -> None:
        self.model = model.eval()
        self.card = card
        self.scale = float(card.scale if scale is None else scale)
        self.score_threshold = float(
            card.score_threshold if score_threshold is None else score_threshold
        )

    @classmethod
    def from_folder(cls, folder: str | Path, **kwargs: Any) -> LearnedDetector:
        """Load a detector folder (``detector.json`` + ``detector.safetensors``).

        Raises:
            ModelLoadError: missing or bad card, missing/corrupt weights, or weights
                that do not fit the card; the message names the file.
        """
        folder = Path(folder)
        card_path = folder / CARD_FILE
        if not card_path.is_file():
            msg = f"{folder}: not a detector folder (no {CARD_FILE})"
            raise ModelLoadError(msg)
        try:
            data = json.loads(card_path.read_text(encoding="utf-8"))
            card = DetectorCard(**data)
            card.validate()
        except (ValueError, TypeError, DataError) as exc:
            msg = f"{card_path}: bad detector card: {exc}"
            raise ModelLoadError(msg) from exc
        state = read_state_dict(folder / WEIGHTS_FILE)
        model = build_model(card)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            msg = f"{folder / WEIGHTS_FILE}: weights do not fit the card: {first}"
            raise ModelLoadError(msg) from exc
        return cls(model, card, **kwargs)

    @torch.inference_mode()
    def predict(self, image_rgb: np.ndarray) -> tuple[np.ndarray, ...]:
        """Raw detections: ``boxes (N, 4)`` x1 y1 x2 y2 in image px, scores, labels.

        Labels are model classes (1 = smd, 2 = tht), scores above the threshold.
        """
        import cv2

        rgb = _as_rgb(image_rgb)
        h0, w0 = rgb.shape[:2]
        if self.scale != 1.0:
            size = (max(1, round(w0 * self.scale)), max(1, round(h0 * self.scale)))
            interp = cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR
            rgb = cv2.resize(rgb, size, interpolation=interp)
        h, w = rgb.shape[:2]
        t = self.card.tile
        per_tile = []
        for x0, y0 in tile_grid(w, h, t, self.card.overlap):
            crop = np.zeros((t, t, 3), np.uint8)
            part = rgb[y0 : y0 + t, x0 : x0 + t]
            crop[: part.shape[0], : part.shape[1]] = part
            x = torch.from_numpy(crop).permute(2, 0, 1).float().div_(255.0)
            out = self.model([x])[0]
            keep = out["scores"] >= self.score_threshold
            per_tile.append(
                (
                    (x0, y0),
                    out["boxes"][keep].numpy(),
                    out["scores"][keep].numpy(),
                    out["labels"][keep].numpy(),
                )
            )
        boxes, scores, labels = merge_tile_detections(
            per_tile, (w, h), t, nms_iou=self.card.nms_iou
        )
        if self.scale != 1.0:
            boxes = boxes / self.scale
            boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w0)
            boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h0)
        return boxes, scores, labels

    def detect(self, image_rgb: np.ndarray) -> DetectionResult:
        """Find the joints of one board (no recipe).

        Args:
            image_rgb: HxWx3 uint8 RGB image (HxW gray accepted).

        Returns:
            `DetectionResult` with ``method="learned"``, joints ``J0001``... in
            reading order, each with its detection score and type.

        Raises:
            DataError: `image_rgb` is not a uint8 image.
        """
        t0 = time.perf_counter()
        boxes, scores, labels = self.predict(image_rgb)
        h, w = image_rgb.shape[:2]
        joints = []
        for k, i in enumerate(sort_reading_order(boxes), start=1):
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            bx, by = round(x1), round(y1)
            bbox = BBox(bx, by, max(1, round(x2) - bx), max(1, round(y2) - by))
            joints.append(
                JointBox(
                    bbox=bbox,
                    joint_type=CLASSES[int(labels[i]) - 1],
                    refdes=f"J{k:04d}",
                    pin="1",
                    score=float(scores[i]),
                )
            )
        ms = (time.perf_counter() - t0) * 1e3
        log.debug("learned detector: %d joints in %.0f ms", len(joints), ms)
        return DetectionResult(
            joints=tuple(joints),
            image_size=(int(w), int(h)),
            method="learned",
            registration=None,
            elapsed_ms=ms,
        )


def save_detector(model: nn.Module, card: DetectorCard, folder: str | Path) -> Path:
    """Write ``detector.safetensors`` and ``detector.json`` into ``folder``.

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state: Mapping[str, torch.Tensor] = model.state_dict()
    card.weights_sha256 = write_state_dict(state, folder / WEIGHTS_FILE)
    (folder / CARD_FILE).write_text(
        json.dumps(asdict(card), indent=1) + "\n", encoding="utf-8"
    )
    return folder
