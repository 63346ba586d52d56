"""Markdown Table 2 (extended) from the folders written by bench/real_table2.sh.

    python bench/real_table2_report.py /work/real/handian /work/real/ulger

Reads ``ARCH.eval.json`` (``soldernet evaluate --split test``) and ``ARCH.train.json``
per architecture and prints one row each: accuracy, overkill, escape at 0.5,
NetTrustScore, the trust matrix's off-diagonal cells (trust of the wrong answers; "-"
when there were none), AUROC, ECE, review rate, epochs and training seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

PRETRAINED = {
    "mobilenet_v2": "ImageNet (shared TFLite file)",
    "mobilenet_v3_small": "ImageNet (shared TFLite file)",
    "efficientnet_lite0": "ImageNet (PyPI)",
}
NAMES = {
    "attend_next_s": "Attend-NeXt-S",
    "attend_next_l": "Attend-NeXt-L (approx.)",
    "mobilenet_v2": "MobileNetV2",
    "mobilenet_v3_small": "MobileNetV3-Small",
    "shufflenet_v2": "ShuffleNetV2",
    "efficientnet_lite0": "EfficientNet-Lite0",
    "convnext_tiny": "ConvNeXt-T",
}


def _cell(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def rows(folder: Path) -> list[str]:
    """Table rows for one bench/real_table2.sh output folder."""
    out = []
    for ev_path in sorted(folder.glob("*.eval.json")):
        arch = ev_path.name.removesuffix(".eval.json")
        ev = json.loads(ev_path.read_text("utf-8"))
        tr_path = folder / f"{arch}.train.json"
        tr = json.loads(tr_path.read_text("utf-8")) if tr_path.is_file() else {}
        hist = tr.get("history", [])
        seconds = sum(h.get("seconds", 0.0) for h in hist)
        lp = sum(h.get("phase") == "lp" for h in hist)
        ft = sum(h.get("phase") == "ft" for h in hist)
        trust = ev["trust"]
        m = trust["matrix"]  # rows = true (0, 1), columns = predicted
        out.append(
            f"| {NAMES.get(arch, arch)} | {PRETRAINED.get(arch, 'scratch')} | "
            f"{ev['n']} ({ev['tp'] + ev['fn']}) | {ev['accuracy']:.1%} | "
            f"{ev['overkill']:.1%} | {ev['escape']:.1%} | "
            f"{trust['net_trust_score']:.3f} | {_cell(m[0][1], '.2f')} / "
            f"{_cell(m[1][0], '.2f')} | {ev['auroc']:.4f} | {ev['ece']:.4f} | "
            f"{ev['regions']['review_rate']:.1%} | "
            f"{lp}+{ft} | {seconds:.0f} |"
        )
    return out


def main(argv: list[str]) -> int:
    """Print one table per folder."""
    header = (
        "| model | start | test n (defective) | accuracy | overkill | escape | NTS | "
        "trust of errors: overkill / escape | AUROC | ECE | review | epochs LP+FT | "
        "train s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for folder in argv:
        print(f"\n{folder}\n")
        print(header)
        print("\n".join(rows(Path(folder))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
