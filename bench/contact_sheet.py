"""Contact sheet: synthetic joint crops beside real crops (a documentation figure).

    .venv/bin/python bench/contact_sheet.py --real /work/shared/datasets \
        --out docs/img/contact-sheet.png

Rows alternate real (handian-tht, ulger-smd; sampled at run time, downscaled) and
synthetic crops of the matching class, then a catalogue of every defect in both styles
(mask outline in red). Without --real only the synthetic rows are drawn. The real
crops are never stored anywhere else; the sheet is kept small (< 600 KB).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.synth import JointSpec, defects_for, render_joint
from inference.types import DefectCode as D

TILE = 84
COLS = 8
LABEL_W = 150


def _fit(img: np.ndarray, tile: int = TILE) -> np.ndarray:
    h, w = img.shape[:2]
    s = (tile - 2) / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(
        img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp
    )
    out = np.full((tile, tile, 3), 255, np.uint8)
    y0, x0 = (tile - small.shape[0]) // 2, (tile - small.shape[1]) // 2
    out[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return out


def _row(label: str, tiles: list[np.ndarray], colour=(0, 0, 0)) -> np.ndarray:
    row = np.full((TILE, LABEL_W + COLS * TILE, 3), 255, np.uint8)
    for i, line in enumerate(label.split("\n")):
        cv2.putText(
            row,
            line,
            (4, 22 + 18 * i),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            colour,
            1,
            cv2.LINE_AA,
        )
    for i, t in enumerate(tiles[:COLS]):
        row[:, LABEL_W + i * TILE : LABEL_W + (i + 1) * TILE] = _fit(t)
    return row


def _real(root: Path, ds: str, pred, n: int, rng: random.Random) -> list[np.ndarray]:
    man = root / ds / "manifest.csv"
    if not man.is_file():
        return []
    with man.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if pred(r)]
    rng.shuffle(rows)
    out = []
    for r in rows[:n]:
        img = cv2.imread(str(root / ds / r["path"]), cv2.IMREAD_COLOR)
        if img is not None:
            out.append(img[..., ::-1])
    return out


def _synth(kind, defect, style, n, seed0, sev=0.75, outline=False):
    out = []
    kinds = kind if isinstance(kind, list) else [kind]
    defects = defect if isinstance(defect, list) else [defect]
    for i in range(n):
        k, d = kinds[i % len(kinds)], defects[i % len(defects)]
        s = render_joint(JointSpec(k, d, sev, style), seed0 + i)
        img = s.image.copy()
        if outline and s.mask.any():
            cnt, _ = cv2.findContours(s.mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(img, cnt, -1, (255, 40, 40), 2)
        out.append(img)
    return out


def build(real_root: Path | None, seed: int = 0) -> np.ndarray:
    rng = random.Random(seed)
    rows = []
    tht = ["tht_round", "tht_square"]
    smd = ["chip_0402", "chip_0603", "chip_0805", "chip_1206", "sot23", "gullwing"]
    real_sets = []
    if real_root is not None:
        real_sets = [
            (
                "handian-tht good\n(Z classes)",
                "handian-tht",
                lambda r: r["label"] == "0",
            ),
            (
                "handian-tht S\n(unfilled ring)",
                "handian-tht",
                lambda r: r["defect_type"].endswith("S"),
            ),
            (
                "handian-tht L, F",
                "handian-tht",
                lambda r: r["defect_type"] in ("L", "CF", "RF", "BF"),
            ),
            ("ulger-smd normal", "ulger-smd", lambda r: r["label"] == "0"),
            ("ulger-smd defects", "ulger-smd", lambda r: r["label"] == "1"),
        ]
    synth_rows = [
        ("synth aoi_gray\ngood THT", _synth(tht, None, "aoi_gray", COLS, 100)),
        (
            "synth aoi_gray\ninsufficient",
            _synth(tht, D.INSUFFICIENT_SOLDER, "aoi_gray", COLS, 200),
        ),
        (
            "synth aoi_gray\nbridge/excess/\npoor wetting",
            _synth(
                tht, [D.BRIDGE, D.EXCESS_SOLDER, D.POOR_WETTING], "aoi_gray", COLS, 300
            ),
        ),
        ("synth color\ngood SMD", _synth(smd, None, "color", COLS, 400)),
        (
            "synth color\ndefects",
            _synth(
                smd,
                [D.INSUFFICIENT_SOLDER, D.EXCESS_SOLDER, D.BRIDGE, D.SHIFTED_COMPONENT],
                "color",
                COLS,
                500,
            ),
        ),
    ]
    for i, (label, tiles) in enumerate(synth_rows):
        if real_sets:
            rl, ds, pred = real_sets[i]
            rows.append(_row(rl, _real(real_root, ds, pred, COLS, rng), (0, 90, 0)))
        rows.append(_row(label, tiles, (0, 0, 160)))
    # catalogue: every defect, both styles, mask outlined
    codes = sorted({c for k in tht + smd for c in defects_for(k)}, key=list(D).index)
    for style in ("aoi_gray", "color"):
        for j in range(0, len(codes), COLS):
            chunk = codes[j : j + COLS]
            tiles = []
            for n, c in enumerate(chunk):
                kind = next(
                    k
                    for k in (tht + smd if style == "aoi_gray" else smd + tht)
                    if c in defects_for(k)
                )
                tiles += _synth(kind, c, style, 1, 900 + j + n, 0.8, outline=True)
            names = ", ".join(c.value.split("_")[0] for c in chunk)
            rows.append(
                _row(
                    f"catalogue {style}\n{names[:22]}\n{names[22:44]}",
                    tiles,
                    (0, 0, 160),
                )
            )
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", type=Path, default=None, help="shared datasets folder")
    ap.add_argument("--out", type=Path, default=Path("docs/img/contact-sheet.png"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sheet = build(args.real, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from PIL import Image

    Image.fromarray(sheet).quantize(colors=256, dither=Image.Dither.NONE).save(
        args.out, optimize=True
    )
    kb = args.out.stat().st_size / 1024
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]}, {kb:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
