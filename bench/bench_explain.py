"""Cost of one explanation (algorithms.md §1.6): ms per 256×256 crop, passes counted.

Explains a few synthetic joint crops with CFI (spec defaults unless `--config` /
`--fast`), Grad-CAM and occlusion, without the cache, on a fixed number of CPU threads
(default 2), and reports per method the mean and median milliseconds per
explanation, the forwards and backwards per explanation, and the time of one batch-1
forward pass so the cost can be read in forward equivalents.

CFI runs side by side on the same images, interleaved image by image so that they
share the machine's load (`Explainer`, no cache): `torch-eager` (the reference: eager
torch for everything), `torch+fold` (IG on the batch-norm-folded, chunked,
channels-last copy) and `<backend>+fold` (`--backend onnx|auto`: the search forwards
through onnxruntime). For each fast variant it prints the time ratio to the
reference and whether the chosen regions, the flip and the forward count are the
same, with the largest heat-map and logit differences; the load average is printed
at start and end (`--threads 1` on a shared machine).

Usage::

    .venv/bin/python bench/bench_explain.py --model resources/models/default \
        --n 6 --threads 1 --cfi-only --backend onnx
    .venv/bin/python bench/bench_explain.py --arch mobilenet_v3_small \
        --pretrained /work/shared/weights/mobilenet_v3_small_imagenet.pth --n 3

Without `--model` a stand-in model folder is made in a temporary folder: the
architecture (`--arch`, optionally with an ImageNet backbone `--pretrained`) and a
linear probe fitted on synthetic joints as the one-logit head, so that its decision
depends on the image (a random head gives a constant logit, and CFI's search cost
depends on when the decision flips). The numbers are then *cost* numbers, not
explanation quality.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

log = logging.getLogger("bench_explain")

SHARED_WEIGHTS = Path("/work/shared/weights")


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or platform)."""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fit_probe_head(model: nn.Module, xs: torch.Tensor, ys: np.ndarray) -> float:
    """Fit the last Linear layer as a logistic-regression probe; returns train acc."""
    from sklearn.linear_model import LogisticRegression

    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    got: dict[str, torch.Tensor] = {}
    hook = head.register_forward_hook(lambda _m, i, _o: got.__setitem__("x", i[0]))
    with torch.inference_mode():
        model(xs)
    hook.remove()
    feats = got["x"].double().numpy()
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(feats, ys)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(lr.coef_).to(head.weight.dtype))
        head.bias.copy_(torch.from_numpy(lr.intercept_).to(head.bias.dtype))
    return float(lr.score(feats, ys))


def make_model_folder(
    arch: str, pretrained: str | None, size: int, folder: Path, n_probe: int
) -> dict[str, Any]:
    """Stand-in model folder: backbone + probe head fitted on synthetic joints."""
    from inference.architectures import build_model
    from inference.datasets import read_manifest
    from inference.model_card import save_model
    from inference.preprocessing import EvalPreset, load_image
    from inference.synth import generate_joint_dataset

    torch.manual_seed(0)
    model = build_model(arch, pretrained_path=pretrained).eval()
    data = folder.parent / "probe_data"
    generate_joint_dataset(data, n_probe, 123, size=size)
    rows = read_manifest(data)
    preset = EvalPreset(size=size)
    xs = torch.stack([preset(load_image(r.path)) for r in rows])
    ys = np.array([r.label for r in rows])
    acc = fit_probe_head(model, xs, ys)
    save_model(
        model,
        folder,
        {
            "architecture": arch,
            "input_size": size,
            "notes": "bench stand-in: linear probe on synthetic joints",
        },
    )
    return {"probe_train_accuracy": acc, "pretrained": pretrained, "n_probe": n_probe}


class IGTimer:
    """Accumulates the wall time of `cfi.integrated_gradients` (bench instrumentation:
    the explainer calls it through the module attribute, which this wraps)."""

    def __init__(self) -> None:
        import inference.explain.cfi as cfi_module

        self.seconds = 0.0
        inner = cfi_module.integrated_gradients

        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(*a, **k)
            finally:
                self.seconds += time.perf_counter() - t0

        cfi_module.integrated_gradients = timed


