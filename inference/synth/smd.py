"""Surface-mount layouts: chip passives (0402-1206), SOT-23 and gull-wing leads.

Same contract as the THT layouts in joints.py: `plan_*` draws the random numbers,
`build_*` draws the scene from the plan with the target joint's defect `Mods`.
"""

from __future__ import annotations

import cv2
import numpy as np

from .fillets import GOOD, FilletMods, apply_solder, solder_height
from .joints import Mods
from .materials import Mat
from .scene import Scene, dome, local_xy, put, sdf_box, window

# L, W, T, termination length, pad length, pad width, pad gap (mm)
CHIP_DIMS = {
    "chip_0402": (1.0, 0.5, 0.35, 0.25, 0.55, 0.6, 0.45),
    "chip_0603": (1.6, 0.8, 0.45, 0.3, 0.8, 0.95, 0.75),
    "chip_0805": (2.0, 1.25, 0.5, 0.4, 1.0, 1.35, 1.0),
    "chip_1206": (3.2, 1.6, 0.55, 0.5, 1.2, 1.75, 1.9),
}


def _lump(pad_sdf: np.ndarray, radius: float, height: float) -> np.ndarray:
    """Reflowed solder left on a pad without a part: a low flat-topped dome."""
    return dome(pad_sdf + radius * 0.12, radius, height, 0.35)


def plan_chip(kind: str, rng: np.random.Generator, canvas, out_hw, style) -> dict:
    """Plan of a two-terminal chip part; the target is the +x termination."""
    L, W, T, tl, pl, pw, gap = CHIP_DIMS[kind]
    scale = float(rng.uniform(0.92, 1.08))
    L, W, T, tl, pl, pw, gap = (d * scale for d in (L, W, T, tl, pl, pw, gap))
    om = min(out_hw)
    p_framing = [0.35, 0.3, 0.35]
    framing = ["part", "termination", "closeup"][int(rng.choice(3, p=p_framing))]
    if framing == "part":
        ppm = rng.uniform(0.5, 0.8) * om / (gap + 2 * pl)
    elif framing == "termination":
        ppm = rng.uniform(0.45, 0.75) * om / (pl * 1.3)
    else:  # the fillet fills the crop (like ulger-smd's normal crops)
        ppm = rng.uniform(0.8, 1.3) * om / (pl * 1.3)
    xp = (gap / 2 + pl / 2) * ppm
    ch, cw = canvas
    ox = cw / 2 - (0.0 if framing == "part" else xp)
    if framing == "closeup":  # centre on the fillet, between termination and pad edge
        ox -= pl * 0.25 * ppm
    oy = ch / 2
    neigh_dy = (pw + rng.uniform(0.3, 0.9)) * ppm * rng.choice([-1, 1])
    return {
        "kind": kind,
        "framing": framing,
        "ppm": float(ppm),
        "dims": [float(d * ppm) for d in (L, W, T, tl, pl, pw, gap)],
        "origin": (float(ox), float(oy)),
        "neigh_dy": float(neigh_dy),
        "has_neigh": bool(rng.random() < 0.6),
        "marking": bool(rng.random() < 0.7),
        "text": str(int(rng.integers(0, 1000))).zfill(3),
        "fill_h": float(rng.uniform(0.45, 0.85)),
        "gamma": float(rng.uniform(1.2, 2.2)),
        "edge": float(rng.uniform(0.15, 0.45)),
        "jitter": (float(rng.normal(0, 0.02)), float(rng.normal(0, 0.02))),
    }


