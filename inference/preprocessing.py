"""The one evaluation preprocessing preset shared by training and inference.

SolderNet's preprocessing (algorithms.md §0): resize the joint crop to 256 x 256 and
divide
by 255, giving float32 RGB in [0, 1], ``N x 3 x H x W``. Any mean/std normalisation of a
pretrained backbone lives inside the model (`inference.architectures.base.InputNorm`),
never
here. Resizing is bilinear with antialiasing, done by torch on CPU, so the training
loader
and the station compute bit-identical inputs.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.errors import DataError, ImageDecodeError

__all__ = ["PRESET_NAME", "EvalPreset", "load_image", "preprocess_batch"]

#: Name recorded in model cards.
PRESET_NAME = "soldernet_eval_v1"


def load_image(source: str | Path | bytes) -> np.ndarray:
    """Decode an image file or buffer into ``H x W x 3`` uint8 RGB.

    Args:
        source: a path or the encoded bytes (PNG, JPEG, BMP, TIFF, ...).

    Returns:
        The RGB pixels (grey and palette images are converted, alpha is dropped).

    Raises:
        ImageDecodeError: the file is missing or cannot be decoded.
    """
    from PIL import Image, UnidentifiedImageError

    name = "<bytes>" if isinstance(source, bytes) else str(source)
    try:
        handle: Any = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        with Image.open(handle) as img:
            img.load()
            return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    except FileNotFoundError as exc:
        msg = f"image file not found: {name}"
        raise ImageDecodeError(msg) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        msg = f"cannot decode image {name}: {exc}"
        raise ImageDecodeError(msg) from exc


@dataclass(frozen=True)
class EvalPreset:
    """Resize to ``size x size``, divide by 255, float32 RGB ``3 x H x W`` in [0, 1].

    Attributes:
        size: side of the square model input (256 in the paper).
        interpolation: torch interpolation mode (``"bilinear"``).
        antialias: antialiased downscaling.
    """

    size: int = 256
    interpolation: str = "bilinear"
    antialias: bool = True

    def __post_init__(self) -> None:
        if int(self.size) < 8:
            msg = f"input size must be >= 8, got {self.size}"
            raise DataError(msg)
        if self.interpolation not in ("bilinear", "bicubic"):
            msg = f"unsupported interpolation {self.interpolation!r}"
            raise DataError(msg)

    def _to_chw(self, image: Any) -> torch.Tensor:
        if not isinstance(image, np.ndarray | torch.Tensor):
            try:
                from PIL import Image
            except ImportError:  # pragma: no cover - pillow is a dependency
                Image = None
            if Image is not None and isinstance(image, Image.Image):
                image = np.asarray(image.convert("RGB"))
            else:
                msg = f"unsupported image type {type(image).__name__}"
                raise DataError(msg)
        if isinstance(image, torch.Tensor):
            t = image.detach().cpu()
            if t.ndim != 3 or t.shape[0] != 3 or t.dtype != torch.uint8:
                shape = tuple(t.shape)
                msg = f"a tensor image must be uint8 3xHxW, got {t.dtype} {shape}"
                raise DataError(msg)
            return t.to(torch.float32)
        arr = np.asarray(image)
        if arr.dtype != np.uint8:
            msg = f"images must be uint8 RGB (0..255), got dtype {arr.dtype}"
            raise DataError(msg)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        elif arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[:, :, :3]
        elif arr.ndim == 3 and arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)
        if arr.ndim != 3 or arr.shape[2] != 3:
            msg = f"images must be HxWx3 RGB, got shape {arr.shape}"
            raise DataError(msg)
        if arr.shape[0] == 0 or arr.shape[1] == 0:
            msg = f"image is empty: shape {arr.shape}"
            raise DataError(msg)
        if not arr.flags.writeable or not arr.flags.c_contiguous:
            arr = np.array(arr, dtype=np.uint8, order="C")
        return torch.from_numpy(arr).permute(2, 0, 1).to(torch.float32)

    def __call__(self, image: Any) -> torch.Tensor:
        """Preprocess one image.

        Args:
            image: ``H x W x 3`` uint8 RGB numpy array (``H x W`` grey and ``H x W x 4``
                RGBA are accepted), a PIL image, or a uint8 ``3 x H x W`` tensor.

        Returns:
            Float32 tensor ``3 x size x size`` in [0, 1].

        Raises:
            DataError: wrong type, dtype or shape.
        """
        chw = self._to_chw(image)
        if tuple(chw.shape[1:]) != (self.size, self.size):
            chw = F.interpolate(
                chw[None],
                size=(self.size, self.size),
                mode=self.interpolation,
                align_corners=False,
                antialias=self.antialias,
            )[0]
        return (chw / 255.0).clamp_(0.0, 1.0)

    def batch(self, images: Sequence[Any]) -> torch.Tensor:
        """Preprocess several images into ``N x 3 x size x size``.

        Args:
            images: images accepted by `__call__`.

        Returns:
            The batch (``0 x 3 x size x size`` when empty).
        """
        if len(images) == 0:
            return torch.zeros(0, 3, self.size, self.size)
        return torch.stack([self(im) for im in images])

    def to_dict(self) -> dict[str, Any]:
        """Description stored in the model card."""
        return {
            "name": PRESET_NAME,
            **asdict(self),
            "scale": "1/255",
            "dtype": "float32",
            "layout": "NCHW",
            "channels": "RGB",
            "range": [0.0, 1.0],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalPreset:
        """Rebuild the preset from a model card's ``preprocessing`` entry.

        Args:
            data: the dict written by `to_dict`.

        Returns:
            The preset.

        Raises:
            DataError: the card names another preprocessing.
        """
        name = data.get("name", PRESET_NAME)
        if name != PRESET_NAME:
            msg = (
                f"unknown preprocessing {name!r}; this version supports {PRESET_NAME!r}"
            )
            raise DataError(msg)
        return cls(
            size=int(data.get("size", 256)),
            interpolation=str(data.get("interpolation", "bilinear")),
            antialias=bool(data.get("antialias", True)),
        )


def preprocess_batch(
    crops: np.ndarray, input_size: int, chunk: int = 64
) -> torch.Tensor:
    """The evaluation preprocessing of equal-sized crops in a few batched tensor ops.

    Computes the same numbers as ``EvalPreset(size=input_size)`` applied to each
    crop (resize with the preset's interpolation and antialiasing, then /255 and a
    clamp to [0, 1]), but with three tensor operations per ``chunk`` crops instead
    of several per crop: on a busy CPU every small multi-threaded tensor operation
    can wait milliseconds for a descheduled thread (docs/pipeline.md).

    Args:
        crops: ``NxHxWx3`` uint8 RGB.
        input_size: square side of the model input.
        chunk: crops converted to float at a time (bounds the float copy of the
            full-size crops: 64 x 3 x 256 x 256 x 4 bytes = 50 MB).

    Returns:
        Contiguous float32 tensor ``Nx3xSxS`` in [0, 1].

    Raises:
        DataError: not an ``NxHxWx3`` uint8 array.
    """
    preset = EvalPreset(size=int(input_size))
    arr = np.asarray(crops)
    if (
        arr.ndim != 4
        or arr.shape[3] != 3
        or arr.dtype != np.uint8
        or 0 in arr.shape[1:3]
    ):
        msg = (
            "crops must be a non-empty NxHxWx3 uint8 array, "
            f"got {arr.dtype} {arr.shape}"
        )
        raise DataError(msg)
    if not arr.flags.writeable or not arr.flags.c_contiguous:
        arr = np.array(arr, dtype=np.uint8, order="C")
    n, h, w = arr.shape[:3]
    s = preset.size
    out = torch.empty(n, 3, s, s, dtype=torch.float32)
    step = max(1, int(chunk))
    for i in range(0, n, step):
        part = torch.from_numpy(arr[i : i + step]).permute(0, 3, 1, 2).float()
        if (h, w) != (s, s):
            part = F.interpolate(
                part,
                size=(s, s),
                mode=preset.interpolation,
                align_corners=False,
                antialias=preset.antialias,
            )
        torch.div(part, 255.0, out=out[i : i + step])
    return out.clamp_(0.0, 1.0)
