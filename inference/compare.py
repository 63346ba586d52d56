"""The paper's Tables 1 and 2 for several architectures trained on the same split.

Table 1 (efficiency): parameters (M), FLOPs as conv + linear multiply-accumulates at
the input size (G; ``inference.flops``), latency by the paper's protocol (batch 1,
20 warm-ups, mean of 100 runs) and batch throughput.
Table 2 (effectiveness, on the held-out test split): accuracy, overkill, escape and
NetTrustScore at threshold 0.5, plus AUROC and ECE.

Every architecture is trained by ``inference.training.train_classifier.train`` with the
same configuration and split seed, then evaluated by ``inference.evaluation``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "TABLE1_COLUMNS",
    "TABLE2_COLUMNS",
    "compare_architectures",
    "render_markdown",
    "summarize_model",
]

logger = logging.getLogger(__name__)

TABLE1_COLUMNS = ("architecture", "params_m", "gflops", "latency_ms", "images_per_s")
TABLE2_COLUMNS = (
    "architecture",
    "accuracy",
    "overkill",
    "escape",
    "net_trust_score",
    "auroc",
    "ece",
)


def summarize_model(
    model_dir: str | Path,
    data: Sequence[str | Path],
    *,
    split: str = "test",
    split_seed: int = 0,
    device: str = "cpu",
    latency_warmup: int = 20,
    latency_runs: int = 100,
    throughput_batch: int = 32,
    threads: int | None = None,
    table_input_size: int | None = 256,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Table 1 and Table 2 rows of one trained model folder.

    Args:
        model_dir: the model folder.
        data: dataset folders.
        split: split to evaluate on (``"test"`` for the paper's tables).
        split_seed: seed of the split (the training split's).
        device: device of the evaluation and the timing.
        latency_warmup: warm-up runs.
        latency_runs: timed runs.
        throughput_batch: batch size of the throughput measurement.
        threads: torch CPU threads for the timing.
        table_input_size: input side of the FLOPs count and the timing (the paper's
            Table 1: 256); None = the model's own input size.

    Returns:
        ``(table1_row, table2_row, full evaluation dict)``.
    """
    from inference.architectures import ARCHITECTURES
    from inference.evaluation import evaluate_model
    from inference.flops import count_macs, count_params
    from inference.model_card import load_model

    loaded = load_model(model_dir)
    model = loaded.model
    name = str(getattr(model, "arch_name", "") or type(model).__name__)
    info = ARCHITECTURES.get(name)
    label = info.label if info is not None else name
    ev = evaluate_model(
        model_dir,
        list(data),
        split=split,
        split_seed=split_seed,
        device=device,
        latency_warmup=latency_warmup,
        latency_runs=latency_runs,
        throughput_batch=throughput_batch,
        threads=threads,
        latency_input_size=table_input_size,
    )
    size = int(table_input_size or ev["model"]["input_size"])
    macs = count_macs(model.cpu().eval(), (size, size))
    t1 = {
        "architecture": label,
        "arch": name,
        "params_m": count_params(model) / 1e6,
        "params": count_params(model),
        "gflops": macs.gmacs,
        "input_size": size,
        "trained_input_size": int(ev["model"]["input_size"]),
        "latency_ms": ev["latency"]["mean_ms"],
        "latency_median_ms": ev["latency"]["median_ms"],
        "images_per_s": ev["throughput"]["images_per_s"],
        "paper_params_m": info.paper_params_m if info is not None else None,
        "paper_gflops": info.paper_gflops if info is not None else None,
    }
    t2 = {
        "architecture": label,
        "arch": name,
        "accuracy": ev["accuracy"],
        "overkill": ev["overkill"],
        "escape": ev["escape"],
        "net_trust_score": ev["trust"]["net_trust_score"],
        "auroc": ev["auroc"],
        "ece": ev["ece"],
        "n": ev["n"],
    }
    return t1, t2, ev


