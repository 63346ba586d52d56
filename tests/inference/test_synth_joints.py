"""Joint renderer: determinism, shapes, good joints, spec sampling, data set writer."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import inference.synth as synth
from inference.synth import (
    DEFECTS_FOR,
    JOINT_KINDS,
    STYLES,
    JointSpec,
    defects_for,
    generate_joint_dataset,
    out_shape,
    render_joint,
    sample_spec,
)
from inference.types import DefectCode

SIZE = 128


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", ["chip_0603", "gullwing", "tht_round"])
def test_same_seed_same_bytes(kind: str, style: str) -> None:
    spec = JointSpec(kind, DefectCode.BRIDGE, 0.6, style, SIZE)
    a, b = render_joint(spec, 11), render_joint(spec, 11)
    assert a.image.tobytes() == b.image.tobytes()
    assert a.mask.tobytes() == b.mask.tobytes()
    assert a.meta == b.meta
    c = render_joint(spec, 12)
    assert c.image.tobytes() != a.image.tobytes()


@pytest.mark.parametrize("size", [32, 256])
@pytest.mark.parametrize("style", STYLES)
def test_shape_and_dtype(style: str, size: int) -> None:
    s = render_joint(JointSpec("tht_square", None, 0.0, style, size), 3)
    h, w = out_shape(style, size)
    assert (h, w) == ((size, size) if style == "color" else (round(0.8 * size), size))
    assert s.image.shape == (h, w, 3)
    assert s.image.dtype == np.uint8
    assert s.mask.shape == (h, w)
    assert s.mask.dtype == np.uint8
    if style == "aoi_gray":  # grayscale replicated into RGB, like handian-tht
        assert np.array_equal(s.image[..., 0], s.image[..., 2])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("kind", JOINT_KINDS)
def test_good_joints_have_empty_masks(kind: str, style: str) -> None:
    s = render_joint(JointSpec(kind, None, 0.0, style, SIZE), 5)
    assert s.label == 0
    assert s.defect_type == "none"
    assert not s.mask.any()
    assert s.image.std() > 3  # something is drawn


def test_sample_spec_is_valid_and_seeded() -> None:
    rng = np.random.default_rng(0)
    specs = [sample_spec(rng, defect_rate=0.5) for _ in range(300)]
    again = [sample_spec(np.random.default_rng(0)) for _ in range(1)]
    assert again[0] == specs[0]
    assert {s.style for s in specs} == set(STYLES)
    assert {s.kind for s in specs} == set(JOINT_KINDS)
    n_def = sum(s.defect is not None for s in specs)
    assert 100 < n_def < 200
    for s in specs:
        assert 0.0 <= s.severity <= 1.0
        if s.defect is not None:
            assert s.defect in defects_for(s.kind)
    gray = [sample_spec(rng, style="aoi_gray", defect_rate=0.0) for _ in range(20)]
    assert all(s.style == "aoi_gray" and s.defect is None for s in gray)
    with pytest.raises(ValueError, match="style"):
        sample_spec(rng, style="infrared")


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="kind"):
        render_joint(JointSpec("bga", None, 0.0, "color"), 0)
    with pytest.raises(ValueError, match="style"):
        render_joint(JointSpec("sot23", None, 0.0, "xray"), 0)
    with pytest.raises(ValueError, match="does not apply"):
        render_joint(JointSpec("tht_round", DefectCode.TOMBSTONE, 0.5, "color"), 0)


def test_public_api() -> None:
    for name in synth.__all__:
        assert hasattr(synth, name)
    assert set(DEFECTS_FOR) == set(JOINT_KINDS)
    assert STYLES == ("color", "aoi_gray")


def test_generate_joint_dataset(tmp_path) -> None:
    calls: list[tuple[int, int]] = []
    m1 = generate_joint_dataset(
        tmp_path / "a", 12, 7, size=48, progress=lambda d, t: calls.append((d, t))
    )
    m2 = generate_joint_dataset(tmp_path / "b", 12, 7, size=48)
    assert calls[-1] == (12, 12)
    assert len(calls) == 12
    with m1.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["path", "label", "defect_type", "group", "mask"]
    assert len(rows) == 12
    assert {r["group"] for r in rows} == {"synth-7-0", "synth-7-1"}
    for r in rows:
        assert (m1.parent / r["path"]).is_file()
        assert (m1.parent / r["mask"]).is_file()
        assert r["label"] in ("0", "1")
        assert (r["label"] == "0") == (r["defect_type"] == "none")
        a = (m1.parent / r["path"]).read_bytes()
        assert a == (m2.parent / r["path"]).read_bytes()
    assert m1.read_text() == m2.read_text()
    with pytest.raises(ValueError, match="n must"):
        generate_joint_dataset(tmp_path / "c", 0, 1)
