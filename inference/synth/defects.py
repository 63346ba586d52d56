"""Defect catalogue: which defect fits which joint kind, and how each is drawn.

Each defect is a function ``(kind, severity, rng) -> (Mods, post)``: `Mods` changes how
the target joint is built (less/more solder, missing part, tilt, shift, lift) and
`post(scene, info)` paints on the built scene (bridge, balls, crack, voids, burn, flux,
fibre, pad damage, cold grain). All random numbers are drawn before severity is used,
so one seed with growing severity gives a growing defect.

Mask rule: the defect mask is every canvas pixel where the defective scene differs from
the good scene of the same seed in material, roughness, film, or in a height change
that tilts the surface, then warped with the image (`scene.scene_diff_mask`). Label
rule: see `render.render_joint` (MIN_DEFECT_SEVERITY, visibility).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from ..types import DefectCode as D
from .fillets import FilletMods
from .joints import Mods, bridge_to
from .materials import Mat
from .scene import Scene, dome, local_xy, sdf_capsule, value_noise, window

MIN_DEFECT_SEVERITY = 0.15
"""Below this severity a graded defect is labelled good (label 0, "none", empty mask):
a good-but-imperfect joint (IPC process indicator). Binary defects ignore it."""

BINARY_DEFECTS = frozenset({D.MISSING_COMPONENT})

_COMMON = (
    D.INSUFFICIENT_SOLDER,
    D.EXCESS_SOLDER,
    D.BRIDGE,
    D.SOLDER_BALL,
    D.COLD_JOINT,
    D.POOR_WETTING,
    D.FRACTURED_JOINT,
    D.DISTURBED_SOLDER,
    D.BURN,
    D.FLUX_RESIDUE,
    D.FOREIGN_OBJECT,
    D.PAD_DAMAGE,
    D.VOID_PINHOLE,
    D.MISSING_COMPONENT,
)
_CHIP = (*_COMMON, D.TOMBSTONE, D.SHIFTED_COMPONENT, D.SIDE_OVERHANG)
_LEADED = (*_COMMON, D.LIFTED_LEAD, D.SHIFTED_COMPONENT, D.SIDE_OVERHANG)
DEFECTS_FOR: dict[str, tuple[D, ...]] = {
    "chip_0402": _CHIP,
    "chip_0603": _CHIP,
    "chip_0805": _CHIP,
    "chip_1206": _CHIP,
    "sot23": _LEADED,
    "gullwing": _LEADED,
    "tht_round": _COMMON,
    "tht_square": _COMMON,
}

Post = Callable[[Scene, dict], None] | None


def defects_for(kind: str) -> tuple[D, ...]:
    """Defect codes that make sense for a joint kind (see DEFECTS_FOR)."""
    return DEFECTS_FOR[kind]


def _solder_px(scene: Scene, info: dict) -> tuple[slice, slice, np.ndarray] | None:
    sw = info.get("solder_win")
    if sw is None:
        return None
    rows, cols, w = sw
    return rows, cols, w & (scene.mat[rows, cols] == Mat.SOLDER)


def _film(scene: Scene, info: dict, rng, s: float, colour, alpha: float, grow: float):
    """Irregular translucent film around the joint (flux, burn)."""
    cx, cy = info["centre"]
    e = info["extent"]
    ang, off, cell = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 0.9), rng.uniform(4, 9)
    seed = int(rng.integers(2**31))
    r = e * (0.5 + grow * s)
    px, py = cx + np.cos(ang) * off * e, cy + np.sin(ang) * off * e
    win = window(scene.shape, px, py, r * 1.5)
    if win is None:
        return
    rows, cols, X, Y = win
    u, v = local_xy(X, Y, px, py)
    n = value_noise(np.random.default_rng(seed), X.shape, cell)
    d = np.hypot(u, v) / r + 0.25 * n
    a = alpha * (0.4 + 0.6 * s) * np.clip((1.0 - d) / 0.15, 0, 1)
    a = np.maximum(scene.tint_a[rows, cols], a)
    scene.tint_a[rows, cols] = a
    scene.tint[rows, cols] = np.where(a[..., None] > 0, colour, scene.tint[rows, cols])
    return rows, cols, a


def _carve(scene: Scene, rows, cols, on, solder, depth: float, lip: float) -> None:
    """Cut a crack / pit into solder, with a flat lip around it that catches light."""
    import cv2

    if not on.any():
        return
    k = max(1, round(lip))
    ker = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    ring = (cv2.dilate(on.astype(np.uint8), ker) > 0) & ~on & solder
    view = scene.h[rows, cols]
    if ring.any():
        view[ring] = float(np.percentile(view[ring], 70))
    view[on] -= depth
    scene.mat[rows, cols][on] = Mat.HOLE


def _insufficient(kind, s, rng):
    ang, amt = rng.uniform(0, 2 * np.pi), rng.uniform(0.0, 0.9)
    hole = float(np.clip((s - 0.35) / 0.5, 0, 1)) if kind.startswith("tht") else 0.0
    fm = FilletMods(
        insufficient=s,
        sector_angle=ang,
        sector_amount=amt,
        wobble_seed=int(rng.integers(2**31)),
    )
    return Mods(fillet=fm, hole_open=hole), None


def _bridge(kind, s, rng):
    jit, seed = rng.normal(0, 0.15, 2), int(rng.integers(2**31))

    def post(scene, info):
        p0 = info["centre"]
        p1 = info["neighbour"] or (p0[0] + 3 * info["extent"], p0[1])
        e = info["extent"]
        p0 = (p0[0] + jit[0] * e, p0[1] + jit[1] * e)
        width = e * (0.15 + 0.95 * s)
        bridge_to(
            scene,
            p0,
            p1,
            width,
            info["fill_h"] * (0.8 + 0.8 * s),
            info["solder_rough"],
            seed,
        )

    return Mods(), post


def _balls(kind, s, rng):
    n = int(rng.integers(1, 4))
    angs, dists = rng.uniform(0, 2 * np.pi, n), rng.uniform(1.3, 2.4, n)
    sizes = rng.uniform(0.7, 1.0, n)

    def post(scene, info):
        cx, cy = info["centre"]
        e = info["extent"]
        for a, d, k in zip(angs, dists, sizes, strict=True):
            r = max(1.5, e * (0.1 + 0.25 * s) * k, min(scene.shape) * 0.018 * (0.5 + s))
            bx, by = cx + np.cos(a) * d * e, cy + np.sin(a) * d * e
            win = window(scene.shape, bx, by, r)
            if win is None:
                continue
            rows, cols, X, Y = win
            sd = np.hypot(X - bx, Y - by) - r
            hb = dome(sd, r, r * 0.9, 0.3) + scene.h[rows, cols]
            on = sd < 0
            scene.h[rows, cols][on] = hb[on]
            scene.mat[rows, cols][on] = Mat.SOLDER
            scene.rough[rows, cols][on] = 0.05

    return Mods(), post


def _texture(kind, s, rng, ripple: bool):
    seed, lam = int(rng.integers(2**31)), rng.uniform(3, 6)

    def post(scene, info):
        sp = _solder_px(scene, info)
        if sp is None:
            return
        rows, cols, w = sp
        H = info["fill_h"]
        n = value_noise(
            np.random.default_rng(seed), w.shape, max(2.0, info["extent"] / 4)
        )
        if ripple:
            X, Y = np.meshgrid(np.arange(w.shape[1]), np.arange(w.shape[0]))
            bump = np.sin((X * 0.8 + Y * 0.6) * 2 * np.pi / lam + 2.5 * n)
            dh = 0.18 * H * s * bump
            r = 0.25 + 0.35 * s
        else:
            dh, r = 0.2 * H * s * n, 0.35 + 0.65 * s
        scene.h[rows, cols][w] += dh[w]
        scene.rough[rows, cols][w] = r

    return Mods(), post


def _crack(kind, s, rng):
    phi0, span, frac = (
        rng.uniform(0, 2 * np.pi),
        rng.uniform(0.6, 1.0),
        rng.uniform(0.2, 0.5),
    )
    tht = kind.startswith("tht")

    def post(scene, info):
        sp = _solder_px(scene, info)
        if sp is None or not sp[2].any():
            return
        rows, cols, w = sp
        cx, cy = info["centre"]
        ys, xs = np.mgrid[rows, cols]
        u, v = xs - cx, ys - cy
        width = 0.6 + 1.6 * s
        if tht:
            core, e = info["core"], info["extent"]
            rad = core + (e - core) * frac
            ang = np.mod(np.arctan2(v, u) - phi0, 2 * np.pi)
            on = (np.abs(np.hypot(u, v) - rad) < width) & (
                ang < span * 2 * np.pi * (0.25 + 0.75 * s)
            )
        else:
            ax, ay = info["axis"]
            along, perp = u * ax + v * ay, -u * ay + v * ax
            a0 = np.quantile(along[w], frac)
            p_lo, p_hi = perp[w].min(), perp[w].max()
            half = (p_hi - p_lo) / 2 * (0.25 + 0.75 * s) * span
            on = (np.abs(along - a0) < width) & (
                np.abs(perp - (p_lo + p_hi) / 2) < half
            )
        _carve(scene, rows, cols, on & w, w, info["fill_h"] * 0.8, 1 + 2 * s)

    return Mods(), post


def _voids(kind, s, rng):
    picks, sizes = rng.uniform(0, 1, 6), rng.uniform(0.6, 1.0, 6)

    def post(scene, info):
        sp = _solder_px(scene, info)
        if sp is None:
            return
        rows, cols, w = sp
        idx = np.flatnonzero(w)
        if idx.size == 0:
            return
        k = 1 + round(5 * s)
        for p, z in zip(picks[:k], sizes[:k], strict=True):
            y, x = np.unravel_index(idx[int(p * (idx.size - 1))], w.shape)
            r = max(1.0, info["extent"] * 0.1 * (0.4 + s) * z)
            ys, xs = np.ogrid[: w.shape[0], : w.shape[1]]
            on = ((xs - x) ** 2 + (ys - y) ** 2 <= r * r) & w
            _carve(scene, rows, cols, on, w, info["fill_h"] * 0.5, 1 + r * 0.6)

    return Mods(), post


def _film_defect(colour, alpha, grow, gloss):
    def make(kind, s, rng):
        sub = np.random.default_rng(int(rng.integers(2**31)))

        def post(scene, info):
            res = _film(scene, info, sub, s, colour, alpha, grow)
            if res is not None and gloss:
                rows, cols, a = res
                scene.h[rows, cols] += 0.6 * a
                scene.mat[rows, cols][
                    (a > 0.15) & (scene.mat[rows, cols] == Mat.BOARD)
                ] = Mat.TRACE

        return Mods(), post

    return make


def _fibre(kind, s, rng):
    turns = rng.normal(0, 0.35, 40).cumsum() + rng.uniform(0, 2 * np.pi)
    start, width = rng.uniform(-0.8, 0.8, 2), rng.uniform(1.2, 2.6)

    def post(scene, info):
        cx, cy = info["centre"]
        e = info["extent"]
        seg = e * 0.12
        steps = seg * np.stack([np.cos(turns), np.sin(turns)], axis=1)
        pts = np.concatenate([[[0.0, 0.0]], steps.cumsum(axis=0)])
        n = 4 + int(36 * s)  # grows from the middle of the fibre outwards
        lo = (len(pts) - 1 - n) // 2
        pts = pts[lo : lo + n + 1]
        pts = pts - pts[len(pts) // 2] + (cx + start[0] * e, cy + start[1] * e)
        for p, q in itertools.pairwise(pts):
            win = window(scene.shape, (p[0] + q[0]) / 2, (p[1] + q[1]) / 2, seg + width)
            if win is not None:
                rows, cols, X, Y = win
                on = sdf_capsule(X, Y, tuple(p), tuple(q), width) < 0
                scene.h[rows, cols][on] = np.maximum(scene.h[rows, cols][on], 0) + width
                scene.mat[rows, cols][on] = Mat.FIBRE

    return Mods(), post


def _pad_damage(kind, s, rng):
    ang, seed = rng.uniform(0, 2 * np.pi), int(rng.integers(2**31))

    def post(scene, info):
        cx, cy = info["centre"]
        e = info["extent"]
        r = e * (0.2 + 0.7 * s)
        px, py = cx + np.cos(ang) * e * 0.95, cy + np.sin(ang) * e * 0.95
        win = window(scene.shape, px, py, r * 1.3)
        if win is None:
            return
        rows, cols, X, Y = win
        n = value_noise(np.random.default_rng(seed), X.shape, 4)
        d = np.hypot(X - px, Y - py) / r + 0.2 * n
        m = scene.mat[rows, cols]
        on = (d < 1) & np.isin(m, (Mat.PAD, Mat.SOLDER, Mat.BOARD, Mat.TRACE))
        scene.h[rows, cols][on] = -0.3
        scene.mat[rows, cols][on] = Mat.FR4
        scene.rough[rows, cols][on] = 0.8

    return Mods(), post


def _shift(kind, s, rng, side_only: bool):
    sg = float(rng.choice([-1.0, 1.0]))
    rot = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.15, 0.7))
    # shifts are in part units (chip: length / width; leaded: pitch), see build_scene
    if kind.startswith("chip"):
        return Mods(
            extra={
                "shift": (
                    0.0 if side_only else 0.15 * s * sg,
                    sg * s,
                    0.0 if side_only else rot * s,
                )
            }
        ), None
    if side_only:
        return Mods(overhang=0.15 + 0.85 * s), None
    return Mods(extra={"shift": (sg * s, 0.0, 0.0)}), None


CATALOGUE: dict[D, Callable] = {
    D.INSUFFICIENT_SOLDER: _insufficient,
    D.EXCESS_SOLDER: lambda k, s, r: (Mods(fillet=FilletMods(excess=s)), None),
    D.POOR_WETTING: lambda k, s, r: (
        Mods(fillet=FilletMods(globule=s, offset=tuple(r.uniform(-0.4, 0.4, 2)))),
        None,
    ),
    D.BRIDGE: _bridge,
    D.SOLDER_BALL: _balls,
    D.COLD_JOINT: lambda k, s, r: _texture(k, s, r, False),
    D.DISTURBED_SOLDER: lambda k, s, r: _texture(k, s, r, True),
    D.FRACTURED_JOINT: _crack,
    D.VOID_PINHOLE: _voids,
    D.BURN: _film_defect((0.05, 0.035, 0.02), 0.95, 1.3, False),
    D.FLUX_RESIDUE: _film_defect((0.75, 0.6, 0.3), 0.6, 1.2, True),
    D.FOREIGN_OBJECT: _fibre,
    D.PAD_DAMAGE: _pad_damage,
    D.MISSING_COMPONENT: lambda k, s, r: (Mods(missing=True), None),
    D.TOMBSTONE: lambda k, s, r: (Mods(tomb=0.1 + 0.9 * s), None),
    D.LIFTED_LEAD: lambda k, s, r: (Mods(lift=0.15 + 0.85 * s), None),
    D.SHIFTED_COMPONENT: lambda k, s, r: _shift(k, s, r, False),
    D.SIDE_OVERHANG: lambda k, s, r: _shift(k, s, r, True),
}


def draw_defect(code: D, kind: str, severity: float, rng: np.random.Generator):
    """(Mods, post) of defect `code` on a joint of `kind` at `severity` in [0, 1]."""
    if code not in DEFECTS_FOR[kind]:
        msg = f"defect {code!s} does not apply to joint kind {kind!r}"
        raise ValueError(msg)
    return CATALOGUE[code](kind, float(np.clip(severity, 0.0, 1.0)), rng)
