"""Write a synthetic joint data set in the manifest format (product.md §7)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .render import render_joint, sample_spec

GROUP_SIZE = 10
"""Consecutive crops share a group (`synth-<seed>-<i // GROUP_SIZE>`)."""


def generate_joint_dataset(
    out_dir: str | Path,
    n: int,
    seed: int,
    *,
    style: str = "mixed",
    defect_rate: float = 0.5,
    size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Render `n` joint crops into `out_dir` and write its ``manifest.csv``.

    Layout: ``images/NNNNNN.jpg`` (aoi_gray, JPEG q95) or ``.png`` (color),
    ``masks/NNNNNN.png`` (0 / 255, nonzero = defect; empty for good joints) and
    ``manifest.csv`` with columns path,label,defect_type,group,mask. Crop i uses spec
    ``sample_spec(default_rng([seed, i]))`` and render seed ``seed * 1_000_003 + i``,
    so the same arguments give the same bytes, and a prefix of a bigger run equals a
    smaller run.

    Args:
        out_dir: output folder (created).
        n: number of crops (> 0).
        seed: data set seed (>= 0).
        style: "mixed" or one of STYLES.
        defect_rate: probability of a defective spec (see `sample_spec`).
        size: nominal crop size in px (>= 16).
        progress: called as progress(done, total) after each crop.

    Returns:
        Path of the manifest.
    """
    from inference.datasets import Sample, write_manifest

    if n <= 0:
        msg = f"n must be positive, got {n}"
        raise ValueError(msg)
    if seed < 0:
        msg = f"seed must be >= 0, got {seed}"
        raise ValueError(msg)
    if not 0.0 <= defect_rate <= 1.0:
        msg = f"defect_rate must be within [0, 1], got {defect_rate}"
        raise ValueError(msg)
    if size < 16:
        msg = f"size must be >= 16, got {size}"
        raise ValueError(msg)
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    rows = []
    try:
        for i in range(n):
            spec = sample_spec(
                np.random.default_rng([seed, i]), style=style, defect_rate=defect_rate
            )
            spec = type(spec)(spec.kind, spec.defect, spec.severity, spec.style, size)
            s = render_joint(spec, seed * 1_000_003 + i)
            bgr = np.ascontiguousarray(s.image[..., ::-1])
            if spec.style == "aoi_gray":
                img_path = out / "images" / f"{i:06d}.jpg"
                ok = cv2.imwrite(str(img_path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
            else:
                img_path = out / "images" / f"{i:06d}.png"
                ok = cv2.imwrite(str(img_path), bgr)
            mask_path = out / "masks" / f"{i:06d}.png"
            ok = ok and cv2.imwrite(str(mask_path), s.mask * np.uint8(255))
            if not ok:
                msg = f"cannot write {img_path}"
                raise OSError(msg)
            rows.append(
                Sample(
                    img_path,
                    s.label,
                    s.defect_type,
                    f"synth-{seed}-{i // GROUP_SIZE}",
                    mask_path,
                )
            )
            if progress is not None:
                progress(i + 1, n)
    finally:
        cv2.setNumThreads(threads)
    return write_manifest(rows, out / "manifest.csv")
