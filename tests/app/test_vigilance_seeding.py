"""Vigilance seeding (app/vigilance.py): rate, band matching, covers, failures."""

from __future__ import annotations

import csv
import logging
import random
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from app.inspection_runner import InspectionRunner
from app.vigilance import (
    PlacedSeed,
    VigilanceConfig,
    VigilanceSeeder,
    explain_inputs,
    seed_count,
)
from db import Database, JointRecord, Region, open_database
from inference.types import BBox, JointType
from tests.pipeline_fixtures import copy_demo_boards, make_model_folder

torch.set_num_threads(1)

CROP = 32


class FakeClassifier:
    """p = mean grey level / 255; counts the crops it scored."""

    t_lo, t_hi = 0.2, 0.8

    def __init__(self) -> None:
        self.scored = 0

    def predict_proba(self, crops: list[np.ndarray]) -> np.ndarray:
        self.scored += len(crops)
        for c in crops:
            assert c.shape == (CROP, CROP, 3), c.shape
        return np.array([float(c.mean()) / 255.0 for c in crops])


def _library(folder: Path, entries: list[tuple[int, float, str]]) -> Path:
    """A manifest library of flat crops: (label, p, defect_type)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / "manifest.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["path", "label", "defect_type", "group"])
        for i, (label, p, code) in enumerate(entries):
            img = np.full((48, 48, 3), round(p * 255), np.uint8)
            cv2.imwrite(str(folder / "images" / f"{i:04d}.png"), img)
            w.writerow([f"images/{i:04d}.png", label, code, "g"])
    return folder


def _board(n_queued: int, n_good: int) -> tuple[Any, list[JointRecord]]:
    regions = [Region.POSSIBLE_DEFECT] * n_queued + [Region.NON_DEFECT] * n_good
    records = [
        JointRecord(
            bbox=BBox(10 * i, 5, 8, 8),
            p=0.5 if r is Region.POSSIBLE_DEFECT else 0.05,
            refdes=f"R{i}",
            pin=str(i % 2 + 1),
            joint_type=JointType.THT if i % 3 == 0 else JointType.SMD,
            package="DIP" if i % 3 == 0 else "0603",
            region=r,
        )
        for i, r in enumerate(regions)
    ]
    board = SimpleNamespace(
        regions=tuple(regions),
        crops=np.zeros((len(regions), CROP, CROP, 3), np.uint8),
        p=np.array([r.p for r in records]),
    )
    return board, records


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "inspection.db") as database:
        yield database


def _inspection(db: Database, records: list[JointRecord]) -> int:
    insp = db.inspections.record_inspection(
        serial="SN1",
        product="P",
        image_path="/img/SN1.png",
        image_sha256="ab" * 32,
        model_version="m-1",
        t_lo=0.2,
        t_hi=0.8,
        joints=records,
    )
    return insp.id


def _lib_mixed(tmp_path: Path) -> Path:
    return _library(
        tmp_path / "lib",
        [
            (1, 0.05, "bridge"),  # below the band: never used
            (1, 0.95, "bridge"),  # above the band: never used
            (0, 0.01, "none"),
            (1, 0.5, "bridge"),
            (1, 0.6, "solder_ball"),
            (0, 0.3, "none"),
            (0, 0.7, "none"),
        ],
    )


def test_seed_count_is_round_stochastic() -> None:
    rng = random.Random(7)
    assert seed_count(0.05, 100, rng) == 5
    assert seed_count(0.0, 100, rng) == 0
    assert seed_count(0.5, 0, rng) == 0
    draws = [seed_count(0.05, 10, rng) for _ in range(4000)]
    assert set(draws) == {0, 1}
    assert np.mean(draws) == pytest.approx(0.5, abs=0.03)


def test_seeding_rate_band_balance_and_covers(db: Database, tmp_path: Path) -> None:
    board, records = _board(n_queued=40, n_good=30)
    insp_id = _inspection(db, records)
    clf = FakeClassifier()
    seeder = VigilanceSeeder(
        VigilanceConfig(_lib_mixed(tmp_path), rate=0.1, defect_fraction=0.5, seed=3)
    )
    crop_dir = tmp_path / "art" / "crops"
    seeds = seeder.seed_board(db, clf, "m-1", board, insp_id, records, crop_dir)
    assert len(seeds) == 4  # 0.1 x 40 queued joints
    assert db.vigilance.seed_count() == 4
    in_band = {0.5, 0.6, 0.3, 0.7}
    items = {i.joint_id: i for i in db.review.queue()}
    covers = set()
    for k, s in enumerate(seeds):
        assert isinstance(s, PlacedSeed)
        assert s.index == len(records) + k
        item = items[s.joint_id]
        # band matching: the stored p is the crop's real score, inside [t_lo, t_hi)
        assert round(item.p, 2) in in_band
        assert item.p == pytest.approx(s.p)
        # the crop sits next to the real ones, named like them, at their size
        assert Path(item.crop_path) == crop_dir / f"joint_{s.index:04d}.png"
        assert cv2.imread(item.crop_path).shape == (CROP, CROP, 3)
        # the cover: a not-queued joint of the same board, copied field by field
        cover = next(r for r in records if (r.refdes, r.pin) == (item.refdes, item.pin))
        assert cover.region is Region.NON_DEFECT
        assert (item.joint_type, item.package, item.bbox) == (
            cover.joint_type,
            cover.package,
            cover.bbox,
        )
        covers.add(cover.refdes)
    assert len(covers) == len(seeds)  # each cover used once
    # The library was scored once; a second board reuses the scores.
    scored = clf.scored
    seeder.seed_board(db, clf, "m-1", board, insp_id, records, crop_dir)
    assert clf.scored == scored == 7


@pytest.mark.parametrize(("fraction", "want"), [(1.0, True), (0.0, False)])
def test_defect_fraction(
    db: Database, tmp_path: Path, fraction: float, want: bool
) -> None:
    board, records = _board(n_queued=50, n_good=20)
    insp_id = _inspection(db, records)
    seeder = VigilanceSeeder(
        VigilanceConfig(_lib_mixed(tmp_path), rate=0.2, defect_fraction=fraction)
    )
    seeds = seeder.seed_board(
        db, FakeClassifier(), "m", board, insp_id, records, tmp_path / "c"
    )
    assert len(seeds) == 10
    assert {s.is_defect for s in seeds} == {want}


def test_balance_over_many_boards(db: Database, tmp_path: Path) -> None:
    board, records = _board(n_queued=20, n_good=60)
    insp_id = _inspection(db, records)
    seeder = VigilanceSeeder(VigilanceConfig(_lib_mixed(tmp_path), rate=0.05, seed=11))
    clf = FakeClassifier()
    n = 0
    defects = 0
    for _ in range(30):
        seeds = seeder.seed_board(db, clf, "m", board, insp_id, records, tmp_path)
        n += len(seeds)
        defects += sum(s.is_defect for s in seeds)
    assert n == 30  # 0.05 x 20 = exactly one per board
    assert 8 <= defects <= 22


def test_missing_library_logs_and_adds_nothing(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    board, records = _board(n_queued=40, n_good=10)
    insp_id = _inspection(db, records)
    seeder = VigilanceSeeder(VigilanceConfig(tmp_path / "nowhere", rate=0.5))
    with caplog.at_level(logging.WARNING, logger="app.vigilance"):
        seeds = seeder.seed_board(
            db, FakeClassifier(), "m", board, insp_id, records, tmp_path
        )
    assert seeds == []
    assert db.vigilance.seed_count() == 0
    text = caplog.text
    assert str(tmp_path / "nowhere" / "manifest.csv") in text
    assert "manifest file not found" in text


def test_no_crop_in_band_logs(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    board, records = _board(n_queued=40, n_good=10)
    insp_id = _inspection(db, records)
    lib = _library(tmp_path / "lib", [(1, 0.95, "bridge"), (0, 0.02, "none")])
    seeder = VigilanceSeeder(VigilanceConfig(lib, rate=0.5))
    with caplog.at_level(logging.WARNING, logger="app.vigilance"):
        seeds = seeder.seed_board(
            db, FakeClassifier(), "m", board, insp_id, records, tmp_path
        )
    assert seeds == []
    assert "no crop scores inside the review band [0.2, 0.8)" in caplog.text
    assert str(lib / "manifest.csv") in caplog.text


def test_broken_manifest_and_disk_cache(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    board, records = _board(n_queued=20, n_good=10)
    insp_id = _inspection(db, records)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.csv").write_text("file,label\nx.png,1\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="app.vigilance"):
        got = VigilanceSeeder(VigilanceConfig(bad, rate=0.5)).seed_board(
            db, FakeClassifier(), "m", board, insp_id, records, tmp_path
        )
    assert got == []
    assert "missing header column" in caplog.text
    # Scores are cached on disk per model version: a new seeder scores nothing.
    cache = tmp_path / "cache"
    lib = _lib_mixed(tmp_path)
    first = FakeClassifier()
    VigilanceSeeder(VigilanceConfig(lib, rate=0.5, cache_dir=cache)).seed_board(
        db, first, "m", board, insp_id, records, tmp_path / "c1"
    )
    again = FakeClassifier()
    VigilanceSeeder(VigilanceConfig(lib, rate=0.5, cache_dir=cache)).seed_board(
        db, again, "m", board, insp_id, records, tmp_path / "c2"
    )
    other_model = FakeClassifier()
    VigilanceSeeder(VigilanceConfig(lib, rate=0.5, cache_dir=cache)).seed_board(
        db, other_model, "m-2", board, insp_id, records, tmp_path / "c3"
    )
    assert (first.scored, again.scored, other_model.scored) == (7, 0, 7)


def test_explain_inputs_slot_seeds_into_queue_order() -> None:
    board = SimpleNamespace(
        crops=np.zeros((3, 4, 4, 3), np.uint8),
        p=np.array([0.4, 0.05, 0.7]),
        regions=(Region.POSSIBLE_DEFECT, Region.NON_DEFECT, Region.POSSIBLE_DEFECT),
    )
    seed = PlacedSeed(3, 99, 0.5, np.ones((4, 4, 3), np.uint8), True)
    crops, order = explain_inputs(board, [seed])  # type: ignore[arg-type]
    assert order == [2, 3, 0]
    assert crops[3] is seed.crop


def test_config_validates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rate"):
        VigilanceConfig(tmp_path, rate=1.5)
    with pytest.raises(ValueError, match="defect fraction"):
        VigilanceConfig(tmp_path, defect_fraction=-0.1)


# ---------------------------------------------------------------- with the runner


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("model") / "m")


@pytest.fixture(scope="module")
def board_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo_boards(tmp_path_factory.mktemp("demo"), n=1)[0]


@pytest.fixture(scope="module")
def synth_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inference.synth.dataset import generate_joint_dataset

    out = tmp_path_factory.mktemp("lib")
    generate_joint_dataset(out, 40, seed=5, size=64)
    return out


def test_runner_missing_library_inspection_still_completes(
    db: Database,
    model_dir: Path,
    board_path: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    seeder = VigilanceSeeder(VigilanceConfig(tmp_path / "no-lib", rate=0.5))
    runner = InspectionRunner.from_model_folder(
        db, model_dir, artefact_dir=tmp_path / "art", explain=False, vigilance=seeder
    )
    with caplog.at_level(logging.WARNING):
        result = runner.inspect(board_path)
    assert result.status == "done", result
    assert db.vigilance.seed_count() == 0
    assert str(tmp_path / "no-lib" / "manifest.csv") in caplog.text


def test_runner_seeds_a_real_board(
    db: Database,
    model_dir: Path,
    board_path: Path,
    synth_library: Path,
    tmp_path: Path,
) -> None:
    seeder = VigilanceSeeder(
        VigilanceConfig(synth_library, rate=0.1, seed=2, cache_dir=tmp_path / "vc")
    )
    runner = InspectionRunner.from_model_folder(
        db,
        model_dir,
        artefact_dir=tmp_path / "art",
        max_explanations=3,
        vigilance=seeder,
    )
    result = runner.inspect(board_path)
    assert result.status == "done", result
    queued = result.regions[Region.POSSIBLE_DEFECT.value]
    n_seeds = db.vigilance.seed_count()
    assert queued >= 20
    assert n_seeds in (int(0.1 * queued), int(0.1 * queued) + 1)
    assert n_seeds >= 2
    # The board's production counts do not include the seeds; the queue does.
    insp = db.inspections.get_inspection(result.inspection_id)
    assert insp.n_possible_defect == queued
    assert db.review.queue_count() == queued + n_seeds
    ids = db.inspections.joint_ids(result.inspection_id)
    crops = sorted(p.name for p in (tmp_path / "art").rglob("joint_*.png"))
    assert len(ids) == result.n_joints + n_seeds
    for joint_id in ids[result.n_joints :]:
        item = db.review.item(joint_id)
        assert Path(item.crop_path).name in crops
        assert runner.classifier.t_lo <= item.p < runner.classifier.t_hi
    # Explanations follow the merged queue order (seeds by their p).
    explained = [i for i in db.review.queue() if i.explanation is not None]
    top = sorted(db.review.queue(), key=lambda i: (-i.p, i.joint_id))[:3]
    assert {i.joint_id for i in explained} == {i.joint_id for i in top}


def test_covers_are_never_queued_joints(db: Database, tmp_path: Path) -> None:
    # 40 queued joints, 2 non-defect and 1 defect joint: at most 3 covers.
    board, records = _board(n_queued=40, n_good=2)
    records.append(
        JointRecord(
            bbox=BBox(900, 5, 8, 8), p=0.95, refdes="U9", pin="4", region=Region.DEFECT
        )
    )
    board.regions = (*board.regions, Region.DEFECT)
    board.p = np.append(board.p, 0.95)
    board.crops = np.zeros((len(records), CROP, CROP, 3), np.uint8)
    insp_id = _inspection(db, records)
    seeder = VigilanceSeeder(VigilanceConfig(_lib_mixed(tmp_path), rate=0.25))
    seeds = seeder.seed_board(
        db, FakeClassifier(), "m", board, insp_id, records, tmp_path / "c"
    )
    assert len(seeds) == 3  # not the 10 the rate asks for
    queued = {(r.refdes, r.pin) for r in records if r.region is Region.POSSIBLE_DEFECT}
    for s in seeds:
        item = db.review.item(s.joint_id)
        assert (item.refdes, item.pin) not in queued


def test_seeds_follow_the_p_of_the_real_queue(db: Database, tmp_path: Path) -> None:
    board, records = _board(n_queued=100, n_good=40)
    board.p = np.where(np.asarray(board.regions) == Region.POSSIBLE_DEFECT, 0.3, 0.05)
    insp_id = _inspection(db, records)
    ps = [0.22 + 0.05 * i for i in range(12)]  # 0.22 ... 0.77, all in the band
    lib = _library(tmp_path / "lib", [(0, p, "none") for p in ps])
    seeder = VigilanceSeeder(VigilanceConfig(lib, rate=0.3, defect_fraction=0.0))
    seeds = seeder.seed_board(
        db, FakeClassifier(), "m", board, insp_id, records, tmp_path / "c"
    )
    assert len(seeds) == 30
    # The five crops nearest to 0.3 only (0.22 ... 0.42), each used about as often.
    assert max(s.p for s in seeds) < 0.45
    assert len({round(s.p, 2) for s in seeds}) == 5
