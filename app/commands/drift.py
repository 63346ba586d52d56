"""`soldernet drift`: the drift monitor's control charts on the command line.

Prints one row per window (newest last): joints, mean logit(p), PSI, review-band,
false-call and disagreement rates with their control limits, and the alarms. Exit
code 3 when the newest window alarms, so a line script can react (stop the line,
page the process engineer). A window with too few joints to judge (a shift that has
just begun) is skipped: the newest window with enough data decides.
`--set-reference START END` (engineers and admins, audited) makes that period the
model version's reference window first.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import time
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands._login import read_pin
from app.commands.report import _until, _when

EXIT_ALARM = 3


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        msg = f"not a time of day (HH:MM): {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `drift` subcommand."""
    p = sub.add_parser(
        "drift",
        help="drift monitor: control charts of the model's confidences and calls",
        description=(
            "Control charts of a model version against its reference window: mean "
            "logit(p), PSI of the confidence histogram, review-band rate, false-call "
            "rate and model-operator disagreement, per production shift or per N "
            "boards. Exits 3 when the newest window alarms (0: no alarm, 1: error). "
            "--set-reference needs an engineer or admin login (--user, PIN from "
            "$SOLDERNET_PIN, --pin or a prompt). Dates are UTC unless they carry "
            "an offset; --to-style bare dates are inclusive."
        ),
    )
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.add_argument(
        "--model", help="model version (default: the active one, else the newest used)"
    )
    p.add_argument(
        "--windows",
        choices=("shift", "boards"),
        default="shift",
        help="one point per production shift (default) or per N boards",
    )
    p.add_argument("--count", type=int, default=14, help="windows shown (default 14)")
    p.add_argument(
        "--shift-hours", type=float, default=8.0, help="shift length (default 8 h)"
    )
    p.add_argument(
        "--shift-start",
        type=_clock,
        default=time(6, 0),
        help="first shift of the day starts at (local time, default 06:00)",
    )
    p.add_argument(
        "--boards", type=int, default=50, help="boards per window (default 50)"
    )
    p.add_argument(
        "--run-rule",
        type=int,
        default=0,
        metavar="N",
        help="also alarm on N points in a row on one side of the centre (default off)",
    )
    p.add_argument(
        "--set-reference",
        nargs=2,
        metavar=("START", "END"),
        help="make [START, END] the model's reference window (YYYY-MM-DD or ISO)",
    )
    p.add_argument("--note", default="", help="why the reference was set")
    p.add_argument("--user", help="your user name (for --set-reference)")
    p.add_argument("--pin", help="your PIN (prefer $SOLDERNET_PIN: argv is visible)")
    p.add_argument(
        "--json", dest="json_path", help="also write the charts as JSON ('-': stdout)"
    )
    p.set_defaults(handler=run)


def report_dict(report: Any) -> dict[str, Any]:
    """The drift report as JSON-ready data."""
    from dataclasses import asdict

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    ref = report.reference
    model = report.model
    return {
        "model_version": report.model_version,
        "window_kind": report.window_kind,
        "generated_at": when(report.generated_at),
        "rules": asdict(report.rules),
        "reference": None
        if ref is None
        else {
            "start": when(ref.start),
            "end": when(ref.end),
            "is_default": ref.is_default,
            "set_by": ref.set_by,
            "note": ref.note,
            "n_joints": model.stats.n_joints if model else 0,
            "n_boards": model.n_groups if model else 0,
            "rates": model.rates if model else None,
            "logit_mean": model.logit_mean if model else None,
            "logit_sd": model.logit_sd if model else None,
            "overdispersion": model.phi if model else None,
        },
        "windows": [
            {
                "label": w.label,
                "start": when(w.start),
                "end": when(w.end),
                "n_joints": w.stats.n_joints,
                "n_settled": w.stats.n_settled,
                "points": {k: asdict(pt) for k, pt in w.points.items()},
                "alarms": [pt.chart for pt in w.alarms],
            }
            for w in report.windows
        ],
        "judged_window": report.judged.label if report.judged else None,
        "alarms": [pt.chart for pt in report.judged.alarms] if report.judged else [],
    }


