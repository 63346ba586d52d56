"""`soldernet models`: model versions — list, register, compare, promote, rollback.

Promotion is the explicit, audited step of the field loop: `models compare` scores a
candidate and the active version side by side on one fixed test set and records the
figures in the audit log; `models promote` then needs that comparison on record
(unless `--without-comparison`, which the audit row shows). The retired version stays
registered, and `models rollback` re-activates it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands._login import add_login_arguments, read_pin

PROG = "soldernet models"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `models` subcommand and its actions."""
    p = sub.add_parser(
        "models",
        help="model versions: list, register, compare, promote, rollback",
        description=__doc__.split("\n\n", 1)[1],
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")

    a = actions.add_parser("list", help="registered versions, newest first")
    _db_arg(a)
    a.add_argument("--json", metavar="PATH", help="write the list as JSON")

    a = actions.add_parser("register", help="register a model folder as a candidate")
    a.add_argument("folder", help="model folder (model.json + weights)")
    _db_arg(a)
    add_login_arguments(a)

    a = actions.add_parser(
        "compare", help="candidate vs active version on one fixed test set"
    )
    a.add_argument("version", help="candidate version (registered)")
    a.add_argument("--against", help="version to compare with (default: active)")
    a.add_argument("--data", nargs="+", required=True, help="test dataset folders")
    a.add_argument("--split", default="all", help="all, or train/val/test of --data")
    a.add_argument("--split-seed", type=int, default=0)
    a.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    a.add_argument("-b", "--batch-size", type=int, default=64)
    a.add_argument("--out", metavar="DIR", help="write comparison.md/.json here")
    _db_arg(a)
    add_login_arguments(a)

    a = actions.add_parser("promote", help="make a version the active one")
    a.add_argument("version", help="version to activate")
    a.add_argument(
        "--without-comparison",
        action="store_true",
        help="promote although no side-by-side comparison is on record (audited)",
    )
    _db_arg(a)
    add_login_arguments(a)

    a = actions.add_parser("rollback", help="re-activate the previous version")
    _db_arg(a)
    add_login_arguments(a)
    p.set_defaults(handler=run)


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="database file or URL (default: from the settings)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the action; returns the exit code."""
    from app.commands.db import resolve_database
    from app.fieldloop.versions import ModelFolderError
    from db import (
        AuthenticationError,
        DbError,
        NotFoundError,
        PermissionDeniedError,
        open_database,
    )
    from inference.errors import InferenceError

    target, is_default = resolve_database(args.db)
    try:
        with open_database(target, create_folder=is_default) as db:
            if args.action == "list":
                return _list(db, args)
            pin = read_pin(args)
            if not pin:
                print(
                    f"{PROG}: no PIN given (use $SOLDERNET_PIN or --pin)",
                    file=sys.stderr,
                )
                return EXIT_FAILURE
            user = db.users.authenticate(args.user, pin)
            action = {
                "register": _register,
                "compare": _compare,
                "promote": _promote,
                "rollback": _rollback,
            }[args.action]
            return action(db, user, args)
    except PermissionDeniedError as exc:
        print(f"{PROG} {args.action}: refused: {exc}", file=sys.stderr)
    except (
        AuthenticationError,
        NotFoundError,
        ModelFolderError,
        InferenceError,
        DbError,
        ValueError,
    ) as exc:
        print(f"{PROG} {args.action}: {exc}", file=sys.stderr)
    return EXIT_FAILURE


def _list(db: Any, args: argparse.Namespace) -> int:
    rows = db.models_registry.list()
    if not rows:
        print("no model versions registered yet")
    for m in rows:
        test = (m.card or {}).get("test") or {}
        acc = test.get("accuracy")
        parent = (m.card or {}).get("parent_version")
        print(
            f"{m.version:32s} {m.status.value:9s} "
            f"{(m.card or {}).get('architecture') or '?':20s} "
            f"test acc {'n/a' if acc is None else f'{acc:.3f}'}"
            f"{f'  from {parent}' if parent else ''}  {m.path}"
        )
    if args.json:
        out = [
            {
                "version": m.version,
                "status": m.status.value,
                "path": m.path,
                "sha256": m.sha256,
                "card": dict(m.card),
                "registered_at": m.registered_at.isoformat(),
                "promoted_at": m.promoted_at.isoformat() if m.promoted_at else None,
            }
            for m in rows
        ]
        Path(args.json).write_text(json.dumps(out, indent=2), "utf-8")
    return EXIT_OK


def _register(db: Any, user: Any, args: argparse.Namespace) -> int:
    from app.fieldloop.versions import register_folder

    row = register_folder(db, args.folder, actor=user)
    print(f"registered {row.version} ({row.status.value}) at {row.path}")
    return EXIT_OK


def _compare(db: Any, user: Any, args: argparse.Namespace) -> int:
    from inference.evaluation import jsonable
    from inference.version_compare import compare_versions, render_markdown

    candidate = db.models_registry.get(args.version)
    if args.against:
        baseline = db.models_registry.get(args.against)
    else:
        baseline = db.models_registry.active()
        if baseline is None:
            print(f"{PROG} compare: no active version; use --against", file=sys.stderr)
            return EXIT_FAILURE
    result = compare_versions(
        baseline.path,
        candidate.path,
        args.data,
        split=args.split,
        split_seed=args.split_seed,
        device=args.device,
        batch_size=args.batch_size,
    )
    text = render_markdown(result, baseline.version, candidate.version)
    print(text)
    summary = {
        "data": {k: result["data"][k] for k in ("folders", "split", "split_seed")},
        "n": result["n"],
        "figures": {
            r["key"]: {"old": r["old"], "new": r["new"], "better": r["better"]}
            for r in result["figures"]
        },
        "changed_calls": result["changed_calls"],
    }
    audit_id = db.models_registry.record_comparison(
        candidate.version,
        against=baseline.version,
        summary=jsonable(summary),
        actor=user,
    )
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "comparison.md").write_text(text + "\n", "utf-8")
        (out / "comparison.json").write_text(
            json.dumps(jsonable(result), indent=2), "utf-8"
        )
    print(f"recorded as audit entry {audit_id}")
    return EXIT_OK


def _promote(db: Any, user: Any, args: argparse.Namespace) -> int:
    active = db.models_registry.active()
    if (
        active is not None
        and active.version != args.version
        and not args.without_comparison
        and db.models_registry.latest_comparison(args.version, active.version) is None
    ):
        print(
            f"{PROG} promote: no side-by-side comparison of {args.version} against "
            f"the active {active.version} is on record; run `soldernet models "
            f"compare {args.version} --data TEST` first (or --without-comparison)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    row = db.models_registry.promote(args.version, actor=user)
    was = f" (was {active.version}, kept for rollback)" if active else ""
    print(f"{row.version} is now active{was}")
    return EXIT_OK


def _rollback(db: Any, user: Any, args: argparse.Namespace) -> int:
    active = db.models_registry.active()
    row = db.models_registry.rollback(actor=user)
    print(
        f"rolled back to {row.version}"
        f"{f' (retired {active.version})' if active else ''}"
    )
    return EXIT_OK
