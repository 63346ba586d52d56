"""`soldernet export-verified`: operator-verified joints as a new labelled dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands._login import add_login_arguments, call_as_user
from app.commands.report import _until, _when


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `export-verified` subcommand."""
    p = sub.add_parser(
        "export-verified",
        help="operator-verified joints as a dataset",
        description=(
            "Write the joints an inspector or technician settled as a manifest "
            "dataset (crops, labels from the current verdicts, defect codes, groups "
            "by board) for `soldernet train --from`. Curated: classes balanced, "
            "model-operator disagreements and low-trust joints kept first, "
            "superseded verdicts and vigilance seeds never exported. Needs an "
            "engineer or admin login; the export is audited."
        ),
    )
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.add_argument("--out", required=True, help="dataset folder to write")
    p.add_argument("--from", dest="start", type=_when, help="settled on/after (UTC)")
    p.add_argument("--to", dest="end", type=_until, help="settled up to, inclusive")
    p.add_argument("--model-version", help="only joints called by this model version")
    p.add_argument(
        "--balance",
        type=float,
        default=1.0,
        help="majority class at most BALANCE x the minority (0 = keep all)",
    )
    p.add_argument("--max", dest="max_total", type=int, help="at most N joints")
    p.add_argument("--seed", type=int, default=0, help="seed of the tie-break shuffle")
    add_login_arguments(p)
    p.add_argument("--json", metavar="PATH", help="write the curation report as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Authenticate, read the verified joints, curate and write the dataset."""
    from app.fieldloop.export import export_dataset

    prog = "soldernet export-verified"
    if args.balance < 0 or (args.max_total is not None and args.max_total < 1):
        print(f"{prog}: --balance must be >= 0 and --max >= 1", file=sys.stderr)
        return EXIT_FAILURE
    ok, joints = call_as_user(
        args,
        prog,
        lambda db, user: db.verified.verified_joints(
            actor=user,
            start=args.start,
            end=args.end,
            model_version=args.model_version,
        ),
    )
    if not ok:
        return EXIT_FAILURE
    if not joints:
        print(f"{prog}: no verified joints in that period; nothing written")
        return EXIT_FAILURE
    try:
        report = export_dataset(
            joints,
            args.out,
            balance=args.balance or None,
            max_total=args.max_total,
            seed=args.seed,
        )
    except OSError as exc:
        print(
            f"{prog}: cannot write {exc.filename or args.out}: {exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    for line in report.missing_crops:
        print(f"{prog}: skipped {line}", file=sys.stderr)
    labels = report.kept_by_label
    print(
        f"{Path(args.out) / 'manifest.csv'}: {report.kept} joints "
        f"({labels['defective']} defective, {labels['non_defective']} not) of "
        f"{report.verified} verified; {report.kept_disagreements} model-operator "
        f"disagreements; dropped {report.dropped_for_balance} for balance, "
        f"{report.dropped_for_cap} for --max, {len(report.missing_crops)} without crop"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2), "utf-8")
    return EXIT_OK