def cfi_variants(backend: str) -> dict[str, tuple[str, bool]]:
    """CFI runs to put side by side: name -> (Explainer backend, fold batch norm).

    `torch-eager` is the reference (the explainer before the fast paths); then the
    batch-norm fold alone, then the requested backend with the fold.
    """
    out = {"torch-eager": ("torch", False), "torch+fold": ("torch", True)}
    if backend != "torch":
        out[f"{backend}+fold"] = (backend, True)
    return out


def compare_results(results: dict[str, Any]) -> dict[str, Any]:
    """How every variant's result differs from the first (the reference)."""
    names = list(results)
    ref = results[names[0]]
    out: dict[str, Any] = {}
    for name in names[1:]:
        r = results[name]
        out[name] = {
            "same_regions": r.selected_region_ids == ref.selected_region_ids,
            "same_flipped": r.flipped == ref.flipped,
            "same_mask": bool(np.array_equal(r.mask, ref.mask)),
            "same_forwards": r.n_forward == ref.n_forward,
            "heatmap_max_abs_diff": float(
                np.max(np.abs(r.heatmap.astype(np.float64) - ref.heatmap))
            )
            if r.heatmap is not None and ref.heatmap is not None
            else 0.0,
            "logit_before_diff": abs(r.logit_before - ref.logit_before),
            "logit_after_diff": abs(r.logit_after - ref.logit_after),
            "ig_delta": (ref.ig_delta, r.ig_delta),
        }
    return out


