"""Everything on a synthetic board that is not metal: traces, bodies, silkscreen.

Copper traces under the mask with their vias, component bodies (with markings and
soft shadows, tombstoned chips standing on end) and the silkscreen outlines and
reference designators.
"""

from __future__ import annotations

import math
import string
from typing import TYPE_CHECKING

import cv2
import numpy as np

from inference.types import DefectCode

if TYPE_CHECKING:
    from inference.synth.board_layout import _Part


def _hex_text(rng: np.random.Generator, n: int) -> str:
    chars = string.ascii_uppercase + string.digits
    return "".join(chars[int(i)] for i in rng.integers(0, len(chars), n))


def _put_text(
    img: np.ndarray,
    text: str,
    org: tuple[float, float],
    height_px: float,
    color: tuple[int, int, int],
    vertical: bool = False,
) -> None:
    """Draw `text` with its top-left at `org`, about `height_px` tall."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    scale = max(0.2, height_px / 22.0)
    thick = max(1, round(height_px / 9.0))
    (tw, th), base = cv2.getTextSize(text, font, scale, thick)
    if not vertical:
        cv2.putText(
            img,
            text,
            (round(org[0]), round(org[1] + th)),
            font,
            scale,
            color,
            thick,
            cv2.LINE_AA,
        )
        return
    tile = np.zeros((th + base + 2, tw + 2, 3), np.uint8)
    cv2.putText(
        tile, text, (1, th + 1), font, scale, (255, 255, 255), thick, cv2.LINE_AA
    )
    tile = cv2.rotate(tile, cv2.ROTATE_90_COUNTERCLOCKWISE)
    x0, y0 = round(org[0]), round(org[1])
    hgt, wid = tile.shape[:2]
    h, w = img.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + wid > w or y0 + hgt > h:
        return
    a = tile[..., :1].astype(np.float32) / 255.0
    roi = img[y0 : y0 + hgt, x0 : x0 + wid]
    roi[:] = (roi * (1 - a) + np.array(color, np.float32) * a).astype(np.uint8)


def _draw_traces(
    rng: np.random.Generator,
    copper: np.ndarray,
    parts: list[_Part],
    ppm: float,
    vias: list[tuple[float, float, float, bool]],
    occ: np.ndarray,
    cell: float,
) -> None:
    """Copper traces under the mask: from pads outward, a 45° jog, to a via.

    A route whose via would land on a part or its label (`occ`) is dropped.
    """
    h, w = copper.shape
    width = max(1, round(0.22 * ppm))
    for part in parts:
        for spec in part.pkg.pads:
            if rng.random() > 0.6:
                continue
            pad = part.rect(spec.pad)
            x, y = (pad[0] + pad[2]) / 2, (pad[1] + pad[3]) / 2
            ox, oy = part.vec(spec.out)
            pts = [(x, y)]
            l1 = rng.uniform(0.8, 3.0) * ppm
            x, y = x + ox * l1, y + oy * l1
            pts.append((x, y))
            side = 1 if rng.random() < 0.5 else -1
            l2 = rng.uniform(0.5, 4.0) * ppm
            dx, dy = (ox - side * oy) / math.sqrt(2), (oy + side * ox) / math.sqrt(2)
            x, y = x + dx * l2, y + dy * l2
            pts.append((x, y))
            l3 = rng.uniform(0.5, 5.0) * ppm
            x, y = x + ox * l3, y + oy * l3
            pts.append((x, y))
            if not (2 * ppm < x < w - 2 * ppm and 2 * ppm < y < h - 2 * ppm):
                continue
            if occ[int(y / cell), int(x / cell)]:
                continue
            cv2.polylines(
                copper,
                [np.round(np.array(pts)).astype(np.int32)],
                False,
                255,
                width,
                cv2.LINE_AA,
            )
            vias.append((x, y, rng.uniform(0.28, 0.4) * ppm, bool(rng.random() < 0.5)))
    # A few long buses.
    for _ in range(int(rng.integers(2, 6))):
        y = rng.uniform(0.1, 0.9) * h
        x0 = rng.uniform(0.02, 0.3) * w
        x1 = rng.uniform(0.6, 0.98) * w
        n = int(rng.integers(2, 6))
        for i in range(n):
            yy = y + i * 0.6 * ppm
            jog = rng.uniform(0.3, 0.6) * (x1 - x0)
            pts = [
                (x0, yy),
                (x0 + jog, yy),
                (x0 + jog + 2 * ppm, yy + 2 * ppm),
                (x1, yy + 2 * ppm),
            ]
            cv2.polylines(
                copper,
                [np.round(np.array(pts)).astype(np.int32)],
                False,
                255,
                width,
                cv2.LINE_AA,
            )


def _draw_body(img: np.ndarray, part: _Part, rng: np.random.Generator) -> None:
    """Component body on top of the joints (SMD parts only)."""
    pkg, ppm = part.pkg, part.ppm
    if (
        pkg.mount != "smd"
        or part.defect == DefectCode.MISSING_COMPONENT
        or pkg.body is None
    ):
        return
    if part.defect == DefectCode.TOMBSTONE:
        spec = pkg.pads[part.tomb_end]
        sgn = spec.out[0]
        end = pkg.body[2] if sgn > 0 else pkg.body[0]
        t = pkg.height
        face = (
            min(end, end - sgn * t),
            pkg.body[1],
            max(end, end - sgn * t),
            pkg.body[3],
        )
        x0, y0, x1, y1 = part.rect(face)
        _shadow(img, (x0, y0, x1, y1), ppm, strength=0.55, offset=0.35)
        cv2.rectangle(
            img, (round(x0), round(y0)), (round(x1), round(y1)), (168, 171, 174), -1
        )
        ins = max(1, round(0.06 * ppm))
        cv2.rectangle(
            img,
            (round(x0) + ins, round(y0) + ins),
            (round(x1) - ins, round(y1) - ins),
            (196, 198, 200),
            -1,
        )
        return
    body = part.rect(part.shifted(pkg.body))
    x0, y0, x1, y1 = body
    _shadow(img, body, ppm, strength=0.45, offset=0.12)
    fam = pkg.family
    if fam in ("chip_r", "chip_c"):
        col = (
            (30, 30, 32)
            if fam == "chip_r"
            else tuple(
                int(v) for v in np.array([88, 128, 168]) * rng.uniform(0.85, 1.1)
            )
        )
        cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), col, -1)
        for spec in pkg.pads:
            tx0, ty0, tx1, ty1 = part.rect(part.shifted(spec.target))
            cv2.rectangle(
                img,
                (round(tx0), round(ty0)),
                (round(tx1), round(ty1)),
                (165, 168, 172),
                -1,
            )
            ins = max(1, round(0.05 * ppm))
            cv2.rectangle(
                img,
                (round(tx0) + ins, round(ty0) + ins),
                (round(tx1) - ins, round(ty1) - ins),
                (188, 190, 193),
                -1,
            )
        if fam == "chip_r" and (x1 - x0) * (y1 - y0) > 500:
            # The resistor's white overcoat with a code.
            bw, bh = x1 - x0, y1 - y0
            inner = (
                (x0 + 0.22 * bw, y0 + 0.12 * bh, x1 - 0.22 * bw, y1 - 0.12 * bh)
                if bw > bh
                else (x0 + 0.12 * bw, y0 + 0.22 * bh, x1 - 0.12 * bw, y1 - 0.22 * bh)
            )
            code = f"{int(rng.integers(10, 99))}{int(rng.integers(0, 6))}"
            _put_text(
                img,
                code,
                (inner[0] + 1, inner[1] + 1),
                0.6 * min(inner[3] - inner[1], (inner[2] - inner[0]) / 2),
                (200, 200, 200),
                vertical=bh > bw,
            )
        return
    col = (40, 40, 43)
    cv2.rectangle(img, (round(x0), round(y0)), (round(x1), round(y1)), col, -1)
    ins = max(1, round(0.18 * ppm))
    cv2.rectangle(
        img,
        (round(x0) + ins, round(y0) + ins),
        (round(x1) - ins, round(y1) - ins),
        (50, 50, 54),
        -1,
    )
    if fam in ("soic", "qfp"):
        sx, sy = part.shift
        if fam == "qfp":
            px, py = part.pt(pkg.body[0] + 0.7 + sx, pkg.body[1] + 0.7 + sy)
        else:
            px, py = part.pt(pkg.body[0] + 0.6 + sx, pkg.body[3] - 0.6 + sy)
        cv2.circle(
            img, (round(px), round(py)), max(2, round(0.3 * ppm)), (28, 28, 30), -1
        )
        bw, bh = x1 - x0, y1 - y0
        th = 0.12 * min(bw, bh) if fam == "qfp" else 0.2 * min(bw, bh)
        _put_text(
            img,
            _hex_text(rng, 6),
            (x0 + 0.2 * bw, y0 + 0.3 * bh),
            th,
            (125, 125, 128),
            vertical=bh > bw * 1.2,
        )


def _shadow(
    img: np.ndarray, rect: tuple[float, ...], ppm: float, strength: float, offset: float
) -> None:
    off = offset * ppm
    pad = int(0.4 * ppm + off) + 2
    h, w = img.shape[:2]
    x0 = max(0, int(rect[0]) - pad)
    y0 = max(0, int(rect[1]) - pad)
    x1 = min(w, int(rect[2]) + pad)
    y1 = min(h, int(rect[3]) + pad)
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.rectangle(
        m,
        (round(rect[0] + off) - x0, round(rect[1] + off) - y0),
        (round(rect[2] + off) - x0, round(rect[3] + off) - y0),
        1.0,
        -1,
    )
    m = cv2.GaussianBlur(m, (0, 0), max(0.5, 0.12 * ppm))
    roi = img[y0:y1, x0:x1]
    roi[:] = (roi * (1.0 - strength * m[..., None])).astype(np.uint8)


def _silkscreen(
    img: np.ndarray, part: _Part, rng: np.random.Generator, color: tuple[int, int, int]
) -> None:
    pkg, ppm = part.pkg, part.ppm
    ex = part.rect(pkg.extent)
    thick = max(1, round(0.15 * ppm))
    m = 0.25 * ppm
    x0, y0, x1, y1 = ex[0] - m, ex[1] - m, ex[2] + m, ex[3] + m
    if pkg.family == "radial":
        cx, cy = part.pt(0, 0)
        cv2.circle(
            img,
            (round(cx), round(cy)),
            round((pkg.body[2] - pkg.body[0]) / 2 * ppm),
            color,
            thick,
            cv2.LINE_AA,
        )
        px, py = part.pt(pkg.pads[0].pad[0] - 0.6, -1.2)
        _put_text(img, "+", (px - 0.4 * ppm, py - 0.4 * ppm), 0.8 * ppm, color)
    elif pkg.mount == "tht" or pkg.family in ("soic", "qfp", "sot"):
        bx0, by0, bx1, by1 = (
            part.rect(pkg.body) if pkg.mount == "smd" else (x0, y0, x1, y1)
        )
        if pkg.mount == "smd":
            bx0, by0, bx1, by1 = bx0 - m / 2, by0 - m / 2, bx1 + m / 2, by1 + m / 2
        cv2.rectangle(
            img,
            (round(bx0), round(by0)),
            (round(bx1), round(by1)),
            color,
            thick,
            cv2.LINE_AA,
        )
        if pkg.family in ("soic", "dip", "qfp"):
            p1 = part.rect(pkg.pads[0].pad)
            cv2.circle(
                img,
                (round(p1[0] - 0.5 * ppm), round(p1[1] - 0.3 * ppm)),
                max(2, round(0.2 * ppm)),
                color,
                -1,
                cv2.LINE_AA,
            )
    else:
        # Chip parts: two lines along the long sides.
        if x1 - x0 > y1 - y0:
            cv2.line(
                img,
                (round(x0 + 2 * m), round(y0)),
                (round(x1 - 2 * m), round(y0)),
                color,
                thick,
            )
            cv2.line(
                img,
                (round(x0 + 2 * m), round(y1)),
                (round(x1 - 2 * m), round(y1)),
                color,
                thick,
            )
        else:
            cv2.line(
                img,
                (round(x0), round(y0 + 2 * m)),
                (round(x0), round(y1 - 2 * m)),
                color,
                thick,
            )
            cv2.line(
                img,
                (round(x1), round(y0 + 2 * m)),
                (round(x1), round(y1 - 2 * m)),
                color,
                thick,
            )
    # Refdes above the part.
    th = 0.8 * ppm
    _put_text(img, part.refdes, (x0, y0 - th - 0.3 * ppm), th, color)
    del rng
