"""Refinement of a fiducial transform from the joints themselves.

The recipe's joint boxes, projected by the current transform, are rendered as
masks and matched by normalised cross-correlation: a coarse stage of tiles on a
reduced image, then per-part passes down to full resolution, on the metal channel
and on the edge energy. A robust homography (RANSAC, then Huber least squares with
the fiducials weighted up) is fitted to fiducials plus matches. See
`inference.registration`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.registration_common import RegistrationConfig, _parabola_peak, _project

if TYPE_CHECKING:
    from inference.synth.recipe import Recipe, RecipeJoint

# Messages keep the logger of the public module.
log = logging.getLogger("inference.registration")

_ENERGY_SIGMA = 2.0  # px, blur of the full-resolution edge-energy feature


@dataclass
class _Match:
    board_xy: np.ndarray  # (2,)
    image_xy: np.ndarray  # (2,)
    score: float


def _box_corners(joints: Sequence[RecipeJoint]) -> np.ndarray:
    """(N, 4, 2) corners of the recipe boxes in board coordinates."""
    b = np.array([j.box for j in joints], np.float64).reshape(-1, 4)
    x0, y0 = b[:, 0], b[:, 1]
    x1, y1 = x0 + b[:, 2], y0 + b[:, 3]
    return np.stack(
        [
            np.stack([x0, y0], 1),
            np.stack([x1, y0], 1),
            np.stack([x1, y1], 1),
            np.stack([x0, y1], 1),
        ],
        axis=1,
    )


def _match_group(
    v: np.ndarray,
    corners_img: np.ndarray,
    centroid_board: np.ndarray,
    centroid_img: np.ndarray,
    search: float,
    scale: float,
    min_score: float,
    masked: bool,
) -> _Match | None:
    """Match the rendered mask of `corners_img` (image px of `v`) within ±search.

    `scale` converts `v` pixels to full-image pixels (for a reduced `v`).
    """
    h, w = v.shape
    s = math.ceil(search)
    lo = np.floor(corners_img.reshape(-1, 2).min(0)).astype(int) - 2
    hi = np.ceil(corners_img.reshape(-1, 2).max(0)).astype(int) + 3
    tx0, ty0 = int(lo[0]), int(lo[1])
    tx1, ty1 = int(hi[0]), int(hi[1])
    sx0, sy0, sx1, sy1 = tx0 - s, ty0 - s, tx1 + s, ty1 + s
    if sx0 < 0 or sy0 < 0 or sx1 > w or sy1 > h:
        return None
    tpl = np.zeros((ty1 - ty0, tx1 - tx0), np.uint8)
    shift = 4
    pts = np.rint((corners_img - [tx0, ty0]) * (1 << shift)).astype(np.int32)
    cv2.fillPoly(tpl, list(pts), 255, cv2.LINE_AA, shift)
    # Only the boxes and a 1-px ring count: labels, silkscreen bars and bodies
    # next to the pads must not pull the match.
    support = cv2.dilate((tpl > 0).astype(np.uint8), np.ones((3, 3), np.uint8))
    tplf = cv2.GaussianBlur(tpl.astype(np.float32), (0, 0), 0.8)
    raw = v[sy0:sy1, sx0:sx1]
    lo_v, hi_v, _, _ = cv2.minMaxLoc(raw)
    if hi_v - lo_v < 2:  # flat: nothing to match
        return None
    region = raw.astype(np.float32)
    ncc = cv2.matchTemplate(
        region,
        tplf,
        cv2.TM_CCOEFF_NORMED,
        mask=support.astype(np.float32) if masked else None,
    )
    ncc = np.nan_to_num(ncc, nan=0.0, posinf=0.0, neginf=0.0)
    ncc[ncc > 1.001] = 0.0  # masked NCC over a near-flat window: meaningless
    py, px = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    score = float(ncc[py, px])
    # A peak on the edge of the search range is not a localised match.
    if score < min_score or not (
        0 < px < ncc.shape[1] - 1 and 0 < py < ncc.shape[0] - 1
    ):
        return None
    dx, dy = _parabola_peak(ncc, int(py), int(px))
    off = np.array([px + dx - s, py + dy - s]) * scale
    return _Match(centroid_board, centroid_img + off, score)


def _groups_tiles(
    corners: np.ndarray, board_size: tuple[int, int], nx: int = 4, ny: int = 3
) -> list[np.ndarray]:
    centres = corners.mean(axis=1)
    bw, bh = board_size
    gx = np.clip((centres[:, 0] / bw * nx).astype(int), 0, nx - 1)
    gy = np.clip((centres[:, 1] / bh * ny).astype(int), 0, ny - 1)
    key = gy * nx + gx
    return [np.flatnonzero(key == k) for k in range(nx * ny) if (key == k).sum() >= 2]


def _groups_parts(joints: Sequence[RecipeJoint]) -> list[np.ndarray]:
    by: dict[str, list[int]] = {}
    for i, j in enumerate(joints):
        by.setdefault(j.refdes or f"#{i}", []).append(i)
    return [np.asarray(v) for v in by.values()]


def _match_stage(
    v: np.ndarray,
    hom: np.ndarray,
    corners: np.ndarray,
    groups: list[np.ndarray],
    *,
    reduce: int,
    search: float,
    min_score: float,
    masked: bool,
) -> list[_Match]:
    """One matching pass: every group's mask projected by `hom`, matched in `v`
    (reduced by `reduce`), within ±`search` full-image px."""
    red = np.diag([1.0 / reduce, 1.0 / reduce, 1.0]) @ hom
    flat = corners.reshape(-1, 2)
    img_corners = _project(flat, red).reshape(corners.shape)
    area = (corners[:, 2, 0] - corners[:, 0, 0]) * (corners[:, 2, 1] - corners[:, 0, 1])
    centres = corners.mean(axis=1)
    out = []
    for g in groups:
        wts = area[g] / area[g].sum()
        cb = (centres[g] * wts[:, None]).sum(0)
        ci = _project(cb[None], hom)[0]
        m = _match_group(
            v,
            img_corners[g],
            cb,
            ci,
            search / reduce,
            float(reduce),
            min_score,
            masked,
        )
        if m is not None:
            out.append(m)
    return out


def _fit_refined(
    fids_b: np.ndarray,
    fids_i: np.ndarray,
    matches: list[_Match],
    hom_init: np.ndarray,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Robust homography on fiducials (weight max(3, sqrt(n))) and n joint matches.

    RANSAC removes gross mismatches, then a Huber least-squares fit on the
    inliers weighs the fiducials (sub-pixel circle fits) above the joint matches.
    Returns (H, inlier board points, inlier image points), fiducials first, or
    None when the fiducials do not fit.
    """
    from scipy.optimize import least_squares

    nf = len(fids_b)
    src = np.vstack([fids_b, np.array([m.board_xy for m in matches])])
    dst = np.vstack([fids_i, np.array([m.image_xy for m in matches])])
    hom, mask = cv2.findHomography(
        src, dst, cv2.RANSAC, threshold, maxIters=2000, confidence=0.999
    )
    if hom is None:
        hom, mask = hom_init, np.ones((len(src), 1), np.uint8)
    inl = mask.ravel().astype(bool)
    inl[:nf] = True
    w_fid = max(3.0, math.sqrt(len(src) - nf))
    wts = np.where(np.arange(len(src)) < nf, w_fid, 1.0)[inl]
    # Normalise coordinates for conditioning.
    c = src.mean(0)
    k = 1.0 / max(float(np.abs(src - c).max()), 1.0)
    t = np.array([[k, 0, -k * c[0]], [0, k, -k * c[1]], [0, 0, 1.0]])
    h_n = (hom / hom[2, 2]) @ np.linalg.inv(t)
    h_n = h_n / h_n[2, 2]
    s_n = _project(src[inl], t)
    d_in = dst[inl]

    def resid(p: np.ndarray) -> np.ndarray:
        hh = np.append(p, 1.0).reshape(3, 3)
        return ((_project(s_n, hh) - d_in) * wts[:, None]).ravel()

    sol = least_squares(
        resid, h_n.ravel()[:8], loss="huber", f_scale=0.5 * threshold, x_scale="jac"
    )
    hom2 = np.append(sol.x, 1.0).reshape(3, 3) @ t
    hom2 = hom2 / hom2[2, 2]
    err = np.linalg.norm(_project(src, hom2) - dst, axis=1)
    keep = err <= threshold
    if not keep[:nf].all():
        return None
    return hom2, src[keep], dst[keep]


