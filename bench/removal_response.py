"""How models answer a removal: the test behind removal-based explanations.

A removal-based explainer (CFI, occlusion, Impact Score) trusts two answers of the
model: removing the evidence of a defect makes the joint look good, and removing
anything else changes nothing. This script measures both, for one or more models side
by side, on a crop set with pixel defect masks (our synthetic data):

- ``defect removed -> good``: of the defective crops the model calls defective, the
  share whose decision flips when the true defect mask (dilated by ``--dilate`` px at
  the model's input) is filled;
- ``good, random region -> defect``: of the good crops the model calls good, the share
  whose decision flips when a random disc of ``--area`` of the image is filled.

Each for the explainer's three fills: ``blur`` (sigma ``--blur-sigma``), ``mean`` and
``constant`` grey 0.5.

    python bench/removal_response.py --model resources/models/default OTHER \
        --data /tmp/xai/synth80 [--dilate 2] [--area 0.1] [--blur-sigma 10] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.classifier import DefectClassifier
from inference.datasets import read_manifest
from inference.explain.config import ExplainConfig
from inference.explain.removal import baseline_image, remove_np
from inference.training.datasets import load_crop, preprocess_crop

FILLS = ("blur", "mean", "constant")


def _disc(size: int, area: float, rng: np.random.Generator) -> np.ndarray:
    r = size * np.sqrt(area / np.pi)
    cy, cx = rng.uniform(r, size - r, 2)
    yy, xx = np.indices((size, size))
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def measure(model_dir: str, data: str, args: argparse.Namespace) -> dict:
    """Flip rates of one model under the two kinds of removal, per fill."""
    clf = DefectClassifier.from_folder(model_dir)
    model, size = clf.model.eval(), int(clf.input_size)
    cfg = ExplainConfig(blur_sigma=args.blur_sigma)
    rng = np.random.default_rng(args.seed)
    counts = {k: {f: [0, 0] for f in FILLS} for k in ("defect", "good")}
    for row in read_manifest(Path(data) / "manifest.csv"):
        x = preprocess_crop(load_crop(row.path), size).unsqueeze(0)
        with torch.no_grad():
            decision = int(model(x).item() >= 0)
        if row.label == 1 and decision == 1 and row.mask is not None:
            raw = load_crop(row.mask)[..., 0] > 0
            if not raw.any():
                continue
            m = cv2.resize(
                raw.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST
            )
            mask = m > 0
            if args.dilate:
                mask = ndimage.binary_dilation(mask, iterations=args.dilate)
            kind = "defect"
        elif row.label == 0 and decision == 0:
            mask, kind = _disc(size, args.area, rng), "good"
        else:
            continue
        for fill in FILLS:
            xr = remove_np(x, mask, baseline_image(x, cfg, fill))
            with torch.no_grad():
                flipped = int(model(xr).item() >= 0) != decision
            counts[kind][fill][0] += int(flipped)
            counts[kind][fill][1] += 1
    card = json.loads((Path(model_dir) / "model.json").read_text("utf-8"))
    return {"model": model_dir, "version": card.get("version"), "counts": counts}


def main() -> None:
    """Print the two flip rates per model and fill; optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", required=True, help="model folders")
    ap.add_argument("--data", required=True, help="folder with manifest.csv and masks")
    ap.add_argument("--dilate", type=int, default=2, help="px at the model input")
    ap.add_argument("--area", type=float, default=0.1, help="random disc area share")
    ap.add_argument("--blur-sigma", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="write the counts here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = [measure(m, args.data, args) for m in args.model]
    print(f"{'model':<40} {'removal':<34} " + " ".join(f"{f:>12}" for f in FILLS))
    for r in results:
        for kind, label in (
            ("defect", "defect removed -> good"),
            ("good", f"good, random {args.area:.0%} -> defect"),
        ):
            cells = " ".join(
                f"{a:>4}/{n:<3} {a / n if n else 0:>4.0%}"
                for a, n in (r["counts"][kind][f] for f in FILLS)
            )
            print(f"{r['version'] or r['model']:<40} {label:<34} {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
