"""Board image input: any common file and mode in, one HxWx3 uint8 RGB array out.

`load_image` is the one door through which board photos enter the engine
(product.md §8: unreadable, truncated, empty or huge images get a clear message
naming the file and the problem; 16-bit, CMYK, RGBA, palette and grayscale images
are converted, not refused).

Conversion rules (documented choices):

- **Formats**: PNG, JPEG (also MPO, the multi-picture JPEG many cameras write),
  TIFF, BMP. Anything else Pillow might identify is refused as unsupported. For
  multi-page files (TIFF pages, MPO) the first frame is used.
- **EXIF orientation** is applied first (`PIL.ImageOps.exif_transpose`), so the
  array is upright as a viewer shows it; `exif_orientation_applied` says so.
- **Alpha** (RGBA, LA, PA, palette with transparency) is *composited on black*
  (``rgb * alpha / 255``): transparent pixels become black instead of whatever
  colour the encoder left behind, so results do not depend on the encoder.
- **16-bit integer** (``I;16*`` modes, and ``I`` images whose values fit in
  0..65535, which is how Pillow opens many 16-bit PNG/TIFF files) is reduced to 8
  bits by the *full-scale* rule ``value >> 8``: brightness keeps its absolute
  meaning, so two captures of the same board compare equal and a dark image stays
  dark (no per-image stretch that would amplify noise).
- **32-bit integer** ``I`` outside 0..65535 and **float** ``F`` have no defined full
  scale: ``F`` in [0, 1] is scaled by 255, everything else is stretched linearly
  from its actual minimum..maximum to 0..255 (a constant image becomes 0).
- **CMYK, YCbCr, 1-bit, L, P** use Pillow's own conversion to RGB.

A pixel limit guards against decompression bombs: ``width * height`` from the
header is checked *before* any pixel is decoded. Pillow's own guard
(`PIL.Image.MAX_IMAGE_PIXELS`, an error at twice its value) also still applies and
is reported the same way. `PIL.ImageFile.LOAD_TRUNCATED_IMAGES` is never changed:
a truncated file is an error, not a half-grey image.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from inference.errors import ImageDecodeError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_FORMATS",
    "LoadedImage",
    "load_image",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_PIXELS = 100_000_000
"""Default pixel limit (100 MP): a 4000x3000 board photo is 12 MP."""

SUPPORTED_FORMATS: frozenset[str] = frozenset({"PNG", "JPEG", "MPO", "TIFF", "BMP"})
"""Pillow format names accepted by `load_image`."""

_ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class LoadedImage:
    """A decoded board image and where it came from.

    Attributes:
        rgb: HxWx3 uint8 RGB pixels, C-contiguous, upright (EXIF applied).
        path: the file that was read.
        original_mode: the Pillow mode of the file before conversion (e.g. ``I;16``).
        bit_depth: bits per sample of the original (1, 8, 16 or 32).
        exif_orientation_applied: True if an EXIF orientation other than 1 was
            applied (the array is rotated/flipped relative to the stored pixels).
        sha256: hex SHA-256 of the file bytes.
    """

    rgb: np.ndarray
    path: Path
    original_mode: str
    bit_depth: int
    exif_orientation_applied: bool
    sha256: str

    @property
    def width(self) -> int:
        """Width of `rgb` in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height of `rgb` in pixels."""
        return int(self.rgb.shape[0])


def _fail(path: Path, problem: str, cause: BaseException | None = None) -> NoReturn:
    msg = f"{path}: {problem}"
    raise ImageDecodeError(msg) from cause


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        _fail(path, "file not found")
    if path.is_dir():
        _fail(path, "is a folder, not an image file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        _fail(path, f"cannot read file ({exc.strerror or exc})", exc)
    if not data:
        _fail(path, "empty file (0 bytes)")
    return data


def _bit_depth(mode: str) -> int:
    if mode == "1":
        return 1
    if mode.startswith("I;16"):
        return 16
    if mode in ("I", "F"):
        return 32
    return 8


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any decoded Pillow image to HxWx3 uint8 RGB (rules in the module doc)."""
    mode = img.mode
    if mode == "RGB":
        return np.asarray(img, dtype=np.uint8)
    if mode.startswith("I;16") or mode in ("I", "F"):
        return _wide_to_rgb(img)
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
        if mode == "RGB":
            return np.asarray(img, dtype=np.uint8)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = np.asarray(img.convert("RGBA"), dtype=np.uint16)
        if mode in ("RGBa", "La"):  # already premultiplied
            return rgba[..., :3].astype(np.uint8)
        alpha = rgba[..., 3:4]
        # Composite on black: round(rgb * a / 255) in integers.
        out = (rgba[..., :3] * alpha + 127) // 255
        return out.astype(np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def _wide_to_rgb(img: Image.Image) -> np.ndarray:
    """16-/32-bit integer and float single-channel images to 8-bit gray RGB."""
    arr = np.asarray(img)
    if arr.ndim != 2:
        arr = arr.reshape(img.size[1], img.size[0])
    mode = img.mode
    if mode.startswith("I;16"):
        gray = (arr.astype(np.uint16) >> 8).astype(np.uint8)
    else:
        a = arr.astype(np.float64)
        finite = np.isfinite(a)
        if not finite.all():
            a = np.where(finite, a, 0.0)
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if mode == "I" and lo >= 0 and hi <= 65535:
            gray = (a.astype(np.uint32) >> 8).astype(np.uint8)
        elif mode == "F" and lo >= 0.0 and hi <= 1.0:
            gray = np.rint(a * 255.0).astype(np.uint8)
        elif hi > lo:
            gray = np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
        else:
            gray = np.zeros(a.shape, np.uint8)
    return np.repeat(gray[:, :, None], 3, axis=2)


def load_image(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> LoadedImage:
    """Read a board image file into upright 8-bit RGB.

    Args:
        path: PNG, JPEG, TIFF or BMP file, any common mode (see the module doc for
            how 16-bit, float, alpha, palette and CMYK images are converted).
        max_pixels: refuse images with more than this many pixels
            (``width * height`` read from the header, before decoding).

    Returns:
        The decoded image with its provenance (mode, bit depth, EXIF, SHA-256).

    Raises:
        ImageDecodeError: the file is missing, empty, not an image, of an
            unsupported format or mode, too large, truncated or corrupt; the
            message names the file and the problem.
    """
    path = Path(path)
    data = _read_bytes(path)
    digest = hashlib.sha256(data).hexdigest()
    try:
        with warnings.catch_warnings():
            # We apply our own pixel limit; Pillow's warning (an error under
            # pytest's filterwarnings) must not pre-empt it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        _fail(path, f"refused: too many pixels, a possible decompression bomb ({exc})")
    except UnidentifiedImageError as exc:
        _fail(path, "not a recognised image file", exc)
    except (OSError, SyntaxError, ValueError) as exc:
        _fail(path, f"corrupt image header ({exc})", exc)
    with img:
        fmt = img.format or "?"
        if fmt not in SUPPORTED_FORMATS:
            supported = ", ".join(sorted(SUPPORTED_FORMATS))
            _fail(path, f"unsupported image format {fmt} (supported: {supported})")
        w, h = img.size
        if w <= 0 or h <= 0:
            _fail(path, f"image has no pixels ({w}x{h})")
        if w * h > max_pixels:
            _fail(
                path,
                f"refused: {w}x{h} = {w * h / 1e6:.1f} MP exceeds the limit of "
                f"{max_pixels / 1e6:.1f} MP (possible decompression bomb)",
            )
        original_mode = img.mode
        if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - set by someone else
            log.warning(
                "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True: truncated files may "
                "decode silently"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img.load()
                orientation = int(img.getexif().get(_ORIENTATION_TAG, 1) or 1)
                upright = ImageOps.exif_transpose(img)
                rgb = _to_rgb(upright)
        except Image.DecompressionBombError as exc:
            _fail(path, f"refused: too many pixels ({exc})", exc)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            text = str(exc)
            problem = (
                "truncated image file"
                if "truncated" in text.lower() or isinstance(exc, EOFError)
                else "corrupt or unsupported image data"
            )
            _fail(path, f"{problem} ({fmt} {original_mode}: {text})", exc)
        except MemoryError as exc:
            _fail(path, f"not enough memory to decode {w}x{h} image", exc)
    applied = 2 <= orientation <= 8
    if applied:
        log.debug("%s: applied EXIF orientation %d", path, orientation)
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.uint8),
        path=path,
        original_mode=original_mode,
        bit_depth=_bit_depth(original_mode),
        exif_orientation_applied=applied,
        sha256=digest,
    )
