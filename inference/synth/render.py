"""Public joint renderer: JointSpec -> JointSample (image, defect mask, label)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..types import DefectCode
from .defects import BINARY_DEFECTS, DEFECTS_FOR, MIN_DEFECT_SEVERITY, draw_defect
from .joints import JOINT_KINDS, Mods, build_tht, plan_common, plan_tht
from .materials import Mat, draw_palette
from .scene import Scene, scene_diff_mask
from .smd import build_chip, build_leaded, plan_chip, plan_leaded
from .styles import STYLES, camera, canvas_shape, draw_style, out_shape, project, shade

MIN_MASK_PX = 4
"""A defect whose warped mask has fewer pixels than this is out of view: labelled 0."""
VISIBLE_LEVEL = 30
"""A defect must change at least MIN_MASK_PX pixels of the final crop by more than this
(0-255, any channel) against the good render of the same seed, else it is invisible
(blurred away, saturated, too small for a low-resolution capture): labelled 0."""

_DEFECT_WEIGHT = {
    DefectCode.INSUFFICIENT_SOLDER: 3.0,
    DefectCode.BRIDGE: 2.5,
    DefectCode.EXCESS_SOLDER: 2.0,
    DefectCode.SHIFTED_COMPONENT: 2.0,
    DefectCode.POOR_WETTING: 1.5,
    DefectCode.MISSING_COMPONENT: 1.2,
}


@dataclass(frozen=True)
class JointSpec:
    """What to render: joint kind, defect (None = good), severity, imaging style.

    kind: one of JOINT_KINDS; defect: a DefectCode from `defects_for(kind)` or None;
    severity: in [0, 1] (near 0 looks almost good); style: one of STYLES;
    size: nominal crop size in px (aoi_gray crops are size wide, 0.8 * size high).
    """

    kind: str
    defect: DefectCode | None
    severity: float
    style: str
    size: int = 256


@dataclass(frozen=True)
class JointSample:
    """A rendered crop: RGB uint8 image, 0/1 uint8 defect mask (same H, W), label."""

    image: np.ndarray
    mask: np.ndarray
    label: int
    defect_type: str
    spec: JointSpec
    meta: dict = field(default_factory=dict)


def sample_spec(
    rng: np.random.Generator, *, style: str = "mixed", defect_rate: float = 0.5
) -> JointSpec:
    """Draw a random JointSpec.

    Args:
        rng: numpy Generator (the only source of randomness).
        style: "mixed" (half color, half aoi_gray) or one of STYLES.
        defect_rate: probability of drawing a defect (before the severity rule:
            severities below MIN_DEFECT_SEVERITY render as good-but-imperfect).
    """
    if style == "mixed":
        style = STYLES[int(rng.integers(len(STYLES)))]
    if style not in STYLES:
        msg = f"unknown style {style!r}; expected 'mixed' or one of {STYLES}"
        raise ValueError(msg)
    if style == "aoi_gray":
        p = np.array([0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.35, 0.35])
    else:
        p = np.array([0.15, 0.15, 0.15, 0.15, 0.1, 0.15, 0.075, 0.075])
    kind = JOINT_KINDS[int(rng.choice(len(JOINT_KINDS), p=p / p.sum()))]
    defect = None
    severity = 0.0
    if rng.random() < defect_rate:
        codes = DEFECTS_FOR[kind]
        w = np.array([_DEFECT_WEIGHT.get(c, 1.0) for c in codes])
        defect = codes[int(rng.choice(len(codes), p=w / w.sum()))]
        severity = float(rng.beta(1.6, 1.2))
        if defect in BINARY_DEFECTS:
            severity = max(severity, MIN_DEFECT_SEVERITY)
    return JointSpec(kind=kind, defect=defect, severity=severity, style=style)


def _plan(spec: JointSpec, rng: np.random.Generator) -> dict:
    canvas = canvas_shape(spec.style, spec.size)
    out_hw = out_shape(spec.style, spec.size)
    plan = plan_common(rng, canvas, spec.style, spec.size / 256)
    if spec.kind.startswith("tht"):
        plan.update(plan_tht(spec.kind, rng, canvas, out_hw, spec.style))
    elif spec.kind.startswith("chip"):
        plan.update(plan_chip(spec.kind, rng, canvas, out_hw, spec.style))
    else:
        plan.update(plan_leaded(spec.kind, rng, canvas, out_hw, spec.style))
    plan["canvas"] = canvas
    return plan


def build_scene(plan: dict, mods: Mods) -> tuple[Scene, dict]:
    """Scene of a plan with the target's defect modifications; and layout info."""
    from .joints import draw_background

    scene = Scene.new(*plan["canvas"])
    draw_background(scene, plan)
    info = {"solder_rough": plan["solder_rough"]}
    sh = mods.extra.get("shift")
    if plan["kind"].startswith("tht"):
        build_tht(scene, plan, mods, info)
    elif plan["kind"].startswith("chip"):
        if sh is not None:
            L, W = plan["dims"][:2]
            mods = dataclasses.replace(mods, shift=(sh[0] * L, sh[1] * W * 0.7, sh[2]))
        build_chip(scene, plan, mods, info)
    else:
        if sh is not None:
            mods = dataclasses.replace(mods, shift=(sh[0] * plan["pitch"] * 0.6, 0, 0))
        build_leaded(scene, plan, mods, info)
    _lumps(scene, plan, info)
    return scene, info


