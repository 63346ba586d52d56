"""`inference.image_io.load_image`: modes converted, bad files refused clearly."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from inference.errors import ImageDecodeError, InferenceError
from inference.image_io import LoadedImage, load_image


def _check(img: LoadedImage, h: int, w: int) -> None:
    assert img.rgb.shape == (h, w, 3)
    assert img.rgb.dtype == np.uint8
    assert img.rgb.flags["C_CONTIGUOUS"]


def _gradient(h: int = 24, w: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 7 % 256, yy * 9 % 256, (xx + yy) * 3 % 256], -1).astype(
        np.uint8
    )


def test_rgb_png_round_trip_and_sha256(tmp_path: Path) -> None:
    arr = _gradient()
    path = tmp_path / "rgb.png"
    Image.fromarray(arr).save(path)
    img = load_image(path)
    _check(img, 24, 32)
    np.testing.assert_array_equal(img.rgb, arr)
    assert img.original_mode == "RGB"
    assert img.bit_depth == 8
    assert not img.exif_orientation_applied
    assert img.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert img.path == path


def test_16bit_png_is_reduced_full_scale(tmp_path: Path) -> None:
    arr = np.array([[0, 255, 256, 65535], [1000, 32768, 40000, 512]], np.uint16)
    path = tmp_path / "gray16.png"
    Image.fromarray(arr).save(path)
    img = load_image(path)
    _check(img, 2, 4)
    assert img.bit_depth in (16, 32)  # Pillow opens 16-bit PNG as I;16 or I
    assert img.original_mode in ("I;16", "I")
    np.testing.assert_array_equal(img.rgb[..., 0], (arr >> 8).astype(np.uint8))
    np.testing.assert_array_equal(img.rgb[..., 0], img.rgb[..., 2])


def test_16bit_tiff(tmp_path: Path) -> None:
    arr = (np.arange(48, dtype=np.uint16).reshape(6, 8) * 1300).astype(np.uint16)
    path = tmp_path / "gray16.tif"
    Image.fromarray(arr).save(path)
    img = load_image(path)
    _check(img, 6, 8)
    np.testing.assert_array_equal(img.rgb[..., 1], (arr >> 8).astype(np.uint8))


def test_float_and_int32_tiff_are_scaled(tmp_path: Path) -> None:
    f = np.linspace(0.0, 1.0, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(f, mode="F").save(tmp_path / "f.tif")
    img = load_image(tmp_path / "f.tif")
    _check(img, 4, 5)
    assert img.original_mode == "F"
    assert img.rgb[0, 0, 0] == 0
    assert img.rgb[-1, -1, 0] == 255

    big = (np.arange(20, dtype=np.int32).reshape(4, 5) - 10) * 100_000
    Image.fromarray(big, mode="I").save(tmp_path / "i.tif")
    img = load_image(tmp_path / "i.tif")
    assert img.original_mode == "I"
    assert img.rgb[..., 0].min() == 0
    assert img.rgb[..., 0].max() == 255


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[..., 0] = 255  # pure cyan
    Image.fromarray(cmyk, mode="CMYK").save(path, quality=95)
    img = load_image(path)
    _check(img, 16, 16)
    assert img.original_mode == "CMYK"
    r, g, b = img.rgb[8, 8].astype(int)
    assert r < 60
    assert g > 180
    assert b > 180


def test_palette_png(tmp_path: Path) -> None:
    path = tmp_path / "pal.png"
    Image.fromarray(_gradient()).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    img = load_image(path)
    _check(img, 24, 32)
    assert img.original_mode == "P"


def test_palette_with_transparency_composites_on_black(tmp_path: Path) -> None:
    pal = Image.new("P", (4, 2), 1)
    pal.putpalette([255, 0, 0, 0, 255, 0])
    pal.putpixel((0, 0), 0)
    path = tmp_path / "pal_t.png"
    pal.save(path, transparency=0)
    img = load_image(path)
    np.testing.assert_array_equal(img.rgb[0, 0], [0, 0, 0])  # transparent -> black
    np.testing.assert_array_equal(img.rgb[1, 1], [0, 255, 0])


def test_rgba_png_composites_on_black(tmp_path: Path) -> None:
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = [[255, 128, 0], [255, 255, 255]]
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    img = load_image(path)
    _check(img, 2, 3)
    assert img.original_mode == "RGBA"
    np.testing.assert_array_equal(img.rgb[0, :, 0], [200, 100, 0])


def test_la_and_gray_and_1bit(tmp_path: Path) -> None:
    la = np.zeros((3, 3, 2), np.uint8)
    la[..., 0] = 100
    la[..., 1] = 255
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    img = load_image(tmp_path / "la.png")
    _check(img, 3, 3)
    assert img.original_mode == "LA"
    assert (img.rgb == 100).all()

    Image.fromarray(np.full((5, 7), 77, np.uint8), mode="L").save(tmp_path / "l.bmp")
    img = load_image(tmp_path / "l.bmp")
    _check(img, 5, 7)
    assert (img.rgb == 77).all()

    Image.new("1", (9, 4), 1).save(tmp_path / "one.png")
    img = load_image(tmp_path / "one.png")
    _check(img, 4, 9)
    assert img.bit_depth == 1
    assert (img.rgb == 255).all()


def test_tiff_and_bmp_rgb(tmp_path: Path) -> None:
    arr = _gradient()
    for name in ("a.tif", "a.bmp"):
        Image.fromarray(arr).save(tmp_path / name)
        img = load_image(tmp_path / name)
        np.testing.assert_array_equal(img.rgb, arr)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif, quality=95)
    img = load_image(path)
    assert img.exif_orientation_applied
    _check(img, 40, 20)  # shape swapped
    # Orientation 6: the stored left edge becomes the displayed top.
    assert img.rgb[:20].mean() > 200
    assert img.rgb[20:].mean() < 50


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match=r"nope\.png: file not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageDecodeError, match="is a folder"):
        load_image(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty\.png: empty file \(0 bytes\)"):
        load_image(path)


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n" * 10)
    with pytest.raises(ImageDecodeError, match="not a recognised image file"):
        load_image(path)


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    Image.fromarray(_gradient()).save(path)
    with pytest.raises(ImageDecodeError, match="unsupported image format GIF"):
        load_image(path)


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_truncated_file(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    path = tmp_path / f"full.{suffix}"
    Image.fromarray(arr).save(path)
    data = path.read_bytes()
    cut = tmp_path / f"cut.{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match=rf"cut\.{suffix}: .*truncated") as err:
        load_image(cut)
    assert isinstance(err.value, InferenceError)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_bomb_refused_before_decoding(tmp_path: Path) -> None:
    # A real 1-bit PNG of 20000x20000 is ~50 kB on disk, 400 MP decoded.
    path = tmp_path / "bomb.png"
    _write_blank_1bit_png(path, 20_000, 20_000)
    assert path.stat().st_size < 200_000
    with pytest.raises(ImageDecodeError, match=r"bomb\.png: refused.*too many pixels"):
        load_image(path)


def test_custom_pixel_limit(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.fromarray(_gradient()).save(path)
    with pytest.raises(ImageDecodeError, match=r"32x24 = .* exceeds the limit"):
        load_image(path, max_pixels=500)
    assert load_image(path, max_pixels=768).width == 32


def _write_blank_1bit_png(path: Path, w: int, h: int) -> None:
    """A valid all-black 1-bit PNG written row-wise (no big array in memory)."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return len(body).to_bytes(4, "big") + tag + body + crc.to_bytes(4, "big")

    ihdr = w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    row = b"\x00" + bytes((w + 7) // 8)
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", body)
        + chunk(b"IEND", b"")
    )
