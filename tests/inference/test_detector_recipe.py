"""Recipe-mode detector: fiducial registration, joint projection, refusals."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.detector import DetectionResult, JointDetector, RecipeDetector
from inference.errors import DataError, InferenceError
from inference.image_io import load_image
from inference.registration import (
    RegistrationConfig,
    RegistrationError,
    find_fiducial,
    register,
    value_channel,
)
from inference.synth.boards import BoardConfig, BoardSample, render_board
from inference.synth.recipe import Recipe, RecipeJoint, project_points


@functools.cache
def _board(style: str, seed: int = 1) -> BoardSample:
    return render_board(
        seed, BoardConfig(width=800, height=600, n_components=8, style=style)
    )


def _rgb(board: BoardSample) -> np.ndarray:
    img = board.image
    return img if img.ndim == 2 else np.ascontiguousarray(img[:, :, ::-1])


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / (aw * ah + bw * bh - ix * iy)


def _fiducial_error(board: BoardSample, hom: np.ndarray) -> float:
    fids = np.array([[f.x, f.y] for f in board.recipe.fiducials])
    est = project_points(fids, hom)
    return float(
        np.linalg.norm(est - project_points(fids, board.homography), axis=1).max()
    )


@pytest.mark.parametrize("style", ["gray", "color", "rgb"])
def test_recovers_known_transform(style: str) -> None:
    board = _board(style)
    det = RecipeDetector(board.recipe)
    assert isinstance(det, JointDetector)
    res = det.detect(_rgb(board))
    assert isinstance(res, DetectionResult)
    assert res.method == "recipe"
    assert res.image_size == (800, 600)
    reg = res.registration
    assert reg is not None
    assert reg.refined
    assert reg.model == "homography"
    assert reg.residual_px < 1.5
    assert _fiducial_error(board, reg.homography) < 1.0
    # Every recipe joint, in recipe order, close to its truth box.
    assert len(res.joints) == len(board.joints)
    assert not res.outside
    for jb, truth in zip(res.joints, board.joints, strict=True):
        assert (jb.refdes, jb.pin, jb.package) == (
            truth.refdes,
            truth.pin,
            truth.package,
        )
        assert jb.joint_type == truth.type
        b = jb.bbox
        assert _iou((b.x, b.y, b.w, b.h), truth.box) >= 0.7


def test_fiducials_alone_within_one_pixel() -> None:
    board = _board("gray")
    reg = register(_rgb(board), board.recipe, config=RegistrationConfig(refine=False))
    assert reg.model == "affine"
    assert not reg.refined
    assert reg.residual_px == 0.0  # exactly determined: 3 points, 6 parameters
    assert reg.shape_error < 0.01
    assert _fiducial_error(board, reg.homography) < 1.0
    for m in reg.fiducials:
        assert m.score > 0.8
        assert abs(m.radius - 20.0) < 3.0


def test_from_jpeg_file_through_load_image(tmp_path: Path) -> None:
    board = _board("color")
    img_path = tmp_path / "board.jpg"
    cv2.imwrite(str(img_path), board.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    recipe_path = board.recipe.save(tmp_path / "recipe.json")
    res = RecipeDetector.from_file(recipe_path).detect(load_image(img_path).rgb)
    assert res.registration is not None
    assert res.registration.refined
    assert _fiducial_error(board, res.registration.homography) < 1.0
    ious = [
        _iou((j.bbox.x, j.bbox.y, j.bbox.w, j.bbox.h), t.box)
        for j, t in zip(res.joints, board.joints, strict=True)
    ]
    assert min(ious) >= 0.7


def _paint_over(board: BoardSample, index: int) -> np.ndarray:
    img = _rgb(board).copy()
    f = board.recipe.fiducials[index]
    (cx, cy), r = project_points([[f.x, f.y]], board.homography)[0], f.r
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    d = np.hypot(xx - cx, yy - cy)
    ring = (d > 3.5 * r) & (d < 4.5 * r)
    colour = np.median(img[ring], axis=0)
    img[d < 3.2 * r] = colour.astype(np.uint8)
    return img


def test_painted_over_fiducial_is_refused() -> None:
    board = _board("color")
    img = _paint_over(board, 1)
    with pytest.raises(RegistrationError, match=r"fiducial F2 .*not found") as err:
        RecipeDetector(board.recipe).detect(img)
    assert isinstance(err.value, InferenceError)
    assert "searched" in str(err.value)


def test_blank_image_is_refused() -> None:
    recipe = _board("gray").recipe
    with pytest.raises(RegistrationError, match="blank image"):
        RecipeDetector(recipe).detect(np.zeros((600, 800, 3), np.uint8))
    with pytest.raises(RegistrationError, match="blank image"):
        RecipeDetector(recipe).detect(np.full((600, 800), 128, np.uint8))


def test_square_pad_is_not_a_fiducial() -> None:
    # A bright square of the fiducial's size correlates with the disc template
    # but its edge is not round: refused.
    img = np.full((200, 200), 60, np.uint8)
    img[80:120, 80:120] = 200
    fid = _board("gray").recipe.fiducials[0]
    with pytest.raises(RegistrationError, match=r"not round|radius"):
        find_fiducial(img, fid, (100.0, 100.0), 20.0, search_radius=40.0)
    disc = np.full((200, 200), 60, np.uint8)
    cv2.circle(disc, (101, 98), 20, 200, -1, cv2.LINE_AA)
    m = find_fiducial(disc, fid, (100.0, 100.0), 20.0, search_radius=40.0)
    assert abs(m.image_xy[0] - 101) < 0.3
    assert abs(m.image_xy[1] - 98) < 0.3
    assert abs(m.radius - 20.0) < 0.7


def test_fiducials_of_wrong_geometry_are_refused() -> None:
    board = _board("gray")
    # The recipe puts F2 40 px lower than it is on the board: the fiducial found
    # in the search window does not fit a flat board seen by a camera.
    f = board.recipe.fiducials
    moved = Recipe(
        board.recipe.product,
        board.recipe.board_size,
        [f[0], type(f[1])(f[1].id, f[1].x, f[1].y + 40.0, f[1].r), f[2]],
        board.recipe.joints,
    )
    with pytest.raises(RegistrationError, match="shape error"):
        register(_rgb(board), moved)


def test_joints_outside_the_image_are_reported() -> None:
    board = _board("gray")
    extra = RecipeJoint("X1", "1", "smd", "0603", (5000.0, 100.0, 30.0, 30.0))
    recipe = Recipe(
        board.recipe.product,
        board.recipe.board_size,
        board.recipe.fiducials,
        [*board.recipe.joints, extra],
    )
    res = RecipeDetector(recipe).detect(_rgb(board))
    assert [j.refdes for j in res.outside] == ["X1"]
    assert len(res.joints) == len(board.joints)


def test_bad_recipe_and_bad_image() -> None:
    board = _board("gray")
    with pytest.raises(DataError, match="at least 3"):
        RecipeDetector(
            Recipe("P", (800, 600), board.recipe.fiducials[:2], board.recipe.joints)
        )
    with pytest.raises(DataError, match="uint8"):
        RecipeDetector(board.recipe).detect(np.zeros((600, 800, 3), np.float32))
    with pytest.raises(DataError, match="cannot read recipe"):
        RecipeDetector.from_file("/nonexistent/recipe.json")


def test_value_channel_is_channel_max() -> None:
    img = np.zeros((2, 2, 3), np.uint8)
    img[0, 0] = (10, 200, 30)
    img[1, 1] = (250, 0, 0)
    v = value_channel(img)
    assert v.tolist() == [[200, 0], [0, 250]]
