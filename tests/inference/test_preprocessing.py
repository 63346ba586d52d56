"""The shared evaluation preset: resize to 256, /255, float32 RGB NCHW in [0, 1]."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from inference.errors import DataError, ImageDecodeError
from inference.preprocessing import PRESET_NAME, EvalPreset, load_image


def test_output_format():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (40, 70, 3), dtype=np.uint8)
    out = EvalPreset()(img)
    assert out.dtype == torch.float32
    assert tuple(out.shape) == (3, 256, 256)
    assert 0.0 <= float(out.min()) <= float(out.max()) <= 1.0


def test_identity_size_is_exact_division():
    img = np.arange(256 * 256 * 3, dtype=np.int64).reshape(256, 256, 3) % 256
    img = img.astype(np.uint8)
    out = EvalPreset()(img)
    torch.testing.assert_close(
        out, torch.from_numpy(img).permute(2, 0, 1).float() / 255.0
    )
    assert out[0, 0, 1] == pytest.approx(3 / 255)  # channel order preserved (RGB)


def test_constant_image_stays_constant_and_deterministic():
    img = np.full((31, 17, 3), (10, 128, 250), dtype=np.uint8)
    a = EvalPreset(size=64)(img)
    b = EvalPreset(size=64)(img.copy())
    assert torch.equal(a, b)
    torch.testing.assert_close(a[:, 5, 5], torch.tensor([10, 128, 250]) / 255.0)


def test_grey_rgba_pil_and_tensor_inputs():
    from PIL import Image

    grey = np.full((8, 8), 51, dtype=np.uint8)
    preset = EvalPreset(size=8)
    torch.testing.assert_close(preset(grey), torch.full((3, 8, 8), 0.2))
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    assert preset(rgba).shape == (3, 8, 8)
    pil = Image.fromarray(np.full((8, 8, 3), 255, dtype=np.uint8))
    torch.testing.assert_close(preset(pil), torch.ones(3, 8, 8))
    t = torch.full((3, 8, 8), 255, dtype=torch.uint8)
    torch.testing.assert_close(preset(t), torch.ones(3, 8, 8))


def test_batch():
    preset = EvalPreset(size=16)
    imgs = [np.zeros((5, 9, 3), np.uint8), np.full((20, 20, 3), 255, np.uint8)]
    batch = preset.batch(imgs)
    assert tuple(batch.shape) == (2, 3, 16, 16)
    assert tuple(preset.batch([]).shape) == (0, 3, 16, 16)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((8, 8, 3), np.float32),
        np.zeros((8, 8, 2), np.uint8),
        np.zeros((0, 8, 3), np.uint8),
        "not an image",
    ],
)
def test_rejects_bad_inputs(bad):
    with pytest.raises(DataError):
        EvalPreset()(bad)


def test_card_dict_roundtrip():
    d = EvalPreset(size=128).to_dict()
    assert d["name"] == PRESET_NAME
    assert d["scale"] == "1/255"
    assert EvalPreset.from_dict(d) == EvalPreset(size=128)
    with pytest.raises(DataError, match="unknown preprocessing"):
        EvalPreset.from_dict({"name": "imagenet_norm"})


def test_load_image(tmp_path):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((4, 6), 7, np.uint8), mode="L").save(buf, format="PNG")
    arr = load_image(buf.getvalue())
    assert arr.shape == (4, 6, 3)
    assert arr.dtype == np.uint8
    path = tmp_path / "x.png"
    path.write_bytes(buf.getvalue())
    assert load_image(path).shape == (4, 6, 3)
    with pytest.raises(ImageDecodeError, match="not found"):
        load_image(tmp_path / "missing.png")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(ImageDecodeError, match=r"bad\.png"):
        load_image(bad)
