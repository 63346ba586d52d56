"""Curate operator-verified joints into a manifest-format dataset (no Qt, no torch).

`soldernet export-verified` reads the verified joints from the database
(`db.services.verified`) and hands them here:

1. joints whose crop file is missing or unreadable are dropped, each named in the
   report;
2. every joint gets a priority: *disagreements* first (the model's call at 0.5 differs
   from the person's), then ascending question-answer trust ``Q`` of the model on it
   (algorithms.md §2.1: a confident wrong call has the lowest trust), ties broken by a
   seeded shuffle;
3. classes are balanced: the majority class keeps at most ``balance`` times the
   minority's count, taking the highest-priority joints; ``max_total`` caps the whole
   set the same way, keeping the class ratio;
4. crops are copied into ``images/<group>/`` and ``manifest.csv`` is written with
   ``path,label,defect_type,group`` (group = ``product/serial``, so a board never
   straddles a split), plus ``provenance.csv`` (joint id, p, model version, verdict
   source, disagreement, trust) and ``curation.json`` (what was kept and dropped).
"""

from __future__ import annotations

import csv
import json
import logging
import random
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.datasets import Sample, write_manifest
from inference.trust import question_answer_trust

log = logging.getLogger(__name__)

PROVENANCE_COLUMNS = (
    "path",
    "joint_id",
    "label",
    "p",
    "model_version",
    "source",
    "disagreement",
    "trust",
    "corrected",
    "board",
    "refdes",
    "pin",
    "joint_type",
    "package",
    "decided_by",
    "decided_at",
)


@dataclass(frozen=True)
class Candidate:
    """A verified joint with its curation scores."""

    joint: Any  # db.services.verified.VerifiedJoint (duck-typed: no db import here)
    disagreement: bool
    trust: float
    tiebreak: float

    @property
    def priority(self) -> tuple[int, float, float]:
        """Sort key: disagreements first, then lowest trust, then the seeded shuffle."""
        return (0 if self.disagreement else 1, self.trust, self.tiebreak)


@dataclass
class CurationReport:
    """What the curation kept and why the rest was dropped."""

    verified: int = 0
    missing_crops: list[str] = field(default_factory=list)
    kept: int = 0
    kept_by_label: dict[str, int] = field(default_factory=dict)
    kept_disagreements: int = 0
    dropped_for_balance: int = 0
    dropped_for_cap: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_defect_type: dict[str, int] = field(default_factory=dict)
    model_versions: dict[str, int] = field(default_factory=dict)
    balance: float | None = None
    max_total: int | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return asdict(self)


def score(joints: Sequence[Any], *, seed: int = 0) -> list[Candidate]:
    """Disagreement and question-answer trust of the model on each verified joint."""
    if not joints:
        return []
    labels = [int(j.label) for j in joints]
    ps = [min(max(float(j.p), 0.0), 1.0) for j in joints]
    trust = question_answer_trust(labels, ps)
    rng = random.Random(seed)
    return [
        Candidate(j, (p >= 0.5) != bool(z), float(q), rng.random())
        for j, z, p, q in zip(joints, labels, ps, trust, strict=True)
    ]


def select(
    candidates: Sequence[Candidate],
    *,
    balance: float | None = 1.0,
    max_total: int | None = None,
    report: CurationReport | None = None,
) -> list[Candidate]:
    """Pick the joints to export (see the module doc); returns them by priority.

    Args:
        candidates: scored joints.
        balance: the majority class keeps at most ``balance`` x the minority's count
            (None or 0: keep every joint).
        max_total: at most this many joints in all (None: no cap).
        report: filled with the drop counts.
    """
    by_label: dict[int, list[Candidate]] = {0: [], 1: []}
    for c in sorted(candidates, key=lambda c: c.priority):
        by_label[int(c.joint.label)].append(c)
    counts = {k: len(v) for k, v in by_label.items()}
    keep = dict(counts)
    if balance and min(counts.values()) > 0:
        minority = min(counts, key=lambda k: counts[k])
        majority = 1 - minority
        keep[majority] = min(counts[majority], int(balance * counts[minority]))
    balanced_total = sum(keep.values())
    if max_total is not None and balanced_total > max_total:
        scale = max_total / balanced_total
        scaled = {k: int(v * scale) for k, v in keep.items()}
        # Hand the rounding remainder to the rarer class first.
        for k in sorted(keep, key=lambda k: keep[k]):
            if sum(scaled.values()) < max_total and scaled[k] < keep[k]:
                scaled[k] += 1
        keep = scaled
    if report is not None:
        report.dropped_for_balance = len(candidates) - balanced_total
        report.dropped_for_cap = balanced_total - sum(keep.values())
    chosen = by_label[0][: keep[0]] + by_label[1][: keep[1]]
    return sorted(chosen, key=lambda c: c.priority)


