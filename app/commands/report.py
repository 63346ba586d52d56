"""`soldernet report`: export a shift or date-range report (CSV, XLSX, PDF, JSON)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime, time, timedelta

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands._login import add_login_arguments, read_pin


def _when(text: str) -> datetime:
    """Parse `YYYY-MM-DD` or an ISO 8601 datetime; naive values are taken as UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        msg = f"not a date (YYYY-MM-DD) or ISO datetime: {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _until(text: str) -> datetime:
    """Like `_when`, but a bare date means the end of that day (inclusive)."""
    value = _when(text)
    return value + timedelta(days=1) if len(text) == 10 else value


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `report` subcommand."""
    p = sub.add_parser(
        "report",
        help="export a shift or date-range report (CSV, XLSX, PDF)",
        description=(
            "Export the figures of a shift or a date range. Needs a supervisor, "
            "engineer or admin login (--user, and the PIN from $SOLDERNET_PIN, --pin "
            "or a prompt). --to DATE is inclusive of that whole day."
        ),
    )
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.add_argument("--out", required=True, help="output file (.csv, .xlsx or .pdf)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--shift", type=int, help="shift id")
    when.add_argument("--from", dest="start", type=_when, help="start date (UTC)")
    p.add_argument(
        "--to", dest="end", type=_until, help="end date, inclusive (UTC; default: now)"
    )
    add_login_arguments(p)
    p.add_argument("--json", dest="json_path", help="also write the figures as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Authenticate, compute the report and write it; returns the exit code."""
    from pathlib import Path

    from app.commands.db import resolve_database
    from app.reports import write_json, write_report
    from db import AuthenticationError, DbError, PermissionDeniedError, open_database

    out = Path(args.out)
    if out.suffix.lower() not in {".csv", ".xlsx", ".pdf"}:
        print(
            f"soldernet report: {out}: use a .csv, .xlsx or .pdf file name",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    if args.end is not None and args.shift is not None:
        print("soldernet report: --to goes with --from, not --shift", file=sys.stderr)
        return EXIT_FAILURE
    end = args.end
    pin = read_pin(args)
    if not pin:
        print(
            "soldernet report: no PIN given (use $SOLDERNET_PIN or --pin)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    target, is_default = resolve_database(args.db)
    try:
        with open_database(target, create_folder=is_default) as db:
            user = db.users.authenticate(args.user, pin)
            report = db.reports.shift_report(
                actor=user, shift_id=args.shift, start=args.start, end=end
            )
            write_report(report, out)
            if args.json_path:
                write_json(report, args.json_path)
            db.audit.log(
                user,
                "report_exported",
                "shift",
                args.shift,
                {"file": str(out), "format": out.suffix.lower().lstrip(".")},
            )
    except AuthenticationError as exc:
        print(f"soldernet report: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except PermissionDeniedError as exc:
        print(f"soldernet report: refused: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (DbError, ValueError) as exc:
        print(f"soldernet report: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        print(
            f"soldernet report: cannot write {exc.filename or out}: {exc.strerror}",
            file=sys.stderr,
        )
        return EXIT_FAILURE

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    ppm = "n/a" if report.false_call_ppm is None else f"{report.false_call_ppm:.0f}"
    print(
        f"{out}: {report.boards_inspected} boards, {report.joints_inspected} joints, "
        f"{report.calls} calls, {report.confirmed_defects} confirmed defects, "
        f"{report.false_calls} false calls ({ppm} PPM), FPY {pct(report.fpy)}"
    )
    return EXIT_OK
