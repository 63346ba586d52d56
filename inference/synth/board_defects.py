"""Defect choices of a synthetic board that go beyond one joint.

`_choose_defects` puts component-level defects (missing, tombstone, shifted) on
parts; `_neighbour` finds the joint a bridge connects to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inference.types import DefectCode

if TYPE_CHECKING:
    from inference.synth.board_layout import _Part
    from inference.synth.board_parts import PadSpec
    from inference.synth.board_solder import _Ctx


def _choose_defects(ctx: _Ctx, parts: list[_Part]) -> None:
    """Component-level defects (missing, tombstone, shifted) on the parts."""
    rng, rate = ctx.rng, ctx.cfg.defect_rate
    for part in parts:
        fam = part.pkg.family
        if rng.random() >= rate * 0.35:
            continue
        if fam in ("chip_r", "chip_c"):
            kind = rng.choice(["missing", "tombstone", "shifted"], p=[0.3, 0.35, 0.35])
        elif part.pkg.mount == "smd":
            kind = rng.choice(["missing", "shifted"], p=[0.3, 0.7])
        else:
            kind = "missing"
        part.defect = {
            "missing": DefectCode.MISSING_COMPONENT,
            "tombstone": DefectCode.TOMBSTONE,
            "shifted": DefectCode.SHIFTED_COMPONENT,
        }[str(kind)]
        part.severity = float(rng.uniform(0.3, 1.0))
        if part.defect == DefectCode.TOMBSTONE:
            part.tomb_end = int(rng.integers(2))
        if part.defect == DefectCode.SHIFTED_COMPONENT:
            bw = part.pkg.body[3] - part.pkg.body[1] if part.pkg.body else 1.0
            if fam in ("soic", "qfp", "sot"):
                pitch = abs(part.pkg.pads[1].pad[0] - part.pkg.pads[0].pad[0]) or 0.8
                part.shift = (
                    float(rng.choice([-1, 1])) * pitch * (0.25 + 0.3 * part.severity),
                    0.0,
                )
                if fam == "qfp":
                    part.shift = (part.shift[0], part.shift[0] * 0.6)
            else:
                part.shift = (
                    float(rng.uniform(-0.15, 0.15)),
                    float(rng.choice([-1, 1])) * bw * (0.25 + 0.3 * part.severity),
                )


def _neighbour(
    part: _Part, spec: PadSpec, items: list[tuple[_Part, PadSpec, int]]
) -> int | None:
    """Index of the nearest joint of the same part on the same side (same `out`)."""
    best, best_d = None, 1e9
    cx = (spec.pad[0] + spec.pad[2]) / 2
    cy = (spec.pad[1] + spec.pad[3]) / 2
    for _p, s2, idx in items:
        if s2 is spec or s2.out != spec.out:
            continue
        d = abs((s2.pad[0] + s2.pad[2]) / 2 - cx) + abs(
            (s2.pad[1] + s2.pad[3]) / 2 - cy
        )
        if d < best_d:
            best, best_d = idx, d
    if best is None or best_d > 3.0:
        return None
    return best
