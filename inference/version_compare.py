"""Side-by-side evaluation of two model versions on one fixed test set.

The promotion evidence of the field loop: the running version and a fine-tuned
candidate are scored on exactly the same images (`inference.evaluation.evaluate_model`,
each with its own calibration and region thresholds), and the result lists, for each
figure, old, new, the change and whether the change is an improvement: accuracy,
overkill, escape (threshold 0.5), AUROC, ECE, NetTrustScore, the trust matrix, the
region rates (auto-defect, review, auto-pass, auto-escape, auto-overkill) and, per
image, how many calls were fixed and how many were broken.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["FIGURES", "compare_versions", "render_markdown"]

# (key, label, True when higher is better / False when lower is / None: neither,
#  is a percentage). The auto-defect and auto-pass rates follow the data's
#  prevalence; their errors are the auto-overkill and auto-escape rows.
FIGURES: tuple[tuple[str, str, bool | None, bool], ...] = (
    ("accuracy", "accuracy", True, True),
    ("overkill", "overkill", False, True),
    ("escape", "escape", False, True),
    ("auroc", "AUROC", True, False),
    ("ece", "ECE", False, False),
    ("net_trust_score", "NetTrustScore", True, False),
    ("auto_defect_rate", "auto-defect rate", None, True),
    ("review_rate", "review rate", False, True),
    ("auto_pass_rate", "auto-pass rate", None, True),
    ("auto_escape", "auto-escape", False, True),
    ("auto_overkill", "auto-overkill", False, True),
)


def _figures(r: dict[str, Any]) -> dict[str, float]:
    reg = r["regions"]
    return {
        "accuracy": r["accuracy"],
        "overkill": r["overkill"],
        "escape": r["escape"],
        "auroc": r["auroc"],
        "ece": r["ece"],
        "net_trust_score": r["trust"]["net_trust_score"],
        "auto_defect_rate": reg["auto_defect_rate"],
        "review_rate": reg["review_rate"],
        "auto_pass_rate": reg["auto_pass_rate"],
        "auto_escape": reg["auto_escape"],
        "auto_overkill": reg["auto_overkill"],
    }


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) else float("nan")


def compare_versions(
    old_dir: str | Path,
    new_dir: str | Path,
    data: Sequence[str | Path],
    *,
    split: str = "all",
    split_seed: int = 0,
    device: str = "cpu",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Evaluate two model folders on the same images and put the figures side by side.

    Args:
        old_dir: the running (or baseline) model folder.
        new_dir: the candidate model folder.
        data: dataset folders of the fixed test set.
        split: ``all`` or a split of ``data`` (``test`` with ``split_seed``).
        split_seed: seed of that split.
        device: torch device.
        batch_size: images per forward pass.

    Returns:
        ``{"old": {...}, "new": {...}, "figures": [...], "trust_matrix": {...},
        "changed_calls": {...}, "data": {...}}``; each figure row holds ``key``,
        ``label``, ``old``, ``new``, ``delta`` and ``better`` (True, False, or None
        when unchanged or undefined).

    Raises:
        ModelLoadError, DataError: a folder or the data cannot be used.
    """
    from inference.evaluation import evaluate_model

    results = {}
    for name, folder in (("old", old_dir), ("new", new_dir)):
        results[name] = evaluate_model(
            folder,
            list(data),
            split=split,
            split_seed=split_seed,
            device=device,
            batch_size=batch_size,
            latency=False,
            include_predictions=True,
        )
    old, new = results["old"], results["new"]
    fo, fn = _figures(old), _figures(new)
    rows = []
    for key, label, higher_better, pct in FIGURES:
        a, b = _num(fo[key]), _num(fn[key])
        delta = b - a
        better: bool | None = None
        if higher_better is not None and math.isfinite(delta) and abs(delta) > 1e-12:
            better = (delta > 0) == higher_better
        rows.append(
            {
                "key": key,
                "label": label,
                "old": a,
                "new": b,
                "delta": delta,
                "better": better,
                "percent": pct,
            }
        )
    return {
        "old": _identity(old),
        "new": _identity(new),
        "data": old["data"],
        "n": old["n"],
        "n_defective": old["n_defective"],
        "figures": rows,
        "trust_matrix": {
            "old": old["trust"]["matrix"],
            "new": new["trust"]["matrix"],
            "old_counts": old["trust"]["counts"],
            "new_counts": new["trust"]["counts"],
            "layout": old["trust"]["matrix_layout"],
        },
        "changed_calls": _changed_calls(old["predictions"], new["predictions"]),
    }


def _identity(r: dict[str, Any]) -> dict[str, Any]:
    m = r["model"]
    return {
        "folder": m["folder"],
        "architecture": m["architecture"],
        "t_lo": m["t_lo"],
        "t_hi": m["t_hi"],
        "temperature": m["temperature"],
    }


def _changed_calls(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, int]:
    """Per image: calls at 0.5 the candidate fixed and the ones it broke."""
    by_path = {row["path"]: row for row in old}
    fixed = broken = both_wrong = 0
    for row in new:
        prev = by_path.get(row["path"])
        if prev is None:
            continue
        was_right = (prev["p"] >= 0.5) == bool(prev["label"])
        is_right = (row["p"] >= 0.5) == bool(row["label"])
        fixed += (not was_right) and is_right
        broken += was_right and not is_right
        both_wrong += (not was_right) and not is_right
    return {"fixed": fixed, "broken": broken, "still_wrong": both_wrong}


def render_markdown(result: dict[str, Any], old_name: str, new_name: str) -> str:
    """The comparison as a Markdown table plus the trust matrices."""

    def fmt(v: float, pct: bool) -> str:
        if not math.isfinite(v):
            return "n/a"
        return f"{100 * v:.2f} %" if pct else f"{v:.4f}"

    lines = [
        f"Side-by-side on {', '.join(result['data']['folders'])} "
        f"[{result['data']['split']}]: {result['n']} images "
        f"({result['n_defective']} defective)",
        "",
        f"| figure | {old_name} | {new_name} | change |",
        "|---|---:|---:|---|",
    ]
    for row in result["figures"]:
        mark = {True: "better", False: "worse", None: ""}[row["better"]]
        if row["better"] is None and abs(row["delta"]) <= 1e-12:
            mark = "same"
        delta = row["delta"]
        change = (
            "n/a"
            if not math.isfinite(delta)
            else (
                f"{100 * delta:+.2f} pt {mark}".rstrip()
                if row["percent"]
                else f"{delta:+.4f} {mark}".rstrip()
            )
        )
        lines.append(
            f"| {row['label']} | {fmt(row['old'], row['percent'])} | "
            f"{fmt(row['new'], row['percent'])} | {change} |"
        )
    tm = result["trust_matrix"]
    lines += ["", "Trust matrix (rows = true label ND/D, columns = model answer):"]
    for name, key in ((old_name, "old"), (new_name, "new")):
        m, c = tm[key], tm[f"{key}_counts"]
        cells = "; ".join(
            f"{'ND' if z == 0 else 'D'}->{'ND' if y == 0 else 'D'} "
            f"{fmt(_num(m[z][y]), False)} (n={c[z][y]})"
            for z in (0, 1)
            for y in (0, 1)
        )
        lines.append(f"- {name}: {cells}")
    cc = result["changed_calls"]
    lines.append(
        f"- calls at 0.5: {cc['fixed']} fixed, {cc['broken']} broken, "
        f"{cc['still_wrong']} wrong in both"
    )
    return "\n".join(lines)
