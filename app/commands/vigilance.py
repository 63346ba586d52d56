"""`soldernet vigilance`: per-inspector vigilance scores on seeded joints (+ JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands._login import add_login_arguments, call_as_user
from app.commands.report import _until, _when


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `vigilance` subcommand."""
    p = sub.add_parser(
        "vigilance",
        help="inspector vigilance scores on seeded known joints",
        description=(
            "Print each inspector's hits, misses and false alarms on the known "
            "joints seeded into the review queue (docs/vigilance.md), by current "
            "verdict. Needs a supervisor, engineer or admin login (--user, and the "
            "PIN from $SOLDERNET_PIN, --pin or a prompt). --to DATE is inclusive."
        ),
    )
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.add_argument(
        "--from", dest="start", type=_when, help="verdicts from this date (UTC)"
    )
    p.add_argument(
        "--to", dest="end", type=_until, help="verdicts up to this date, inclusive"
    )
    add_login_arguments(p)
    p.add_argument("--json", dest="json_path", help="also write the scores as JSON")
    p.set_defaults(handler=run)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def format_table(scores: object) -> str:
    """The scores as a plain-text table (one row per inspector, then all)."""
    head = (
        f"{'inspector':<20} {'seeds':>5} {'hits':>4} {'miss':>4} {'f.a.':>4} "
        f"{'c.r.':>4} {'skip':>4} {'hit rate':>8} {'f.a. rate':>9} {'d′':>5} "
        f"{'chg':>3}"
    )
    rows = [head, "-" * len(head)]
    inspectors = list(scores.inspectors)  # type: ignore[attr-defined]
    for r in [*inspectors, scores.total] if inspectors else []:  # type: ignore[attr-defined]
        d = "-" if r.d_prime is None else f"{r.d_prime:.2f}"
        rows.append(
            f"{r.user_name[:20]:<20} {r.seeds:>5} {r.hits:>4} {r.misses:>4} "
            f"{r.false_alarms:>4} {r.correct_rejections:>4} {r.skipped:>4} "
            f"{_pct(r.hit_rate):>8} {_pct(r.false_alarm_rate):>9} {d:>5} "
            f"{r.changed:>3}"
        )
    if not inspectors:
        rows.append("(no seeded joint has a verdict in this period)")
    rows.append(f"seeds still waiting in the queue: {scores.seeds_waiting}")  # type: ignore[attr-defined]
    return "\n".join(rows)


def run(args: argparse.Namespace) -> int:
    """Authenticate, compute the scores and print them; returns the exit code."""
    ok, scores = call_as_user(
        args,
        "soldernet vigilance",
        lambda db, user: db.vigilance.scores(
            actor=user, start=args.start, end=args.end
        ),
    )
    if not ok:
        return EXIT_FAILURE
    print(format_table(scores))
    if args.json_path:
        path = Path(args.json_path)
        try:
            path.write_text(
                json.dumps(scores.to_dict(), indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            print(
                f"soldernet vigilance: cannot write {path}: {exc.strerror}",
                file=sys.stderr,
            )
            return EXIT_FAILURE
    return EXIT_OK