def _energy(img: np.ndarray, sigma: float) -> np.ndarray:
    """Local edge energy (blurred gradient magnitude) scaled to uint8.

    Polarity-free: metal joints are busy (bright tops, dark slopes, edges) while
    solder mask is smooth, whatever the lighting makes bright or dark.
    """
    x = img.astype(np.float32)
    gx = cv2.Sobel(x, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(x, cv2.CV_32F, 0, 1, ksize=3)
    e = cv2.GaussianBlur(cv2.magnitude(gx, gy), (0, 0), sigma)
    top = float(np.percentile(e[::4, ::4], 99.5))
    return cv2.convertScaleAbs(e, alpha=255.0 / max(top, 1e-3))


def _refine(
    v: np.ndarray,
    recipe: Recipe,
    hom0: np.ndarray,
    fb: np.ndarray,
    fi: np.ndarray,
    cfg: RegistrationConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Coarse tile stage on a reduced image, then per-part passes down to full size.

    Two features are tried: the metal channel (sharp where metal is bright) and
    the edge energy (works where metal is both bright and dark, e.g. coaxial
    grayscale AOI); masked and unmasked tile matches give the coarse starts.
    """
    h, w = v.shape
    corners = _box_corners(recipe.joints)
    reduce = max(1, round(max(w, h) / 1000))
    wide = cfg.refine_search if cfg.refine_search is not None else 0.03 * max(w, h)
    wide = max(wide, 4.0 * reduce)

    def shrink(img: np.ndarray, k: int) -> np.ndarray:
        if k == 1:
            return img
        return cv2.resize(img, (w // k, h // k), interpolation=cv2.INTER_AREA)

    vs = shrink(v, reduce)
    coarse_tol = max(3.0, 1.5 * reduce)
    tiles = _groups_tiles(corners, recipe.board_size)
    parts = _groups_parts(recipe.joints)
    # Coarse starts, best supported first.
    starts: list[tuple[int, np.ndarray]] = []
    for feat in (vs, _energy(vs, max(1.0, 2.0 / reduce))):
        for masked in (True, False):
            m1 = _match_stage(
                feat,
                hom0,
                corners,
                tiles,
                reduce=reduce,
                search=wide,
                min_score=cfg.min_match_score,
                masked=masked,
            )
            if len(m1) < 2:
                continue
            fit = _fit_refined(fb, fi, m1, hom0, coarse_tol)
            if fit is not None and _close(fit[0], hom0, recipe.board_size, 1.5 * wide):
                starts.append((len(fit[1]), fit[0]))
    starts.sort(key=lambda t: -t[0])
    plans = [(hom, 2.0 * coarse_tol + 2.0) for _, hom in starts[:2]]
    if reduce == 1:
        plans.append((hom0, wide))
    # Fine passes: half resolution first on large images, then full resolution.
    mid = max(1, reduce // 2)
    full_feats: dict[str, np.ndarray] = {"metal": v}
    for name in ("metal", "energy"):
        if name not in full_feats:
            full_feats[name] = _energy(v, _ENERGY_SIGMA)
        pyramid = {1: full_feats[name]}
        if mid > 1:
            pyramid[mid] = shrink(full_feats[name], mid)
        for hom_start, search in plans:
            hom = hom_start
            fit: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
            steps = [(mid, search), (1, 1.5 * mid + 2.0)] if mid > 1 else [(1, search)]
            for k, srch in steps:
                m2 = _match_stage(
                    pyramid[k],
                    hom,
                    corners,
                    parts,
                    reduce=k,
                    search=srch,
                    min_score=cfg.min_match_score,
                    masked=True,
                )
                fit = None
                if len(m2) >= cfg.min_refine_points:
                    # Strict inlier threshold first; twice that for lighting whose
                    # joint matches are biased by a few px (their residual shows).
                    tol = max(1.5, 1.0 * k + 0.5)
                    for t in (tol, 2.0 * tol):
                        fit = _fit_refined(fb, fi, m2, hom, t)
                        if fit is not None and (
                            len(fit[1]) - len(fb) >= cfg.min_refine_points
                        ):
                            break
                        fit = None
                if fit is None:
                    break
                hom = fit[0]
            if fit is not None and _close(fit[0], hom0, recipe.board_size, 1.5 * wide):
                log.debug("refined on the %s feature", name)
                return fit
    return None


def _close(
    a: np.ndarray, b: np.ndarray, board_size: tuple[int, int], tol: float
) -> bool:
    """True if two transforms map a 5x5 grid over the board within `tol` px."""
    bw, bh = board_size
    g = np.array([[x, y] for x in np.linspace(0, bw, 5) for y in np.linspace(0, bh, 5)])
    return bool(np.linalg.norm(_project(g, a) - _project(g, b), axis=1).max() <= tol)
