"""Pads and joints of a synthetic board drawn into the metal height map.

`_render_joint` draws one SMD joint (chip fillet or gull-wing lead and foot) or,
through `_render_tht`, a through-hole pin, each with its defect (insufficient,
excess, cold, lifted lead, missing, tombstone, shifted) and its defect-id mask;
`_render_blob` draws bridges and solder balls. `_Ctx` carries the render state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from inference.synth.board_metal import (
    _LEAD,
    _PAD,
    _SOLDER,
    _circle_mask,
    _dome,
    _fillet,
    _Metal,
    _rect_mask,
)
from inference.types import DefectCode

if TYPE_CHECKING:
    from inference.synth.board_config import BoardConfig, JointTruth
    from inference.synth.board_layout import _Part
    from inference.synth.board_parts import PadSpec


@dataclass
class _Ctx:
    rng: np.random.Generator
    cfg: BoardConfig
    metal: _Metal
    defects: list[dict[str, Any]] = field(default_factory=list)
    truth: list[JointTruth] = field(default_factory=list)
    joint_defect: dict[int, tuple[str, float, int]] = field(default_factory=dict)

    @property
    def ppm(self) -> float:
        return self.cfg.px_per_mm

    def new_defect(self, kind: str, severity: float, joints: list[int]) -> int:
        did = len(self.defects) + 1
        self.defects.append(
            {
                "id": did,
                "type": str(kind),
                "severity": round(float(severity), 3),
                "joints": joints,
            }
        )
        for j in joints:
            self.joint_defect[j] = (str(kind), float(severity), did)
        return did


def _joint_rects(
    part: _Part, spec: PadSpec
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(pad rect, joint box) in board px."""
    pad = part.rect(spec.pad)
    box = pad
    if spec.kind == "gull" and spec.target is not None:
        foot = part.rect(spec.target)
        box = (
            min(pad[0], foot[0]),
            min(pad[1], foot[1]),
            max(pad[2], foot[2]),
            max(pad[3], foot[3]),
        )
    m = 0.08 * part.ppm
    return pad, (box[0] - m, box[1] - m, box[2] + m, box[3] + m)


def _render_pad(ctx: _Ctx, part: _Part, spec: PadSpec, pad: tuple[float, ...]) -> None:
    win = ctx.metal.window(pad, 2)
    coat = 0.02 * ctx.ppm
    if spec.kind == "tht" and spec.round_pad:
        cx, cy = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
        where = _circle_mask(win, cx, cy, (pad[2] - pad[0]) / 2)
    else:
        where = _rect_mask(win, pad)
    # Bare pads are matte next to reflowed solder.
    ctx.metal.put(win, np.full(where.shape, coat, np.float32), _PAD, where, gloss=100)


