"""Synthetic whole boards: determinism, recipe geometry, fiducials, defect masks."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.datasets import read_manifest
from inference.synth.boards import (
    BOARD_DEFECTS,
    BoardConfig,
    BoardSample,
    generate_board_dataset,
    render_board,
)
from inference.synth.recipe import Recipe, RecipeError, project_box, project_points

SMALL = BoardConfig(width=800, height=600, px_per_mm=25.0, defect_rate=0.3)


@pytest.fixture(scope="module")
def boards() -> dict[str, BoardSample]:
    return {
        style: render_board(seed, BoardConfig(**{**SMALL.__dict__, "style": style}))
        for seed, style in ((11, "color"), (12, "gray"), (13, "rgb"))
    }


def test_same_seed_same_bytes() -> None:
    a = render_board(5, SMALL)
    b = render_board(5, SMALL)
    c = render_board(6, SMALL)
    assert a.image.tobytes() == b.image.tobytes()
    assert np.array_equal(a.homography, b.homography)
    assert a.recipe.to_dict() == b.recipe.to_dict()
    assert a.image.tobytes() != c.image.tobytes()


def test_dataset_files_are_deterministic(tmp_path: Path) -> None:
    kw = {"size": (640, 480), "px_per_mm": 25.0}
    m1 = generate_board_dataset(tmp_path / "a", 1, 3, **kw)
    m2 = generate_board_dataset(tmp_path / "b", 1, 3, **kw)
    files = sorted(
        p.relative_to(m1.parent) for p in m1.parent.rglob("*") if p.is_file()
    )
    assert len(files) == 6  # image, recipe, truth json, 2 masks, manifest
    for rel in files:
        assert (m1.parent / rel).read_bytes() == (m2.parent / rel).read_bytes(), rel


def test_board_has_components_and_joints(boards: dict[str, BoardSample]) -> None:
    for b in boards.values():
        assert b.meta["n_components"] >= 12
        assert len(b.joints) == len(b.recipe.joints) >= 30
        assert b.image.shape[:2] == (600, 800)
    assert boards["gray"].image.ndim == 2
    assert boards["color"].image.ndim == 3


def test_solder_pixels_lie_in_their_recipe_box(boards: dict[str, BoardSample]) -> None:
    for b in boards.values():
        ids = b.solder_ids
        for j, rj in zip(b.joints, b.recipe.joints, strict=True):
            ys, xs = np.nonzero(ids == j.index + 1)
            if j.label == 0:
                assert xs.size > 0, f"good joint {j.refdes}.{j.pin} has no solder"
            if xs.size == 0:
                continue
            x, y, w, h = rj.box
            slack = 1.0
            if j.label:  # a defect may spill: bridges span to the partner joint
                d = b.defects[j.defect_id - 1]
                boxes = np.array([b.recipe.joints[i].box for i in d["joints"]])
                x, y = boxes[:, 0].min(), boxes[:, 1].min()
                w = (boxes[:, 0] + boxes[:, 2]).max() - x
                h = (boxes[:, 1] + boxes[:, 3]).max() - y
                slack = 0.7 * SMALL.px_per_mm
            assert xs.min() >= x - slack, (j, rj.box)
            assert xs.max() <= x + w + slack, (j, rj.box)
            assert ys.min() >= y - slack, (j, rj.box)
            assert ys.max() <= y + h + slack, (j, rj.box)


def test_projected_boxes_show_metal_not_bare_mask(
    boards: dict[str, BoardSample],
) -> None:
    for b in boards.values():
        img = b.image.astype(np.float32)
        if img.ndim == 2:
            img = img[..., None]
        covered = np.zeros(img.shape[:2], bool)
        for j in b.joints:
            x, y, w, h = (round(v) for v in j.box)
            covered[max(0, y) : y + h, max(0, x) : x + w] = True
        bg = np.median(img[~covered], axis=0)
        diffs = []
        for j, rj in zip(b.joints, b.recipe.joints, strict=True):
            if j.label:
                continue
            x, y, w, h = project_box(rj.box, b.homography)
            roi = img[round(y) : round(y + h), round(x) : round(x + w)]
            diffs.append(float(np.abs(roi - bg).mean()))
        assert min(diffs) > 20.0, (b.style, sorted(diffs)[:5])


def test_fiducials_are_where_recipe_and_transform_say(
    boards: dict[str, BoardSample],
) -> None:
    for b in boards.values():
        img = b.image if b.image.ndim == 2 else b.image.max(axis=2)
        expected = project_points(
            [[f.x, f.y] for f in b.recipe.fiducials], b.homography
        )
        for f, (ex, ey) in zip(b.recipe.fiducials, expected, strict=True):
            r = int(3 * f.r)
            x0, y0 = round(ex) - r, round(ey) - r
            win = cv2.GaussianBlur(img[y0 : y0 + 2 * r, x0 : x0 + 2 * r], (5, 5), 1.0)
            circles = cv2.HoughCircles(
                win,
                cv2.HOUGH_GRADIENT,
                dp=1,
                minDist=2 * r,
                param1=80,
                param2=10,
                minRadius=int(0.7 * f.r),
                maxRadius=int(1.4 * f.r),
            )
            assert circles is not None, (b.style, f.id)
            cx, cy = circles[0, 0, :2] + (x0, y0)
            assert max(abs(cx - ex), abs(cy - ey)) <= 3, (
                b.style,
                f.id,
                cx,
                cy,
                ex,
                ey,
            )


def test_defect_masks_lie_at_their_joints(boards: dict[str, BoardSample]) -> None:
    ppm = SMALL.px_per_mm
    for b in boards.values():
        assert b.defects
        for d in b.defects:
            assert d["bbox"] is not None, d
            assert d["area_px"] > 0
            boxes = np.array([b.joints[i].box for i in d["joints"]])
            x0 = boxes[:, 0].min() - 0.8 * ppm
            y0 = boxes[:, 1].min() - 0.8 * ppm
            x1 = (boxes[:, 0] + boxes[:, 2]).max() + 0.8 * ppm
            y1 = (boxes[:, 1] + boxes[:, 3]).max() + 0.8 * ppm
            x, y, w, h = d["bbox"]
            assert x >= x0, d
            assert y >= y0, d
            assert x + w <= x1, d
            assert y + h <= y1, d
            for i in d["joints"]:
                j = b.joints[i]
                assert j.label == 1
                assert j.defect_id == d["id"]
                assert j.defect_type == d["type"]
                assert 0.0 < j.severity <= 1.0
        labelled = {j.index for j in b.joints if j.label}
        assert labelled == {i for d in b.defects for i in d["joints"]}


def test_all_defect_types_occur() -> None:
    cfg = BoardConfig(
        width=1400,
        height=1000,
        px_per_mm=25.0,
        defect_rate=0.6,
        transform=False,
        photometric=False,
    )
    seen: Counter[str] = Counter()
    for seed in range(3):
        seen.update(d["type"] for d in render_board(seed, cfg).defects)
    assert set(BOARD_DEFECTS) <= set(seen), seen


def test_recipe_round_trip_and_truth_files(tmp_path: Path) -> None:
    manifest = generate_board_dataset(
        tmp_path, 2, 1, size=(640, 480), px_per_mm=25.0, image_format="png"
    )
    rows = read_manifest(manifest)
    assert len(rows) == 2
    assert all(r.mask is not None for r in rows)
    truth = json.loads((tmp_path / "truth" / "board_0000.json").read_text())
    recipe = Recipe.load(tmp_path / truth["recipe"])
    assert len(recipe.joints) == truth["n_joints"] == len(truth["joints"])
    hom = np.array(truth["homography"])
    for rj, tj in zip(recipe.joints, truth["joints"], strict=True):
        assert np.allclose(project_box(rj.box, hom), tj["box"], atol=0.11)
    ids = cv2.imread(str(tmp_path / truth["defect_mask"]), cv2.IMREAD_UNCHANGED)
    assert ids.shape == (480, 640)
    assert set(np.unique(ids)) - {0} <= {d["id"] for d in truth["defects"]}
    copy = recipe.save(tmp_path / "copy.json")
    assert Recipe.load(copy) == recipe
    jb = recipe.joint_boxes(hom)
    assert jb[0].refdes == recipe.joints[0].refdes
    assert jb[0].bbox.w > 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{not json", "not valid JSON"),
        ('{"product": "x", "board_size": [10, 10], "fiducials": []}', "'joints'"),
        (
            '{"product": "x", "board_size": [10], "fiducials": [], "joints": []}',
            "board_size",
        ),
        (
            '{"product": "x", "board_size": [9, 9], "fiducials": [], "joints": '
            '[{"refdes": "R1", "pin": "1", "type": "smt", "package": "0402", '
            '"box": [0, 0, 1, 1]}]}',
            "joints[0].type",
        ),
    ],
)
def test_bad_recipe_names_file_and_problem(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(RecipeError) as err:
        Recipe.load(path)
    assert str(path) in str(err.value)
    assert needle in str(err.value)
