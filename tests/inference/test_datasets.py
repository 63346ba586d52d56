"""Manifests: read/write, validation errors, import, de-duplication, split, summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.datasets import (
    ManifestError,
    Sample,
    dedupe,
    import_class_folders,
    read_manifest,
    split_groups,
    summarize,
    validate_manifest,
    write_manifest,
    write_split,
)


def _img(path: Path, value: int, size: int = 8, compression: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.full((size, size + 2, 3), value, np.uint8)
    arr[0, 0] = (value * 7) % 256
    cv2.imwrite(str(path), arr, [cv2.IMWRITE_PNG_COMPRESSION, compression])
    return path


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    for i in range(4):
        _img(root / "images" / f"{i}.png", 10 * i)
    _img(root / "masks" / "1.png", 255)
    (root / "manifest.csv").write_text(
        "path,label,defect_type,group,mask\n"
        "images/0.png,0,,b1,\n"
        "images/1.png,1,bridge,b1,masks/1.png\n"
        "images/2.png,0,,b2,\n"
        "images/3.png,1,insufficient_solder,b3,\n"
    )
    return root


def test_read_write_round_trip(dataset: Path, tmp_path: Path) -> None:
    rows = read_manifest(dataset)
    assert [r.label for r in rows] == [0, 1, 0, 1]
    assert rows[1].mask == (dataset / "masks" / "1.png").resolve()
    assert rows[0].mask is None
    assert rows[1].defect_type == "bridge"
    assert all(r.path.is_absolute() for r in rows)
    out = write_manifest(rows, dataset / "copy.csv")
    assert read_manifest(out) == rows
    text = out.read_text().splitlines()
    assert text[0] == "path,label,defect_type,group,mask"
    assert text[2] == "images/1.png,1,bridge,b1,masks/1.png"
    # Written elsewhere, paths stay valid (relative to the new folder).
    other = write_manifest(rows, tmp_path / "elsewhere" / "manifest.csv")
    assert read_manifest(other) == rows


def _write(root: Path, body: str) -> Path:
    path = root / "manifest.csv"
    path.write_text(body)
    return path


@pytest.mark.parametrize(
    ("body", "row", "needle"),
    [
        ("images/0.png,0,,b1\n", 1, "missing header column"),
        ("path,label,defect_type,group\nimages/0.png,0,b1\n", 2, "expected 4 columns"),
        (
            "path,label,defect_type,group\nimages/0.png,0,,b1\nimages/9.png,1,x,b1\n",
            3,
            "image file not found: images/9.png",
        ),
        (
            "path,label,defect_type,group\nimages/0.png,2,,b1\n",
            2,
            "label must be 0 or 1",
        ),
        (
            "path,label,defect_type,group,mask\nimages/0.png,1,x,b1,masks/none.png\n",
            2,
            "mask file not found",
        ),
        ("path,label,defect_type,group\n,1,x,b1\n", 2, "empty path"),
    ],
)
def test_bad_rows_name_file_and_row(
    dataset: Path, body: str, row: int, needle: str
) -> None:
    path = _write(dataset, body)
    with pytest.raises(ManifestError) as err:
        read_manifest(path)
    msg = str(err.value)
    assert str(path) in msg, msg
    assert f"row {row}" in msg, msg
    assert needle in msg, msg


def test_missing_and_empty_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="manifest file not found"):
        read_manifest(tmp_path / "nope.csv")
    empty = tmp_path / "manifest.csv"
    empty.write_text("")
    with pytest.raises(ManifestError, match="empty manifest"):
        read_manifest(empty)


def test_collect_all_errors(dataset: Path) -> None:
    path = _write(
        dataset,
        "path,label,defect_type,group\n"
        "images/0.png,0,,b1\n"
        "images/0.png,x,,b1\n"
        "images/7.png,1,a,b1\n"
        "images/1.png,1\n",
    )
    with pytest.raises(ManifestError) as first:
        read_manifest(path)
    assert len(first.value.issues) == 1
    with pytest.raises(ManifestError) as every:
        read_manifest(path, collect_errors=True)
    assert [i.row for i in every.value.issues] == [3, 4, 5]
    assert "and 2 more" in str(every.value)
    assert [i.row for i in validate_manifest(path)] == [3, 4, 5]


def test_dedupe_pixels_and_bytes(tmp_path: Path) -> None:
    a = _img(tmp_path / "a.png", 50, compression=1)
    b = _img(tmp_path / "b.png", 50, compression=9)  # same pixels, other bytes
    c = _img(tmp_path / "c.png", 60)
    d = tmp_path / "d.png"
    d.write_bytes(a.read_bytes())
    rows = [Sample(p, 0, "", "g") for p in (a, b, c, d)]
    kept, dropped = dedupe(rows)
    assert [s.path for s in kept] == [a, c]
    assert [(x.dropped.path, x.kept.path) for x in dropped] == [(b, a), (d, a)]
    kept_b, dropped_b = dedupe(rows, by="bytes")
    assert [s.path for s in kept_b] == [a, b, c]
    assert [x.dropped.path for x in dropped_b] == [d]


def _synthetic_rows(n_groups: int = 120, seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n_groups):
        for k in range(int(rng.integers(1, 9))):
            label = int(rng.random() < 0.15)
            rows.append(
                Sample(Path(f"/x/{g}_{k}.png"), label, "d" if label else "", f"g{g}")
            )
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_split_groups_no_straddle_and_fractions(seed: int) -> None:
    rows = _synthetic_rows(seed=seed)
    split = split_groups(rows, seed=seed)
    parts = split.parts()
    assert sum(len(v) for v in parts.values()) == len(rows)
    owner: dict[str, str] = {}
    for name, part in parts.items():
        for s in part:
            assert owner.setdefault(s.group, name) == name, f"group {s.group} straddles"
    n = len(rows)
    pos = sum(s.label for s in rows)
    for name, target in zip(("train", "val", "test"), (0.6, 0.2, 0.2), strict=True):
        assert abs(len(parts[name]) / n - target) <= 0.05, split.sizes()
        part_pos = sum(s.label for s in parts[name])
        assert abs(part_pos / pos - target) <= 0.08, (name, part_pos, pos)
    again = split_groups(rows, seed=seed)
    assert again.group_split == split.group_split


def test_write_split(tmp_path: Path, dataset: Path) -> None:
    rows = read_manifest(dataset)
    split = split_groups(rows, seed=0)
    path = write_split(split, dataset)
    lines = path.read_text().splitlines()
    assert lines[0] == "path,split"
    assert len(lines) == 1 + len(rows)
    back = [
        r
        for part in ("train", "val", "test")
        for r in read_manifest(dataset / f"manifest_{part}.csv")
    ]
    assert sorted(map(str, (r.path for r in back))) == sorted(str(r.path) for r in rows)


def test_import_class_folders(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _img(src / "good" / "a.png", 1)
    _img(src / "good" / "b.png", 2)
    _img(src / "bridge" / "c.png", 3)
    _img(src / "bridge" / "sub" / "d.png", 4)
    (src / "bridge" / "notes.txt").write_text("ignored")
    manifest = import_class_folders(
        src, tmp_path / "out", {"good": (0, ""), "bridge": (1, "bridge")}
    )
    rows = read_manifest(manifest)
    assert Counter((r.label, r.defect_type) for r in rows) == {
        (0, ""): 2,
        (1, "bridge"): 2,
    }
    assert len({r.group for r in rows}) == 4
    _img(src / "mystery" / "e.png", 5)
    with pytest.raises(ValueError, match="mystery"):
        import_class_folders(src, tmp_path / "out2", {"good": 0, "bridge": 1})
    m2 = import_class_folders(
        src,
        tmp_path / "out3",
        {"good": 0, "bridge": 1},
        skip_unknown=True,
        group_fn=lambda p: p.parent.name,
    )
    assert {r.group for r in read_manifest(m2)} == {"good", "bridge", "sub"}


def test_summarize(dataset: Path) -> None:
    s = summarize(read_manifest(dataset))
    assert s["n"] == 4
    assert s["per_label"] == {"0": 2, "1": 2}
    assert s["per_defect_type"] == {"": 2, "bridge": 1, "insufficient_solder": 1}
    assert s["n_groups"] == 3
    assert s["group_size"]["max"] == 2
    assert s["image_size"]["most_common"] == [["10x8", 4]]
    assert s["with_mask"] == 1


def test_split_singleton_groups() -> None:
    rows = [Sample(Path(f"/x/u{i}.png"), 1, "d", "unknown") for i in range(50)]
    rows += [Sample(Path(f"/x/n{i}.png"), 0, "", f"b{i % 25}") for i in range(100)]
    whole = split_groups(rows, seed=0)
    assert max(sum(s.label for s in p) for p in whole.parts().values()) == 50
    split = split_groups(rows, seed=0, singleton_groups={"unknown"})
    pos = [sum(s.label for s in split.parts()[k]) for k in ("train", "val", "test")]
    assert pos == [30, 10, 10]
    assert split.group_split["unknown"] in {"train", "val", "test"}


def test_split_rows_splits_unknown_groups_row_by_row(caplog) -> None:
    from inference.training.data import split_rows

    rows = [Sample(Path(f"/x/u{i}.png"), 1, "d", "ulger/unknown") for i in range(50)]
    rows += [
        Sample(Path(f"/x/n{i}.png"), 0, "", f"ulger/b{i % 25}") for i in range(100)
    ]
    with caplog.at_level("WARNING"):
        parts = split_rows(rows, seed=0)
    assert [sum(s.label for s in parts[k]) for k in ("train", "val", "test")] == [
        30,
        10,
        10,
    ]
    assert "50 rows" in caplog.text
    assert "ulger/unknown" in caplog.text
    # Real groups still never straddle two parts.
    where: dict[str, set[str]] = {}
    for k, part in parts.items():
        for s in part:
            if s.label == 0:
                where.setdefault(s.group, set()).add(k)
    assert len(where) == 25
    assert all(len(v) == 1 for v in where.values())