def _render_joint(
    ctx: _Ctx, part: _Part, spec: PadSpec, index: int, defect: str, sev: float, did: int
) -> None:
    """Draw one joint (solder, lead or pin) and its defect mask."""
    ppm, rng, metal = ctx.ppm, ctx.rng, ctx.metal
    pad = part.rect(spec.pad)
    win = metal.window(pad, 0.6 * ppm)
    pad_m = _rect_mask(win, pad)
    if spec.kind == "tht":
        _render_tht(ctx, part, spec, index, defect, sev, did, pad, win)
        return
    body_h = part.pkg.height * ppm
    target_r = part.rect(part.shifted(spec.target))
    gloss = 255
    hh: np.ndarray
    if spec.kind == "gull":
        assert spec.lead is not None
        lead_r = part.rect(part.shifted(spec.lead))
        foot_m = _rect_mask(win, target_r)
        lead_m = _rect_mask(win, lead_r)
        lead_t = 0.15 * ppm
        ox, oy = part.vec(spec.out)
        # Lead height: knee falls from body height/2 at the body edge to the foot.
        xx = np.arange(win[0], win[2], dtype=np.float32)[None, :] + 0.5
        yy = np.arange(win[1], win[3], dtype=np.float32)[:, None] + 0.5
        if ox:
            s = (xx - (lead_r[0] if ox > 0 else lead_r[2])) * ox
            foot_s = (target_r[0] - lead_r[0]) if ox > 0 else (lead_r[2] - target_r[2])
        else:
            s = (yy - (lead_r[1] if oy > 0 else lead_r[3])) * oy
            foot_s = (target_r[1] - lead_r[1]) if oy > 0 else (lead_r[3] - target_r[3])
        s = np.broadcast_to(s, lead_m.shape)
        knee = 0.45 * body_h
        lift = 0.0
        if defect == DefectCode.LIFTED_LEAD:
            lift = (0.12 + 0.25 * sev) * ppm
            total = (lead_r[2] - lead_r[0]) if ox else (lead_r[3] - lead_r[1])
            lead_h = knee + (lead_t + lift - knee) * np.clip(s / max(total, 1), 0, 1)
        else:
            lead_h = np.where(
                s < foot_s,
                knee + (lead_t - knee) * np.clip(s / max(foot_s, 1), 0, 1),
                lead_t,
            )
        if defect != DefectCode.MISSING_COMPONENT:
            metal.put(win, lead_h.astype(np.float32), _LEAD, lead_m, index)
        hf = 0.75 * lead_t + 0.12 * ppm
        reach = 0.3 * ppm
        target_m = foot_m
    else:  # chip
        target_m = _rect_mask(win, target_r)
        hf = 0.8 * body_h
        reach = max(2.0, (pad[2] - pad[0] + pad[3] - pad[1]) / 2 * 0.55)
        if defect == DefectCode.TOMBSTONE:
            # The part stands on one end: its footprint is a thin strip of the end face.
            if part.tomb_end == int(spec.pin) - 1:
                hf *= 1.4
            else:
                target_m = np.zeros_like(pad_m)
    power = 1.7
    if defect == DefectCode.INSUFFICIENT_SOLDER:
        f = 1.0 - 0.8 * sev
        hf *= f
        reach *= f
    elif defect == DefectCode.COLD_JOINT:
        gloss = int(255 * (0.55 - 0.4 * sev))
    elif defect == DefectCode.EXCESS_SOLDER:
        power = 0.9
        reach *= 1.2 + 0.6 * sev
        hf *= 1.4 + 0.6 * sev

    wet = target_m.any() and defect not in (
        DefectCode.MISSING_COMPONENT,
        DefectCode.LIFTED_LEAD,
    )
    if wet:
        hh = _fillet(target_m, hf, reach, power)
        allowed = pad_m
        if defect == DefectCode.EXCESS_SOLDER:
            grow = max(1, int(0.05 * ppm))
            allowed = cv2.dilate(
                pad_m.astype(np.uint8), np.ones((5, 5), np.uint8), iterations=grow
            ).astype(bool)
        hh = np.where(allowed, hh, 0.0).astype(np.float32)
        # Reflowed solder wets the whole pad: a thin coat under the fillet.
        coat = (0.035 if defect != DefectCode.INSUFFICIENT_SOLDER else 0.0) * ppm
        hh = np.maximum(hh, np.where(pad_m, coat, 0.0)).astype(np.float32)
    else:
        # Unwetted paste, reflowed into a low dome on the pad.
        shrink = 0.06 * ppm
        inner = (pad[0] + shrink, pad[1] + shrink, pad[2] - shrink, pad[3] - shrink)
        hh = _dome(_rect_mask(win, inner), 0.09 * ppm, 0.12 * ppm)
    if defect == DefectCode.COLD_JOINT:
        noise = rng.normal(0, 1, hh.shape).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
        hh = np.where(hh > 0.5, hh + noise * (0.02 + 0.03 * sev) * ppm, hh)
    where = hh > 0.05 * ppm * 0.5
    metal.put(win, hh, _SOLDER, where, index, gloss)
    if defect and did:
        if defect in (DefectCode.EXCESS_SOLDER, DefectCode.COLD_JOINT):
            metal.mark(win, where, did)
        elif defect == DefectCode.LIFTED_LEAD:
            metal.mark(win, pad_m | _rect_mask(win, target_r), did)
        elif defect in (
            DefectCode.INSUFFICIENT_SOLDER,
            DefectCode.MISSING_COMPONENT,
            DefectCode.TOMBSTONE,
            DefectCode.SHIFTED_COMPONENT,
        ):
            metal.mark(win, pad_m, did)


