"""Scale-matched evaluation of a model on a crop set with a size shortcut (ulger-smd).

ulger-smd's normal crops are small (median longer side 26 px) and its defect crops large
(median 71-144 px), so a model can score well by size or blur alone (datasets README).
This script evaluates one model on the test split of the group-aware split three ways,
side by side:

- ``all``: every test crop, as ``soldernet evaluate --split test``;
- ``size band``: only crops whose longer side lies in the band where both classes
  occur (default 32-120 px);
- ``degraded``: every crop first shrunk so that its longer side is at most the normal
  crops' median (26 px), then given to the model as usual: size and sharpness no longer
  tell the classes apart.

    python bench/scale_matched.py --model M --data ../shared/datasets/ulger-smd \
        [--band 32 120] [--degrade 26] [--json OUT]

Prints accuracy, overkill, escape, AUROC and NetTrustScore per view and per defect type.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.classifier import DefectClassifier
from inference.evaluation import evaluate_predictions
from inference.training.data import load_dataset_rows, split_rows
from inference.training.datasets import load_crop


def _shrink(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _view(name: str, clf: DefectClassifier, crops, labels, types) -> dict:
    y = np.asarray(labels, dtype=int)
    p = clf.predict_proba(crops) if crops else np.zeros(0)
    row: dict = {"view": name, "n": len(y), "defective": int(y.sum())}
    if len(y) and 0 < y.sum() < len(y):
        m = evaluate_predictions(y, p, t_lo=clf.t_lo, t_hi=clf.t_hi, prevalence=None)
        for key in ("accuracy", "overkill", "escape", "auroc"):
            row[key] = float(m[key])
        row["net_trust_score"] = float(m["trust"]["net_trust_score"])
        row["review_rate"] = float(m["regions"]["review_rate"])
    per_type: dict[str, dict] = {}
    for t in sorted(set(types)):
        idx = [i for i, tt in enumerate(types) if tt == t]
        flagged = float(np.mean(p[idx] >= 0.5))
        per_type[t or "normal"] = {"n": len(idx), "flagged_at_0.5": flagged}
    row["by_defect_type"] = per_type
    return row


def main(argv: list[str] | None = None) -> int:
    """Evaluate the three views and print them."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument(
        "--band", type=int, nargs=2, default=(32, 120), metavar=("MIN", "MAX")
    )
    ap.add_argument("--degrade", type=int, default=26, metavar="PX")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)

    clf = DefectClassifier.from_folder(args.model, device="cpu", backend="onnx")
    rows = split_rows(load_dataset_rows([args.data]), seed=args.split_seed)["test"]
    crops = [load_crop(r.path) for r in rows]
    labels = [r.label for r in rows]
    types = [r.defect_type for r in rows]
    sides = [max(c.shape[:2]) for c in crops]
    lo, hi = args.band
    band = [i for i, s in enumerate(sides) if lo <= s <= hi]
    views = [
        _view("all", clf, crops, labels, types),
        _view(
            f"size band {lo}-{hi} px",
            clf,
            [crops[i] for i in band],
            [labels[i] for i in band],
            [types[i] for i in band],
        ),
        _view(
            f"degraded to <= {args.degrade} px",
            clf,
            [_shrink(c, args.degrade) for c in crops],
            labels,
            types,
        ),
    ]
    print(f"model {args.model} on {args.data} (test split, seed {args.split_seed})")
    print("| view | n (defective) | accuracy | overkill | escape | AUROC | NTS |")
    print("|---|---|---|---|---|---|---|")
    for v in views:
        if "accuracy" not in v:
            print(f"| {v['view']} | {v['n']} ({v['defective']}) | one class only |")
            continue
        print(
            f"| {v['view']} | {v['n']} ({v['defective']}) | {v['accuracy']:.1%} | "
            f"{v['overkill']:.1%} | {v['escape']:.1%} | {v['auroc']:.3f} | "
            f"{v['net_trust_score']:.3f} |"
        )
    for v in views:
        flagged = ", ".join(
            f"{t} {d['flagged_at_0.5']:.0%} (n={d['n']})"
            for t, d in v["by_defect_type"].items()
        )
        print(f"{v['view']}: flagged at 0.5: {flagged}")
    if args.json:
        Path(args.json).write_text(json.dumps(views, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
