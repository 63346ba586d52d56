"""Joint layouts: a random plan per joint kind, and the scene built from a plan.

`plan_joint` draws every random number of the layout (sizes, neighbours, traces,
texture seeds) into a plain dict; `build_scene` draws the plan deterministically, with
optional defect modifications (`Mods`) of the target joint. Rendering a good and a
defective joint from the same plan therefore shares everything but the defect.

Canvas coordinates are pixels of a canvas a bit larger than the output crop; the
target joint sits at the canvas centre and the camera (styles.py) zooms, tilts and
crops around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .fillets import GOOD, FilletMods, apply_solder, solder_height
from .materials import Mat
from .scene import Scene, local_xy, put, sdf_box, sdf_capsule, value_noise, window

JOINT_KINDS: tuple[str, ...] = (
    "chip_0402",
    "chip_0603",
    "chip_0805",
    "chip_1206",
    "sot23",
    "gullwing",
    "tht_round",
    "tht_square",
)


@dataclass(frozen=True)
class Mods:
    """Defect modifications of the target joint applied while building the scene."""

    fillet: FilletMods = GOOD
    missing: bool = False  # no component / pin / lead
    hole_open: float = 0.0  # THT: fraction of the barrel left unfilled (0 = filled)
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dx, dy (px), rotation (rad)
    tomb: float = 0.0  # chip: tilt of one end, 0..1 of 80 degrees
    lift: float = 0.0  # gull-wing: lead lift, 0..1
    overhang: float = 0.0  # gull-wing: side shift of the target lead, 0..1 lead width
    extra: dict = field(default_factory=dict)


def plan_common(
    rng: np.random.Generator, canvas: tuple[int, int], style: str, k: float = 1.0
) -> dict:
    """Background part of a plan: texture seed, traces, silkscreen, chevrons.

    `k` = crop size / 256 scales the pixel sizes of background features.
    """
    ch, cw = canvas
    traces = []
    for _ in range(int(rng.integers(0, 4))):
        pts = rng.uniform(0, 1, (3, 2)) * (cw, ch)
        traces.append((pts.tolist(), float(rng.uniform(2, 7) * k)))
    silk = []
    if style == "color" and rng.random() < 0.6:
        for _ in range(int(rng.integers(1, 4))):
            p0 = rng.uniform(0, 1, 2) * (cw, ch)
            d = rng.normal(0, 1, 2)
            d = d / (np.linalg.norm(d) + 1e-6) * rng.uniform(20, 90) * k
            silk.append(
                ((p0.tolist(), (p0 + d).tolist()), float(rng.uniform(2, 4) * k))
            )
    return {
        "tex_seed": int(rng.integers(2**31)),
        "traces": traces,
        "silk": silk,
        "chevrons": bool(style == "aoi_gray" and rng.random() < 0.75),
        "k": float(k),
        "chev_pitch": float(rng.uniform(16, 30) * k),
        "rings": [
            (tuple(rng.uniform(0, 1, 2) * (cw, ch)), float(rng.uniform(12, 35) * k))
            for _ in range(int(rng.integers(0, 3)) if style == "aoi_gray" else 0)
        ],
        "lump": float(rng.uniform(0.02, 0.08)),  # of the fillet height
        "lump_cell": float(rng.uniform(0.25, 0.55)),  # of the pad half-size
        "board_tex": float(rng.uniform(0.04, 0.14)),
        "solder_rough": float(rng.uniform(0.0, 0.06)),
    }


def draw_background(scene: Scene, plan: dict) -> None:
    """Board texture, traces under the mask, silkscreen, hatch chevrons."""
    trng = np.random.default_rng(plan["tex_seed"])
    shape = scene.shape
    amp, k = plan["board_tex"], plan["k"]
    scene.mod[:] = (
        1
        + amp * value_noise(trng, shape, 40 * k)
        + 0.4 * amp * value_noise(trng, shape, max(1.5, 5 * k))
    )
    scene.grain[:] = value_noise(trng, shape, max(1.0, 1.6 * k))
    scene.h += 0.15 * k * value_noise(trng, shape, max(1.5, 9 * k))
    lines = np.zeros(shape, np.uint8)
    for pts, w in plan["traces"]:
        p = np.round(np.asarray(pts)).astype(np.int32)
        cv2.polylines(lines, [p], False, 1, max(1, round(w)), cv2.LINE_AA)
    if plan["chevrons"]:
        step = plan["chev_pitch"]
        for yy in np.arange(-step, shape[0] + step, step * 1.3):
            for xx in np.arange(-step, shape[1] + step, step):
                a = step * 0.3
                p = np.array([[xx + a, yy - a], [xx, yy], [xx + a, yy + a]], np.int32)
                cv2.polylines(lines, [p], False, 1, 1, cv2.LINE_AA)
    for (x, y), r in plan.get("rings", []):
        cv2.circle(
            lines, (int(x), int(y)), int(r), 1, max(1, round(2 * k)), cv2.LINE_AA
        )
    on = lines > 0
    scene.mat[on] = Mat.TRACE
    scene.h[on] += 0.5
    silk = np.zeros(shape, np.uint8)
    for (p0, p1), w in plan["silk"]:
        cv2.line(silk, tuple(map(int, p0)), tuple(map(int, p1)), 1, max(1, round(w)))
    scene.mat[silk > 0] = Mat.SILK
    scene.h[silk > 0] += 0.8


# ----------------------------------------------------------------------------- THT


_NEIGHBOUR = Mods()


def plan_tht(kind: str, rng: np.random.Generator, canvas, out_hw, style) -> dict:
    """Plan of a through-hole joint with neighbours, test dots and a mask opening."""
    oh, ow = out_hw
    if style == "aoi_gray":
        R = rng.uniform(0.105, 0.15) * oh
    else:
        R = rng.uniform(0.1, 0.24) * min(oh, ow)
    shape = "round" if kind == "tht_round" else "square"
    slot = shape == "square" and rng.random() < 0.25
    pitch = 2 * R * rng.uniform(1.15, 1.45)
    neigh = []
    above, below = rng.random() < 0.6, rng.random() < 0.6
    if not (above or below):
        above = True
    for sgn, on in ((-1, above), (1, below)):
        if on and not slot:
            nshape = "round" if rng.random() < 0.5 else "square"
            neigh.append((0.0, sgn * pitch, nshape))
    if slot:
        neigh = [(sgn * (2.6 * R + pitch), 0.0, "slot") for sgn in (-1, 1)]
        neigh = neigh[: int(rng.integers(1, 3))]
    dots = []
    n_dots = int(rng.choice(3, p=[0.15, 0.5, 0.35])) if not slot else 0
    for _ in range(n_dots):
        side = rng.choice([-1, 1])
        if rng.random() < 0.5:
            dots.append((side * R * rng.uniform(1.8, 2.3), rng.uniform(-1, 1) * pitch))
        else:
            dots.append((0.0, side * (pitch * (1 + len(neigh) * 0.5) + R * 0.4)))
    hole = R * rng.uniform(0.6, 0.8)
    return {
        "kind": kind,
        "R": float(R),
        "shape": shape,
        "slot": bool(slot),
        "slot_len": float(R * rng.uniform(0.9, 1.5)),
        "hole": float(hole),
        "pin": float(hole * rng.uniform(0.35, 0.6)),
        "pin_round": float(rng.uniform(0.3, 1.0)),
        "tail": bool(rng.random() < 0.35),
        "tail_ang": float(rng.uniform(0, 2 * np.pi)),
        "tail_len": float(R * rng.uniform(0.6, 1.3)),
        "pin_square": bool(rng.random() < 0.6),
        "pin_h": float(R * rng.uniform(0.7, 1.1)),
        "fill_h": float(rng.uniform(0.55, 0.85)),
        "gamma": float(rng.uniform(1.5, 2.6)),
        "edge": float(rng.uniform(0.3, 0.55)),
        "neigh": neigh,
        "dots": [(float(x), float(y)) for x, y in dots],
        "dot_r": float(R * rng.uniform(0.42, 0.62)),
        "opening": bool(rng.random() < 0.8),
        "open_dark": float(rng.uniform(0.45, 0.85)),
        "band": bool(slot and rng.random() < 0.8),
        "band_y": float(rng.uniform(1.7, 2.3)),
        "pin_off": (float(rng.normal(0, 0.08)), float(rng.normal(0, 0.08))),
    }


def _pad_sdf(u, v, P: dict, shape: str):
    R = P["R"]
    if shape == "round":
        return np.hypot(u, v) - R
    if shape == "slot":
        return sdf_box(u, v, R + P["slot_len"], R * 0.8, R * 0.15)
    return sdf_box(u, v, R, R, R * 0.08)


def tht_joint(scene: Scene, cx: float, cy: float, P: dict, shape: str, m: Mods, rough):
    """Draw one THT joint (pad, barrel, pin, fillet).

    Returns (rows, cols, solder) of its window, or None when off the canvas.
    """
    R = P["R"]
    ext = R + (P["slot_len"] if shape == "slot" else 0)
    win = window(scene.shape, cx, cy, ext * 1.9, R * 1.9)
    if win is None:
        return None
    rows, cols, X, Y = win
    u, v = local_xy(X, Y, cx, cy)
    pad = _pad_sdf(u, v, P, shape)
    put(scene, win, pad < 0, Mat.PAD, 0.4)
    hole_sdf = np.hypot(u, v) - P["hole"]
    pu, pv = u - P["pin_off"][0] * P["hole"], v - P["pin_off"][1] * P["hole"]
    rp = P["pin"]
    if shape == "slot":
        core = sdf_box(pu, pv, P["slot_len"] * 0.8 + rp, rp * 0.55, rp * 0.3)
    elif P["pin_square"]:
        core = sdf_box(pu, pv, rp, rp, rp * 0.25)
    else:
        core = np.hypot(pu, pv) - rp
    if m.missing:
        core = np.full_like(core, 1e3)
        hs = solder_height(X, Y, pad, hole_sdf, (cx, cy), ext, R * 0.06, 1.0)
        win_s = apply_solder(scene, rows, cols, hs, rough, 0.4)
        put(scene, win, hole_sdf < 0, Mat.HOLE, -R)
        return rows, cols, win_s & (hole_sdf >= 0)
    hp = P["pin_h"]
    H = hp * P["fill_h"]
    top = H + (hp - H) * np.clip(-core / (rp * P["pin_round"]), 0, 1) ** 0.5
    put(scene, win, core < 0, Mat.PIN, top)
    if P["tail"] and m is not _NEIGHBOUR:  # clinched lead bent over the pad
        a, ln = P["tail_ang"], P["tail_len"]
        q = (cx + np.cos(a) * ln, cy + np.sin(a) * ln)
        d = sdf_capsule(X, Y, (cx, cy), q, rp * 0.7)
        along = np.clip(((X - cx) * np.cos(a) + (Y - cy) * np.sin(a)) / ln, 0, 1)
        put(
            scene,
            win,
            d < 0,
            Mat.PIN,
            (H * (1.05 - 0.6 * along)).astype(np.float32),
            mode="max",
        )
    hs = solder_height(
        X, Y, pad, core, (cx, cy), ext, H, P["gamma"], m.fillet, P["edge"]
    )
    win_s = apply_solder(scene, rows, cols, hs, rough, 0.4)
    if m.hole_open > 0:
        # unfilled barrel: the gap between pin and wall stays open where no solder
        r_open = rp + (P["hole"] - rp) * (1.0 - 0.7 * (1 - m.hole_open))
        gap = (hole_sdf < 0) & (core > 0) & (np.hypot(pu, pv) < r_open + rp * 0.4)
        gap &= hs < H * 0.35
        put(scene, win, gap, Mat.HOLE, -R)
        win_s &= ~gap
    return rows, cols, win_s


def build_tht(scene: Scene, P: dict, mods: Mods, info: dict) -> None:
    ch, cw = scene.shape
    cx, cy = cw / 2, ch / 2
    R = P["R"]
    rough = info["solder_rough"]
    if P["opening"]:
        ys = [cy] + [cy + n[1] for n in P["neigh"]]
        xs = [cx] + [cx + n[0] for n in P["neigh"]]
        m = 1.45 * R + (P["slot_len"] if P["slot"] else 0)
        x0, x1, y0, y1 = min(xs) - m, max(xs) + m, min(ys) - m, max(ys) + m
        win = window(
            scene.shape,
            (x0 + x1) / 2,
            (y0 + y1) / 2,
            (x1 - x0) / 2 + 4,
            (y1 - y0) / 2 + 4,
        )
        if win is not None:
            u, v = local_xy(win[2], win[3], (x0 + x1) / 2, (y0 + y1) / 2)
            d = sdf_box(u, v, (x1 - x0) / 2, (y1 - y0) / 2, R * 1.2)
            put(scene, win, np.abs(d) < 1.2, Mat.TRACE, 1.0)
            put(
                scene,
                win,
                (d < -1.2) & (scene.mat[win[0], win[1]] == Mat.TRACE),
                Mat.BOARD,
            )
            # the mask edge: a darker band just inside the opening outline
            band = (d < -1.2) & (d > -R * 0.25)
            scene.mod[win[0], win[1]][band] *= P["open_dark"]
    if P["band"]:
        y0 = int(cy + R * P["band_y"])
        scene.mat[y0:] = Mat.FR4
        scene.rough[y0:] = 1.0
        scene.h[y0:] += 3 * scene.grain[y0:]
    for dx, dy in P["dots"]:
        win = window(scene.shape, cx + dx, cy + dy, P["dot_r"])
        if win is not None:
            u, v = local_xy(win[2], win[3], cx + dx, cy + dy)
            put(scene, win, np.hypot(u, v) < P["dot_r"], Mat.PAD, 1.2)
    for dx, dy, shape in P["neigh"]:
        tht_joint(scene, cx + dx, cy + dy, P, shape, _NEIGHBOUR, rough)
    shape = "slot" if P["slot"] else P["shape"]
    sw = tht_joint(scene, cx, cy, P, shape, mods, rough)
    if sw is not None:
        info["solder_win"] = sw
    info.update(
        axis=(0.0, 1.0),
        centre=(cx, cy),
        extent=R,
        fill_h=P["pin_h"] * P["fill_h"],
        neighbour=(cx + P["neigh"][0][0], cy + P["neigh"][0][1])
        if P["neigh"]
        else None,
        core=P["pin"],
    )


def bridge_to(
    scene: Scene, p0, p1, width: float, height: float, rough: float, seed: int = 0
):
    """Solder bridge: a lumpy capsule of solder from p0 to p1 (used by the defects)."""
    cx, cy = (p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2
    half = np.hypot(p1[0] - p0[0], p1[1] - p0[1]) / 2 + width
    win = window(scene.shape, cx, cy, half + width, half + width)
    if win is None:
        return
    rows, cols, X, Y = win
    n = value_noise(np.random.default_rng(seed), X.shape, max(3.0, width * 0.7))
    d = sdf_capsule(X, Y, p0, p1, width) + 0.2 * width * n
    hb = height * np.clip(-d / width, 0, 1) ** 0.5
    apply_solder(scene, rows, cols, hb.astype(np.float32), rough, 0.4)