def format_table(report: Any) -> str:
    """The chart table: one row per window, value [LCL, UCL] per chart."""
    from inference.drift import PROPORTION_CHARTS, TOO_FEW, describe_alarm

    if report.model_version is None:
        return "no finished inspections yet: nothing to chart"
    ref = report.reference
    lines = [f"model {report.model_version}"]
    if ref is None or ref.start is None or report.model is None:
        lines.append("reference window: none (no joints yet)")
    else:
        how = "default" if ref.is_default else f"set by {ref.set_by}"
        lines.append(
            f"reference window: {ref.start.astimezone():%Y-%m-%d %H:%M} to "
            f"{ref.end.astimezone():%Y-%m-%d %H:%M} ({how}; "
            f"{report.model.stats.n_joints} joints, {report.model.n_groups} boards)"
            + (f": {ref.note}" if ref.note else "")
        )

    def cell(pt: Any) -> str:
        if pt is None or pt.value is None:
            return "–"
        pct = pt.chart in PROPORTION_CHARTS
        v = f"{pt.value:.1%}" if pct else f"{pt.value:.2f}"
        if pt.ucl is None:
            return v
        hi = f"{pt.ucl:.1%}" if pct else f"{pt.ucl:.2f}"
        if pt.lcl is None:
            limits = f"<{hi}"
        else:
            lo = f"{pt.lcl:.1%}" if pct else f"{pt.lcl:.2f}"
            limits = f"{lo}..{hi}"
        mark = "!" if pt.alarm else ("?" if pt.status == TOO_FEW else "")
        return f"{v}{mark} [{limits}]"

    header = (
        f"{'window':<24} {'joints':>7}  {'mean logit':<22} {'PSI':<14} "
        f"{'review band':<22} {'false calls':<22} {'disagreement':<22} alarm"
    )
    lines += [header, "-" * len(header)]
    for w in report.windows:
        p = w.points
        alarm = ", ".join(pt.chart for pt in w.alarms) if w.alarms else ""
        lines.append(
            f"{w.label:<24} {w.stats.n_joints:>7}  {cell(p.get('mean_logit')):<22} "
            f"{cell(p.get('psi')):<14} {cell(p.get('review_band')):<22} "
            f"{cell(p.get('false_call')):<22} {cell(p.get('disagreement')):<22} "
            f"{'ALARM ' + alarm if alarm else ''}"
        )
    lines.append("! = alarm (beyond a limit, or a run rule); ? = too few to alarm")
    newest = report.judged
    if newest is not None and newest.alarms:
        lines.append("")
        for pt in newest.alarms:
            lines.append(f"ALARM {describe_alarm(pt)} in {newest.label}")
        lines.append(
            "check the camera, lighting and focus, then the paste and the placement; "
            "see docs/drift.md"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Optionally set the reference, then chart the windows; returns the exit code."""
    from app.commands.db import resolve_database
    from db import AuthenticationError, DbError, PermissionDeniedError, open_database
    from inference.drift import DriftRules

    target, is_default = resolve_database(args.db)
    try:
        with open_database(target, create_folder=is_default) as db:
            version = args.model or db.drift.default_model_version()
            if args.set_reference:
                if version is None:
                    print("soldernet drift: no model version to set", file=sys.stderr)
                    return EXIT_FAILURE
                start = _when(args.set_reference[0])
                end = _until(args.set_reference[1])
                pin = read_pin(args) if args.user else None
                if not args.user or not pin:
                    print(
                        "soldernet drift: --set-reference needs --user and a PIN "
                        "($SOLDERNET_PIN or --pin)",
                        file=sys.stderr,
                    )
                    return EXIT_FAILURE
                user = db.users.authenticate(args.user, pin)
                db.drift.set_reference(version, start, end, actor=user, note=args.note)
                print(
                    f"reference of {version} set to {start.isoformat()} .. "
                    f"{end.isoformat()}"
                )
            report = db.drift.report(
                version,
                windows=args.windows,
                count=args.count,
                shift_hours=args.shift_hours,
                shift_start=args.shift_start,
                boards_per_window=args.boards,
                rules=DriftRules(run_length=max(0, args.run_rule)),
            )
    except argparse.ArgumentTypeError as exc:
        print(f"soldernet drift: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except AuthenticationError as exc:
        print(f"soldernet drift: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except PermissionDeniedError as exc:
        print(f"soldernet drift: refused: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (DbError, ValueError) as exc:
        print(f"soldernet drift: {exc}", file=sys.stderr)
        return EXIT_FAILURE

    data = report_dict(report)
    if args.json_path == "-":
        print(json.dumps(data, indent=2))
    else:
        print(format_table(report))
        if args.json_path:
            try:
                with open(args.json_path, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=2)
            except OSError as exc:
                print(
                    f"soldernet drift: cannot write {args.json_path}: {exc.strerror}",
                    file=sys.stderr,
                )
                return EXIT_FAILURE
    return EXIT_ALARM if report.alarming else EXIT_OK
