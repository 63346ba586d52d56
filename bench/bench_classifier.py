"""Benchmark: eager PyTorch vs ONNX Runtime on the same classifier, in one run.

Checks that both backends give the same probabilities (max abs difference <= 1e-3)
and reports, per backend, the batch-1 latency of the paper's protocol (20 warm-ups,
mean of 100 runs, 3x256x256) and the batch throughput.

Usage::

    .venv/bin/python bench/bench_classifier.py --arch attend_next_s --threads 2
    .venv/bin/python bench/bench_classifier.py --model MODEL_DIR --json b.json

Exit code 1 when the probabilities disagree.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inference.classifier import DefectClassifier, compare_backends  # noqa: E402
from inference.evaluation import cpu_name, jsonable  # noqa: E402

logger = logging.getLogger("bench_classifier")


def _latency(clf: DefectClassifier, warmup: int, runs: int) -> dict[str, float]:
    x = torch.rand(1, 3, clf.input_size, clf.input_size)
    for _ in range(warmup):
        clf.logits(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clf.logits(x)
        times.append(time.perf_counter() - t0)
    arr = np.asarray(times) * 1000.0
    return {
        "mean_ms": float(arr.mean()),
        "median_ms": float(np.median(arr)),
        "std_ms": float(arr.std()),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", help="model folder (default: a random-init --arch)")
    src.add_argument("--arch", default="attend_next_s", help="architecture")
    p.add_argument("--input-size", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--tolerance", type=float, default=1e-3)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model:
        clf = DefectClassifier.from_folder(args.model, device="cpu")
    else:
        from inference.architectures import build_model
        from inference.training.train_classifier import recompute_bn_stats

        torch.manual_seed(0)
        model = build_model(args.arch)
        # A fresh network in eval mode can answer (almost) the same logit for every
        # image; BatchNorm statistics from random images make the comparison count.
        g = torch.Generator().manual_seed(1)
        size = args.input_size
        noise = [(torch.rand(8, 3, size, size, generator=g), None) for _ in range(2)]
        recompute_bn_stats(model, noise, torch.device("cpu"), 2)
        clf = DefectClassifier(
            model.eval(),
            input_size=args.input_size,
            device="cpu",
            architecture=args.arch,
        )
    report = compare_backends(
        clf,
        n=max(16, args.batch_size),
        batch_size=args.batch_size,
        runs=max(3, args.runs // 20),
        warmup=2,
        tolerance=args.tolerance,
    )
    report["latency_batch1"] = {
        "torch": _latency(clf.with_backend("torch"), args.warmup, args.runs),
        "onnx": _latency(clf.with_backend("onnx"), args.warmup, args.runs),
        "protocol": f"batch 1, {args.warmup} warm-ups, mean of {args.runs} runs",
    }
    report["cpu"] = cpu_name()
    report["torch_version"] = torch.__version__
    import onnxruntime

    report["onnxruntime_version"] = onnxruntime.__version__
    lat = report["latency_batch1"]
    print(
        f"{report['architecture']} @ {report['input_size']}px, "
        f"{report['threads']} threads, {report['cpu']}\n"
        f"max |p_torch - p_onnx| = {report['max_abs_prob_diff']:.2e}, "
        f"max |logit diff| = {report['max_abs_logit_diff']:.2e}, "
        f"logit std {report['logit_std']:.3g} "
        f"(tolerance {args.tolerance:g}): {'OK' if report['agree'] else 'MISMATCH'}\n"
        f"batch 1 latency: torch {lat['torch']['mean_ms']:.2f} ms, "
        f"onnx {lat['onnx']['mean_ms']:.2f} ms\n"
        f"batch {args.batch_size} throughput: torch "
        f"{report['torch']['images_per_s']:.1f} img/s, "
        f"onnx {report['onnx']['images_per_s']:.1f} img/s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(jsonable(report), indent=2), "utf-8")
    return 0 if report["agree"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
