"""One board through the pipeline: image -> joints -> crops -> P(defect) -> regions.

`inspect_board` is steps 1-3 of product.md §1 and nothing else: it is Qt-free and
DB-free, so the CLI, the GUI worker and the benchmarks share it. Explanations
(step 4) run afterwards, in queue order, through `inference.explain_queue`;
persisting is the app's job (`app.inspection_runner`).

Cancellation is cooperative: ``cancel`` is any object with ``is_cancelled`` and
``raise_if_cancelled()`` (the app's ``CancelToken``); it is checked between stages
and between classifier batches, and `inference.errors.Cancelled` is raised.

Usage::

    det = RecipeDetector.from_file("recipes/board_0000.json")
    clf = DefectClassifier.from_folder("models/default")
    board = inspect_board("boards/board_0000.jpg", detector=det, classifier=clf)
    board.counts()  # {"defect": 3, "possible_defect": 7, "non_defect": 109}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from inference.crops import crop_joints
from inference.detector import DetectionResult, JointDetector
from inference.errors import Cancelled, DataError
from inference.image_io import DEFAULT_MAX_PIXELS, load_image
from inference.types import JointBox, Region, region_of

__all__ = [
    "STAGES",
    "BoardClassifier",
    "BoardInspection",
    "CancelCheck",
    "ProgressCallback",
    "check_cancel",
    "inspect_board",
    "queue_order",
]

log = logging.getLogger(__name__)

STAGES = ("load", "detect", "crop", "classify")
"""Stage names passed to ``on_progress``, in order."""

ProgressCallback = Callable[[str, int, int], None]
"""``on_progress(stage, done, total)``; ``stage`` is one of `STAGES`."""


class CancelCheck(Protocol):
    """What `inspect_board` needs of a cancel token."""

    @property
    def is_cancelled(self) -> bool:
        """True once cancellation was requested."""
        ...

    def raise_if_cancelled(self) -> None:
        """Raise (a subclass of) `Cancelled` if cancellation was requested."""
        ...


class BoardClassifier(Protocol):
    """What `inspect_board` needs of a classifier (`DefectClassifier` fits)."""

    t_lo: float
    t_hi: float
    batch_size: int

    def predict_proba(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated P(defective) of ``N x S x S x 3`` uint8 crops, shape ``(N,)``.

        A classifier that also has ``preprocess(crops)`` must accept its output
        here too (`inspect_board` preprocesses the next batch ahead).
        """
        ...


def check_cancel(cancel: CancelCheck | None) -> None:
    """Raise `Cancelled` when ``cancel`` asks for it (a no-op for None).

    Args:
        cancel: the token, or None.

    Raises:
        Cancelled: cancellation was requested.
    """
    if cancel is None:
        return
    cancel.raise_if_cancelled()
    if cancel.is_cancelled:  # a token whose raise_if_cancelled does not raise
        msg = "cancelled"
        raise Cancelled(msg)


