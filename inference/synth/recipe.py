"""Board recipes (product.md §7): fiducials and joint boxes in board coordinates.

A recipe is a JSON file::

    {"product": "...", "board_size": [w, h],
     "fiducials": [{"id": "F1", "x": 120.0, "y": 118.0, "r": 20.0}, ...],
     "joints": [{"refdes": "R1", "pin": "1", "type": "smd", "package": "0603",
                 "box": [x, y, w, h]}, ...]}

Coordinates are pixels of the ideal (unwarped) board image. With a recipe the
detector registers a photo to the board through the fiducials; `project_box`
maps a recipe box through the 3x3 homography of that registration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from inference.types import BBox, JointBox, JointType

RECIPE_VERSION = 1


class RecipeError(ValueError):
    """A recipe file that cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Fiducial:
    """A round copper fiducial mark: centre (x, y) and radius r in board pixels."""

    id: str
    x: float
    y: float
    r: float


@dataclass(frozen=True)
class RecipeJoint:
    """One solder joint of a recipe: where it is on the board and what it belongs to."""

    refdes: str
    pin: str
    type: str  # "smd" | "tht"
    package: str
    box: tuple[float, float, float, float]  # x, y, w, h in board pixels

    def joint_box(self, homography: np.ndarray | None = None) -> JointBox:
        """This joint as a `JointBox`, optionally projected through a homography."""
        box = self.box if homography is None else project_box(self.box, homography)
        x, y, w, h = box
        return JointBox(
            bbox=BBox(round(x), round(y), max(1, round(w)), max(1, round(h))),
            joint_type=JointType(self.type),
            refdes=self.refdes,
            pin=self.pin,
            package=self.package,
        )


@dataclass
class Recipe:
    """A product's board recipe: board size, fiducials and joints (board pixels)."""

    product: str
    board_size: tuple[int, int]
    fiducials: list[Fiducial] = field(default_factory=list)
    joints: list[RecipeJoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dictionary of this recipe."""
        return {
            "version": RECIPE_VERSION,
            "product": self.product,
            "board_size": [int(self.board_size[0]), int(self.board_size[1])],
            "fiducials": [
                {"id": f.id, "x": round(f.x, 2), "y": round(f.y, 2), "r": round(f.r, 2)}
                for f in self.fiducials
            ],
            "joints": [
                {
                    "refdes": j.refdes,
                    "pin": j.pin,
                    "type": j.type,
                    "package": j.package,
                    "box": [round(float(v), 2) for v in j.box],
                }
                for j in self.joints
            ],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "<recipe>") -> Recipe:
        """Build a recipe from parsed JSON; raises `RecipeError` naming `source`."""
        if not isinstance(data, dict):
            msg = f"{source}: recipe must be a JSON object, got {type(data).__name__}"
            raise RecipeError(msg)
        for key in ("product", "board_size", "fiducials", "joints"):
            if key not in data:
                msg = f"{source}: missing key {key!r}"
                raise RecipeError(msg)
        size = data["board_size"]
        if (
            not isinstance(size, list | tuple)
            or len(size) != 2
            or not all(isinstance(v, int | float) and v > 0 for v in size)
        ):
            msg = f"{source}: 'board_size' must be [width, height] > 0, got {size!r}"
            raise RecipeError(msg)
        fiducials = [
            _fiducial(f, f"{source}: fiducials[{i}]")
            for i, f in enumerate(data["fiducials"])
        ]
        joints = [
            _joint(j, f"{source}: joints[{i}]") for i, j in enumerate(data["joints"])
        ]
        return cls(
            product=str(data["product"]),
            board_size=(int(size[0]), int(size[1])),
            fiducials=fiducials,
            joints=joints,
        )

    @classmethod
    def load(cls, path: str | Path) -> Recipe:
        """Read a recipe JSON file; `RecipeError` names the file and the problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"{path}: cannot read recipe ({exc.strerror or exc})"
            raise RecipeError(msg) from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            msg = f"{path}: not valid JSON ({where}: {exc.msg})"
            raise RecipeError(msg) from exc
        return cls.from_dict(data, str(path))

    def save(self, path: str | Path) -> Path:
        """Write this recipe as JSON (creating the folder); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dumps_rows(self.to_dict()), encoding="utf-8")
        return path

    def joint_boxes(self, homography: np.ndarray | None = None) -> list[JointBox]:
        """All joints as `JointBox` rows, projected through `homography` if given."""
        return [j.joint_box(homography) for j in self.joints]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"{where} must be a number, got {value!r}"
        raise RecipeError(msg)
    return float(value)


def _fiducial(data: Any, where: str) -> Fiducial:
    if not isinstance(data, dict):
        msg = f"{where} must be an object"
        raise RecipeError(msg)
    for key in ("id", "x", "y", "r"):
        if key not in data:
            msg = f"{where}: missing key {key!r}"
            raise RecipeError(msg)
    return Fiducial(
        id=str(data["id"]),
        x=_number(data["x"], f"{where}.x"),
        y=_number(data["y"], f"{where}.y"),
        r=_number(data["r"], f"{where}.r"),
    )


def _joint(data: Any, where: str) -> RecipeJoint:
    if not isinstance(data, dict):
        msg = f"{where} must be an object"
        raise RecipeError(msg)
    for key in ("refdes", "pin", "type", "package", "box"):
        if key not in data:
            msg = f"{where}: missing key {key!r}"
            raise RecipeError(msg)
    if data["type"] not in ("smd", "tht"):
        msg = f"{where}.type must be 'smd' or 'tht', got {data['type']!r}"
        raise RecipeError(msg)
    box = data["box"]
    if not isinstance(box, list | tuple) or len(box) != 4:
        msg = f"{where}.box must be [x, y, w, h], got {box!r}"
        raise RecipeError(msg)
    values = tuple(_number(v, f"{where}.box") for v in box)
    if values[2] <= 0 or values[3] <= 0:
        msg = f"{where}.box must have w, h > 0, got {box!r}"
        raise RecipeError(msg)
    return RecipeJoint(
        refdes=str(data["refdes"]),
        pin=str(data["pin"]),
        type=str(data["type"]),
        package=str(data["package"]),
        box=values,  # type: ignore[arg-type]
    )


def project_points(points: np.ndarray | Sequence, homography: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 3x3 homography; returns (N, 2) float64."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    hom = np.asarray(homography, dtype=np.float64)
    ph = np.concatenate([pts, np.ones((len(pts), 1))], axis=1) @ hom.T
    return ph[:, :2] / ph[:, 2:3]


def project_box(
    box: Sequence[float], homography: np.ndarray
) -> tuple[float, float, float, float]:
    """Axis-aligned box (x, y, w, h) enclosing the four projected corners of `box`."""
    x, y, w, h = (float(v) for v in box)
    corners = project_points(
        [[x, y], [x + w, y], [x + w, y + h], [x, y + h]], homography
    )
    x0, y0 = corners.min(axis=0)
    x1, y1 = corners.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


def dumps_rows(obj: dict[str, Any]) -> str:
    """JSON with one line per top-level key and one line per row of top-level lists.

    Readable and diff-friendly, yet compact for boards with hundreds of joints.
    """
    lines = []
    items = list(obj.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
        ):
            rows = ",\n".join(f"  {json.dumps(v)}" for v in value)
            lines.append(f" {json.dumps(key)}: [\n{rows}\n ]{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
    return "{\n" + "\n".join(lines) + "\n}\n"
