"""The field loop end to end on synthetic data (issue 8).

Inspect demo boards into a real SQLite file with a real (small) model, give scripted
verdicts from the boards' ground truth (with a correction and an undo), export the
verified joints, fine-tune the registered model on base data plus the export, compare
old and new side by side, promote, inspect with the new version, roll back - and
check that the database and its audit log tell the whole story.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from app.cli import main
from app.fieldloop.export import export_dataset
from app.fieldloop.versions import choose_model, ensure_baseline, register_folder
from app.inspection_runner import InspectionRunner
from db import Database, Role, VerdictKind, open_database
from tests.pipeline_fixtures import DEMO, copy_demo_boards, make_model_folder

torch.set_num_threads(1)

ENGINEER, ENGINEER_PIN = "Erin Engineer", "97531"
INSPECTOR, INSPECTOR_PIN = "Ivan Inspector", "1357"
SUPERVISOR, SUPERVISOR_PIN = "Sam Supervisor", "2468"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[Database, dict]]:
    with open_database(tmp_path / "inspection.db") as db:
        admin = db.users.create_user("Ada Admin", Role.ADMIN, "123456", actor=None)
        users = {
            "admin": admin,
            "engineer": db.users.create_user(
                ENGINEER, Role.ENGINEER, ENGINEER_PIN, actor=admin
            ),
            "inspector": db.users.create_user(
                INSPECTOR, Role.INSPECTOR, INSPECTOR_PIN, actor=admin
            ),
            "supervisor": db.users.create_user(
                SUPERVISOR, Role.SUPERVISOR, SUPERVISOR_PIN, actor=admin
            ),
        }
        yield db, users


def _truth(board: Path) -> dict[tuple[str, str], dict]:
    data = json.loads((DEMO / "truth" / f"{board.stem}.json").read_text())
    return {(j["refdes"], str(j["pin"])): j for j in data["joints"]}


def _inspect(db: Database, folder: Path, boards: list[Path], art: Path) -> list:
    runner = InspectionRunner.from_model_folder(
        db, folder, artefact_dir=art, explain=False
    )
    return [runner.inspect(b) for b in boards]


def _answer_queue(db: Database, user, truths: dict[str, dict]) -> dict[str, int]:
    """Give every queued joint the verdict its ground truth calls for."""
    counts = {"defect": 0, "good": 0}
    for item in db.review.queue():
        truth = truths[item.board_serial][(item.refdes, item.pin)]
        if truth["label"]:
            db.review.record_verdict(
                item.joint_id,
                user=user,
                verdict=VerdictKind.CONFIRMED_DEFECT,
                defect_code=truth["defect_type"] or None,
            )
            counts["defect"] += 1
        else:
            db.review.record_verdict(
                item.joint_id, user=user, verdict=VerdictKind.FALSE_CALL
            )
            counts["good"] += 1
    return counts


def third_joint(db: Database, board) -> int:
    """The first joint of an inspected board."""
    return db.inspections.joint_ids(board.inspection_id)[0]


def _cli(*argv: str) -> int:
    return main(list(argv))


def test_field_loop_end_to_end(
    station, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, users = station
    db_path = str(db.path)
    boards = copy_demo_boards(tmp_path / "boards", n=3)
    truths = {b.stem: _truth(b) for b in boards}
    v1 = make_model_folder(tmp_path / "models" / "v1", version="field-v1")

    # -- a fresh station: the configured model becomes the baseline version
    assert ensure_baseline(db, v1).version == "field-v1"
    assert choose_model(db, v1).version == "field-v1"
    first = _inspect(db, choose_model(db, v1).folder, boards[:2], tmp_path / "art")
    assert all(r.status == "done" for r in first)
    queued = db.review.queue_count()
    assert queued > 20

    # -- scripted review, with a correction and an undo
    counts = _answer_queue(db, users["inspector"], truths)
    assert counts["defect"] > 0
    assert counts["good"] > 0
    items = [
        db.review.item(j) for j in db.inspections.joint_ids(first[0].inspection_id)
    ]
    reviewed = [i for i in items if db.review.current_verdict(i.joint_id)]
    corrected = reviewed[0]
    old = db.review.current_verdict(corrected.joint_id)
    flipped = (
        VerdictKind.FALSE_CALL
        if old.verdict is VerdictKind.CONFIRMED_DEFECT
        else VerdictKind.CONFIRMED_DEFECT
    )
    db.review.correct_verdict(
        old.id,
        user=users["supervisor"],
        verdict=flipped,
        defect_code="bridge" if flipped is VerdictKind.CONFIRMED_DEFECT else None,
    )
    undone = db.review.undo_last(users["inspector"])
    assert undone is not None
    undone_joint = undone.joint_id

    # -- export the verified joints (engineer), curated
    monkeypatch.setenv("SOLDERNET_PIN", ENGINEER_PIN)
    verified = tmp_path / "verified"
    assert (
        _cli(
            "export-verified", "--db", db_path, "--out", str(verified),
            "--user", ENGINEER, "--balance", "0",
        )
        == 0
    )  # fmt: skip
    prov = list(csv.DictReader((verified / "provenance.csv").read_text().splitlines()))
    exported = {int(r["joint_id"]): r for r in prov}
    assert len(exported) == queued - 1  # everything settled except the undone joint
    assert undone_joint not in exported
    assert int(exported[corrected.joint_id]["label"]) == int(
        flipped is VerdictKind.CONFIRMED_DEFECT
    )
    assert exported[corrected.joint_id]["corrected"] == "1"
    assert {r["model_version"] for r in prov} == {"field-v1"}
    for r in prov:  # a disagreement is the model's call at 0.5 against the person's
        assert r["disagreement"] == str(
            int((float(r["p"]) >= 0.5) != (r["label"] == "1"))
        )
    manifest = list(
        csv.DictReader((verified / "manifest.csv").read_text().splitlines())
    )
    assert {m["group"].rsplit("/", 1)[1] for m in manifest} <= {b.stem for b in boards}
    assert all((verified / m["path"]).is_file() for m in manifest)

    # -- fine-tune the registered version on base data plus the verified joints
    base, test = tmp_path / "base", tmp_path / "test"
    for folder, seed in ((base, 1), (test, 2)):
        assert (
            _cli(
                "synth", "joints", "--out", str(folder), "--n", "48",
                "--seed", str(seed), "--size", "64",
            )
            == 0
        )  # fmt: skip
    v2 = tmp_path / "models" / "v2"
    assert (
        _cli(
            "train", "--from", "field-v1", "--db", db_path,
            "--data", str(base), str(verified), "--out", str(v2),
            "--epochs", "1", "--lp-epochs", "0", "-b", "16", "--lr", "1e-4",
            "--no-progress",
            "--version-tag", "field-v2", "--threads", "1",
            "--register", "--user", ENGINEER,
        )
        == 0
    )  # fmt: skip
    card = json.loads((v2 / "model.json").read_text())
    assert card["parent_version"] == "field-v1"
    assert card["input_size"] == 64  # the parent's input size
    assert db.models_registry.get("field-v2").status.value == "candidate"

    # -- promotion needs the side-by-side comparison on record
    assert (
        _cli("models", "promote", "field-v2", "--db", db_path, "--user", ENGINEER) == 1
    )
    assert db.models_registry.active().version == "field-v1"
    out = tmp_path / "comparison"
    assert (
        _cli(
            "models", "compare", "field-v2", "--data", str(test), "--db", db_path,
            "--user", ENGINEER, "--out", str(out),
        )
        == 0
    )  # fmt: skip
    comparison = json.loads((out / "comparison.json").read_text())
    keys = {r["key"] for r in comparison["figures"]}
    assert {"accuracy", "overkill", "escape", "net_trust_score", "review_rate"} <= keys
    assert comparison["n"] == 48
    assert len(comparison["trust_matrix"]["new"]) == 2
    assert (
        _cli("models", "promote", "field-v2", "--db", db_path, "--user", ENGINEER) == 0
    )
    assert db.models_registry.active().version == "field-v2"
    assert db.models_registry.get("field-v1").status.value == "retired"

    # -- the station now inspects with the new version; old verdicts keep theirs
    choice = choose_model(db, v1)
    assert (choice.version, choice.folder) == ("field-v2", v2.resolve())
    third = _inspect(db, choice.folder, boards[2:], tmp_path / "art")[0]
    assert db.review.item(third_joint(db, third)).model_version == "field-v2"
    new_verdict = db.review.record_verdict(
        third_joint(db, third), user=users["inspector"], verdict=VerdictKind.FALSE_CALL
    )
    assert new_verdict.model_version == "field-v2"
    assert db.review.current_verdict(corrected.joint_id).model_version == "field-v1"

    # -- roll back: the old version is active again and inspects the next board
    assert _cli("models", "rollback", "--db", db_path, "--user", ENGINEER) == 0
    assert choose_model(db, v1).version == "field-v1"

    # -- the audit log tells the story, in order
    story = [
        (e.action, e.details.get("version") or e.details.get("to"))
        for e in reversed(db.audit.entries(limit=1000))
        if e.action.startswith(("model_", "verified_"))
    ]
    assert story == [
        ("model_registered", "field-v1"),
        ("model_baseline_activated", "field-v1"),
        ("verified_exported", None),
        ("model_registered", "field-v2"),
        ("model_compared", "field-v2"),
        ("model_promoted", "field-v2"),
        ("model_rolled_back", "field-v1"),
    ]
    promoted = db.audit.entries(action="model_promoted")[0]
    compared = db.audit.entries(action="model_compared")[0]
    assert promoted.details["comparison_audit_id"] == compared.id
    assert compared.details["against"] == "field-v1"
    assert db.audit.entries(action="verdict_corrected")
    assert db.audit.entries(action="verdict_undone")


def test_export_is_for_engineers_and_audited(station, tmp_path: Path) -> None:
    db, users = station
    from db import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        db.verified.verified_joints(actor=users["inspector"])
    denied = db.audit.entries(action="verified_export_denied")
    assert [e.user_id for e in denied] == [users["inspector"].id]


def test_register_refuses_a_folder_without_card(station, tmp_path: Path) -> None:
    db, users = station
    from app.fieldloop.versions import ModelFolderError

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match=r"model\.json: missing"):
        register_folder(db, tmp_path / "empty", actor=users["engineer"])


def test_export_dataset_keeps_disagreements_and_low_trust_first(tmp_path: Path) -> None:
    """Curation by hand-computed priorities: 2 defects, 6 good joints, balance 1."""
    from tests.app._verified import verified_joint

    crops = tmp_path / "crops"
    crops.mkdir()
    rows = []
    # (label, p): model-operator disagreements are good joints with p >= 0.5.
    spec = [(1, 0.9), (1, 0.2), (0, 0.95), (0, 0.6), (0, 0.3), (0, 0.1), (0, 0.02)]
    for i, (label, p) in enumerate(spec, start=1):
        crop = crops / f"{i}.png"
        crop.write_bytes(b"\x89PNG fake")  # copied, never decoded
        rows.append(verified_joint(i, label, p, str(crop)))
    rows.append(verified_joint(99, 0, 0.4, str(crops / "gone.png")))
    report = export_dataset(rows, tmp_path / "out", balance=1.0)
    assert report.verified == 8
    assert len(report.missing_crops) == 1
    assert "gone.png" in report.missing_crops[0]
    text = (tmp_path / "out" / "provenance.csv").read_text()
    kept = [int(r["joint_id"]) for r in csv.DictReader(text.splitlines())]
    # Defects (2) all kept; the 2 good joints kept are the disagreements, lowest
    # trust first: p=0.95 (Q = 0.05) then p=0.6 (Q = 0.4).
    assert sorted(kept) == [1, 2, 3, 4]
    assert report.kept_disagreements == 3  # joints 2, 3 and 4
    assert report.dropped_for_balance == 3
    assert report.kept_by_label == {"defective": 2, "non_defective": 2}
