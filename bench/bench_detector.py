"""Benchmark: recipe-mode joint detector on held-out synthetic boards.

    .venv/bin/python bench/bench_detector.py [--n 10] [--size 4000x3000] [--seed 77]

Renders `n` boards with the board renderer (`inference.synth.boards`, seeds
``board_seed(seed, i)``, not used by the tests), round-trips each through JPEG q90
(as `soldernet synth boards` writes them) and runs `RecipeDetector` on the RGB
image. Reports, against the renderer's ground truth:

- registration error (px): distance between the estimated and the true
  board -> image transform, at every joint centre and at the fiducials;
- recall / precision at IoU 0.5: a detection counts when its box overlaps the
  truth box *of the same joint* (refdes, pin) with IoU >= 0.5;
- ms per board for `detect` (wall clock and process CPU time, OpenCV on
  `--threads`; wall clock suffers on a loaded machine, CPU time less), and for
  `crop_joints` of all joints (256 px).

Prints a summary and one JSON line (also written to `--json`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2
import numpy as np

from inference.crops import crop_joints
from inference.detector import RecipeDetector
from inference.registration import RegistrationError
from inference.synth.boards import BoardConfig, board_seed, render_board
from inference.synth.recipe import project_points


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints a summary and one JSON line."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--size", default="4000x3000")
    p.add_argument("--seed", type=int, default=77)
    p.add_argument("--style", default="mixed")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality; 0 = none")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    cv2.setNumThreads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    cfg = BoardConfig(width=w, height=h, style=args.style)

    reg_err_mean, reg_err_max, fid_err, det_ms, crop_ms = [], [], [], [], []
    det_cpu_ms: list[float] = []
    tp = n_det = n_truth = 0
    refined = refused = 0
    styles: dict[str, int] = {}
    for i in range(args.n):
        board = render_board(board_seed(args.seed, i), cfg)
        img = board.image
        if args.quality > 0:
            ok, buf = cv2.imencode(
                ".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, args.quality]
            )
            assert ok
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        rgb = img if img.ndim == 2 else np.ascontiguousarray(img[:, :, ::-1])
        styles[board.style] = styles.get(board.style, 0) + 1
        det = RecipeDetector(board.recipe)
        n_truth += len(board.joints)
        t0 = time.perf_counter()
        c0 = time.process_time()
        try:
            res = det.detect(rgb)
        except RegistrationError as exc:
            refused += 1
            print(f"board {i}: refused: {exc}")
            continue
        det_ms.append((time.perf_counter() - t0) * 1e3)
        det_cpu_ms.append((time.process_time() - c0) * 1e3)
        reg = res.registration
        assert reg is not None
        refined += int(reg.refined)
        centres = np.array(
            [
                [j.box[0] + j.box[2] / 2, j.box[1] + j.box[3] / 2]
                for j in board.recipe.joints
            ]
        )
        err = np.linalg.norm(
            project_points(centres, reg.homography)
            - project_points(centres, board.homography),
            axis=1,
        )
        reg_err_mean.append(float(err.mean()))
        reg_err_max.append(float(err.max()))
        fids = np.array([[f.x, f.y] for f in board.recipe.fiducials])
        fid_err.append(
            float(
                np.linalg.norm(
                    project_points(fids, reg.homography)
                    - project_points(fids, board.homography),
                    axis=1,
                ).max()
            )
        )
        truth = {(t.refdes, t.pin): t.box for t in board.joints}
        n_det += len(res.joints)
        for jb in res.joints:
            tb = truth.get((jb.refdes, jb.pin))
            b = jb.bbox
            if tb is not None and _iou((b.x, b.y, b.w, b.h), tb) >= 0.5:
                tp += 1
        t1 = time.perf_counter()
        crop_joints(rgb, res.joints, size=256)
        crop_ms.append((time.perf_counter() - t1) * 1e3)
        print(
            f"board {i}: {board.style:5s} {len(res.joints):4d} joints, "
            f"reg err mean {err.mean():.2f} max {err.max():.2f} px, "
            f"residual {reg.residual_px:.2f} px, refined={reg.refined} "
            f"({reg.n_matches} matches), detect {det_ms[-1]:.0f} ms, "
            f"crops {crop_ms[-1]:.0f} ms"
        )
    result = {
        "size": [w, h],
        "boards": args.n,
        "styles": styles,
        "refused": refused,
        "refined": refined,
        "reg_err_px_mean": round(statistics.mean(reg_err_mean), 3) if det_ms else None,
        "reg_err_px_max": round(max(reg_err_max), 3) if det_ms else None,
        "fiducial_err_px_max": round(max(fid_err), 3) if det_ms else None,
        "recall_iou50": round(tp / max(1, n_truth), 4),
        "precision_iou50": round(tp / max(1, n_det), 4),
        "joints_truth": n_truth,
        "detect_ms_median": round(statistics.median(det_ms), 1) if det_ms else None,
        "detect_cpu_ms_median": (
            round(statistics.median(det_cpu_ms), 1) if det_cpu_ms else None
        ),
        "crop_ms_median": round(statistics.median(crop_ms), 1) if crop_ms else None,
        "threads": args.threads,
    }
    print(
        f"registration error mean {result['reg_err_px_mean']} px, max "
        f"{result['reg_err_px_max']} px "
        f"(fiducials max {result['fiducial_err_px_max']}); "
        f"recall@0.5 {result['recall_iou50']}, precision@0.5 "
        f"{result['precision_iou50']}; {result['detect_ms_median']} ms/board detect "
        f"({result['detect_cpu_ms_median']} ms CPU), "
        f"{result['crop_ms_median']} ms crops ({refined}/{args.n} refined, "
        f"{refused} refused)"
    )
    line = json.dumps(result)
    print(line)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