@dataclass(frozen=True, eq=False)
class BoardInspection:
    """The pipeline's result for one board (no explanations, nothing persisted).

    Attributes:
        image_path: the file read, or None when pixels were passed in.
        image_sha256: SHA-256 of the file bytes ("" for in-memory pixels).
        image_size: ``(width, height)``.
        joints: the joints inspected, boxes in image pixels.
        p: calibrated P(defective) per joint, float64 ``(N,)``.
        regions: confidence region per joint.
        crops: ``(N, S, S, 3)`` uint8 RGB crops the classifier saw.
        crop_boxes: ``(N, 4)`` ``x, y, side, side`` cut from the image per joint.
        t_lo: lower threshold used.
        t_hi: upper threshold used.
        detection: the detector's full result (method, registration, outside).
        timings: seconds per stage (`STAGES`) and ``total``.
    """

    image_path: Path | None
    image_sha256: str
    image_size: tuple[int, int]
    joints: tuple[JointBox, ...]
    p: np.ndarray
    regions: tuple[Region, ...]
    crops: np.ndarray
    crop_boxes: np.ndarray
    t_lo: float
    t_hi: float
    detection: DetectionResult
    timings: Mapping[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Joints per region, every region present (also with 0)."""
        out = {r.value: 0 for r in Region}
        for r in self.regions:
            out[r.value] += 1
        return out

    def queue_order(self) -> list[int]:
        """Indices of the possibly defective joints, highest P(defect) first."""
        return queue_order(self.p, self.regions)


def queue_order(
    p: Sequence[float] | np.ndarray, regions: Sequence[Region]
) -> list[int]:
    """Review-queue order: `possible_defect` joints by descending P(defect).

    Ties keep the detector's order (stable sort).

    Args:
        p: P(defective) per joint.
        regions: region per joint.

    Returns:
        Joint indices.
    """
    idx = [i for i, r in enumerate(regions) if r is Region.POSSIBLE_DEFECT]
    return sorted(idx, key=lambda i: -float(p[i]))


def _rgb_of(
    image: str | Path | np.ndarray, max_pixels: int
) -> tuple[np.ndarray, Path | None, str]:
    if isinstance(image, np.ndarray):
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            msg = (
                "board pixels must be HxW or HxWx3 uint8, "
                f"got {image.dtype} {image.shape}"
            )
            raise DataError(msg)
        return image, None, ""
    loaded = load_image(image, max_pixels=max_pixels)
    return loaded.rgb, loaded.path, loaded.sha256


def _classify(
    classifier: BoardClassifier,
    crops: np.ndarray,
    bs: int,
    cancel: CancelCheck | None,
    progress: ProgressCallback,
) -> np.ndarray:
    """P(defect) of all crops in batches of ``bs`` (progress and cancel per batch).

    A classifier with a ``preprocess`` method (`DefectClassifier`) gets batch
    ``k + 1`` preprocessed on a helper thread while batch ``k`` is scored (torch
    and onnxruntime release the GIL), so the preprocessing hides in the gaps of
    the scoring; its ``predict_proba`` takes the preprocessed batch.
    """
    n = len(crops)
    p = np.zeros(n, dtype=np.float64)
    starts = list(range(0, n, bs))
    pre = getattr(classifier, "preprocess", None)
    if not callable(pre) or len(starts) < 2:
        for i in starts:
            check_cancel(cancel)
            j = min(n, i + bs)
            p[i:j] = np.asarray(classifier.predict_proba(crops[i:j]), dtype=np.float64)
            progress("classify", j, n)
        return p
    with ThreadPoolExecutor(1, thread_name_prefix="soldernet-preprocess") as ex:
        nxt = ex.submit(pre, crops[0:bs])
        for k, i in enumerate(starts):
            check_cancel(cancel)
            j = min(n, i + bs)
            batch = nxt.result()
            if k + 1 < len(starts):
                nxt = ex.submit(pre, crops[j : j + bs])
            p[i:j] = np.asarray(classifier.predict_proba(batch), dtype=np.float64)
            progress("classify", j, n)
    return p


def inspect_board(
    image: str | Path | np.ndarray,
    *,
    detector: JointDetector,
    classifier: BoardClassifier,
    on_progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    crop_size: int = 256,
    margin: float = 0.25,
    batch_size: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> BoardInspection:
    """Detect, crop and classify every joint of one board image.

    Args:
        image: an image file (any format `load_image` reads) or HxWx3 uint8 RGB.
        detector: finds the joints (`RecipeDetector` or `LearnedDetector`).
        classifier: scores crops (`DefectClassifier`).
        on_progress: called as ``on_progress(stage, done, total)`` after each stage
            and after each classifier batch.
        cancel: checked between stages and between classifier batches.
        crop_size: side of the stored crops (the classifier resizes them itself).
        margin: context around each joint box (`crop_joints`).
        batch_size: crops per classifier call (default: the classifier's).
        max_pixels: decompression-bomb guard for files.

    Returns:
        The board's joints with P(defect), regions, crops and stage timings.

    Raises:
        ImageDecodeError: the file cannot be read (the message names it).
        RegistrationError: the recipe cannot be registered to the image.
        Cancelled: ``cancel`` asked to stop; nothing partial is returned.
        DataError: unusable pixels.
    """
    timings: dict[str, float] = {}
    t_start = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        if on_progress is not None:
            on_progress(stage, done, total)

    check_cancel(cancel)
    t0 = time.perf_counter()
    rgb, path, sha = _rgb_of(image, max_pixels)
    timings["load"] = time.perf_counter() - t0
    progress("load", 1, 1)
    check_cancel(cancel)

    t0 = time.perf_counter()
    detection = detector.detect(rgb)
    timings["detect"] = time.perf_counter() - t0
    joints = tuple(detection.joints)
    progress("detect", 1, 1)
    check_cancel(cancel)

    t0 = time.perf_counter()
    crops, boxes = crop_joints(rgb, joints, size=crop_size, margin=margin)
    timings["crop"] = time.perf_counter() - t0
    progress("crop", 1, 1)
    check_cancel(cancel)

    t0 = time.perf_counter()
    n = len(joints)
    bs = max(1, int(batch_size or getattr(classifier, "batch_size", 64) or 64))
    p = _classify(classifier, crops, bs, cancel, progress)
    if n == 0:
        progress("classify", 0, 0)
    timings["classify"] = time.perf_counter() - t0
    t_lo, t_hi = float(classifier.t_lo), float(classifier.t_hi)
    regions = tuple(region_of(float(v), t_lo, t_hi) for v in p)
    timings["total"] = time.perf_counter() - t_start
    h, w = rgb.shape[:2]
    log.info("inspected %s: %d joints in %.2f s", path or "pixels", n, timings["total"])
    return BoardInspection(
        image_path=path,
        image_sha256=sha,
        image_size=(int(w), int(h)),
        joints=joints,
        p=p,
        regions=regions,
        crops=crops,
        crop_boxes=boxes,
        t_lo=t_lo,
        t_hi=t_hi,
        detection=detection,
        timings=timings,
    )