def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return the numbers."""
    from inference.datasets import read_manifest
    from inference.explain import GradCAM, Occlusion
    from inference.explain.runner import (
        Explainer,
        config_from_overrides,
        load_explain_model,
        load_input,
    )
    from inference.synth import generate_joint_dataset

    torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="bench_explain_"))
    stand_in: dict[str, Any] | None = None
    folder = Path(args.model) if args.model else tmp / "model"
    if not args.model:
        pretrained = args.pretrained
        default = SHARED_WEIGHTS / f"{args.arch}_imagenet.pth"
        if pretrained is None and default.is_file():
            pretrained = str(default)
        stand_in = make_model_folder(
            args.arch, pretrained, args.size, folder, args.n_probe
        )
    em = load_explain_model(folder, device="cpu")
    size = em.preset.size
    cfg = config_from_overrides(args.config, fast=args.fast)
    data = tmp / "images"
    if args.data:
        rows = read_manifest(args.data, check_files=False)[: args.n]
    else:
        # Crops at the camera size (default 256²); the model card's preset resizes
        # them to its input size, as on the station.
        generate_joint_dataset(
            data, args.n, args.seed, size=args.image_size or size, defect_rate=0.5
        )
        rows = read_manifest(data)
    xs = [load_input(r.path, em.preset) for r in rows]
    model = em.model
    layer = em.layer(cfg)
    with torch.inference_mode():
        for _ in range(3):
            model(xs[0])
        t0 = time.perf_counter()
        for _ in range(10):
            model(xs[0])
        fwd_ms = (time.perf_counter() - t0) / 10 * 1000
        batch = torch.cat([xs[0]] * cfg.batch_size)
        t0 = time.perf_counter()
        model(batch)
        fwd_batched_ms = (time.perf_counter() - t0) / cfg.batch_size * 1000
    variants = cfi_variants(args.backend)
    explainers = {
        name: Explainer(em, cfg, backend=be, fold_bn=fold)
        for name, (be, fold) in variants.items()
    }
    prep_ms: dict[str, float] = {}
    used: dict[str, str] = {}
    for name, ex in explainers.items():
        t0 = time.perf_counter()
        used[name] = ex.prepare()
        prep_ms[name] = (time.perf_counter() - t0) * 1000
    ig_timer = IGTimer()
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    if not args.cfi_only:
        rows["gradcam"] = []
        rows["occlusion"] = []
    gc = GradCAM(model, layer if layer is not None else "auto")
    occ = Occlusion(model, window=max(2, size // 8), stride=max(1, size // 16), cfg=cfg)
    agreement: list[dict[str, Any]] = []
    for i, x in enumerate(xs):
        results = {}
        # Variants interleaved per image, so they share the machine's load.
        for name, ex in explainers.items():
            ig0 = ig_timer.seconds
            r, seconds, _ = ex.explain(x)
            ig_ms = (ig_timer.seconds - ig0) * 1000
            results[name] = r
            ms = seconds * 1000
            rows[name].append(
                {
                    "ms": ms,
                    "n_forward": r.n_forward,
                    "n_backward": r.n_backward,
                    "flipped": float(r.flipped),
                    "budget_exhausted": float(r.budget_exhausted),
                    "area_frac": r.area_frac,
                    "p": r.p_before,
                    "ig_ms": ig_ms,
                }
            )
            log.info(
                "image %d %-12s %7.0f ms, %d fwd, %d bwd, p=%.3f, flipped=%s%s",
                i,
                name,
                ms,
                r.n_forward,
                r.n_backward,
                r.p_before,
                r.flipped,
                " (budget spent)" if r.budget_exhausted else "",
            )
        agreement.append(compare_results(results))
        if args.cfi_only:
            continue
        f0, b0 = gc.n_forward, gc.n_backward
        t0 = time.perf_counter()
        gc.attribute(x)
        rows["gradcam"].append(
            {
                "ms": (time.perf_counter() - t0) * 1000,
                "n_forward": gc.n_forward - f0,
                "n_backward": gc.n_backward - b0,
            }
        )
        f0 = occ.n_forward
        t0 = time.perf_counter()
        occ.attribute(x)
        rows["occlusion"].append(
            {
                "ms": (time.perf_counter() - t0) * 1000,
                "n_forward": occ.n_forward - f0,
                "n_backward": 0,
            }
        )
    methods = {}
    for name, rs in rows.items():
        ms = [r["ms"] for r in rs]
        methods[name] = {
            "ms_mean": statistics.fmean(ms),
            "ms_median": statistics.median(ms),
            "ms_min": min(ms),
            "ms_max": max(ms),
            "forwards_mean": statistics.fmean(r["n_forward"] for r in rs),
            "backwards_mean": statistics.fmean(r["n_backward"] for r in rs),
            "ig_ms_mean": statistics.fmean(r.get("ig_ms", 0.0) for r in rs),
            "per_image": rs,
        }
    by_outcome: dict[str, dict[str, Any]] = {}
    for variant in variants:
        for name, keep in (
            ("flipped", lambda r: r["flipped"] == 1.0),
            ("not_flipped", lambda r: r["flipped"] == 0.0),
        ):
            sel = [r for r in rows[variant] if keep(r)]
            if sel:
                by_outcome[f"{variant} {name}"] = {
                    "n": len(sel),
                    "ms_mean": statistics.fmean(r["ms"] for r in sel),
                    "ms_median": statistics.median(r["ms"] for r in sel),
                    "forwards_mean": statistics.fmean(r["n_forward"] for r in sel),
                    "backwards_mean": statistics.fmean(r["n_backward"] for r in sel),
                    "n_budget_exhausted": int(sum(r["budget_exhausted"] for r in sel)),
                }
    return {
        "ours_by_outcome": by_outcome,
        "variants": {k: list(v) for k, v in variants.items()},
        "backend_used": used,
        "prepare_ms": prep_ms,
        "agreement": agreement,
        "load_average_start": load_start,
        "load_average": os.getloadavg(),
        "model": em.info,
        "stand_in": stand_in,
        "input_size": size,
        "n_images": len(xs),
        "threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "torch": torch.__version__,
        "forward_ms_batch1": fwd_ms,
        "forward_ms_per_image_batched": fwd_batched_ms,
        "config": cfg.to_dict(),
        "methods": methods,
    }


def main() -> None:
    """Command line entry."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", help="model folder (default: a stand-in, see --arch)")
    p.add_argument("--arch", default="mobilenet_v3_small", help="stand-in arch")
    p.add_argument("--pretrained", help="backbone state_dict for the stand-in")
    p.add_argument("--size", type=int, default=256, help="stand-in input size")
    p.add_argument("--n-probe", type=int, default=32, help="images to fit the probe")
    p.add_argument("--n", type=int, default=3, help="images to explain")
    p.add_argument("--seed", type=int, default=1, help="synthetic image seed")
    p.add_argument(
        "--image-size",
        type=int,
        default=256,
        help="side of the synthetic crops before the model's resize (0 = input size)",
    )
    p.add_argument("--data", help="explain the first --n rows of this manifest instead")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--fast", action="store_true", help="n_segments=32, ig_steps=16")
    p.add_argument(
        "--backend",
        choices=("torch", "onnx", "auto"),
        default="onnx",
        help="fast path put next to the eager torch reference (same images, one run)",
    )
    p.add_argument(
        "--cfi-only", action="store_true", help="skip Grad-CAM and occlusion"
    )
    p.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    r = bench(args)
    print(
        f"model {r['model'].get('architecture')} ({r['model'].get('folder')}), "
        f"{r['input_size']}², {r['n_images']} images, {r['threads']} threads, "
        f"{r['cpu']}"
    )
    print(
        f"one forward: {r['forward_ms_batch1']:.1f} ms at batch 1, "
        f"{r['forward_ms_per_image_batched']:.1f} ms/image batched"
    )
    for name, m in r["methods"].items():
        print(
            f"{name:<10} {m['ms_mean']:9.0f} ms/explanation (median "
            f"{m['ms_median']:.0f}, {m['ms_min']:.0f}-{m['ms_max']:.0f}), "
            f"{m['forwards_mean']:.0f} forwards, {m['backwards_mean']:.0f} backwards"
            + (f", of which IG {m['ig_ms_mean']:.0f} ms" if m["ig_ms_mean"] else "")
        )
    print(
        "backends: "
        + ", ".join(
            f"{k} -> {v} (prepared in {r['prepare_ms'][k]:.0f} ms)"
            for k, v in r["backend_used"].items()
        )
    )
    for name, o in r["ours_by_outcome"].items():
        print(
            f"  {name:<24} n={o['n']}: {o['ms_mean']:.0f} ms mean "
            f"(median {o['ms_median']:.0f}), {o['forwards_mean']:.0f} forwards, "
            f"{o['backwards_mean']:.0f} backwards, budget spent "
            f"{o['n_budget_exhausted']}"
        )
    ref = next(iter(r["variants"]))
    ref_ms = r["methods"][ref]["ms_mean"]
    for name in r["variants"]:
        m = r["methods"][name]
        line = f"  {name:<12} {m['ms_mean'] / ref_ms:5.2f}x the time of {ref}"
        if name != ref:
            agree = [a[name] for a in r["agreement"]]
            line += (
                f"; same regions {sum(a['same_regions'] for a in agree)}/{len(agree)}"
                f", same flipped {sum(a['same_flipped'] for a in agree)}/{len(agree)}"
                f", same forwards {sum(a['same_forwards'] for a in agree)}"
                f"/{len(agree)}, heat map max |diff| "
                f"{max(a['heatmap_max_abs_diff'] for a in agree):.1e}, logit max "
                f"|diff| {max(a['logit_after_diff'] for a in agree):.1e}"
            )
        print(line)
    print(
        "load average (1, 5, 15 min): start {:.2f} {:.2f} {:.2f}".format(
            *r["load_average_start"]
        )
        + ", end {:.2f} {:.2f} {:.2f}".format(*r["load_average"])
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(r, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