def _render_tht(
    ctx: _Ctx,
    part: _Part,
    spec: PadSpec,
    index: int,
    defect: str,
    sev: float,
    did: int,
    pad: tuple[float, ...],
    win: tuple[int, int, int, int],
) -> None:
    ppm, rng, metal = ctx.ppm, ctx.rng, ctx.metal
    cx, cy = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
    rp = (pad[2] - pad[0]) / 2
    pin = part.rect(spec.target)
    pr = (pin[2] - pin[0]) / 2
    hole_r = spec.hole_r * ppm
    pad_m = _circle_mask(win, cx, cy, rp) if spec.round_pad else _rect_mask(win, pad)
    pin_m = _circle_mask(win, cx, cy, pr)
    hc = 0.55 * rp
    reach = rp - pr
    gloss = 255
    power = 1.3
    if defect == DefectCode.MISSING_COMPONENT:
        metal.hole(win, _circle_mask(win, cx, cy, hole_r))
        if did:
            metal.mark(win, pad_m, did)
        return
    if defect == DefectCode.INSUFFICIENT_SOLDER:
        f = 1.0 - 0.75 * sev
        hc *= f
        reach *= f
        metal.hole(win, _circle_mask(win, cx, cy, hole_r) & ~pin_m)
    elif defect == DefectCode.COLD_JOINT:
        gloss = int(255 * (0.55 - 0.4 * sev))
    thr = 0.02 * ppm
    if defect == DefectCode.EXCESS_SOLDER:
        big = rp * (1.05 + 0.25 * sev)
        hh = _dome(_circle_mask(win, cx, cy, big), (0.9 + 0.4 * sev) * rp, big * 0.9)
        where = hh > thr
    else:
        tip = _dome(pin_m, hc + 0.12 * ppm, pr * 0.6)
        metal.put(win, tip, _LEAD, pin_m, index)
        hh = np.where(pad_m, _fillet(pin_m, hc, reach, power), 0.0).astype(np.float32)
        where = (hh > thr) & ~pin_m
    if defect == DefectCode.COLD_JOINT:
        noise = cv2.GaussianBlur(
            rng.normal(0, 1, hh.shape).astype(np.float32), (0, 0), 0.6
        )
        hh = np.where(hh > 0.5, hh + noise * (0.02 + 0.03 * sev) * ppm, hh)
    metal.put(win, hh.astype(np.float32), _SOLDER, where, index, gloss)
    if defect and did:
        if defect in (DefectCode.EXCESS_SOLDER, DefectCode.COLD_JOINT):
            metal.mark(win, where, did)
        else:
            metal.mark(win, pad_m, did)


def _render_blob(
    ctx: _Ctx,
    rect: tuple[float, ...],
    height: float,
    did: int,
    joint: int,
    circle: bool = False,
) -> None:
    """A solder bridge (rounded slab) or a solder ball (sphere)."""
    metal = ctx.metal
    win = metal.window(rect, 2)
    if circle:
        cx, cy = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
        r = (rect[2] - rect[0]) / 2
        m = _circle_mask(win, cx, cy, r)
        hh = _dome(m, height, r)
    else:
        m = _rect_mask(win, rect)
        r = 0.5 * min(rect[2] - rect[0], rect[3] - rect[1])
        hh = _dome(m, height, r)
    metal.put(win, hh, _SOLDER, m, joint)
    metal.mark(win, m, did)
