"""`soldernet compare`: the paper's Tables 1 and 2 for several architectures."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `compare` subcommand."""
    p = sub.add_parser(
        "compare", help="Tables 1 and 2 for several architectures on one split"
    )
    p.add_argument("--data", nargs="+", required=True, help="dataset folders")
    p.add_argument(
        "--archs",
        nargs="*",
        default=["attend_next_s", "mobilenet_v2"],
        help="architectures to train and compare (none: only --models)",
    )
    p.add_argument(
        "--models", nargs="+", default=[], help="already trained model folders to add"
    )
    p.add_argument("--epochs", type=int, default=5, help="fine-tune epochs per arch")
    p.add_argument("--lp-epochs", type=int, default=1, help="linear-probe epochs")
    p.add_argument("-b", "--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--latency-warmup", type=int, default=20)
    p.add_argument("--latency-runs", type=int, default=100)
    p.add_argument(
        "--table-size",
        type=int,
        default=256,
        help="input side of Table 1's FLOPs and timing (paper: 256)",
    )
    p.add_argument("--throughput-batch", type=int, default=32)
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--out", required=True, help="output folder (Markdown + JSON)")
    p.add_argument("--json", metavar="PATH", help="write the tables as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Train and compare with the parsed arguments; prints the Markdown tables."""
    from inference.compare import compare_architectures
    from inference.errors import InferenceError
    from inference.evaluation import jsonable
    from inference.training.train_classifier import TrainConfig

    base = TrainConfig(
        data=list(args.data),
        epochs=args.epochs,
        lp_epochs=args.lp_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        input_size=args.input_size,
        seed=args.seed,
        split_seed=args.split_seed,
        device=args.device,
        threads=args.threads,
        progress=args.progress,
    )
    try:
        result = compare_architectures(
            args.archs,
            args.data,
            args.out,
            base_config=base,
            device=args.device,
            latency_warmup=args.latency_warmup,
            latency_runs=args.latency_runs,
            throughput_batch=args.throughput_batch,
            threads=args.threads,
            models=args.models,
            table_input_size=args.table_size,
        )
    except InferenceError as exc:
        print(f"soldernet compare: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(result["markdown"])
    if args.json:
        out = {k: v for k, v in result.items() if k != "markdown"}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(jsonable(out), indent=2), "utf-8")
    return EXIT_OK
