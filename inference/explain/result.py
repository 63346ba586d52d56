"""Output records of the CFI explainer (spec §1.3 output record, §1.4 sub-regions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

BBoxXYWH = tuple[int, int, int, int]


def bbox_of(mask: np.ndarray) -> BBoxXYWH:
    """Bounding box `(x, y, w, h)` of the True pixels (all zeros when empty)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return (0, 0, 0, 0)
    y0, y1 = int(rows[0]), int(rows[-1])
    x0, x1 = int(cols[0]), int(cols[-1])
    return (x0, y0, x1 - x0 + 1, y1 - y0 + 1)


@dataclass(frozen=True)
class SubRegion:
    """One sub-block ("aspect") of a critical factor.

    Attributes:
        id: 1-based index inside the factor (ascending grid-cell order).
        area_px: pixels in the block.
        bbox: `(x, y, w, h)`.
        importance: raw r_B (signed-score units).
        share: max(0, r_B) / Σ max(0, r_B') over the factor (0 if that sum is 0).
        density: max(0, r_B) / |B| normalised by its factor maximum (= heat value).
    """

    id: int
    area_px: int
    bbox: BBoxXYWH
    importance: float
    share: float
    density: float


@dataclass(frozen=True)
class Factor:
    """One critical factor: an 8-connected component of the critical mask M*.

    Attributes:
        id: label in `factor_labels` (1 = most important).
        area_px: pixels in the factor.
        bbox: `(x, y, w, h)`.
        removal_effect: d(F) = s0 − s(R(x, F)).
        restoration_effect: I = s(R(x, M* ∖ F)) − s(R(x, M*)).
        subregions: the factor's sub-blocks with their importance.
    """

    id: int
    area_px: int
    bbox: BBoxXYWH
    removal_effect: float
    restoration_effect: float
    subregions: tuple[SubRegion, ...] = ()


@dataclass(frozen=True, eq=False)
class CriticalFactorResult:
    """Everything CFI found for one image (spec §1.3 output record + §1.4).

    Compared by identity (it holds arrays); compare fields to test equality.

    Attributes:
        decision_before: ŷ0 (1 = defective).
        p_before: P(defective) of the original image.
        logit_before: its logit.
        p_after: P(defective) of R(x, M*).
        logit_after: its logit.
        flipped: the search criterion was met (decision changed, or in `defect` mode
            P(defect) fell below `defect_target_p`).
        impact_type: `"decision"`, `"confidence"` or `"none"` (§1.7).
        mask: M*, `H×W` uint8 in {0, 1}.
        factor_labels: `H×W` int32, 0 = background, 1..m = factors.
        factors: the factors, most important (largest restoration effect) first.
        selected_region_ids: the selected proposal regions, ascending.
        region_labels: the proposal label map `H×W` int32.
        n_forward: images passed forward through the model.
        n_backward: images passed backward (activation map, IG).
        heatmap: within-factor relative importance `H×W` float32 in [0, 1], 0 off M*.
        ig_delta: relative completeness error of IG (0 for other methods).
        target: `"decision"` or `"defect"`.
        params: all knobs used.
        budget_exhausted: the search stopped at the forward-pass budget
            (`max_forwards`) before the decision flipped; the mask is the best set
            tried within the budget.
    """

    decision_before: int
    p_before: float
    logit_before: float
    p_after: float
    logit_after: float
    flipped: bool
    impact_type: str
    mask: np.ndarray
    factor_labels: np.ndarray
    factors: tuple[Factor, ...]
    selected_region_ids: tuple[int, ...]
    region_labels: np.ndarray
    n_forward: int
    n_backward: int
    heatmap: np.ndarray
    ig_delta: float
    target: str = "decision"
    params: dict[str, Any] = field(default_factory=dict)
    budget_exhausted: bool = False

    @property
    def subregions(self) -> tuple[tuple[SubRegion, ...], ...]:
        """Sub-blocks of every factor, in factor order."""
        return tuple(f.subregions for f in self.factors)

    @property
    def area_frac(self) -> float:
        """Fraction of the image covered by M*."""
        return float(self.mask.mean()) if self.mask.size else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The numbers of the result as JSON-friendly values (no arrays)."""
        return {
            "decision_before": self.decision_before,
            "p_before": self.p_before,
            "logit_before": self.logit_before,
            "p_after": self.p_after,
            "logit_after": self.logit_after,
            "flipped": self.flipped,
            "impact_type": self.impact_type,
            "budget_exhausted": self.budget_exhausted,
            "area_frac": self.area_frac,
            "selected_region_ids": list(self.selected_region_ids),
            "factors": [
                {
                    "id": f.id,
                    "area_px": f.area_px,
                    "bbox": list(f.bbox),
                    "removal_effect": f.removal_effect,
                    "restoration_effect": f.restoration_effect,
                    "subregions": [
                        {
                            "id": s.id,
                            "area_px": s.area_px,
                            "bbox": list(s.bbox),
                            "importance": s.importance,
                            "share": s.share,
                        }
                        for s in f.subregions
                    ],
                }
                for f in self.factors
            ],
            "n_forward": self.n_forward,
            "n_backward": self.n_backward,
            "ig_delta": self.ig_delta,
            "target": self.target,
            "params": dict(self.params),
        }
