"""The learned (recipe-free) detector on real board photos, then the shipped classifier.

Dataset: ``pcb-boards`` of ../shared/datasets (Pascal-VOC boxes of defects only:
``F`` = unsoldered / empty through-hole pad, ``P`` = solder bridge; source GitHub
asrf001/DatasetPCB; no licence stated, so nothing of it may enter the repository:
the pictures this script draws go to ``--pictures`` (default ``build/pcb``, git-
ignored)).

Per board: `inspect_board` with the learned detector and the classifier. Per
annotated F/P box: is it *covered* by a detected joint (intersection >= ``--cover``
of the annotated box's area), and by a detected joint whose region is ``defect`` or
``possible_defect``? Also joints and flagged joints per board.

    .venv/bin/python bench/bench_learned_detector.py --detector build/detector \\
        --data ../shared/datasets/pcb-boards --n 25 --threads 1 --json out.json

Synthetic held-out recall / precision and speed: ``soldernet detector evaluate``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.classifier import DefectClassifier
from inference.detector_training import box_iou
from inference.learned_detector import LearnedDetector
from inference.pipeline import inspect_board
from inference.types import Region

COLOURS = {  # BGR
    Region.DEFECT: (0, 0, 255),
    Region.POSSIBLE_DEFECT: (0, 200, 255),
    Region.NON_DEFECT: (0, 200, 0),
}


def read_voc(path: Path) -> tuple[np.ndarray, list[str]]:
    """Boxes (x1 y1 x2 y2) and names of a Pascal-VOC file."""
    root = ET.parse(path).getroot()
    boxes, names = [], []
    for obj in root.iter("object"):
        bb = obj.find("bndbox")
        if bb is None:
            continue
        boxes.append(
            [float(bb.findtext(k, "0")) for k in ("xmin", "ymin", "xmax", "ymax")]
        )
        names.append(obj.findtext("name", ""))
    return np.array(boxes, np.float64).reshape(-1, 4), names


def covered(ann: np.ndarray, det: np.ndarray, frac: float) -> np.ndarray:
    """Per annotated box: does some detected box cover >= frac of its area?"""
    if len(ann) == 0 or len(det) == 0:
        return np.zeros(len(ann), bool)
    ix = np.minimum(ann[:, None, 2], det[None, :, 2]) - np.maximum(
        ann[:, None, 0], det[None, :, 0]
    )
    iy = np.minimum(ann[:, None, 3], det[None, :, 3]) - np.maximum(
        ann[:, None, 1], det[None, :, 1]
    )
    inter = ix.clip(0) * iy.clip(0)
    area = ((ann[:, 2] - ann[:, 0]) * (ann[:, 3] - ann[:, 1]))[:, None]
    return (inter >= frac * np.maximum(area, 1)).any(axis=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--detector", required=True)
    ap.add_argument("--data", default="../shared/datasets/pcb-boards")
    ap.add_argument("--model", default="resources/models/default")
    ap.add_argument("--n", type=int, default=25, help="boards, evenly spread by name")
    ap.add_argument("--scale", type=float, default=None, help="detector scale")
    ap.add_argument("--score", type=float, default=None, help="score threshold")
    ap.add_argument("--cover", type=float, default=0.25)
    ap.add_argument("--pictures", default="build/pcb")
    ap.add_argument("--n-pictures", type=int, default=6)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = Path(args.data)
    images = sorted((data / "images").glob("*.jpg"))
    pick = np.linspace(0, len(images) - 1, min(args.n, len(images))).round().astype(int)
    det = LearnedDetector.from_folder(
        args.detector, scale=args.scale, score_threshold=args.score
    )
    clf = DefectClassifier.from_folder(args.model, device="cpu")
    pics = Path(args.pictures)
    pics.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, i in enumerate(pick):
        img = images[int(i)]
        ann, names = read_voc(data / "annotations" / f"{img.stem}.xml")
        t0 = time.perf_counter()
        board = inspect_board(img, detector=det, classifier=clf)
        secs = time.perf_counter() - t0
        dboxes = np.array(
            [
                [j.bbox.x, j.bbox.y, j.bbox.x + j.bbox.w, j.bbox.y + j.bbox.h]
                for j in board.joints
            ],
            np.float64,
        ).reshape(-1, 4)
        flag = np.array([r is not Region.NON_DEFECT for r in board.regions], bool)
        cov_any = covered(ann, dboxes, args.cover)
        cov_flag = covered(ann, dboxes[flag], args.cover)
        best_iou = (
            box_iou(ann, dboxes).max(axis=1) if len(dboxes) else np.zeros(len(ann))
        )
        rows.append(
            {
                "image": img.name,
                "joints": len(board.joints),
                "flagged": int(flag.sum()),
                "counts": board.counts(),
                "annotated": {n: names.count(n) for n in ("F", "P")},
                "covered_any": {
                    n: int(
                        sum(c for c, m in zip(cov_any, names, strict=False) if m == n)
                    )
                    for n in ("F", "P")
                },
                "covered_flagged": {
                    n: int(
                        sum(c for c, m in zip(cov_flag, names, strict=False) if m == n)
                    )
                    for n in ("F", "P")
                },
                "iou50_any": int((best_iou >= 0.5).sum()),
                "seconds": round(secs, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        if k < args.n_pictures:
            bgr = cv2.cvtColor(board_rgb(img), cv2.COLOR_RGB2BGR)
            for j, r in zip(board.joints, board.regions, strict=False):
                b = j.bbox
                cv2.rectangle(bgr, (b.x, b.y), (b.x + b.w, b.y + b.h), COLOURS[r], 2)
            for (x1, y1, x2, y2), n in zip(ann.astype(int), names, strict=False):
                cv2.rectangle(bgr, (x1 - 3, y1 - 3), (x2 + 3, y2 + 3), (255, 0, 255), 1)
                cv2.putText(
                    bgr,
                    n,
                    (x1, y1 - 5),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.5,
                    (255, 0, 255),
                    1,
                )
            cv2.imwrite(str(pics / f"{img.stem}_learned.png"), bgr)
    tot = {n: sum(r["annotated"][n] for r in rows) for n in ("F", "P")}
    summary = {
        "boards": len(rows),
        "annotated": tot,
        "covered_any": {
            n: sum(r["covered_any"][n] for r in rows) / max(1, tot[n]) for n in tot
        },
        "covered_flagged": {
            n: sum(r["covered_flagged"][n] for r in rows) / max(1, tot[n]) for n in tot
        },
        "covered_flagged_all": sum(sum(r["covered_flagged"].values()) for r in rows)
        / max(1, sum(tot.values())),
        "iou50_any": sum(r["iou50_any"] for r in rows) / max(1, sum(tot.values())),
        "joints_per_board": float(np.mean([r["joints"] for r in rows])),
        "flagged_per_board": float(np.mean([r["flagged"] for r in rows])),
        "flagged_fraction": sum(r["flagged"] for r in rows)
        / max(1, sum(r["joints"] for r in rows)),
        "median_seconds": float(np.median([r["seconds"] for r in rows])),
        "scale": det.scale,
        "score": det.score_threshold,
        "cover": args.cover,
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(
            json.dumps({"summary": summary, "boards": rows}, indent=1)
        )
    return 0


def board_rgb(path: Path) -> np.ndarray:
    from inference.image_io import load_image

    return load_image(path).rgb


if __name__ == "__main__":
    raise SystemExit(main())
