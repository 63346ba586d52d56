"""`InspectionRunner`: boards into SQLite, skips, bad files, cancel, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sqlalchemy import text

from app.inspection_runner import InspectionRunner, find_recipe, serial_from_path
from db import Database, InspectionStatus, open_database
from inference.errors import Cancelled
from tests.pipeline_fixtures import copy_demo_boards, make_model_folder

torch.set_num_threads(1)

ROOT = Path(__file__).resolve().parents[2]


class Token:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model_folder(tmp_path_factory.mktemp("model") / "m")


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return copy_demo_boards(tmp_path_factory.mktemp("demo"), n=2)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with open_database(tmp_path / "inspection.db") as database:
        yield database


@pytest.fixture
def runner(db: Database, model_dir: Path, tmp_path: Path) -> InspectionRunner:
    return InspectionRunner.from_model_folder(
        db, model_dir, artefact_dir=tmp_path / "art", max_explanations=2
    )


def _count(db: Database, sql: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_serial_and_recipe_lookup(boards: list[Path], tmp_path: Path) -> None:
    assert serial_from_path("/x/SN 0042.jpg") == "SN_0042"
    assert find_recipe(boards[0]) == boards[0].parent.parent / "recipes" / (
        boards[0].stem + ".json"
    )
    assert find_recipe(tmp_path / "nothing.jpg") is None


def test_boards_end_to_end_into_sqlite(
    runner: InspectionRunner, db: Database, boards: list[Path]
) -> None:
    explained: list[float] = []
    results = [
        runner.inspect(b, on_explained=lambda e: explained.append(e.result.p_before))
        for b in boards
    ]
    assert [r.status for r in results] == ["done", "done"], results
    assert _count(db, "select count(*) from boards") == 2
    assert _count(db, "select count(*) from inspections where status='done'") == 2
    n = sum(r.n_joints for r in results)
    assert _count(db, "select count(*) from joints") == n > 200
    for r in results:
        insp = db.inspections.get_inspection(r.inspection_id)
        assert insp.model_version == "test-1"
        assert (insp.t_lo, insp.t_hi) == (0.35, 0.65)
        assert (insp.n_defect, insp.n_possible_defect, insp.n_non_defect) == (
            r.regions["defect"],
            r.regions["possible_defect"],
            r.regions["non_defect"],
        )
        assert r.serial == boards[0].stem or r.serial == boards[1].stem
        assert r.n_explained == 2
        assert r.timings["first_explanation"] <= r.timings["explain"]
    # rework items for every `defect` joint
    assert _count(db, "select count(*) from rework_items") == sum(
        r.regions["defect"] for r in results
    )
    # explanations: the two most probable possible defects of each board, files on disk
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "select j.inspection_id, j.p, e.overlay_path, e.heatmap_path, "
                "e.mask_path, j.crop_path from explanations e "
                "join joints j on j.id = e.joint_id order by e.id"
            )
        ).all()
    assert len(rows) == 4
    for insp_id in {r.inspection_id for r in results}:
        ps = [row[1] for row in rows if row[0] == insp_id]
        with db.engine.connect() as conn:
            top = list(
                conn.execute(
                    text(
                        "select p from joints where inspection_id = :i and "
                        "region = 'possible_defect' order by p desc limit 2"
                    ),
                    {"i": insp_id},
                ).scalars()
            )
        assert ps == top
    for row in rows:
        for path in row[2:]:
            assert Path(path).is_file(), path
    assert explained == pytest.approx([row[1] for row in rows], abs=1e-4)
    # the review queue sees them with their explanations
    items = db.review.queue()
    assert len(items) == sum(r.regions["possible_defect"] for r in results)
    assert sum(i.explanation is not None for i in items) == 4


def test_same_board_same_model_is_skipped_unless_forced(
    runner: InspectionRunner, db: Database, boards: list[Path]
) -> None:
    first = runner.inspect(boards[0], explain=False)
    again = runner.inspect(boards[0], explain=False)
    assert again.status == "skipped"
    assert again.ok
    assert again.inspection_id == first.inspection_id
    assert again.regions == first.regions
    assert _count(db, "select count(*) from inspections") == 1
    forced = runner.inspect(boards[0], explain=False, force=True)
    assert forced.status == "done"
    assert forced.inspection_id != first.inspection_id
    assert _count(db, "select count(*) from inspections where status='done'") == 2
    assert _count(db, "select count(*) from boards") == 1


def test_bad_files_in_a_batch_fail_alone(
    runner: InspectionRunner, db: Database, boards: list[Path], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.jpg"
    data = boards[0].read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
    results = [
        runner.inspect(p, recipe=find_recipe(boards[0]), explain=False)
        for p in (empty, truncated, corrupt, boards[1])
    ]
    assert [r.status for r in results] == ["failed"] * 3 + ["done"]
    for r, name in zip(
        results, ("empty.jpg", "truncated.jpg", "corrupt.png"), strict=False
    ):
        assert name in r.error
        assert r.inspection_id is None
    assert _count(db, "select count(*) from inspections") == 1
    assert _count(db, "select count(*) from boards") == 1


def test_no_recipe_fails_that_board_clearly(
    runner: InspectionRunner, db: Database, boards: list[Path], tmp_path: Path
) -> None:
    lonely = tmp_path / "lonely.jpg"
    lonely.write_bytes(boards[0].read_bytes())
    r = runner.inspect(lonely)
    assert r.status == "failed"
    assert "no recipe" in r.error
    assert "--detector FOLDER" in r.error
    assert "lonely.jpg" in r.error
    assert _count(db, "select count(*) from inspections") == 0


def test_cancel_after_first_progress_records_nothing_done(
    runner: InspectionRunner, db: Database, boards: list[Path]
) -> None:
    token = Token()
    stages: list[str] = []

    def progress(stage: str, done: int, total: int) -> None:
        stages.append(stage)
        token.cancel()

    with pytest.raises(Cancelled):
        runner.inspect(boards[0], on_progress=progress, cancel=token)
    assert len(stages) == 1
    assert _count(db, "select count(*) from inspections where status='done'") == 0
    assert _count(db, "select count(*) from inspections where status='cancelled'") == 1
    assert _count(db, "select count(*) from joints") == 0


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    import torch
    torch.set_num_threads(1)
    from app.inspection_runner import InspectionRunner
    from db import open_database

    db = open_database({db!r})
    runner = InspectionRunner.from_model_folder(db, {model!r}, artefact_dir={art!r})

    def progress(stage, done, total):
        if stage == "detect":
            print("started", flush=True)
            time.sleep(120)

    runner.inspect({board!r}, on_progress=progress)
    """
)


