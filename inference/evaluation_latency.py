"""Timing of a classifier: single-image latency and batch throughput.

`measure_latency` follows the paper's protocol (batch 1, 3x256x256, 20 warm-ups,
mean of 100 runs, algorithms.md §3.4); `measure_throughput` times batches;
`cpu_name` names the CPU they ran on. Re-exported by ``inference.evaluation``.
"""

from __future__ import annotations

import platform
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.errors import DataError

__all__ = ["cpu_name", "measure_latency", "measure_throughput"]


def cpu_name() -> str:
    """A human-readable name of the CPU (``/proc/cpuinfo`` model name when present)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device_of(model: nn.Module) -> torch.device:
    param = next(iter(model.parameters()), None)
    return param.device if param is not None else torch.device("cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(
    model: nn.Module,
    *,
    input_size: int = 256,
    warmup: int = 20,
    runs: int = 100,
    threads: int | None = None,
) -> dict[str, Any]:
    """Single-image latency by the paper's protocol (algorithms.md §3.4).

    Batch 1, ``3 x input_size x input_size``, ``model.eval()``, ``inference_mode``,
    ``warmup`` untimed runs then the mean (and median, std) of ``runs`` timed runs.

    Args:
        model: the network (timed on the device it is on).
        input_size: square input side (the paper: 256).
        warmup: untimed warm-up runs.
        runs: timed runs.
        threads: torch CPU threads during the measurement (None = current).

    Returns:
        ``mean_ms``, ``median_ms``, ``std_ms``, ``runs``, ``warmup``, ``threads``,
        ``device`` and ``cpu``.
    """
    if runs < 1:
        msg = f"runs must be >= 1, got {runs}"
        raise DataError(msg)
    device = _device_of(model)
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        model.eval()
        x = torch.rand(1, 3, input_size, input_size, device=device)
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            _sync(device)
            for _ in range(runs):
                t0 = time.perf_counter()
                model(x)
                _sync(device)
                times.append(time.perf_counter() - t0)
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    arr = np.asarray(times) * 1000.0
    return {
        "mean_ms": float(arr.mean()),
        "median_ms": float(np.median(arr)),
        "std_ms": float(arr.std()),
        "runs": runs,
        "warmup": warmup,
        "batch_size": 1,
        "input_size": input_size,
        "threads": used_threads,
        "device": str(device),
        "cpu": cpu_name(),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
    }


def measure_throughput(
    model: nn.Module,
    *,
    batch_size: int = 32,
    input_size: int = 256,
    warmup: int = 2,
    runs: int = 5,
    threads: int | None = None,
) -> dict[str, Any]:
    """Batch throughput (images per second) of a model.

    Args:
        model: the network.
        batch_size: images per forward pass.
        input_size: square input side.
        warmup: untimed runs.
        runs: timed runs (mean reported).
        threads: torch CPU threads during the measurement (None = current).

    Returns:
        ``images_per_s``, ``mean_ms_per_batch``, ``batch_size``, ``runs``, ``threads``.
    """
    device = _device_of(model)
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        model.eval()
        x = torch.rand(batch_size, 3, input_size, input_size, device=device)
        times = []
        with torch.inference_mode():
            for _ in range(warmup):
                model(x)
            _sync(device)
            for _ in range(max(1, runs)):
                t0 = time.perf_counter()
                model(x)
                _sync(device)
                times.append(time.perf_counter() - t0)
        used_threads = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    mean_s = float(np.mean(times))
    return {
        "images_per_s": batch_size / mean_s,
        "mean_ms_per_batch": mean_s * 1000.0,
        "batch_size": batch_size,
        "input_size": input_size,
        "runs": max(1, runs),
        "threads": used_threads,
        "device": str(device),
    }