def compare_architectures(
    archs: Sequence[str],
    data: Sequence[str | Path],
    out_dir: str | Path,
    *,
    base_config: Any = None,
    epochs: int | None = None,
    lp_epochs: int | None = None,
    device: str = "auto",
    latency_warmup: int = 20,
    latency_runs: int = 100,
    throughput_batch: int = 32,
    threads: int | None = None,
    models: Sequence[str | Path] | None = None,
    table_input_size: int | None = 256,
) -> dict[str, Any]:
    """Train every architecture on the same split and build Tables 1 and 2.

    Args:
        archs: architecture names (``inference.architectures``).
        data: dataset folders.
        out_dir: output folder: one model folder per architecture, ``comparison.md``
            and ``comparison.json``.
        base_config: a ``TrainConfig`` to copy for every architecture (``data``,
            ``arch`` and ``out`` are replaced).
        epochs: fine-tune epochs (overrides ``base_config``).
        lp_epochs: linear-probe epochs (overrides ``base_config``).
        device: device for training, evaluation and timing.
        latency_warmup: warm-up runs of the latency protocol.
        latency_runs: timed runs of the latency protocol.
        throughput_batch: batch size of the throughput measurement.
        threads: torch CPU threads for the timing.
        models: already trained model folders to include without training.
        table_input_size: input side of Table 1's FLOPs and timing (paper: 256).

    Returns:
        ``{"table1": [...], "table2": [...], "markdown": str, "split": ...,
        "files": {...}}``.
    """
    from inference.training.train_classifier import TrainConfig, train

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = base_config if base_config is not None else TrainConfig()
    folders: list[Path] = [Path(m) for m in (models or [])]
    for arch in archs:
        cfg = dataclasses.replace(
            base,
            data=[str(d) for d in data],
            arch=arch,
            out=str(out / arch),
            device=device,
            epochs=base.epochs if epochs is None else epochs,
            lp_epochs=base.lp_epochs if lp_epochs is None else lp_epochs,
            resume=None,
        )
        logger.info("training %s", arch)
        folders.append(train(cfg).model_dir)
    table1: list[dict[str, Any]] = []
    table2: list[dict[str, Any]] = []
    for folder in folders:
        t1, t2, _ = summarize_model(
            folder,
            data,
            split="test",
            split_seed=base.split_seed,
            device=device,
            latency_warmup=latency_warmup,
            latency_runs=latency_runs,
            throughput_batch=throughput_batch,
            threads=threads,
            table_input_size=table_input_size,
        )
        t1["model_dir"] = str(folder)
        table1.append(t1)
        table2.append(t2)
    from inference.evaluation import cpu_name, jsonable

    meta = {
        "data": [str(d) for d in data],
        "split": "test",
        "split_seed": base.split_seed,
        "cpu": cpu_name(),
        "latency_protocol": (
            f"batch 1, 3x{table_input_size or 'model'}^2, {latency_warmup} warm-ups, "
            f"mean of {latency_runs} runs; throughput at batch {throughput_batch}"
        ),
    }
    if archs:  # models given by folder carry their own epochs in their cards
        meta["epochs"] = base.epochs if epochs is None else epochs
        meta["lp_epochs"] = base.lp_epochs if lp_epochs is None else lp_epochs
    md = render_markdown(table1, table2, meta)
    result: dict[str, Any] = {"table1": table1, "table2": table2, "meta": meta}
    md_path = out / "comparison.md"
    json_path = out / "comparison.json"
    md_path.write_text(md, encoding="utf-8")
    json_path.write_text(json.dumps(jsonable(result), indent=2), encoding="utf-8")
    result["markdown"] = md
    result["files"] = {"markdown": str(md_path), "json": str(json_path)}
    return result


def _fmt(v: Any, kind: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if kind == "pct":
        return f"{100.0 * float(v):.1f}"
    if kind == "3":
        return f"{float(v):.3f}"
    if kind == "1":
        return f"{float(v):.1f}"
    return str(v)


def render_markdown(
    table1: Sequence[dict[str, Any]],
    table2: Sequence[dict[str, Any]],
    meta: dict[str, Any] | None = None,
) -> str:
    """Render Tables 1 and 2 as Markdown.

    Args:
        table1: rows with the `TABLE1_COLUMNS` keys.
        table2: rows with the `TABLE2_COLUMNS` keys.
        meta: data, split and timing notes printed under the tables.

    Returns:
        The Markdown text.
    """
    lines = [
        "### Table 1: efficiency",
        "",
        "| Architecture | Params (M) | paper | FLOPs (G MAC) | paper | Latency (ms) "
        "| Throughput (img/s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table1:
        lines.append(
            f"| {r['architecture']} | {_fmt(r['params_m'], '3')} | "
            f"{_fmt(r.get('paper_params_m'), '3')} | {_fmt(r['gflops'], '3')} | "
            f"{_fmt(r.get('paper_gflops'), '3')} | {_fmt(r['latency_ms'], '1')} | "
            f"{_fmt(r['images_per_s'], '1')} |"
        )
    lines += [
        "",
        "### Table 2: effectiveness (test split, threshold 0.5)",
        "",
        "| Architecture | Accuracy (%) | Overkill (%) | Escape (%) | NetTrustScore "
        "| AUROC | ECE |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table2:
        lines.append(
            f"| {r['architecture']} | {_fmt(r['accuracy'], 'pct')} | "
            f"{_fmt(r['overkill'], 'pct')} | {_fmt(r['escape'], 'pct')} | "
            f"{_fmt(r['net_trust_score'], '3')} | {_fmt(r['auroc'], '3')} | "
            f"{_fmt(r['ece'], '3')} |"
        )
    if meta:
        lines += ["", *(f"- {k}: {v}" for k, v in meta.items())]
    return "\n".join(lines) + "\n"
