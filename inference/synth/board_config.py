"""What a synthetic board is: its configuration, presets and the rendered sample.

`BoardConfig` says what to draw, `BoardSample` is what `render_board` returns
(image, recipe, homography, per-joint `JointTruth`, defect masks). The public names
are re-exported by `inference.synth.boards`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inference.synth.recipe import Recipe, project_points
from inference.types import DefectCode

BOARD_STYLES: tuple[str, ...] = ("color", "gray", "rgb")


SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "small": (800, 600),
    "demo": (2000, 1500),
    "default": (3000, 2200),
    "large": (4000, 3000),
}


BOARD_DEFECTS: tuple[str, ...] = (
    DefectCode.INSUFFICIENT_SOLDER,
    DefectCode.EXCESS_SOLDER,
    DefectCode.BRIDGE,
    DefectCode.SOLDER_BALL,
    DefectCode.MISSING_COMPONENT,
    DefectCode.TOMBSTONE,
    DefectCode.SHIFTED_COMPONENT,
    DefectCode.LIFTED_LEAD,
    DefectCode.COLD_JOINT,
)


@dataclass(frozen=True)
class BoardConfig:
    """What to draw. Sizes in pixels of the board image; `px_per_mm` sets the scale."""

    width: int = 3000
    height: int = 2200
    px_per_mm: float = 40.0
    n_components: int | None = None  # None: from the board area
    defect_rate: float = 0.12  # fraction of joints with a defect (roughly)
    style: str = "mixed"  # one of BOARD_STYLES or "mixed"
    transform: bool = True  # camera homography (shift, rotation, scale, perspective)
    photometric: bool = True  # gain, gamma, white balance, vignetting, noise, blur
    package_weights: dict[str, float] | None = None  # None: PACKAGE_WEIGHTS


@dataclass
class JointTruth:
    """Ground truth of one joint: recipe identity, boxes, label and defect."""

    index: int
    refdes: str
    pin: str
    type: str
    package: str
    box_board: tuple[float, float, float, float]
    box: tuple[float, float, float, float]  # image coordinates
    label: int = 0
    defect_type: str = ""
    severity: float = 0.0
    defect_id: int = 0  # value in the defect-id mask; 0 = none

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "index": self.index,
            "refdes": self.refdes,
            "pin": self.pin,
            "type": self.type,
            "package": self.package,
            "box": [round(v, 1) for v in self.box],
            "box_board": [round(v, 1) for v in self.box_board],
            "label": self.label,
            "defect_type": self.defect_type,
            "severity": round(self.severity, 3),
            "defect_id": self.defect_id,
        }


@dataclass
class BoardSample:
    """One rendered board with its recipe and ground truth."""

    image: np.ndarray  # HxWx3 BGR uint8, or HxW for the gray style
    recipe: Recipe
    homography: np.ndarray  # 3x3, recipe (board) coordinates -> image coordinates
    joints: list[JointTruth]
    defects: list[dict[str, Any]]  # id, type, severity, joints, bbox (image coords)
    defect_ids: np.ndarray  # int32 image-coordinate mask of defect ids (0 = none)
    solder_ids: np.ndarray  # int32 board-coordinate map: joint index + 1 on its solder
    style: str
    seed: int
    meta: dict[str, Any] = field(default_factory=dict)

    def truth_dict(self) -> dict[str, Any]:
        """Ground truth as a JSON-ready dictionary (no file paths)."""
        fid = project_points(
            [[f.x, f.y] for f in self.recipe.fiducials], self.homography
        )
        return {
            "seed": self.seed,
            "style": self.style,
            "product": self.recipe.product,
            "image_size": [int(self.image.shape[1]), int(self.image.shape[0])],
            "homography": [[float(v) for v in row] for row in self.homography],
            "fiducials": [
                {"id": f.id, "x": round(float(p[0]), 2), "y": round(float(p[1]), 2)}
                for f, p in zip(self.recipe.fiducials, fid, strict=True)
            ],
            "n_joints": len(self.joints),
            "n_defective": sum(j.label for j in self.joints),
            "defects": self.defects,
            "joints": [j.to_dict() for j in self.joints],
            **self.meta,
        }
