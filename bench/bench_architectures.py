"""Table 1 of the SolderNet paper, re-measured: parameters, MACs, latency, throughput.

Protocol (algorithms.md §3.4): one-logit head, input 3x256x256, ``model.eval()``,
``torch.inference_mode()``, fixed ``torch.set_num_threads``, 20 warm-up runs, mean of
100 timed runs at batch 1 (median and std also shown), and batch-32 throughput.
MACs count Conv2d (any groups) and Linear layers with forward hooks
(`inference.flops`).

Usage::

    .venv/bin/python bench/bench_architectures.py --threads 2
    .venv/bin/python bench/bench_architectures.py --models attend_next_s mobilenet_v2 \
        --runs 100 --big-runs 10 --throughput-runs 2

Weights are random (latency does not depend on them); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from inference.architectures import ARCHITECTURES, architecture_names, build_model
from inference.flops import count_macs, count_params

BIG = {"convnext_tiny", "convnext_small", "convnext_base"}


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or platform)."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def time_runs(
    model: torch.nn.Module, x: torch.Tensor, warmup: int, runs: int
) -> list[float]:
    """Seconds per forward pass of ``runs`` timed runs after ``warmup`` untimed ones."""
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t0)
    return times


def fmt(value: float | None, digits: int = 3) -> str:
    """Number or 'n/a in spec'."""
    return "n/a in spec" if value is None else f"{value:.{digits}f}"


def deviation(measured: float, paper: float | None) -> str:
    """Relative deviation, flagged when beyond 5 %."""
    if paper is None:
        return "–"
    dev = (measured - paper) / paper * 100
    flag = " ⚠" if abs(dev) > 5 else ""
    return f"{dev:+.1f} %{flag}"


def main() -> None:
    """Run the benchmark and print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="*", default=architecture_names())
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--runs", type=int, default=100, help="timed batch-1 runs")
    ap.add_argument(
        "--big-runs",
        type=int,
        default=None,
        help="timed batch-1 runs for ConvNeXt models",
    )
    ap.add_argument("--big-warmup", type=int, default=None)
    ap.add_argument("--batch", type=int, default=32, help="throughput batch size")
    ap.add_argument("--throughput-runs", type=int, default=3, help="0 skips throughput")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"CPU: {cpu_model()} | torch {torch.__version__} | threads {args.threads} | "
        f"input 3x{args.size}x{args.size} | warm-up {args.warmup}, runs {args.runs}"
        + (
            f" (ConvNeXt: {args.big_warmup or args.warmup}/{args.big_runs})"
            if args.big_runs
            else ""
        )
    )
    rows = []
    for name in args.models:
        info = ARCHITECTURES[name]
        model = build_model(name).eval()
        params = count_params(model)
        gmacs = count_macs(model, (args.size, args.size)).gmacs
        big = name in BIG
        runs = args.big_runs if big and args.big_runs else args.runs
        warmup = args.big_warmup if big and args.big_warmup is not None else args.warmup
        x1 = torch.rand(1, 3, args.size, args.size)
        t = time_runs(model, x1, warmup, runs)
        mean_ms = statistics.fmean(t) * 1e3
        med_ms = statistics.median(t) * 1e3
        std_ms = statistics.pstdev(t) * 1e3
        thr = None
        if args.throughput_runs > 0:
            xb = torch.rand(args.batch, 3, args.size, args.size)
            tb = time_runs(model, xb, 1, args.throughput_runs)
            thr = args.batch / statistics.fmean(tb)
        rows.append((name, info, params, gmacs, mean_ms, med_ms, std_ms, runs, thr))
        print(f"  done {name}: {mean_ms:.1f} ms", flush=True)

    print()
    print(
        "| model | params (M) | paper params (M) | GMACs @256 | paper GFLOPs @256 | "
        "Δ MACs vs paper | latency b1 mean / median ± std (ms) | runs | "
        f"throughput b{args.batch} (img/s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, info, params, gmacs, mean_ms, med_ms, std_ms, runs, thr in rows:
        label = info.label
        print(
            f"| {label} (`{name}`) | {params / 1e6:.3f} | {fmt(info.paper_params_m)} | "
            f"{gmacs:.3f} | {fmt(info.paper_gflops)} | "
            f"{deviation(gmacs, info.paper_gflops)} "
            f"| {mean_ms:.1f} / {med_ms:.1f} ± {std_ms:.1f} | {runs} | "
            f"{'–' if thr is None else f'{thr:.1f}'} |"
        )


if __name__ == "__main__":
    main()
