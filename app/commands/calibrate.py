"""`soldernet calibrate`: re-fit a model's temperature and review band."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `calibrate` subcommand."""
    p = sub.add_parser(
        "calibrate",
        help="re-fit temperature and t_lo/t_hi of a trained model (weights unchanged)",
    )
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument(
        "--data",
        nargs="+",
        default=None,
        help="dataset folder(s) (default: the datasets on the model card)",
    )
    p.add_argument(
        "--split",
        default="val",
        choices=["val", "all", "train", "test"],
        help="part of the group-aware split to fit on (all: a fresh labelled set)",
    )
    p.add_argument("--split-seed", type=int, default=None, help="default: the card's")
    p.add_argument("--e-max", type=float, default=0.0, help="target auto-escape")
    p.add_argument("--o-max", type=float, default=0.01, help="target auto-overkill")
    p.add_argument("--out", default=None, help="write here (default: in place)")
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    p.add_argument("--json", metavar="PATH", help="write before/after as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Re-calibrate with the parsed arguments and print before/after."""
    from inference.errors import InferenceError
    from inference.recalibrate import recalibrate

    try:
        result = recalibrate(
            args.model,
            args.data,
            split=args.split,
            split_seed=args.split_seed,
            e_max=args.e_max,
            o_max=args.o_max,
            out=args.out,
            device=args.device,
        )
    except InferenceError as exc:
        print(f"soldernet calibrate: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(
        f"{result['model_dir']}: fitted on {result['split']} "
        f"(n={result['n']}, {result['defective']} defective)"
    )
    print("            temperature    t_lo    t_hi    ECE  review  max conf. of errors")
    for name in ("before", "after"):
        s = result[name]
        worst = s["max_confidence_of_errors"]
        worst_text = "no errors" if worst is None else f"{worst:.6f}"
        print(
            f"  {name:7s} {s['temperature']:13.4g} {s['t_lo']:7.3f} {s['t_hi']:7.3f} "
            f"{s['ece']:6.4f} {s['review_rate']:7.1%}  {worst_text}"
        )
    if not result["feasible"]:
        print("warning: the escape/overkill targets are not met on this data")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return EXIT_OK
