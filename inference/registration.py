"""Register a board photo to its recipe: fiducials first, then the joints themselves.

The recipe (product.md §7, `inference.synth.recipe.Recipe`) gives fiducials and joint
boxes in *board coordinates*. `register` finds the 3x3 transform board -> image:

1. **Fiducials.** Each fiducial is searched near its expected position (recipe
   coordinates scaled by image size / board size) within ``search_radius`` px:
   normalised cross-correlation with an anti-aliased disc template on the value
   channel (max of R, G, B, so a red-lit pad in a tiered RGB image counts as
   bright), coarse on a reduced copy, then at full resolution; either polarity is
   accepted. The centre is refined to sub-pixel precision by fitting a circle to
   the edge points found along 48 radial rays (parabolic peak of the radial
   derivative). A fiducial is *found* only if the correlation score is at least
   ``min_fiducial_score``, the fitted radius is within ``radius_tolerance`` of the
   recipe's and the edge points lie on a circle (RMS <= ``max_circle_rms``).
2. **Fiducial transform.** 3 fiducials -> affine (exactly determined), 4 ->
   homography (exactly determined), 5+ -> least-squares homography. Its sanity
   check (the fit has no redundancy with 3 or 4 points) is the *shape error*: how
   far the fiducials are from the best similarity (rotation + scale + shift),
   relative to their span; a camera looking at a flat board stays well under
   ``max_shape_error`` (measured <= 0.5 % on the synthetic boards), a fiducial
   matched on the wrong feature does not.
3. **Refinement from the joints.** Three fiducials cannot see perspective: the
   affine alone is off by 7 px on average (13 px worst) at the far corner of a
   800x600 board and by 24 px (70 px) on 4000x3000. So the projected joint boxes
   are rendered as a mask and matched by normalised cross-correlation, with the
   support limited to the boxes plus a 1-px ring (labels, silkscreen bars and
   bodies next to the pads must not pull the match):

   - *features*: the "metal" channel (of R, G, B, min, max: the one in which the
     found fiducial discs, bare metal like the pads, stand out most from the
     board; inverted if darker), and the edge energy (blurred gradient
     magnitude, polarity-free, for lighting that makes metal both bright and
     dark such as coaxial grayscale AOI);
   - *coarse*: a 4x3 grid of tiles on a reduced image (long side ~1000 px), wide
     search (``refine_search``), masked and unmasked, both features; each
     accepted set of tile matches gives a start transform;
   - *fine*: per component (refdes), at half then full resolution, small search;
     the metal feature first, the energy feature if it fails.

   Each match gives one correspondence (the mask centroid). A homography is
   fitted to fiducials plus matches: RANSAC against gross mismatches, then a
   Huber least squares on the inliers in which each fiducial weighs
   ``max(3, sqrt(n_matches))`` (so a few-px bias of the joint matches under some
   lighting cannot pull the fit off the fiducials). The inlier threshold is
   1.5 px, retried at 3 px when too few joints agree that closely.

Refusal (never guess): `RegistrationError` when a fiducial is not found, the shape
error is too large, or the refined fit's RMS residual or its distance from a found
fiducial exceeds ``max_residual_px`` / ``max_fiducial_error_px``. When too few
joints can be matched (a board with few parts), the fiducial transform is kept,
a warning is logged and `Registration.refined` is False, so callers can tell.

This module holds `register` and the fiducial-only fit; the types live in
`inference.registration_common`, the fiducial search in
`inference.registration_fiducials` and the joint refinement in
`inference.registration_refine`. Import the public names from here.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.registration_common import (
    FiducialMatch,
    Registration,
    RegistrationConfig,
    RegistrationError,
    _project,
)
from inference.registration_fiducials import find_fiducial, metal_feature, value_channel
from inference.registration_refine import _refine

if TYPE_CHECKING:
    from inference.synth.recipe import Recipe

__all__ = [
    "FiducialMatch",
    "Registration",
    "RegistrationConfig",
    "RegistrationError",
    "find_fiducial",
    "metal_feature",
    "register",
    "value_channel",
]

log = logging.getLogger(__name__)


def _similarity_error(src: np.ndarray, dst: np.ndarray) -> float:
    """Max distance of `dst` from the least-squares similarity image of `src`,
    as a fraction of the span of `dst` (Umeyama, no reflection)."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    # Complex form: b ≈ z * a with z = s * exp(i theta).
    ac = a[:, 0] + 1j * a[:, 1]
    bc = b[:, 0] + 1j * b[:, 1]
    z = (np.conj(ac) @ bc) / max(float((np.abs(ac) ** 2).sum()), 1e-12)
    err = np.abs(bc - z * ac).max()
    span = max(float(np.ptp(dst, axis=0).max()), 1e-6)
    return float(err / span)


def _fiducial_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, str]:
    n = len(src)
    if n == 3:
        aff = cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32))
        return np.vstack([aff, [0.0, 0.0, 1.0]]), "affine"
    if n == 4:
        hom = cv2.getPerspectiveTransform(
            src.astype(np.float32), dst.astype(np.float32)
        )
        return hom / hom[2, 2], "homography"
    hom, _ = cv2.findHomography(src, dst, 0)
    if hom is None:
        msg = "fiducials are degenerate (collinear?): no transform can be fitted"
        raise RegistrationError(msg)
    return hom / hom[2, 2], "homography"


