"""Render one synthetic board: `render_board` puts the other board modules together.

Layout (`board_layout`), mask, copper and silkscreen (`board_artwork`), metal and
joints with their defects (`board_metal`, `board_solder`, `board_defects`), bodies,
then the camera and photometry (`board_camera`). Public through
`inference.synth.boards`.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from scipy import ndimage

from inference.synth.board_artwork import _draw_body, _draw_traces, _silkscreen
from inference.synth.board_camera import _camera, _photometric
from inference.synth.board_config import BoardConfig, BoardSample, JointTruth
from inference.synth.board_defects import _choose_defects, _neighbour
from inference.synth.board_layout import _Part, _pick_style, _place_parts
from inference.synth.board_metal import (
    _ALBEDO_ENIG,
    _ALBEDO_HASL,
    _PAD,
    _SOLDER,
    _circle_mask,
    _dome,
    _Metal,
    _shade,
)
from inference.synth.board_parts import PadSpec
from inference.synth.board_solder import (
    _Ctx,
    _joint_rects,
    _render_blob,
    _render_joint,
    _render_pad,
)
from inference.synth.recipe import Fiducial, Recipe, RecipeJoint, project_box
from inference.types import DefectCode

# Solder-mask colours (BGR) and the lighter tint of copper under the mask.
_PALETTES: list[tuple[float, tuple[int, int, int], tuple[int, int, int]]] = [
    (0.50, (62, 138, 24), (80, 165, 46)),  # green
    (0.15, (40, 88, 22), (58, 112, 36)),  # dark green
    (0.13, (125, 62, 12), (150, 88, 32)),  # blue
    (0.12, (26, 26, 28), (40, 42, 42)),  # black
    (0.10, (30, 32, 150), (48, 54, 176)),  # red
]


def render_board(seed: int, config: BoardConfig | None = None) -> BoardSample:
    """Render one synthetic board (deterministic per seed).

    Args:
        seed: random seed; the same seed and config give the same bytes.
        config: sizes, scale, defect rate, style; defaults to `BoardConfig()`.

    Returns:
        The image (after its camera transform and photometry), recipe, homography
        (board -> image), per-joint truth and defect masks.
    """
    cfg = config or BoardConfig()
    if cfg.width < 200 or cfg.height < 200:
        msg = f"board size must be at least 200x200 px, got {cfg.width}x{cfg.height}"
        raise ValueError(msg)
    rng = np.random.default_rng(seed)
    style = _pick_style(rng, cfg.style)
    w, h, ppm = cfg.width, cfg.height, cfg.px_per_mm
    pal = _PALETTES[int(rng.choice(len(_PALETTES), p=[p[0] for p in _PALETTES]))]
    mask_col = np.array(pal[1], np.float32) * rng.uniform(0.9, 1.1, 3).astype(
        np.float32
    )
    cu_col = np.array(pal[2], np.float32) * (mask_col / np.array(pal[1], np.float32))
    finish = _ALBEDO_ENIG if rng.random() < 0.25 else _ALBEDO_HASL
    silk = (
        (232, 234, 236)
        if pal[1] != (26, 26, 28) or rng.random() < 0.7
        else (90, 220, 235)
    )

    # Fiducials in three corners (TL, TR, BL): the orientation is unique.
    fr, fclear = 0.5 * ppm, 1.25 * ppm
    inset = 2.6 * ppm
    fids = [
        Fiducial("F1", inset, inset, fr),
        Fiducial("F2", w - inset, inset, fr),
        Fiducial("F3", inset, h - inset, fr),
    ]
    keepout = [
        (f.x - 2 * fclear, f.y - 2 * fclear, f.x + 2 * fclear, f.y + 2 * fclear)
        for f in fids
    ]
    parts, occ, cell = _place_parts(rng, cfg, keepout)

    ctx = _Ctx(rng, cfg, _Metal(w, h))
    _choose_defects(ctx, parts)

    # Base: solder mask with low-frequency mottling and a fine grain.
    small = rng.normal(0, 1, (max(2, h // 64), max(2, w // 64), 3)).astype(np.float32)
    small = cv2.GaussianBlur(small, (0, 0), 1.2) * 5.0 + mask_col
    base = cv2.resize(
        np.clip(small, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR
    )
    copper = np.zeros((h, w), np.uint8)
    vias: list[tuple[float, float, float, bool]] = []
    _draw_traces(rng, copper, parts, ppm, vias, occ, cell)
    on = np.flatnonzero(copper)
    a = copper.ravel()[on].astype(np.float32)[:, None] / 255.0
    flat = base.reshape(-1, 3)
    flat[on] = (flat[on] * (1.0 - a) + (cu_col - mask_col) * a + mask_col * a).astype(
        np.uint8
    )
    laminate = (0.45 * mask_col + 0.55 * np.array([110, 150, 170], np.float32)).tolist()
    for f in fids:
        cv2.circle(
            base, (round(f.x), round(f.y)), round(fclear), laminate, -1, cv2.LINE_AA
        )
    for x, y, r, open_via in vias:
        if open_via:
            cv2.circle(
                base, (round(x), round(y)), round(r * 1.4), laminate, -1, cv2.LINE_AA
            )
    for part in parts:
        for spec in part.pkg.pads:
            pad = part.rect(spec.pad)
            c = 0.07 * ppm
            if spec.kind == "tht" and spec.round_pad:
                cv2.circle(
                    base,
                    (round((pad[0] + pad[2]) / 2), round((pad[1] + pad[3]) / 2)),
                    round((pad[2] - pad[0]) / 2 + c),
                    laminate,
                    -1,
                    cv2.LINE_AA,
                )
            else:
                cv2.rectangle(
                    base,
                    (round(pad[0] - c), round(pad[1] - c)),
                    (round(pad[2] + c), round(pad[3] + c)),
                    laminate,
                    -1,
                )
        _silkscreen(base, part, rng, silk)

    # Metal: fiducials, vias, pads, then joints.
    metal = ctx.metal
    for f in fids:
        win = metal.window((f.x - f.r, f.y - f.r, f.x + f.r, f.y + f.r), 2)
        m = _circle_mask(win, f.x, f.y, f.r)
        metal.put(win, np.full(m.shape, 0.02 * ppm, np.float32), _PAD, m)
    for x, y, r, open_via in vias:
        if not open_via:
            cv2.circle(
                base, (round(x), round(y)), round(r), cu_col.tolist(), -1, cv2.LINE_AA
            )
            continue
        win = metal.window((x - r, y - r, x + r, y + r), 2)
        m = _circle_mask(win, x, y, r)
        metal.put(win, _dome(m, 0.08 * ppm, r * 0.8), _SOLDER, m)
        metal.hole(win, _circle_mask(win, x, y, r * 0.35))

    truth: list[JointTruth] = []
    recipe_joints: list[RecipeJoint] = []
    joint_list: list[tuple[_Part, PadSpec, int]] = []
    for part in parts:
        for spec in part.pkg.pads:
            pad, box = _joint_rects(part, spec)
            _render_pad(ctx, part, spec, pad)
            idx = len(joint_list)
            joint_list.append((part, spec, idx))
            bb = (box[0], box[1], box[2] - box[0], box[3] - box[1])
            recipe_joints.append(
                RecipeJoint(part.refdes, spec.pin, part.pkg.mount, part.pkg.name, bb)
            )
            truth.append(
                JointTruth(
                    idx, part.refdes, spec.pin, part.pkg.mount, part.pkg.name, bb, bb
                )
            )

    # Component defects apply to all joints of the part; then joint-level defects.
    jrate = ctx.cfg.defect_rate * 0.7
    planned: dict[int, tuple[str, float]] = {}
    for part, spec, idx in joint_list:
        if part.defect:
            planned[idx] = (part.defect, part.severity)
            continue
        if rng.random() >= jrate:
            continue
        options = [
            DefectCode.INSUFFICIENT_SOLDER,
            DefectCode.EXCESS_SOLDER,
            DefectCode.COLD_JOINT,
            DefectCode.SOLDER_BALL,
        ]
        if spec.kind == "gull":
            options += [DefectCode.LIFTED_LEAD, DefectCode.BRIDGE, DefectCode.BRIDGE]
        if spec.kind == "tht":
            options += [DefectCode.BRIDGE]
        planned[idx] = (str(rng.choice(options)), float(rng.uniform(0.3, 1.0)))

    # Bridges need a neighbour on the same part, next along the row.
    by_part: dict[int, list[tuple[_Part, PadSpec, int]]] = {}
    for item in joint_list:
        by_part.setdefault(id(item[0]), []).append(item)
    bridges: list[tuple[int, int]] = []
    for idx, (kind, _sev) in list(planned.items()):
        if kind != DefectCode.BRIDGE:
            continue
        part, spec, _ = joint_list[idx]
        nb = _neighbour(part, spec, by_part[id(part)])
        if nb is None or (nb in planned and planned[nb][0] != DefectCode.BRIDGE):
            planned[idx] = (DefectCode.EXCESS_SOLDER, planned[idx][1])
            continue
        if any(nb in b or idx in b for b in bridges):
            planned.pop(idx)
            continue
        bridges.append((idx, nb))
        planned[nb] = (DefectCode.BRIDGE, planned[idx][1])

    # Component-level defects share one defect id per part.
    part_did: dict[int, int] = {}
    for part, _spec, _idx in joint_list:
        if not part.defect:
            continue
        if id(part) not in part_did:
            ids = [i for p2, _s, i in joint_list if p2 is part]
            part_did[id(part)] = ctx.new_defect(part.defect, part.severity, ids)
    for a, b in bridges:
        ctx.new_defect(DefectCode.BRIDGE, 1.0, [a, b])
    for part, spec, idx in joint_list:
        kind, sev = planned.get(idx, ("", 0.0))
        did = 0
        if kind and kind != DefectCode.BRIDGE and not part.defect:
            did = ctx.new_defect(kind, sev, [idx])
        elif part.defect:
            did = part_did[id(part)]
        render_kind = (
            "" if kind in (DefectCode.BRIDGE, DefectCode.SOLDER_BALL) else kind
        )
        _render_joint(ctx, part, spec, idx, render_kind, sev, did)
        if kind == DefectCode.SOLDER_BALL:
            pad = part.rect(spec.pad)
            r = float(rng.uniform(0.08, 0.17)) * ppm
            ang = float(rng.uniform(0, 2 * math.pi))
            cx = (pad[0] + pad[2]) / 2 + math.cos(ang) * (
                (pad[2] - pad[0]) / 2 + r + 0.15 * ppm
            )
            cy = (pad[1] + pad[3]) / 2 + math.sin(ang) * (
                (pad[3] - pad[1]) / 2 + r + 0.15 * ppm
            )
            sev_b = min(1.0, r / (0.17 * ppm))
            ctx.defects[did - 1]["severity"] = round(sev_b, 3)
            ctx.joint_defect[idx] = (kind, sev_b, did)
            _render_blob(
                ctx, (cx - r, cy - r, cx + r, cy + r), r, did, idx, circle=True
            )
    for a, b in bridges:
        pa, _sa, _ = joint_list[a]
        ra, rb = pa.rect(joint_list[a][1].target), pa.rect(joint_list[b][1].target)
        sa, sb = joint_list[a][1], joint_list[b][1]
        if sa.kind == "tht":
            ra, rb = pa.rect(sa.pad), pa.rect(sb.pad)
        x0, y0 = min(ra[0], rb[0]), min(ra[1], rb[1])
        x1, y1 = max(ra[2], rb[2]), max(ra[3], rb[3])
        # Shrink along the lead so the slab sits on the feet.
        ox, _oy = pa.vec(sa.out)
        if ox:
            cxm, half = (x0 + x1) / 2, (x1 - x0) * 0.4
            x0, x1 = cxm - half, cxm + half
        else:
            cym, half = (y0 + y1) / 2, (y1 - y0) * 0.4
            y0, y1 = cym - half, cym + half
        did = ctx.joint_defect[a][2]
        hb = (0.3 if sa.kind == "tht" else 0.16) * ppm
        _render_blob(ctx, (x0, y0, x1, y1), hb, did, a)

    if style == "rgb":
        base = (base.astype(np.float32) * 0.5).astype(np.uint8)
    _shade(metal, base, style, finish)
    for part in parts:
        _draw_body(base, part, rng)

    # Camera: homography board -> image, then photometry.
    hom = _camera(rng, cfg, fids) if cfg.transform else np.eye(3)
    border = (28, 30, 30)
    img = cv2.warpPerspective(
        base,
        hom,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )
    did_img = cv2.warpPerspective(
        metal.defect_ids,
        hom,
        (w, h),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if cfg.photometric:
        img = _photometric(rng, img, style)
    if style == "gray":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)

    defects_out: list[dict[str, Any]] = []
    slices = ndimage.find_objects(did_img.astype(np.int32)) if ctx.defects else []
    areas = np.bincount(did_img.ravel(), minlength=len(ctx.defects) + 1)
    for d in ctx.defects:
        sl = slices[d["id"] - 1] if d["id"] - 1 < len(slices) else None
        bbox = None
        if sl is not None:
            bbox = [
                sl[1].start,
                sl[0].start,
                sl[1].stop - sl[1].start,
                sl[0].stop - sl[0].start,
            ]
        defects_out.append({**d, "bbox": bbox, "area_px": int(areas[d["id"]])})
    for t in truth:
        t.box = project_box(t.box_board, hom)
        if t.index in ctx.joint_defect:
            kind, sev, did = ctx.joint_defect[t.index]
            t.label, t.defect_type, t.severity, t.defect_id = 1, kind, sev, did
    recipe = Recipe(
        product=f"SYN-{seed & 0xFFFFFFFF:08X}",
        board_size=(w, h),
        fiducials=fids,
        joints=recipe_joints,
    )
    meta = {
        "px_per_mm": ppm,
        "n_components": len(parts),
        "finish": "enig" if finish is _ALBEDO_ENIG else "hasl",
    }
    return BoardSample(
        img,
        recipe,
        hom,
        truth,
        defects_out,
        did_img,
        metal.solder_ids,
        style,
        seed,
        meta,
    )
