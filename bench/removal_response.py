"""How models answer a removal, side by side (``inference.explain.removal_response``).

For one or more models on a crop set with pixel defect masks (our synthetic data):

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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.classifier import DefectClassifier
from inference.datasets import read_manifest
from inference.explain.removal_response import FILLS, removal_response
from inference.training.datasets import load_crop, preprocess_crop


def measure(model_dir: str, data: str, args: argparse.Namespace) -> dict:
    """Flip counts of one model under the two kinds of removal, per fill."""
    clf = DefectClassifier.from_folder(model_dir)
    size = int(clf.input_size)
    rows = read_manifest(Path(data) / "manifest.csv")
    crops = (
        (
            preprocess_crop(load_crop(r.path), size).unsqueeze(0),
            r.label,
            load_crop(r.mask)[..., 0] > 0 if r.mask is not None else None,
        )
        for r in rows
    )
    res = removal_response(
        clf.model,
        crops,
        dilate=args.dilate,
        area=args.area,
        blur_sigma=args.blur_sigma,
        seed=args.seed,
    )
    card = json.loads((Path(model_dir) / "model.json").read_text("utf-8"))
    return {"model": model_dir, "version": card.get("version"), **res.to_dict()}


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
    print(f"{'model':<28} {'removal':<30} " + " ".join(f"{f:>12}" for f in FILLS))
    for r in results:
        for kind, label in (
            ("defect", "defect removed -> good"),
            ("good", f"good, random {args.area:.0%} -> defect"),
        ):
            cells = " ".join(
                f"{a:>4}/{n:<3} {a / n if n else 0:>4.0%}"
                for a, n in (r[kind][f] for f in FILLS)
            )
            print(f"{r['version'] or r['model']:<28} {label:<30} {cells}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", "utf-8")


if __name__ == "__main__":
    main()