def _chip(scene: Scene, P: dict, ox: float, oy: float, m: Mods, rough: float, info):
    L, W, T, tl, pl, pw, gap = P["dims"]
    xp = gap / 2 + pl / 2
    dx, dy, rot = m.shift
    dx += P["jitter"][0] * L
    dy += P["jitter"][1] * W
    win = window(scene.shape, ox, oy, xp + pl, max(W, pw) * 1.2 + abs(dy) + L * 0.3)
    if win is None:
        return
    rows, cols, X, Y = win
    u, v = local_xy(X, Y, ox, oy)
    pads = [sdf_box(u - s * xp, v, pl / 2, pw / 2, pl * 0.05) for s in (-1, 1)]
    for p in pads:
        put(scene, win, p < 0, Mat.PAD, 0.4)
    if m.missing:
        for p in pads:
            hs = _lump(p, pl / 2, T * 0.2)
            apply_solder(scene, rows, cols, hs, rough, 0.4)
        _mark_target(info, rows, cols, pads[1] < pl * 0.3)
        return
    bu, bv = local_xy(X, Y, ox + dx, oy + dy, rot)
    theta = np.deg2rad(80.0) * m.tomb
    x_a = -L / 2
    if theta > 0:  # tombstone: +x end lifts, pivoting on the -x end
        c, s_ = np.cos(theta), np.sin(theta)
        span = L * c + T * s_
        bu2 = (bu - x_a) / max(span / L, 1e-3) + x_a  # squeeze into the projected span
        lift = np.clip((bu - x_a) / max(L * c, 1e-3), 0, 1) * L * s_
    else:
        bu2, lift = bu, 0.0
    body = sdf_box(bu2, bv, L / 2, W / 2, min(W, T) * 0.15)
    terms = [
        sdf_box(bu2 - s * (L / 2 - tl / 2), bv, tl / 2, W / 2 * 1.02, tl * 0.2)
        for s in (-1, 1)
    ]
    top = T * np.clip(-body / (T * 0.25), 0, 1) ** 0.35 + lift
    put(scene, win, body < 0, Mat.BODY, top)
    for t in terms:
        put(scene, win, t < 0, Mat.TERM, top)
    if P["marking"] and theta == 0 and abs(rot) < 1e-6:
        _marking(scene, P, ox + dx, oy + dy, body, terms, win, top)
    for s, p, t in zip((-1, 1), pads, terms, strict=True):
        fm = m.fillet if s == 1 else GOOD
        if s == 1 and theta > 0:
            fm = FilletMods(globule=max(0.5, m.tomb), offset=(0.3, 0.0))
            t = t + 1e3
        hs = solder_height(
            X,
            Y,
            p,
            t,
            (ox + s * xp, oy),
            pl / 2,
            T * P["fill_h"],
            P["gamma"],
            fm,
            P["edge"],
        )
        w = apply_solder(scene, rows, cols, hs, rough, 0.4)
        if s == 1:
            _mark_target(info, rows, cols, w)


def _marking(scene, P, cx, cy, body, terms, win, top):
    L, _, _, tl = P["dims"][:4]
    size = (int(win[3].shape[0]), int(win[2].shape[1]))
    img = np.zeros(size, np.uint8)
    fs = (L - 2 * tl) / 80.0
    if fs < 0.25:
        return
    org = (int(cx - win[1].start - fs * 33), int(cy - win[0].start + fs * 11))
    cv2.putText(
        img, P["text"], org, cv2.FONT_HERSHEY_SIMPLEX, fs, 1, max(1, int(fs * 2))
    )
    on = (img > 0) & (body < -1) & (terms[0] > 0) & (terms[1] > 0)
    put(scene, win, on, Mat.MARK)


def _mark_target(info: dict, rows, cols, w) -> None:
    info["solder_win"] = (rows, cols, w.copy())


def build_chip(scene: Scene, P: dict, mods: Mods, info: dict) -> None:
    ox, oy = P["origin"]
    _, W, T, _, pl, _, gap = P["dims"]
    rough = info["solder_rough"]
    if P["has_neigh"]:
        _chip(scene, P, ox, oy + P["neigh_dy"], Mods(), rough, {})
    _chip(scene, P, ox, oy, mods, rough, info)
    xp = gap / 2 + pl / 2
    info.update(
        axis=(1.0, 0.0),
        centre=(ox + xp, oy),
        extent=pl / 2,
        fill_h=T * P["fill_h"],
        neighbour=(ox + xp, oy + P["neigh_dy"]),
        core=W / 2,
    )


# ----------------------------------------------------------------- leaded (gull-wing)


