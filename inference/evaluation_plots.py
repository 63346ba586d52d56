"""The evaluation plots as PNG files (matplotlib, Agg backend).

Trust matrix, trust densities, reliability diagrams and confidence histograms of an
evaluation result. Re-exported by ``inference.evaluation``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["save_plots"]


def save_plots(
    result: dict[str, Any],
    out_dir: str | Path,
    *,
    y: np.ndarray | None = None,
    p: np.ndarray | None = None,
) -> dict[str, str]:
    """Write the evaluation plots as PNG files (matplotlib, Agg backend).

    Args:
        result: the output of `evaluate_predictions` / `evaluate_model`.
        out_dir: folder to write into (created).
        y: labels (needed for the confidence histograms).
        p: probabilities (needed for the confidence histograms).

    Returns:
        ``{plot name: file path}``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    names = ["non-defective", "defective"]

    # Trust matrix.
    tr = result["trust"]
    tm = np.asarray(tr["matrix"], dtype=np.float64)
    counts = np.asarray(tr["counts"], dtype=np.int64)
    fig = Figure(figsize=(4.6, 4.0))
    ax = fig.subplots()
    im = ax.imshow(np.nan_to_num(tm, nan=0.0), vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(2):
        for j in range(2):
            val = "n/a" if not math.isfinite(tm[i, j]) else f"{tm[i, j]:.3f}"
            ax.text(
                j,
                i,
                f"{val}\n(n={counts[i, j]})",
                ha="center",
                va="center",
                color="white" if not tm[i, j] > 0.6 else "black",
            )
    ax.set_xticks([0, 1], names)
    ax.set_yticks([0, 1], names)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(f"Trust matrix (NTS {tr['net_trust_score']:.3f})")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    written["trust_matrix"] = _save(fig, out / "trust_matrix.png")

    # Trust densities (per class and conditional).
    fig = Figure(figsize=(8.0, 3.4))
    axes = fig.subplots(1, 2)
    for z, ax in zip((0, 1), axes, strict=True):
        d = tr["densities"][str(z)]
        _step(ax, d["edges"], d["density"], f"all (T={tr['spectrum'][str(z)]:.3f})")
        for yhat, style in ((z, "--"), (1 - z, ":")):
            c = tr["conditional_densities"].get(f"z{z}_y{yhat}")
            if c and c["n"]:
                what = "correct" if yhat == z else "wrong"
                _step(ax, c["edges"], c["density"], f"{what} (n={c['n']})", style)
        ax.set_title(f"true {names[z]}")
        ax.set_xlabel("question-answer trust Q")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("density")
    fig.tight_layout()
    written["trust_densities"] = _save(fig, out / "trust_densities.png")

    # Reliability diagram (top-label and positive class).
    fig = Figure(figsize=(8.0, 3.6))
    axes = fig.subplots(1, 2)
    for mode, ax in zip(("top_label", "positive"), axes, strict=True):
        rd = result["reliability"][mode]
        edges = np.asarray(rd["edges"], dtype=np.float64)
        obs = np.asarray(rd["observed"], dtype=np.float64)
        centres = 0.5 * (edges[:-1] + edges[1:])
        width = edges[1] - edges[0]
        ax.bar(
            centres, np.nan_to_num(obs), width=width * 0.95, edgecolor="k", alpha=0.7
        )
        ax.plot([0, 1], [0, 1], "r--", lw=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        label = "confidence" if mode == "top_label" else "P(defective)"
        ax.set_xlabel(label)
        ax.set_ylabel("accuracy" if mode == "top_label" else "fraction defective")
        ax.set_title(f"{mode.replace('_', '-')} ECE {rd['ece']:.3f}")
    fig.tight_layout()
    written["reliability"] = _save(fig, out / "reliability.png")

    # Confidence histograms.
    if y is not None and p is not None:
        fig = Figure(figsize=(5.5, 3.6))
        ax = fig.subplots()
        bins = np.linspace(0, 1, 41).tolist()
        for z in (0, 1):
            sel = np.asarray(p)[np.asarray(y) == z]
            if sel.size:
                ax.hist(
                    sel, bins=bins, alpha=0.6, label=f"true {names[z]} (n={sel.size})"
                )
        reg = result["regions"]
        for t in (reg["t_lo"], reg["t_hi"]):
            ax.axvline(t, color="k", ls="--", lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("P(defective)")
        ax.set_ylabel("joints")
        ax.set_title("Confidence histogram (dashed: t_lo, t_hi)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        written["confidence_hist"] = _save(fig, out / "confidence_hist.png")
    return written


def _step(
    ax: Any, edges: Sequence[float], dens: Sequence[float], label: str, ls: str = "-"
) -> None:
    e = np.asarray(edges, dtype=np.float64)
    d = np.nan_to_num(np.asarray(dens, dtype=np.float64))
    ax.stairs(d, e, label=label, linestyle=ls)


def _save(fig: Any, path: Path) -> str:
    fig.savefig(path, dpi=110)
    return os.fspath(path)
