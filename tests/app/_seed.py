"""Seed a real SQLite station with boards, joints, crops and explanations (tests, docs).

Crops are synthetic joints (`inference.synth.render_joint`) written as PNG files with
an explanation overlay (heatmap inside the defect mask plus a white outline) next to
them; board images come from `inference.synth.boards.render_board` at a small size.
A small pool of crops is reused, so seeding hundreds of joints stays fast.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from db import ExplanationRecord, JointRecord
from inference.synth import JointSpec, render_joint
from inference.synth.boards import BoardConfig, render_board
from inference.types import BBox, DefectCode, JointType

ADMIN = ("Ada Admin", "2468")
INSPECTOR = ("Ivan Inspector", "1357")
TECHNICIAN = ("Tess Technician", "1357")
T_LO, T_HI = 0.3, 0.8
MODEL_VERSION = "attend-next-demo-1"
CROP_SIZE = 128
# (synth kind, package, joint type, defect drawn in the crop)
CROP_POOL = (
    ("chip_0603", "0603", JointType.SMD, DefectCode.INSUFFICIENT_SOLDER),
    ("gullwing", "SOIC-8", JointType.SMD, DefectCode.BRIDGE),
    ("tht_round", "DIP-8", JointType.THT, DefectCode.EXCESS_SOLDER),
    ("sot23", "SOT-23", JointType.SMD, DefectCode.SOLDER_BALL),
)


@dataclass
class Seeded:
    """What was seeded: users by role, inspections, joint counts."""

    users: dict[str, Any] = field(default_factory=dict)
    inspections: list[Any] = field(default_factory=list)
    n_review: int = 0
    n_rework: int = 0


def _overlay(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Heatmap (distance to the mask edge) inside the mask, white outline around it."""
    out = image.astype(np.float32) / 255.0
    inside = mask.astype(bool)
    if not inside.any():  # a good-looking crop: mark its centre instead
        h, w = mask.shape
        inside = np.zeros_like(inside)
        inside[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = True
    dist = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)
    heat = dist / max(float(dist.max()), 1.0)
    colours = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colours = colours[..., ::-1].astype(np.float32) / 255.0
    out[inside] = 0.5 * out[inside] + 0.5 * colours[inside]
    edge = inside & ~cv2.erode(inside.astype(np.uint8), np.ones((3, 3))).astype(bool)
    out[edge] = 1.0
    return np.round(out * 255).astype(np.uint8)


def _write_rgb(path: Path, rgb: np.ndarray) -> str:
    if not cv2.imwrite(str(path), rgb[..., ::-1] if rgb.ndim == 3 else rgb):
        msg = f"could not write {path}"
        raise OSError(msg)
    return str(path)


def _crop_pool(folder: Path) -> list[dict[str, Any]]:
    pool = []
    for i, (kind, package, jtype, code) in enumerate(CROP_POOL):
        for good in (False, True):
            spec = JointSpec(kind, None if good else code, 0.8, "color", CROP_SIZE)
            sample = render_joint(spec, seed=100 + i)
            stem = f"{kind}-{'good' if good else 'bad'}"
            entry = {
                "package": package,
                "joint_type": jtype,
                "crop": _write_rgb(folder / f"{stem}.png", sample.image),
            }
            if not good:
                entry["overlay"] = _write_rgb(
                    folder / f"{stem}-overlay.png", _overlay(sample.image, sample.mask)
                )
                entry["mask"] = _write_rgb(
                    folder / f"{stem}-mask.png", sample.mask * 255
                )
            pool.append(entry)
    return pool


def ensure_users(db: Any) -> dict[str, Any]:
    """An admin, an inspector and a technician (created unless they exist)."""
    users = db.users
    if not users.has_users():
        users.create_user(*ADMIN[:1], "admin", ADMIN[1], actor=None)
    admin = users.authenticate(*ADMIN)
    existing = {u.name: u for u in users.list_users()}
    out = {"admin": admin}
    for role, (name, pin) in (("inspector", INSPECTOR), ("technician", TECHNICIAN)):
        out[role] = existing.get(name) or users.create_user(
            name, role, pin, actor=admin
        )
    return out


