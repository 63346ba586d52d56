"""The field loop on synthetic data, with the shipped model: does fine-tuning help?

Renders "field" boards in one imaging style, inspects them into a fresh SQLite file
with the shipped model, answers the review queue and the rework list from the boards'
ground truth (a perfect inspector and technician), exports the verified joints,
fine-tunes the shipped model on its base data plus the export (`soldernet train
--from`), and compares old and new side by side on held-out boards of the same style
(`soldernet models compare`). Prints each step's figures and the comparison table.

    .venv/bin/python bench/field_loop.py --work build/field-loop

Base data: ``build/synth-joints`` (written by ``make model``); rendered if missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli import main as soldernet  # noqa: E402
from app.fieldloop.export import export_dataset  # noqa: E402
from app.fieldloop.versions import choose_model, ensure_baseline  # noqa: E402
from app.inspection_runner import InspectionRunner  # noqa: E402
from app.settings import DEFAULT_MODEL_DIR  # noqa: E402
from db import ReworkStatus, Role, VerdictKind, open_database  # noqa: E402

ENGINEER, PIN = "Erin Engineer", "97531"


def _run(*argv: str) -> None:
    print("$ soldernet " + " ".join(argv), flush=True)
    code = soldernet(list(argv))
    if code != 0:
        raise SystemExit(f"soldernet {argv[0]} failed with exit code {code}")


def _truth(boards_dir: Path) -> dict[str, dict[tuple[str, str], dict]]:
    out = {}
    for f in sorted((boards_dir / "truth").glob("*.json")):
        data = json.loads(f.read_text())
        out[f.stem] = {(j["refdes"], str(j["pin"])): j for j in data["joints"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="build/field-loop", help="work folder (wiped)")
    ap.add_argument("--boards", type=int, default=12, help="field boards to inspect")
    ap.add_argument("--test-boards", type=int, default=8, help="held-out boards")
    ap.add_argument("--style", default="gray", help="imaging style of the field")
    ap.add_argument("--base", default="build/synth-joints", help="base dataset")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    os.environ["SOLDERNET_PIN"] = PIN
    t0 = time.perf_counter()

    field, test = work / "field", work / "field-test"
    _run("synth", "boards", "--out", str(field), "--n", str(args.boards),
         "--seed", "404", "--size", "demo", "--style", args.style,
         "--defect-rate", "0.15")  # fmt: skip
    _run("synth", "board-joints", "--out", str(test), "--n", str(args.test_boards),
         "--seed", "505", "--size", "128", "--style", args.style)  # fmt: skip
    base = Path(args.base)
    if not (base / "manifest.csv").is_file():
        base = work / "base"
        _run("synth", "joints", "--out", str(base), "--n", "1500", "--seed", "202",
             "--size", "128")  # fmt: skip

    db_path = work / "inspection.db"
    with open_database(db_path) as db:
        admin = db.users.create_user("Ada Admin", Role.ADMIN, "123456", actor=None)
        engineer = db.users.create_user(ENGINEER, Role.ENGINEER, PIN, actor=admin)
        inspector = db.users.create_user("Ivan", Role.INSPECTOR, "1357", actor=admin)
        tech = db.users.create_user("Tess", Role.TECHNICIAN, "2468", actor=admin)
        baseline = ensure_baseline(db, DEFAULT_MODEL_DIR)
        runner = InspectionRunner.from_model_folder(
            db, choose_model(db, DEFAULT_MODEL_DIR).folder,
            artefact_dir=work / "artefacts", explain=False,
        )  # fmt: skip
        t = time.perf_counter()
        boards = sorted((field / "boards").glob("*.jpg"))
        results = [runner.inspect(b) for b in boards]
        regions: dict[str, int] = {}
        for r in results:
            for k, v in r.regions.items():
                regions[k] = regions.get(k, 0) + v
        print(f"inspected {len(boards)} boards with {baseline.version} in "
              f"{time.perf_counter() - t:.1f} s: regions {regions}")  # fmt: skip

        truth = _truth(field)
        answered = {"confirmed": 0, "false_call": 0}
        for item in db.review.queue():
            j = truth[item.board_serial][(item.refdes, item.pin)]
            kind = (
                VerdictKind.CONFIRMED_DEFECT if j["label"] else VerdictKind.FALSE_CALL
            )
            db.review.record_verdict(
                item.joint_id, user=inspector, verdict=kind,
                defect_code=(j["defect_type"] or None) if j["label"] else None,
            )  # fmt: skip
            answered["confirmed" if j["label"] else "false_call"] += 1
        repaired = {"repaired": 0, "not_a_defect": 0}
        for ri in db.rework.items(status="open"):
            joint = db.review.item(ri.joint_id)
            j = truth[joint.board_serial][(joint.refdes, joint.pin)]
            status = ReworkStatus.REPAIRED if j["label"] else ReworkStatus.NOT_A_DEFECT
            db.rework.record_outcome(ri.id, user=tech, status=status)
            repaired[status.value] += 1
        print(f"review queue answered: {answered}; rework outcomes: {repaired}")

        verified = db.verified.verified_joints(actor=engineer)
    report = export_dataset(verified, work / "verified", balance=1.0)
    print(f"export-verified: {report.kept} of {report.verified} kept "
          f"({report.kept_by_label}), {report.kept_disagreements} disagreements, "
          f"sources {report.by_source}")  # fmt: skip

    t = time.perf_counter()
    _run("train", "--from", baseline.version, "--db", str(db_path),
         "--data", str(base), str(work / "verified"), "--out", str(work / "ft"),
         "--epochs", str(args.epochs), "--lp-epochs", "0", "--lr", str(args.lr),
         "-b", "64", "--no-progress", "--threads", str(args.threads),
         "--register", "--user", ENGINEER)  # fmt: skip
    print(f"fine-tune: {time.perf_counter() - t:.0f} s")
    version = json.loads((work / "ft" / "model.json").read_text())["version"]
    _run("models", "compare", version, "--data", str(test), "--db", str(db_path),
         "--user", ENGINEER, "--out", str(work / "comparison"))  # fmt: skip
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
