"""Imaging styles: lighting (shading of a scene) and the camera (warp, optics, sensor).

Two styles, both domain-randomised per sample:

* ``color``: colour camera or microscope under a ring light plus some coaxial light
  (like the SolderNet paper and ulger-smd): solder shows a ring highlight on sloped
  fillets, boards in several mask colours, white balance and exposure vary, sometimes
  a low-resolution capture upsampled again.
* ``aoi_gray``: grayscale industrial AOI with mostly coaxial lighting (like
  handian-tht): flat metal (bare pads, pin tips, flat solder) is bright, sloped fillets
  are dark, the board is dark; crops are ~256x205 and JPEG-compressed.

`shade` is a small physically motivated model: diffuse albedo plus a coaxial specular
lobe (normal close to the view axis) and a ring-light lobe (normal tilted by half the
ring's off-axis angle), both narrowed by shininess and widened by roughness. Roughness
also perturbs the surface with fine grain, so a cold joint looks grainy and dull.
"""

from __future__ import annotations

import cv2
import numpy as np

from .materials import Palette
from .scene import Scene

STYLES: tuple[str, ...] = ("color", "aoi_gray")


def out_shape(style: str, size: int) -> tuple[int, int]:
    """Output (height, width) of a crop of `style` at nominal `size`."""
    if style == "aoi_gray":
        return round(size * 0.8), size
    return size, size


def canvas_shape(style: str, size: int) -> tuple[int, int]:
    """Scene canvas (height, width): margin for zoom-out, rotation and tilt."""
    oh, ow = out_shape(style, size)
    if style == "aoi_gray":
        return int(oh * 1.35) + 8, int(ow * 1.35) + 8
    c = int(max(oh, ow) * 1.45) + 8
    return c, c


def draw_style(rng: np.random.Generator, style: str, size: int) -> tuple[dict, dict]:
    """Random lighting and camera parameters of one sample."""
    if style == "aoi_gray":
        light = {
            "amb": rng.uniform(0.25, 0.45),
            "kd": rng.uniform(0.4, 0.7),
            "coax": rng.uniform(0.8, 1.2),
            "ring": rng.uniform(0.05, 0.3),
            "ring_t0": np.deg2rad(rng.uniform(14, 30)),
            "ring_w": np.deg2rad(rng.uniform(5, 10)),
            "metal_diffuse": rng.uniform(0.15, 0.45),
            "grain_amp": rng.uniform(1.2, 2.2),
        }
        cam = {
            "zoom": rng.uniform(0.9, 1.12),
            "rot": rng.normal(0, 0.03) + (np.pi if rng.random() < 0.5 else 0.0),
            "tilt": rng.uniform(0, 0.015),
            "shift": rng.uniform(-0.04, 0.04, 2),
            "blur": rng.uniform(0.0, 1.1),
            "lowres": 1.0,
            "gain": rng.uniform(0.9, 1.4),
            "gamma": rng.uniform(0.8, 1.1),
            "wb": np.ones(3),
            "sat": 1.0,
            "noise": rng.uniform(0.004, 0.02),
            "jpeg": int(rng.integers(70, 96)) if rng.random() < 0.85 else 0,
            "gray": True,
        }
    else:
        light = {
            "amb": rng.uniform(0.35, 0.7),
            "kd": rng.uniform(0.3, 0.8),
            "coax": rng.uniform(0.15, 0.9),
            "ring": rng.uniform(0.4, 1.2),
            "ring_t0": np.deg2rad(rng.uniform(12, 35)),
            # narrow ring light .. broad dome light (solder white on every slope)
            "ring_w": np.deg2rad(
                rng.uniform(6, 16) if rng.random() < 0.5 else rng.uniform(16, 35)
            ),
            "metal_diffuse": rng.uniform(0.6, 1.6)
            if rng.random() < 0.5
            else rng.uniform(1.6, 3.5),
            "grain_amp": rng.uniform(1.0, 2.0),
        }
        k = int(rng.integers(4))
        cam = {
            "zoom": rng.uniform(0.85, 1.25),
            "rot": k * np.pi / 2 + rng.normal(0, 0.06),
            "tilt": rng.uniform(0, 0.035),
            "shift": rng.uniform(-0.06, 0.06, 2),
            "blur": rng.uniform(0.0, 2.0),
            # ulger-smd-like captures: tiny crops upsampled (26..150 px of 256)
            "lowres": 10 ** rng.uniform(-1.0, -0.22) if rng.random() < 0.55 else 1.0,
            # under-exposed (dark, contrasty) .. over-exposed (washed-out solder)
            "gain": float(
                rng.choice(
                    [
                        rng.uniform(0.5, 0.9),
                        rng.uniform(0.9, 2.0),
                        rng.uniform(2.0, 2.8),
                    ],
                    p=[0.25, 0.5, 0.25],
                )
            ),
            "gamma": rng.uniform(0.6, 1.0),
            "wb": rng.uniform(0.75, 1.25, 3),
            "sat": rng.uniform(0.3, 1.1),
            "noise": rng.uniform(0.004, 0.03),
            "jpeg": int(rng.integers(60, 96)) if rng.random() < 0.7 else 0,
            "gray": False,
        }
    cam["corners"] = rng.uniform(-1, 1, (4, 2))
    # plain floats: a float64 numpy scalar would promote the float32 images
    return {k: float(v) for k, v in light.items()}, cam


