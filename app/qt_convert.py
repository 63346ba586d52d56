"""numpy <-> QImage helpers with explicit formats; returned QImages own their pixels.

These run on any thread (QImage is thread-safe to build); turn the result into a
QPixmap on the GUI thread only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage, QImageReader

# Refuse images bigger than this (decompression bombs); board images are ~7 MP.
MAX_IMAGE_MB = 512


class ImageLoadError(OSError):
    """An image file could not be read; the message names the file."""


def ndarray_to_qimage(array: np.ndarray) -> QImage:
    """A deep-copied QImage of a uint8 `H×W` (gray), `H×W×3` (RGB) or `H×W×4` (RGBA).

    Raises:
        ValueError: another dtype or shape.
    """
    if array.dtype != np.uint8:
        msg = f"expected a uint8 image, got {array.dtype}"
        raise ValueError(msg)
    a = np.ascontiguousarray(array)
    if a.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif a.ndim == 3 and a.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    elif a.ndim == 3 and a.shape[2] == 4:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    else:
        msg = f"expected H×W, H×W×3 or H×W×4, got shape {a.shape}"
        raise ValueError(msg)
    h, w = a.shape[:2]
    image = QImage(a.data, w, h, w * channels, fmt)
    # `.copy()`: the QImage above borrows numpy's buffer, which may be freed.
    return image.copy()


def qimage_to_ndarray(image: QImage) -> np.ndarray:
    """An `H×W×4` RGBA uint8 copy of `image` (any format)."""
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buf = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=rgba.sizeInBytes())
    rows = buf.reshape(h, rgba.bytesPerLine())[:, : w * 4]
    return rows.reshape(h, w, 4).copy()


def load_qimage(path: str | Path) -> QImage:
    """Read an image file into a QImage (RGB32 or ARGB32), off the GUI thread.

    Raises:
        ImageLoadError: missing, unreadable or too large a file.
    """
    reader = QImageReader(str(path))
    reader.setAllocationLimit(MAX_IMAGE_MB)
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        msg = f"cannot read the image {path}: {reader.errorString()}"
        raise ImageLoadError(msg)
    fmt = (
        QImage.Format.Format_ARGB32
        if image.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )
    return image.convertToFormat(fmt)
