"""`soldernet train`: train a defect classifier."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.cli import EXIT_FAILURE, EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `train` subcommand."""
    from inference.training.config import add_train_arguments

    p = sub.add_parser(
        "train",
        help="train a classifier on one or more datasets",
        description=(
            "Train a one-logit defect classifier (LP-FT, AdamW, cosine decay, label "
            "smoothing, mixup), fit its temperature and region thresholds on the "
            "validation split and write a model folder (weights + model.json)."
        ),
    )
    add_train_arguments(p)
    p.add_argument("--json", metavar="PATH", help="write the training summary as JSON")
    p.add_argument(
        "--db", help="database for --from VERSION and --register (default: settings)"
    )
    p.add_argument(
        "--register",
        action="store_true",
        help="register the trained model as a candidate version (needs --user)",
    )
    p.add_argument("--user", help="your user name (for --register; audited)")
    p.add_argument("--pin", help="your PIN (prefer $SOLDERNET_PIN)")
    p.set_defaults(handler=run)


def _prepare_fine_tune(args: argparse.Namespace) -> str | None:
    """Resolve `--from` (folder or registered version) and its defaults.

    Sets `from_model` to the folder, `parent_version`, and, when not given, the
    parent's input size and a derived version tag. Returns an error message or None.
    """
    from datetime import UTC, datetime

    from app.fieldloop.versions import ModelFolderError, read_card, resolve_model

    try:
        if Path(args.from_model).is_dir():
            folder = Path(args.from_model)
        else:
            from app.commands.db import resolve_database
            from db import DbError, open_database

            target, is_default = resolve_database(args.db)
            try:
                with open_database(target, create_folder=is_default) as db:
                    folder = resolve_model(db, args.from_model)
            except DbError as exc:
                return str(exc)
        card = read_card(folder)
    except ModelFolderError as exc:
        return str(exc)
    args.from_model = str(folder)
    args.parent_version = str(card["version"])
    if args.input_size is None:
        args.input_size = int(card.get("input_size") or 256)
    if args.version is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M")
        args.version = f"{card['version']}-ft{stamp}"
    return None


def _register(args: argparse.Namespace, model_dir: Path) -> str | None:
    """Register the trained folder as a candidate; returns an error message or None."""
    from app.commands._login import read_pin
    from app.commands.db import resolve_database
    from app.fieldloop.versions import ModelFolderError, register_folder
    from db import AuthenticationError, DbError, PermissionDeniedError, open_database

    pin = read_pin(args)
    if not args.user or not pin:
        return "--register needs --user and a PIN ($SOLDERNET_PIN or --pin)"
    target, is_default = resolve_database(args.db)
    try:
        with open_database(target, create_folder=is_default) as db:
            user = db.users.authenticate(args.user, pin)
            if user.role.value not in {"engineer", "admin"}:
                return f"{user.name} ({user.role.value}) may not register models"
            row = register_folder(db, model_dir, actor=user)
    except (
        AuthenticationError,
        PermissionDeniedError,
        DbError,
        ModelFolderError,
        ValueError,
    ) as exc:
        return str(exc)
    print(f"registered {row.version} as a candidate (promote with `soldernet models`)")
    return None


def run(args: argparse.Namespace) -> int:
    """Train with the parsed arguments; prints a summary."""
    from inference.errors import InferenceError
    from inference.evaluation import jsonable
    from inference.training.train_classifier import TrainConfig, train

    if args.register and not args.user:
        print("soldernet train: --register needs --user", file=sys.stderr)
        return EXIT_FAILURE
    if args.from_model:
        problem = _prepare_fine_tune(args)
        if problem:
            print(f"soldernet train: --from: {problem}", file=sys.stderr)
            return EXIT_FAILURE
    try:
        result = train(TrainConfig.from_args(args))
    except InferenceError as exc:
        print(f"soldernet train: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    summary = result.to_dict()
    val = result.val_metrics
    print(f"model written to {result.model_dir}")
    print(
        f"epochs run {result.epochs_run} (best {result.best_epoch + 1}"
        f"{', stopped early' if result.stopped_early else ''}); "
        f"temperature {result.temperature:.3f}; "
        f"t_lo {result.t_lo:.4f} t_hi {result.t_hi:.4f}"
    )
    print(
        f"validation: accuracy {val['accuracy']:.4f} overkill {val['overkill']:.4f} "
        f"escape {val['escape']:.4f} AUROC {_num(val['auroc'])} ECE {val['ece']:.4f}"
    )
    if result.test_metrics:
        t = result.test_metrics
        print(
            f"test: accuracy {t['accuracy']:.4f} overkill {t['overkill']:.4f} "
            f"escape {t['escape']:.4f} AUROC {_num(t['auroc'])} ECE {t['ece']:.4f}"
        )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(jsonable(summary), indent=2), "utf-8")
    if args.register:
        problem = _register(args, Path(result.model_dir))
        if problem:
            print(f"soldernet train: --register: {problem}", file=sys.stderr)
            return EXIT_FAILURE
    return EXIT_OK


def _num(v: object) -> str:
    return f"{v:.4f}" if isinstance(v, float) and v == v else "n/a"
