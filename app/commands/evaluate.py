"""`soldernet evaluate`: metrics of a model on a dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `evaluate` subcommand."""
    p = sub.add_parser(
        "evaluate", help="accuracy, overkill, escape, trust, latency of a model"
    )
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument(
        "--data", nargs="+", required=True, help="dataset folder(s) (manifest.csv)"
    )
    p.add_argument(
        "--split",
        default="all",
        choices=["all", "train", "val", "test"],
        help="evaluate all images or one split of the group-aware 60/20/20 split",
    )
    p.add_argument("--split-seed", type=int, default=0, help="seed of that split")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--backend",
        default="auto",
        choices=["auto", "torch", "onnx"],
        help="classifier runtime (auto: ONNX Runtime on CPU when its probabilities "
        "agree with PyTorch within 1e-3, else PyTorch)",
    )
    p.add_argument("-b", "--batch-size", type=int, default=64)
    p.add_argument(
        "--prevalence",
        type=float,
        default=1e-3,
        help="production defect prevalence for re-weighted rates (default 1000 PPM)",
    )
    p.add_argument("--alpha", type=float, default=1.0, help="trust reward exponent")
    p.add_argument("--beta", type=float, default=1.0, help="trust penalty exponent")
    p.add_argument("--ece-bins", type=int, default=15)
    p.add_argument("--no-latency", dest="latency", action="store_false")
    p.add_argument("--latency-warmup", type=int, default=20)
    p.add_argument("--latency-runs", type=int, default=100)
    p.add_argument(
        "--latency-size",
        type=int,
        default=None,
        help="input side for the latency protocol (default: the model's; paper: 256)",
    )
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--plots", metavar="DIR", help="write PNG plots into DIR")
    p.add_argument(
        "--predictions", action="store_true", help="include per-image p in the JSON"
    )
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--json", metavar="PATH", help="write the metrics as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate with the parsed arguments; prints a summary."""
    from inference.errors import InferenceError
    from inference.evaluation import evaluate_model, jsonable

    try:
        r = evaluate_model(
            args.model,
            args.data,
            split=args.split,
            split_seed=args.split_seed,
            device=args.device,
            backend=args.backend,
            batch_size=args.batch_size,
            prevalence=args.prevalence,
            alpha=args.alpha,
            beta=args.beta,
            ece_bins=args.ece_bins,
            latency=args.latency,
            latency_warmup=args.latency_warmup,
            latency_runs=args.latency_runs,
            latency_input_size=args.latency_size,
            threads=args.threads,
            plots_dir=args.plots,
            progress=args.progress,
            include_predictions=args.predictions,
        )
    except InferenceError as exc:
        print(f"soldernet evaluate: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(format_summary(r))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(jsonable(r), indent=2), "utf-8")
    return EXIT_OK


def _f(v: object, pct: bool = False) -> str:
    if not isinstance(v, (int, float)) or v != v:
        return "n/a"
    return f"{100 * v:.2f} %" if pct else f"{v:.4f}"


def format_summary(r: dict) -> str:
    """Human-readable summary of an evaluation result."""
    tr = r["trust"]
    reg = r["regions"]
    lines = [
        f"model {r['model']['folder']} ({r['model']['architecture']}) on "
        f"{', '.join(r['data']['folders'])} [{r['data']['split']}]: "
        f"{r['n']} images ({r['n_defective']} defective)",
        f"accuracy {_f(r['accuracy'], True)}  overkill {_f(r['overkill'], True)}  "
        f"escape {_f(r['escape'], True)}  (threshold 0.5)",
        f"sensitivity {_f(r['sensitivity'])}  specificity {_f(r['specificity'])}  "
        f"AUROC {_f(r['auroc'])}  ECE {_f(r['ece'])}  Brier {_f(r['brier'])}",
        f"NetTrustScore {_f(tr['net_trust_score'])}  spectrum "
        f"ND {_f(tr['spectrum']['0'])} D {_f(tr['spectrum']['1'])}  "
        f"trust matrix {tr['matrix']} counts {tr['counts']}",
        f"regions (t_lo {reg['t_lo']:.4f}, t_hi {reg['t_hi']:.4f}): "
        f"defect {_f(reg['auto_defect_rate'], True)}, "
        f"review {_f(reg['review_rate'], True)}, "
        f"pass {_f(reg['auto_pass_rate'], True)}; "
        f"auto-escape {_f(reg['auto_escape'], True)}, "
        f"auto-overkill {_f(reg['auto_overkill'], True)}",
    ]
    prod = r.get("production")
    if prod:
        lines.append(
            f"at prevalence {prod['prevalence']:g}: "
            f"escape {prod['escape_ppm']:.0f} PPM, "
            f"overkill {prod['overkill_ppm']:.0f} PPM, "
            f"review {_f(prod.get('review_rate'), True)}"
        )
    lat = r.get("latency")
    if lat:
        where = lat["cpu"] if lat["device"] == "cpu" else lat["gpu"]
        lines.append(
            f"latency {lat['mean_ms']:.2f} ms (median {lat['median_ms']:.2f}, batch 1, "
            f"{lat['threads']} threads, {where}"
            f"); throughput {r['throughput']['images_per_s']:.1f} img/s "
            f"(batch {r['throughput']['batch_size']})"
        )
    types = r.get("by_defect_type") or {}
    if len(types) > 1:
        lines.append(
            "flagged at 0.5 by defect type: "
            + ", ".join(
                f"{k} {_f(v['flagged_rate'], True)} (n={v['n']})"
                for k, v in types.items()
            )
        )
    if r.get("skipped"):
        lines.append(f"skipped {len(r['skipped'])} unreadable image(s)")
    if r.get("plots"):
        lines.append("plots: " + ", ".join(r["plots"].values()))
    return "\n".join(lines)