def _lumps(scene: Scene, plan: dict, info: dict) -> None:
    """Low-frequency unevenness of all solder surfaces (same field for every render)."""
    from .scene import value_noise

    on = scene.mat == Mat.SOLDER
    if on.any():
        n = value_noise(
            np.random.default_rng(plan["tex_seed"] + 1),
            scene.shape,
            max(2.0, plan["lump_cell"] * info["extent"]),
        )
        scene.h[on] += plan["lump"] * info["fill_h"] * n[on]


def _good_canvas(good: Scene, bad_img: np.ndarray, mask_c, pal, light) -> np.ndarray:
    """Shaded good canvas, re-shading only the defect's window of the defective one."""
    out = bad_img.copy()
    ys, xs = np.nonzero(mask_c)
    if ys.size == 0:
        return out
    hh, ww = mask_c.shape
    y0, y1 = max(0, ys.min() - 4), min(hh, ys.max() + 5)
    x0, x1 = max(0, xs.min() - 4), min(ww, xs.max() + 5)
    win = shade(good.crop(slice(y0, y1), slice(x0, x1)), pal, light)
    # paste all but a 2 px border, where the window's one-sided gradients differ
    iy0, iy1 = (2 if y0 > 0 else 0), (y1 - y0) - (2 if y1 < hh else 0)
    ix0, ix1 = (2 if x0 > 0 else 0), (x1 - x0) - (2 if x1 < ww else 0)
    out[y0 + iy0 : y0 + iy1, x0 + ix0 : x0 + ix1] = win[iy0:iy1, ix0:ix1]
    return out


def render_joint(spec: JointSpec, seed: int) -> JointSample:
    """Render one joint crop, deterministically: same (spec, seed) -> same bytes.

    The seed drives four independent streams (layout, style, defect, sensor noise), so a
    good and a defective render of one seed share board, lighting, camera and noise;
    the mask is where their scenes differ (warped like the image).

    Label rule: label 1 (defect_type = the code) when severity >= MIN_DEFECT_SEVERITY
    (or the defect is binary) and the defect is visible (VISIBLE_LEVEL, MIN_MASK_PX);
    otherwise label 0, "none", an empty mask and meta["imperfection"] = the code.

    Raises:
        ValueError: unknown kind or style, or a defect that does not apply to the kind.
    """
    if spec.kind not in JOINT_KINDS:
        msg = f"unknown joint kind {spec.kind!r}; expected one of {JOINT_KINDS}"
        raise ValueError(msg)
    if spec.style not in STYLES:
        msg = f"unknown style {spec.style!r}; expected one of {STYLES}"
        raise ValueError(msg)
    seeds = np.random.SeedSequence(int(seed)).spawn(4)
    r_layout, r_style, r_defect = (np.random.default_rng(s) for s in seeds[:3])
    plan = _plan(spec, r_layout)
    pal = draw_palette(r_style, spec.style)
    light, cam = draw_style(r_style, spec.style, spec.size)
    cam["blur"] *= spec.size / 256
    good, info = build_scene(plan, Mods())
    out_hw = out_shape(spec.style, spec.size)
    if spec.defect is None:
        scene, mask_c = good, np.zeros(good.shape, np.uint8)
    else:
        mods, post = draw_defect(
            DefectCode(spec.defect), spec.kind, spec.severity, r_defect
        )
        scene, info = build_scene(plan, mods)
        if post is not None:
            post(scene, info)
        mask_c = scene_diff_mask(good, scene)
    canvas_img = shade(scene, pal, light)
    image, mask = camera(
        canvas_img, mask_c, cam, out_hw, np.random.default_rng(seeds[3])
    )
    seen = False
    if spec.defect is not None and int(mask.sum()) >= MIN_MASK_PX:
        good_img = _good_canvas(good, canvas_img, mask_c, pal, light)
        ref, _ = camera(good_img, mask_c, cam, out_hw, np.random.default_rng(seeds[3]))
        change = np.abs(image.astype(np.int16) - ref.astype(np.int16)).max(axis=2)
        seen = int((change > VISIBLE_LEVEL).sum()) >= MIN_MASK_PX
    label, dtype = 0, "none"
    meta = {
        "seed": int(seed),
        "framing": plan.get("framing", "joint"),
        "board": pal.names["board"],
        "finish": pal.names["finish"],
        "zoom": float(cam["zoom"]),
        "blur": float(cam["blur"]),
        "lowres": float(cam["lowres"]),
        "jpeg": int(cam["jpeg"]),
        # target joint centre and nearest neighbour joint in crop pixels (x, y)
        "centre_xy": project(cam, plan["canvas"], out_hw, [info["centre"]])[0],
        "neighbour_xy": None
        if info.get("neighbour") is None
        else project(cam, plan["canvas"], out_hw, [info["neighbour"]])[0],
    }
    if spec.defect is not None:
        code = DefectCode(spec.defect)
        graded_ok = spec.severity >= MIN_DEFECT_SEVERITY or code in BINARY_DEFECTS
        if graded_ok and seen:
            label, dtype = 1, code.value
        else:
            meta["imperfection"] = code.value
            meta["hidden"] = not seen
            mask = np.zeros_like(mask)
    return JointSample(image, mask, label, dtype, spec, meta)