def plan_leaded(kind: str, rng: np.random.Generator, canvas, out_hw, style) -> dict:
    """Plan of a SOT-23 or a row of gull-wing leads (SOIC / QFP), target centred."""
    om = min(out_hw)
    ch, cw = canvas
    if kind == "sot23":
        bw, bh, T, lw, ll = 2.9, 1.3, 1.0, 0.4, 0.55
        leads = [(-0.95, 1), (0.95, 1), (0.0, -1)]
        target = int(rng.integers(3))
        pitch = 1.9
        framing = "part" if rng.random() < 0.5 else "lead"
        span = 3.4 if framing == "part" else 1.3
    else:
        pitch = float(rng.choice([1.27, 0.8, 0.65, 0.5]))
        lw, ll = pitch * rng.uniform(0.35, 0.5), rng.uniform(0.8, 1.1)
        n = 7
        bw, bh, T = pitch * (n + 2), 3.0, 1.4
        leads = [((i - n // 2) * pitch, 1) for i in range(n)]
        target = n // 2
        framing = "lead"
        span = rng.uniform(2.2, 4.0) * pitch + ll
    ppm = rng.uniform(0.6, 0.85) * om / span
    lx, side = leads[target]
    foot = (lx, side * (bh / 2 + ll * 0.72))
    cx, cy = cw / 2, ch / 2
    if framing == "part":
        origin = (cx, cy)
    else:
        origin = (cx - foot[0] * ppm, cy - foot[1] * ppm)
    return {
        "kind": kind,
        "framing": framing,
        "ppm": float(ppm),
        "body": (bw * ppm, bh * ppm, T * ppm),
        "lead": (lw * ppm, ll * ppm, 0.15 * ppm),
        "leads": [(x * ppm, s) for x, s in leads],
        "pitch": pitch * ppm,
        "target": target,
        "origin": (float(origin[0]), float(origin[1])),
        "pad": (float(rng.uniform(1.3, 1.7)), float(rng.uniform(1.2, 1.45))),
        "fill_h": float(rng.uniform(0.25, 0.45)),
        "gamma": float(rng.uniform(1.2, 2.0)),
        "edge": float(rng.uniform(0.15, 0.45)),
    }


def build_leaded(scene: Scene, P: dict, mods: Mods, info: dict) -> None:
    ox, oy = P["origin"]
    bw, bh, T = P["body"]
    lw, ll, lt = P["lead"]
    pl_f, pw_f = P["pad"]
    rough = info["solder_rough"]
    dx, dy, _ = mods.shift
    if not mods.missing:
        win = window(scene.shape, ox + dx, oy + dy, bw / 2 + 2, bh / 2 + 2)
        if win is not None:
            u, v = local_xy(win[2], win[3], ox + dx, oy + dy)
            b = sdf_box(u, v, bw / 2, bh / 2, T * 0.1)
            put(scene, win, b < 0, Mat.BODY, T * np.clip(-b / (T * 0.3), 0, 1) ** 0.4)
    feet = []
    for i, (lx, side) in enumerate(P["leads"]):
        tgt = i == P["target"]
        m = mods if tgt else Mods()
        fx, fy = ox + lx, oy + side * (bh / 2 + ll * 0.72)
        feet.append((fx, fy))
        win = window(scene.shape, fx, oy + side * (bh / 2 + ll / 2), lw * 2.2, ll)
        if win is None:
            continue
        rows, cols, X, Y = win
        u, v = local_xy(X, Y, fx, fy)
        pad = sdf_box(u, v, lw * pw_f / 2, ll * 0.45 * pl_f, lw * 0.1)
        put(scene, win, pad < 0, Mat.PAD, 0.4)
        if m.missing:
            hs = _lump(pad, lw * 0.7, lt * 2)
            w = apply_solder(scene, rows, cols, hs, rough, 0.4)
            if tgt:
                _mark_target(info, rows, cols, w)
            continue
        ox_l = dx + (m.overhang * lw * 0.9 if tgt else 0.0)
        # s: distance outward from the body edge along the lead
        s = (Y - (oy + dy + side * bh / 2)) * side
        lu = X - (ox + lx + ox_l)
        lead = sdf_box(lu, s - ll / 2, lw / 2, ll / 2, lw * 0.1)
        lift = m.lift * T * 0.45 if tgt else 0.0
        prof = np.interp(s, [0, 0.1 * ll, 0.42 * ll, ll], [T * 0.5, T * 0.5, lt, lt])
        prof = prof + lift * np.clip(s / ll, 0, 1)
        put(scene, win, lead < 0, Mat.PIN, prof.astype(np.float32) + 0.4)
        foot = sdf_box(lu, s - 0.71 * ll, lw / 2, 0.29 * ll, lw * 0.1)
        fm = m.fillet
        if tgt and m.lift > 0:
            fm = FilletMods(globule=max(0.45, m.lift), offset=(0.0, 0.3 * side))
            foot = foot + 1e3
        hs = solder_height(
            X,
            Y,
            pad,
            foot,
            (fx + ox_l, fy),
            lw * 0.8,
            T * P["fill_h"],
            P["gamma"],
            fm,
            P["edge"],
        )
        w = apply_solder(scene, rows, cols, hs, rough, 0.4 + lt * 0.3)
        if tgt:
            _mark_target(info, rows, cols, w)
    t = P["target"]
    others = [f for i, f in enumerate(feet) if i != t]
    near = min(others, key=lambda f: np.hypot(f[0] - feet[t][0], f[1] - feet[t][1]))
    info.update(
        axis=(0.0, float(P["leads"][t][1])),
        centre=feet[t],
        extent=lw * 0.9,
        fill_h=T * P["fill_h"],
        neighbour=near,
        core=lw / 2,
    )