def test_killed_process_leaves_no_done_board_and_restart_marks_it_failed(
    model_dir: Path, boards: list[Path], tmp_path: Path
) -> None:
    db_file = tmp_path / "killed.db"
    open_database(db_file).close()
    code = _KILL_SCRIPT.format(
        root=str(ROOT),
        db=str(db_file),
        model=str(model_dir),
        art=str(tmp_path / "art"),
        board=str(boards[0]),
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "started"
        with open_database(db_file) as db:
            assert (
                _count(db, "select count(*) from inspections where status='running'")
                == 1
            )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    with open_database(db_file) as db:
        assert _count(db, "select count(*) from inspections where status='done'") == 0
        assert db.inspections.mark_interrupted() == 1
        [insp] = db.inspections.list_inspections()
        assert insp.status is InspectionStatus.FAILED
        assert "interrupted" in insp.error
        assert _count(db, "select count(*) from joints") == 0


def test_runner_imports_no_qt() -> None:
    code = (
        "import sys, json; import app.inspection_runner, app.commands.inspect; "
        "print(json.dumps([m for m in ('PySide6', 'torch') if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == []


def test_onnx_backend_scores_the_board_like_torch(
    db: Database, model_dir: Path, boards: list[Path], tmp_path: Path
) -> None:
    """The station classifies with onnxruntime on CPU: same calls as eager torch."""
    scores = {}
    for backend in ("torch", "onnx"):
        runner = InspectionRunner.from_model_folder(
            db, model_dir, artefact_dir=tmp_path / backend, explain=False,
            backend=backend,
        )  # fmt: skip
        assert runner.classifier.backend == backend
        r = runner.inspect(boards[0], force=True)
        assert r.status == "done"
        with db.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT refdes, pin, p, region FROM joints WHERE inspection_id = :i"
                ),
                {"i": r.inspection_id},
            ).all()
        scores[backend] = {(a, b): (p, region) for a, b, p, region in rows}
    assert scores["torch"].keys() == scores["onnx"].keys()
    for key, (p, region) in scores["torch"].items():
        p_onnx, region_onnx = scores["onnx"][key]
        assert abs(p - p_onnx) < 1e-4
        assert region == region_onnx or min(abs(p - t) for t in (0.35, 0.65)) < 1e-4


def test_station_explainer_follows_the_onnx_classifier_and_finds_the_same_factors(
    db: Database, model_dir: Path, boards: list[Path], tmp_path: Path
) -> None:
    """On CPU the station explains with ONNX search forwards: same critical regions."""
    found: dict[str, list[tuple[int, ...]]] = {}
    for backend in ("torch", "onnx"):
        runner = InspectionRunner.from_model_folder(
            db, model_dir, artefact_dir=tmp_path / backend, explain=True,
            fast_explain=True, backend=backend, max_explanations=2,
        )  # fmt: skip
        regions: list[tuple[int, ...]] = []
        r = runner.inspect(
            boards[0],
            force=True,
            on_explained=lambda e, out=regions: out.append(
                tuple(e.result.selected_region_ids)
            ),
        )
        assert r.status == "done"
        assert r.n_explained == 2
        assert runner.explainer is not None
        assert runner.explainer.backend == backend
        found[backend] = regions
    assert found["onnx"] == found["torch"]