def register(
    image: np.ndarray, recipe: Recipe, *, config: RegistrationConfig | None = None
) -> Registration:
    """Find the transform from the recipe's board coordinates to `image`.

    Args:
        image: the board photo, HxWx3 (RGB or BGR, only the channel maximum is
            used) or HxW uint8.
        recipe: the product's recipe with at least 3 fiducials.
        config: thresholds; defaults to `RegistrationConfig()`.

    Returns:
        The registration (homography recipe -> image, residuals, matches).

    Raises:
        RegistrationError: fewer than 3 fiducials in the recipe, a fiducial not
            found, fiducials inconsistent with a flat board, or a residual above
            the limit. The message says which and by how much.
        DataError: `image` is not a uint8 image array.
    """
    cfg = config or RegistrationConfig()
    t0 = time.perf_counter()
    v = value_channel(image)
    h, w = v.shape
    fids = list(recipe.fiducials)
    if len(fids) < 3:
        msg = (
            f"recipe {recipe.product!r} has {len(fids)} fiducial(s); registration "
            "needs at least 3"
        )
        raise RegistrationError(msg)
    if float(v.std()) < 1.0:
        msg = f"blank image ({w}x{h}, no contrast): no fiducial can be found"
        raise RegistrationError(msg)
    bw, bh = recipe.board_size
    sx, sy = w / bw, h / bh
    s_r = math.sqrt(sx * sy)
    search = cfg.search_radius
    matches_f: list[FiducialMatch] = []
    for f in fids:
        rad = f.r * s_r
        sr = search if search is not None else max(4.0 * rad, 0.08 * max(w, h))
        matches_f.append(
            find_fiducial(v, f, (f.x * sx, f.y * sy), rad, search_radius=sr, config=cfg)
        )
    t1 = time.perf_counter()
    fb = np.array([m.board_xy for m in matches_f], np.float64)
    fi = np.array([m.image_xy for m in matches_f], np.float64)
    shape_err = _similarity_error(fb, fi)
    if shape_err > cfg.max_shape_error:
        worst = _worst_fiducial(fb, fi, [m.id for m in matches_f])
        msg = (
            f"fiducials do not agree with a flat board: shape error {shape_err:.1%} "
            f"of their span > {cfg.max_shape_error:.1%} (most suspect: {worst}); "
            "a fiducial was probably matched on the wrong feature"
        )
        raise RegistrationError(msg)
    hom0, model = _fiducial_transform(fb, fi)
    fid_err0 = float(np.linalg.norm(_project(fb, hom0) - fi, axis=1).max())
    if model == "homography" and len(fids) > 4:
        rms0 = float(np.sqrt(np.mean(np.sum((_project(fb, hom0) - fi) ** 2, axis=1))))
    else:
        rms0 = 0.0
    if rms0 > cfg.max_residual_px:
        msg = (
            f"fiducial fit residual {rms0:.2f} px > {cfg.max_residual_px:.2f} px "
            f"(fiducials {', '.join(m.id for m in matches_f)})"
        )
        raise RegistrationError(msg)
    timings = {"fiducials": (t1 - t0) * 1e3}
    result = Registration(
        homography=hom0,
        model=model,
        fiducials=tuple(matches_f),
        residual_px=rms0,
        fiducial_error_px=fid_err0,
        shape_error=shape_err,
        refined=False,
        n_matches=0,
        timings_ms=timings,
    )
    if not cfg.refine or not recipe.joints:
        return result
    feat, feat_name = metal_feature(image, matches_f)
    log.debug("recipe %s: matching joints on the %s channel", recipe.product, feat_name)
    refined = _refine(feat, recipe, hom0, fb, fi, cfg)
    timings["refine"] = (time.perf_counter() - t1) * 1e3
    if refined is None:
        log.warning(
            "recipe %s: too few joint matches to refine the fiducial %s; "
            "perspective is not corrected",
            recipe.product,
            model,
        )
        return result
    hom, src, dst = refined
    err = np.linalg.norm(_project(src, hom) - dst, axis=1)
    rms = float(np.sqrt(np.mean(err**2)))
    fid_err = float(np.linalg.norm(_project(fb, hom) - fi, axis=1).max())
    if rms > cfg.max_residual_px or fid_err > cfg.max_fiducial_error_px:
        msg = (
            f"registration residual too large: RMS {rms:.2f} px (limit "
            f"{cfg.max_residual_px:.2f}), fiducial error {fid_err:.2f} px (limit "
            f"{cfg.max_fiducial_error_px:.2f}) over {len(src)} points"
        )
        raise RegistrationError(msg)
    return Registration(
        homography=hom,
        model="homography",
        fiducials=tuple(matches_f),
        residual_px=rms,
        fiducial_error_px=fid_err,
        shape_error=shape_err,
        refined=True,
        n_matches=len(src) - len(fb),
        timings_ms=timings,
    )


def _worst_fiducial(fb: np.ndarray, fi: np.ndarray, ids: list[str]) -> str:
    """The fiducial whose removal best restores a similarity (needs 4+)."""
    if len(fb) <= 3:
        return "cannot tell which with 3 fiducials"
    errs = []
    for i in range(len(fb)):
        keep = np.arange(len(fb)) != i
        errs.append(_similarity_error(fb[keep], fi[keep]))
    return f"fiducial {ids[int(np.argmin(errs))]}"
