"""Write a synthetic board dataset: images, recipes, truth and a manifest.

`generate_board_dataset` renders `n` boards (seeds from `board_seed`) into
``boards/``, ``recipes/``, ``truth/`` and ``manifest.csv``. Same seed, same bytes.
Public through `inference.synth.boards`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from inference.synth.board_config import BOARD_STYLES, SIZE_PRESETS, BoardConfig
from inference.synth.board_render import render_board
from inference.synth.recipe import dumps_rows

# The dataset writer's messages keep the logger of the public module.
log = logging.getLogger("inference.synth.boards")


def board_seed(seed: int, i: int) -> int:
    """The seed of board `i` of a dataset generated with `seed`."""
    return int(np.random.SeedSequence([int(seed), int(i)]).generate_state(1)[0])


def generate_board_dataset(
    out_dir: str | Path,
    n: int,
    seed: int,
    *,
    style: str = "mixed",
    size: tuple[int, int] = SIZE_PRESETS["default"],
    px_per_mm: float = 40.0,
    defect_rate: float = 0.12,
    image_format: str = "jpg",
    jpeg_quality: int = 90,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write `n` boards: ``boards/``, ``recipes/``, ``truth/`` and ``manifest.csv``.

    Per board ``truth/<id>.json`` holds the homography (recipe -> image), the
    per-joint truth and the defect list; ``truth/<id>_defects.png`` is the defect-id
    mask in image coordinates (uint8, or uint16 when there are more than 255 defects;
    value = ``defect_id`` of the joints) and ``truth/<id>_mask.png`` its binary form,
    referenced by the manifest's ``mask`` column. Returns the manifest path.
    """
    from inference.datasets import Sample, write_manifest

    if n <= 0:
        msg = f"n must be positive, got {n}"
        raise ValueError(msg)
    if image_format not in ("jpg", "png"):
        msg = f"image_format must be 'jpg' or 'png', got {image_format!r}"
        raise ValueError(msg)
    if style != "mixed" and style not in BOARD_STYLES:
        msg = f"unknown board style {style!r}; choose one of {(*BOARD_STYLES, 'mixed')}"
        raise ValueError(msg)
    out = Path(out_dir)
    for sub in ("boards", "recipes", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    cfg = BoardConfig(
        width=int(size[0]),
        height=int(size[1]),
        px_per_mm=px_per_mm,
        defect_rate=defect_rate,
        style=style,
    )
    samples: list[Sample] = []
    for i in range(n):
        bid = f"board_{i:04d}"
        s = board_seed(seed, i)
        board = render_board(s, cfg)
        img_path = out / "boards" / f"{bid}.{image_format}"
        params = (
            [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
            if image_format == "jpg"
            else [cv2.IMWRITE_PNG_COMPRESSION, 6]
        )
        _write_image(img_path, board.image, params)
        board.recipe.save(out / "recipes" / f"{bid}.json")
        ids = board.defect_ids
        ids_img = ids.astype(np.uint16 if ids.max(initial=0) > 255 else np.uint8)
        _write_image(out / "truth" / f"{bid}_defects.png", ids_img, [])
        _write_image(
            out / "truth" / f"{bid}_mask.png",
            np.where(ids > 0, 255, 0).astype(np.uint8),
            [],
        )
        truth = board.truth_dict()
        truth.update(
            {
                "board_id": bid,
                "image": f"boards/{bid}.{image_format}",
                "recipe": f"recipes/{bid}.json",
                "defect_mask": f"truth/{bid}_defects.png",
                "binary_mask": f"truth/{bid}_mask.png",
            }
        )
        (out / "truth" / f"{bid}.json").write_text(dumps_rows(truth), encoding="utf-8")
        label = int(truth["n_defective"] > 0)
        samples.append(
            Sample(
                path=img_path,
                label=label,
                defect_type="board",
                group=bid,
                mask=out / "truth" / f"{bid}_mask.png",
            )
        )
        log.debug(
            "board %s: %d joints, %d defective",
            bid,
            truth["n_joints"],
            truth["n_defective"],
        )
        if progress is not None:
            progress(i + 1)
    manifest = out / "manifest.csv"
    write_manifest(samples, manifest)
    return manifest


def _write_image(path: Path, img: np.ndarray, params: list[int]) -> None:
    ok, buf = cv2.imencode(path.suffix, img, params)
    if not ok:
        msg = f"{path}: could not encode image"
        raise OSError(msg)
    path.write_bytes(buf.tobytes())