def seed_station(
    db: Any,
    folder: Path,
    *,
    boards: int = 2,
    review_per_board: int = 4,
    rework_per_board: int = 2,
    good_per_board: int = 4,
    confirmed_per_board: int = 0,
    seed: int = 0,
) -> Seeded:
    """Write boards with joints in all three regions into `db`; files go in `folder`.

    Review joints get p spread over [T_LO, T_HI) (highest first in the queue), an
    explanation with p_after = 0.15 p; `confirmed_per_board` of them also get a
    confirmed-defect verdict from the inspector (so they are on the rework list).
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = Seeded(users=ensure_users(db))
    pool = _crop_pool(folder)
    bad = [e for e in pool if "overlay" in e]
    good = [e for e in pool if "overlay" not in e]
    rng = np.random.default_rng(seed)
    for b in range(boards):
        sample = render_board(
            seed + b, BoardConfig(width=640, height=480, px_per_mm=12.0)
        )
        serial = f"SN-{2401 + b:05d}"
        image_path = _write_rgb(folder / f"board-{serial}.png", sample.image)
        digest = hashlib.sha256(Path(image_path).read_bytes()).hexdigest()
        boxes = sample.joints
        step = next(k for k in (13, 11, 7, 1) if math.gcd(k, len(boxes)) == 1)
        joints: list[JointRecord] = []
        n = review_per_board + rework_per_board + good_per_board
        for j in range(n):
            # Spread the joints over the board; past its joint count, pins repeat
            # with a suffix.
            truth = boxes[(j * step) % len(boxes)]
            x, y, w, h = truth.box
            bbox = BBox(int(x), int(y), max(int(w), 4), max(int(h), 4))
            lap = j // len(boxes)
            refdes, pin = truth.refdes, truth.pin + (f"-{lap}" if lap else "")
            if j < review_per_board:
                entry = bad[j % len(bad)]
                p = T_LO + (T_HI - T_LO) * float(rng.uniform(0.02, 0.98))
                explanation = ExplanationRecord(
                    p_before=p,
                    p_after=round(p * 0.15, 3),
                    n_factors=1,
                    forward_passes=48,
                    explainer_version="cfi-1",
                    overlay_path=entry["overlay"],
                    mask_path=entry["mask"],
                )
            elif j < review_per_board + rework_per_board:
                entry = bad[j % len(bad)]
                p = float(rng.uniform(0.85, 0.98))
                explanation = ExplanationRecord(
                    p_before=p,
                    p_after=round(p * 0.2, 3),
                    n_factors=1,
                    forward_passes=40,
                    explainer_version="cfi-1",
                    overlay_path=entry["overlay"],
                    mask_path=entry["mask"],
                )
            else:
                entry = good[j % len(good)]
                p, explanation = float(rng.uniform(0.01, 0.1)), None
            joints.append(
                JointRecord(
                    bbox=bbox,
                    p=p,
                    refdes=refdes,
                    pin=pin,
                    joint_type=entry["joint_type"],
                    package=entry["package"],
                    crop_path=entry["crop"],
                    explanation=explanation,
                )
            )
        inspection = db.inspections.record_inspection(
            serial=serial,
            product=sample.recipe.product if b % 2 == 0 else "SYN-CTRL-B",
            image_path=image_path,
            image_sha256=digest,
            model_version=MODEL_VERSION,
            t_lo=T_LO,
            t_hi=T_HI,
            joints=joints,
            user=out.users["inspector"],
        )
        out.inspections.append(inspection)
        out.n_review += review_per_board
        out.n_rework += rework_per_board
    if confirmed_per_board:
        codes = [
            DefectCode.BRIDGE,
            DefectCode.INSUFFICIENT_SOLDER,
            DefectCode.COLD_JOINT,
        ]
        shift = db.shifts.current_shift(out.users["inspector"].id) or (
            db.shifts.open_shift(out.users["inspector"])
        )
        for b, inspection in enumerate(out.inspections):
            from db import ReviewFilter

            items = db.review.queue(
                ReviewFilter(board_id=inspection.board_id), limit=confirmed_per_board
            )
            for k, item in enumerate(items):
                db.review.record_verdict(
                    item.joint_id,
                    user=out.users["inspector"],
                    verdict="confirmed_defect",
                    defect_code=codes[(b + k) % len(codes)],
                    note="fillet too small on the toe" if k == 0 else "",
                    seconds_spent=4.2,
                    shift_id=shift.id,
                )
                out.n_review -= 1
                out.n_rework += 1
        db.shifts.close_shift(shift.id, user=out.users["inspector"])
    return out