def export_dataset(
    joints: Sequence[Any],
    out: str | Path,
    *,
    balance: float | None = 1.0,
    max_total: int | None = None,
    seed: int = 0,
) -> CurationReport:
    """Curate verified joints and write them as a manifest dataset under ``out``.

    Args:
        joints: `VerifiedJoint` values (from ``db.verified.verified_joints``).
        out: the dataset folder (created; an existing ``manifest.csv`` is replaced).
        balance: see `select`.
        max_total: see `select`.
        seed: seed of the tie-breaking shuffle.

    Returns:
        The curation report (also written as ``curation.json``).
    """
    out = Path(out)
    report = CurationReport(
        verified=len(joints), balance=balance, max_total=max_total, seed=seed
    )
    readable = []
    for j in joints:
        crop = Path(j.crop_path) if j.crop_path else None
        if crop is None or not crop.is_file():
            report.missing_crops.append(
                f"joint {j.joint_id} ({j.board_serial} {j.refdes}-{j.pin}): "
                f"crop file {'not recorded' if crop is None else f'{crop} missing'}"
            )
            continue
        readable.append(j)
    for line in report.missing_crops:
        log.warning("export-verified: %s; skipped", line)
    chosen = select(
        score(readable, seed=seed), balance=balance, max_total=max_total, report=report
    )
    images = out / "images"
    samples: list[Sample] = []
    provenance: list[dict[str, Any]] = []
    for c in chosen:
        j = c.joint
        group = f"{j.product}/{j.board_serial}"
        target = images / _safe(j.product) / _safe(j.board_serial)
        target.mkdir(parents=True, exist_ok=True)
        src = Path(j.crop_path)
        dst = target / f"j{j.joint_id}{src.suffix.lower() or '.png'}"
        shutil.copyfile(src, dst)
        samples.append(Sample(dst, int(j.label), j.defect_code or "", group))
        provenance.append(_provenance(dst.relative_to(out).as_posix(), c))
    out.mkdir(parents=True, exist_ok=True)
    write_manifest(samples, out / "manifest.csv")
    with (out / "provenance.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, PROVENANCE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(provenance)
    report.kept = len(chosen)
    report.kept_by_label = {
        "defective": sum(int(c.joint.label) for c in chosen),
        "non_defective": sum(1 - int(c.joint.label) for c in chosen),
    }
    report.kept_disagreements = sum(c.disagreement for c in chosen)
    report.by_source = dict(Counter(c.joint.source for c in chosen))
    report.by_defect_type = dict(
        Counter(c.joint.defect_code for c in chosen if c.joint.defect_code)
    )
    report.model_versions = dict(Counter(c.joint.model_version for c in chosen))
    (out / "curation.json").write_text(
        json.dumps(report.to_dict(), indent=2), encoding="utf-8"
    )
    return report


def _provenance(rel: str, c: Candidate) -> dict[str, Any]:
    j = c.joint
    return {
        "path": rel,
        "joint_id": j.joint_id,
        "label": int(j.label),
        "p": f"{float(j.p):.6f}",
        "model_version": j.model_version,
        "source": j.source,
        "disagreement": int(c.disagreement),
        "trust": f"{c.trust:.6f}",
        "corrected": int(j.corrected),
        "board": j.board_serial,
        "refdes": j.refdes,
        "pin": j.pin,
        "joint_type": j.joint_type,
        "package": j.package,
        "decided_by": j.decided_by,
        "decided_at": j.decided_at.isoformat() if j.decided_at else "",
    }


def _safe(name: str) -> str:
    """A file-name-safe version of a serial or product name."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return cleaned.strip("._") or "unnamed"