def shade(scene: Scene, pal: Palette, light: dict) -> np.ndarray:
    """Linear RGB image (H, W, 3) float32 of a scene under `light`."""
    f32 = np.float32
    rough = scene.rough
    h = scene.h + rough * f32(light["grain_amp"]) * scene.grain
    gy, gx = np.gradient(h)
    nz = 1.0 / np.sqrt(1.0 + gx * gx + gy * gy)
    mat = scene.mat
    metal = pal.metal[mat]
    is_metal = metal > 0
    diffw = pal.diffuse[mat] * np.where(is_metal, f32(light["metal_diffuse"]), f32(1))
    shin = pal.shin[mat] * (1.0 - 0.85 * rough)
    ks = pal.ks[mat] * (1.0 - 0.55 * rough)
    coax = np.exp(shin * np.log(np.maximum(nz, f32(1e-4))))
    tilt = np.arccos(np.clip(nz, 0, 1))
    w = f32(light["ring_w"]) * (1.0 + 2.5 * rough)
    ring = np.exp(-(((tilt - f32(light["ring_t0"])) / w) ** 2))
    ring *= pal.shin[mat] > 20
    spec = ks * (f32(light["coax"]) * coax + f32(light["ring"]) * ring)
    lit = f32(light["amb"]) + f32(light["kd"]) * nz
    # per channel: albedo * (diffuse + metal-tinted specular) + white specular
    a = np.where(is_metal, diffw * lit, diffw * lit * scene.mod) + 0.65 * metal * spec
    b = spec * (1.0 - 0.65 * metal)
    ta = scene.tint_a
    film = bool(ta.any())
    chans = []
    for c in range(3):
        ch = pal.albedo[:, c][mat] * a + b
        if film:
            ch = ch * (1 - ta) + scene.tint[..., c] * lit * ta
        chans.append(ch.astype(np.float32))
    return cv2.merge(chans)


def _homography(cam: dict, canvas: tuple[int, int], out_hw: tuple[int, int]):
    ch, cw = canvas
    oh, ow = out_hw
    z, r = cam["zoom"], cam["rot"]
    c, s = np.cos(r) * z, np.sin(r) * z
    t = np.array([[1, 0, -cw / 2], [0, 1, -ch / 2], [0, 0, 1]], float)
    rs = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], float)
    sx, sy = cam["shift"] * (ow, oh)
    back = np.array([[1, 0, ow / 2 + sx], [0, 1, oh / 2 + sy], [0, 0, 1]], float)
    m = back @ rs @ t
    src = np.array([[0, 0], [ow, 0], [ow, oh], [0, oh]], np.float32)
    dst = src + (cam["corners"] * cam["tilt"] * (ow, oh)).astype(np.float32)
    persp = cv2.getPerspectiveTransform(src, dst)
    return persp @ m


def project(cam: dict, canvas: tuple[int, int], out_hw: tuple[int, int], pts) -> list:
    """Canvas points [(x, y), ...] -> output-crop coordinates (same homography)."""
    M = _homography(cam, canvas, out_hw)
    a = np.asarray(pts, np.float64).reshape(-1, 1, 2)
    return cv2.perspectiveTransform(a, M).reshape(-1, 2).round(2).tolist()


def camera(
    img: np.ndarray,
    mask: np.ndarray,
    cam: dict,
    out_hw: tuple[int, int],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Warp, optics and sensor: linear canvas image -> uint8 RGB crop, plus its mask.

    The mask goes through the same homography (nearest neighbour), nothing else.
    """
    oh, ow = out_hw
    M = _homography(cam, img.shape[:2], out_hw)
    flags = cv2.INTER_LINEAR
    out = cv2.warpPerspective(
        img, M, (ow, oh), flags=flags, borderMode=cv2.BORDER_REFLECT
    )
    m_out = cv2.warpPerspective(
        mask,
        M,
        (ow, oh),
        flags=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    if cam["gray"]:
        g = out @ np.array([0.3, 0.55, 0.15], np.float32)
        out = np.repeat(g[..., None], 3, axis=2)
    if cam["blur"] > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), cam["blur"])
    if cam["lowres"] < 1.0:  # small sensor crop: noise and JPEG at low res, upsampled
        sw, sh = max(8, round(ow * cam["lowres"])), max(8, round(oh * cam["lowres"]))
        out = cv2.resize(out, (sw, sh), interpolation=cv2.INTER_AREA)
    if not cam["gray"] and cam["sat"] != 1.0:  # colour saturation
        grey = out.mean(axis=2, keepdims=True)
        out = grey + (out - grey) * np.float32(cam["sat"])
    out = np.clip(out * cam["gain"] * cam["wb"].astype(np.float32), 0, None)
    out = out ** cam["gamma"]
    sig = cam["noise"] * (0.5 + np.sqrt(np.clip(out, 0, 1)))
    nh, nw = out.shape[:2]
    n = rng.standard_normal((nh, nw, 1 if cam["gray"] else 3), dtype=np.float32)
    out = np.clip((out + sig * n) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if cam["jpeg"] and min(nh, nw) >= 48:  # (8x8 blocks would swamp a tiny capture)
        q = [cv2.IMWRITE_JPEG_QUALITY, cam["jpeg"]]
        _, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[..., ::-1]), q)
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
        if cam["gray"]:
            out = np.repeat(out[..., 1:2], 3, axis=2)
    if out.shape[:2] != (oh, ow):
        out = cv2.resize(out, (ow, oh), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(out), (m_out > 0).astype(np.uint8)
