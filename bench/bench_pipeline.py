"""Benchmark: one large board through the whole pipeline into a SQLite file.

    .venv/bin/python bench/bench_pipeline.py [--model DIR] [--size 4000x3000]
        [--joints 300] [--threads 2] [--explain 3] [--json out.json]

Renders a synthetic board (`inference.synth.boards.render_board`) of ``--size``
with about ``--joints`` joints, writes it as JPEG q90 with its recipe, and runs
`app.inspection_runner.InspectionRunner` on it (the code path of `soldernet
inspect` and of the GUI worker) into a fresh SQLite file. Reports:

- seconds per stage: load (decode + SHA-256), detect (fiducial registration),
  crop, classify (all joints, batches of 64), persist (crops of the joints a
  person sees + DB rows), on ``--threads`` torch/OpenCV threads;
- first-explanation latency after the board is persisted (the time until the
  first joint of the review queue is reviewable with its explanation) and seconds
  per explanation (spec knobs, or ``--fast``);
- peak resident memory of the process (``resource.getrusage``).

Without ``--model`` a randomly initialised MobileNetV3-Small with 256 px input is
used (no shipped model yet): the timings depend on the architecture, not on the
weights; with random weights every joint lands in one region.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import cv2
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.inspection_runner import InspectionRunner
from db import open_database
from inference.synth.boards import BoardConfig, render_board

log = logging.getLogger("bench_pipeline")


def _board(folder: Path, size: str, joints: int, seed: int) -> tuple[Path, Path, int]:
    w, h = (int(v) for v in size.lower().split("x"))
    n_components = max(4, joints // 3)
    board = None
    for _ in range(6):  # adjust the component count towards the joint target
        board = render_board(
            seed, BoardConfig(width=w, height=h, n_components=n_components)
        )
        n = len(board.recipe.joints)
        if abs(n - joints) <= joints * 0.1:
            break
        n_components = max(4, round(n_components * joints / max(1, n)))
    assert board is not None
    image = folder / "board.jpg"
    img = board.image
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(image), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    recipe = board.recipe.save(folder / "board.json")
    return image, Path(recipe), len(board.recipe.joints)


def _model(folder: Path | None, tmp: Path) -> Path:
    if folder is not None:
        return folder
    from inference.architectures import build_model
    from inference.model_card import ModelCard, save_model

    torch.manual_seed(0)
    out = tmp / "model"
    save_model(
        build_model("mobilenet_v3_small"),
        out,
        ModelCard(architecture="mobilenet_v3_small", input_size=256, version="bench"),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--joints", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--explain", type=int, default=3, help="explanations to time")
    ap.add_argument("--fast", action="store_true", help="cheaper explainer knobs")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="onnx",
        help="classifier backend (the station uses onnx on CPU)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        # Rendered in a child process so its memory stays out of the peak RSS.
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            image, recipe, n_recipe = pool.apply(
                _board, (tmp, args.size, args.joints, args.seed)
            )
        render_s = time.perf_counter() - t0
        model = _model(args.model, tmp)
        with open_database(tmp / "bench.db") as db:
            t0 = time.perf_counter()
            runner = InspectionRunner.from_model_folder(
                db,
                model,
                artefact_dir=tmp / "art",
                fast_explain=args.fast,
                max_explanations=args.explain,
                backend=args.backend,
            )
            model_s = time.perf_counter() - t0
            rss_model_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
            # warm-up (first-call allocations), then the timed run
            runner.inspect(image, recipe=recipe, explain=False, serial="warmup")
            result = runner.inspect(image, recipe=recipe, force=True, serial="timed")
        if result.status != "done":
            print(f"board failed: {result.error}", file=sys.stderr)
            return 1
        t = result.timings
        n_expl = max(1, result.n_explained)
        out = {
            "size": args.size,
            "recipe_joints": n_recipe,
            "joints": result.n_joints,
            "regions": result.regions,
            "threads": args.threads,
            "backend": args.backend,
            "model": str(args.model) if args.model else "random mobilenet_v3_small@256",
            "render_board_s": render_s,
            "load_model_s": model_s,
            "load_s": t.get("load", 0.0),
            "detect_s": t.get("detect", 0.0),
            "crop_s": t.get("crop", 0.0),
            "classify_s": t.get("classify", 0.0),
            "detect_plus_classify_s": t.get("detect", 0.0)
            + t.get("crop", 0.0)
            + t.get("classify", 0.0),
            "persist_s": t.get("persist", 0.0),
            "first_explanation_s": t.get("first_explanation"),
            "explanations": result.n_explained,
            "explain_s_per_joint": t.get("explain", 0.0) / n_expl,
            "explainer": "fast" if args.fast else "spec defaults",
            "board_total_s": result.seconds,
            "rss_after_model_load_mb": rss_model_mb,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }
    print(
        f"{out['joints']} joints on a {args.size} board, {args.threads} threads, "
        f"{args.backend} classifier: "
        f"load {out['load_s']:.2f} s, detect {out['detect_s']:.2f} s, crop "
        f"{out['crop_s']:.2f} s, classify {out['classify_s']:.2f} s, persist "
        f"{out['persist_s']:.2f} s; first explanation "
        f"{out['first_explanation_s'] or float('nan'):.2f} s after persisting "
        f"({out['explain_s_per_joint']:.2f} s each, {out['explainer']}); "
        f"peak RSS {out['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps(out))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
