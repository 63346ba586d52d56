"""Solder-joint detectors: step 2 of the pipeline (product.md §1).

A detector turns a board image into `JointBox` rows. Two kinds share one seam,
the `JointDetector` protocol (``detect(image_rgb) -> DetectionResult``):

- `RecipeDetector` (here): the product has a recipe (product.md §7), so the image
  is registered to it through its fiducials (`inference.registration`) and every
  recipe joint is projected into the image. Nothing is searched blind; when the
  registration cannot be trusted it raises `RegistrationError` instead of
  guessing.
- The learned detector (`inference.learned_detector`, for boards without a recipe)
  implements the same protocol and returns a `DetectionResult` with
  ``method="learned"`` and ``registration=None``; the pipeline and the app only see
  the protocol.

Usage::

    det = RecipeDetector.from_file("recipes/board_0000.json")
    result = det.detect(load_image("boards/board_0000.jpg").rgb)
    result.joints  # tuple[JointBox, ...] in image pixels
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from inference.errors import DataError
from inference.registration import (
    Registration,
    RegistrationConfig,
    RegistrationError,
    register,
)
from inference.synth.recipe import Recipe, RecipeError
from inference.types import BBox, JointBox

__all__ = [
    "DetectionResult",
    "JointDetector",
    "RecipeDetector",
    "RegistrationError",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectionResult:
    """What a detector found on one board image.

    Attributes:
        joints: joints to inspect, boxes in image pixels (x, y = top-left).
        image_size: (width, height) of the image the boxes refer to.
        method: ``"recipe"`` or ``"learned"``.
        registration: the recipe registration (None for a learned detector).
        outside: recipe joints that fall (mostly) outside the image and cannot be
            inspected; reported so the operator knows they were not checked.
        elapsed_ms: wall time of `detect`.
    """

    joints: tuple[JointBox, ...]
    image_size: tuple[int, int]
    method: str
    registration: Registration | None = None
    outside: tuple[JointBox, ...] = ()
    elapsed_ms: float = 0.0


@runtime_checkable
class JointDetector(Protocol):
    """Anything that finds solder joints on a board image."""

    def detect(self, image_rgb: np.ndarray) -> DetectionResult:
        """Find the joints of one board.

        Args:
            image_rgb: HxWx3 uint8 RGB image (HxW gray is accepted too).

        Returns:
            The joints with boxes in image pixels.
        """
        ...


def _visible_fraction(b: BBox, w: int, h: int) -> float:
    ix = max(0, min(b.x + b.w, w) - max(b.x, 0))
    iy = max(0, min(b.y + b.h, h) - max(b.y, 0))
    return (ix * iy) / max(1, b.w * b.h)


class RecipeDetector:
    """Recipe-mode detector: register to the fiducials, project the recipe joints.

    Args:
        recipe: the product's board recipe (at least 3 fiducials).
        config: registration thresholds; defaults to `RegistrationConfig()`.
        min_visible: a projected joint box must have at least this fraction of its
            area inside the image to be inspected; the others go to
            `DetectionResult.outside`.

    Raises:
        DataError: the recipe has fewer than 3 fiducials or no joints.
    """

    def __init__(
        self,
        recipe: Recipe,
        *,
        config: RegistrationConfig | None = None,
        min_visible: float = 0.5,
    ) -> None:
        if len(recipe.fiducials) < 3:
            msg = (
                f"recipe {recipe.product!r} has {len(recipe.fiducials)} fiducial(s); "
                "recipe mode needs at least 3"
            )
            raise DataError(msg)
        if not recipe.joints:
            msg = f"recipe {recipe.product!r} has no joints"
            raise DataError(msg)
        self.recipe = recipe
        self.config = config or RegistrationConfig()
        self.min_visible = float(min_visible)

    @classmethod
    def from_file(
        cls, path: str | Path, *, config: RegistrationConfig | None = None
    ) -> RecipeDetector:
        """A detector for the recipe JSON at `path`.

        Args:
            path: recipe file (product.md §7).
            config: registration thresholds.

        Returns:
            The detector.

        Raises:
            DataError: the recipe cannot be read or is invalid (the message names
                the file and the problem).
        """
        try:
            recipe = Recipe.load(path)
        except RecipeError as exc:
            raise DataError(str(exc)) from exc
        return cls(recipe, config=config)

    def detect(self, image_rgb: np.ndarray) -> DetectionResult:
        """Register `image_rgb` to the recipe and project every joint.

        Args:
            image_rgb: HxWx3 uint8 RGB board image (HxW gray accepted).

        Returns:
            The projected joints (recipe order), those outside the image, and the
            registration with its residual.

        Raises:
            RegistrationError: fiducials not found, inconsistent, or residual above
                the limit; the message says which.
            DataError: `image_rgb` is not a uint8 image array.
        """
        t0 = time.perf_counter()
        reg = register(image_rgb, self.recipe, config=self.config)
        h, w = image_rgb.shape[:2]
        inside: list[JointBox] = []
        outside: list[JointBox] = []
        for jb in self.recipe.joint_boxes(reg.homography):
            if _visible_fraction(jb.bbox, w, h) >= self.min_visible:
                inside.append(jb)
            else:
                outside.append(jb)
        if outside:
            log.warning(
                "recipe %s: %d of %d joints fall outside the %dx%d image and are "
                "not inspected",
                self.recipe.product,
                len(outside),
                len(self.recipe.joints),
                w,
                h,
            )
        ms = (time.perf_counter() - t0) * 1e3
        log.debug(
            "recipe %s: %d joints, residual %.2f px (%s, refined=%s) in %.0f ms",
            self.recipe.product,
            len(inside),
            reg.residual_px,
            reg.model,
            reg.refined,
            ms,
        )
        return DetectionResult(
            joints=tuple(inside),
            image_size=(int(w), int(h)),
            method="recipe",
            registration=reg,
            outside=tuple(outside),
            elapsed_ms=ms,
        )
