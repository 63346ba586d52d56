"""Types and small geometry helpers shared by the registration modules.

`RegistrationConfig` (thresholds), `FiducialMatch` and `Registration` (results),
`RegistrationError` (refusal), plus point projection through a 3x3 transform and
the sub-pixel parabola peak used by both fiducial and joint matching. The public
names are re-exported by `inference.registration`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from inference.errors import InferenceError


class RegistrationError(InferenceError):
    """A board image cannot be registered to its recipe (fiducials, residual)."""


@dataclass(frozen=True)
class RegistrationConfig:
    """Tuning of `register`. Distances are image pixels unless said otherwise.

    Attributes:
        search_radius: how far from its expected position a fiducial may be;
            None: ``max(4 r, 0.08 * max(width, height))``.
        min_fiducial_score: lowest |NCC| of a fiducial match.
        radius_tolerance: allowed relative error of the fitted fiducial radius.
        max_circle_rms: largest RMS distance of the edge points from the fitted
            circle, as a fraction of the radius (rejects square pads).
        max_shape_error: largest departure of the fiducials from a similarity
            transform, as a fraction of their span.
        refine: refine the fiducial transform with the joints (recommended).
        refine_search: wide search of the tile stage; None: ``0.03 * max(w, h)``.
        min_match_score: lowest NCC of a joint-mask match.
        min_refine_points: fewest accepted joint matches to use the refinement.
        max_residual_px: refuse when the final fit's RMS residual is larger.
        max_fiducial_error_px: refuse when a fiducial is farther than this from
            the refined transform's projection of it.
    """

    search_radius: float | None = None
    min_fiducial_score: float = 0.5
    radius_tolerance: float = 0.3
    max_circle_rms: float = 0.08
    max_shape_error: float = 0.015
    refine: bool = True
    refine_search: float | None = None
    min_match_score: float = 0.2
    min_refine_points: int = 3
    max_residual_px: float = 2.5
    max_fiducial_error_px: float = 3.0


@dataclass(frozen=True)
class FiducialMatch:
    """One fiducial located in the image.

    Attributes:
        id: the recipe's fiducial id.
        board_xy: centre in board (recipe) coordinates.
        image_xy: centre found in the image (sub-pixel).
        radius: fitted radius in image pixels.
        score: |NCC| of the disc template at the match (1 = perfect).
        circle_rms: RMS distance of the edge points from the fitted circle (px).
    """

    id: str
    board_xy: tuple[float, float]
    image_xy: tuple[float, float]
    radius: float
    score: float
    circle_rms: float


@dataclass(frozen=True)
class Registration:
    """The transform board (recipe) -> image and how well it is supported.

    Attributes:
        homography: 3x3 float64, recipe coordinates -> image pixels.
        model: ``"affine"`` (3 fiducials, not refined) or ``"homography"``.
        fiducials: the fiducial matches used.
        residual_px: RMS reprojection error over the correspondences of the final
            fit (fiducials plus inlier joint matches; 0 for an exactly determined
            fiducial-only fit).
        fiducial_error_px: largest distance between a found fiducial and its
            projection through `homography`.
        shape_error: departure of the fiducials from a similarity, fraction of span.
        refined: True if joint matches refined the fiducial transform.
        n_matches: joint matches used in the final fit (inliers).
        timings_ms: wall time per stage.
    """

    homography: np.ndarray
    model: str
    fiducials: tuple[FiducialMatch, ...]
    residual_px: float
    fiducial_error_px: float
    shape_error: float
    refined: bool
    n_matches: int
    timings_ms: dict[str, float] = field(default_factory=dict)

    def project(self, points: np.ndarray | Sequence) -> np.ndarray:
        """Map (N, 2) board points into the image; returns (N, 2) float64."""
        return _project(np.asarray(points, np.float64).reshape(-1, 2), self.homography)


def _project(pts: np.ndarray, hom: np.ndarray) -> np.ndarray:
    ph = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ hom.T
    return ph[:, :2] / ph[:, 2:3]


def _parabola_peak(m: np.ndarray, y: int, x: int) -> tuple[float, float]:
    """Sub-pixel offset of a 2-D maximum at (y, x) from 1-D parabolas."""

    def off(a: float, b: float, c: float) -> float:
        den = a - 2.0 * b + c
        if abs(den) < 1e-12:
            return 0.0
        return float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

    h, w = m.shape
    dx = off(m[y, x - 1], m[y, x], m[y, x + 1]) if 0 < x < w - 1 else 0.0
    dy = off(m[y - 1, x], m[y, x], m[y + 1, x]) if 0 < y < h - 1 else 0.0
    return dx, dy
