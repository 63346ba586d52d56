"""`soldernet detector train|evaluate`: the recipe-free (learned) joint detector.

``train`` renders synthetic boards and trains `inference.learned_detector` on tiles
of them, writing a detector folder (``detector.safetensors`` + ``detector.json``);
``evaluate`` renders held-out boards (other seeds) and prints recall / precision at
IoU 0.5 and seconds per board. `soldernet inspect --detector FOLDER` uses a folder
for boards without a recipe.

Nothing heavy is imported at module level (building the parser imports no torch).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if not (64 <= w <= 12000 and 64 <= h <= 12000):
        msg = f"expected WxH within 64..12000 px, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return w, h


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `detector` subcommand and its actions."""
    p = sub.add_parser(
        "detector", help="train / evaluate the learned (recipe-free) joint detector"
    )
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    t = acts.add_parser("train", help="train on synthetic boards, write a folder")
    t.add_argument("--out", required=True, help="detector folder to write")
    t.add_argument("--steps", type=int, default=1500, help="optimiser steps")
    t.add_argument("--batch", type=int, default=4, help="tiles per step")
    t.add_argument("--boards", type=int, default=40, help="training boards")
    t.add_argument("--seed", type=int, default=1, help="board seed (training set)")
    t.add_argument("--size", type=_size, default=(1600, 1200), help="board WxH")
    t.add_argument("--tile", type=int, default=512, help="tile side in px")
    t.add_argument("--width", type=int, default=64, help="backbone channels")
    t.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    t.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="wall-time budget: the cosine schedule ends at it (or at --steps)",
    )
    t.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    t.add_argument("--json", metavar="PATH", help="write the card as JSON")
    e = acts.add_parser("evaluate", help="recall / precision on held-out boards")
    e.add_argument("folder", help="detector folder")
    e.add_argument("--n", type=int, default=10, help="held-out boards")
    e.add_argument("--seed", type=int, default=77, help="board seed (held out)")
    e.add_argument("--size", type=_size, default=(1600, 1200), help="board WxH")
    e.add_argument("--score", type=float, default=None, help="score threshold")
    e.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    e.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    p.set_defaults(handler=run)


def _say(message: str) -> None:
    print(f"soldernet detector: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run `detector train` or `detector evaluate`."""
    if args.action not in ("train", "evaluate"):
        _say("give an action: train or evaluate")
        return EXIT_USAGE
    import torch

    if args.threads:
        torch.set_num_threads(max(1, int(args.threads)))
    from app.commands.explain import write_json
    from inference.errors import InferenceError

    try:
        if args.action == "train":
            return _train(args, write_json)
        return _evaluate(args, write_json)
    except (InferenceError, OSError) as exc:
        _say(str(exc))
        return EXIT_FAILURE


def _train(args: argparse.Namespace, write_json: Any) -> int:
    from dataclasses import asdict

    from inference.detector_training import TrainConfig, train_detector
    from inference.learned_detector import save_detector

    if args.steps < 1 or args.batch < 1 or args.boards < 1:
        _say("--steps, --batch and --boards must be at least 1")
        return EXIT_USAGE
    cfg = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        boards=args.boards,
        seed=args.seed,
        board_size=args.size,
        tile=args.tile,
        overlap=max(16, args.tile // 4),
        width=args.width,
        lr=args.lr,
        max_seconds=args.max_minutes * 60 if args.max_minutes else None,
    )
    model, card = train_detector(cfg, progress=lambda m: print(m, flush=True))
    folder = save_detector(model, card, args.out)
    print(f"detector written to {folder} ({card.training['seconds']:.0f} s)")
    write_json(args.json, asdict(card))
    return EXIT_OK


def _evaluate(args: argparse.Namespace, write_json: Any) -> int:
    from inference.detector_training import evaluate_detector
    from inference.learned_detector import LearnedDetector
    from inference.synth.boards import board_seed

    if args.n < 1:
        _say("--n must be at least 1")
        return EXIT_USAGE
    det = LearnedDetector.from_folder(args.folder, score_threshold=args.score)
    seeds = [board_seed(args.seed, i) for i in range(args.n)]
    rep = evaluate_detector(det, seeds, args.size, progress=print)
    per = ", ".join(
        f"{k} recall {v['recall']:.4f} ({v['joints']} joints)"
        for k, v in rep["per_type"].items()
    )
    print(
        f"{rep['boards']} boards {args.size[0]}x{args.size[1]}: {rep['joints']} "
        f"joints, recall {rep['recall']:.4f}, precision {rep['precision']:.4f} at "
        f"IoU 0.5; {per}; type accuracy {rep['type_accuracy']:.4f}; "
        f"median {rep['median_seconds']:.2f} s/board ({rep['threads']} thread(s))"
    )
    write_json(
        args.json, {"folder": str(args.folder), "score": det.score_threshold, **rep}
    )
    return EXIT_OK
