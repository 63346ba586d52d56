"""`soldernet inspect`: run boards headless into the database.

Every board goes through `app.inspection_runner.InspectionRunner` (the same core the
GUI worker uses). A bad board is reported and the rest go on; the exit code is 0 when
every board was inspected (or skipped as already inspected), 1 otherwise.

``--watch DIR`` keeps inspecting new image files in DIR. Several stations may watch
the same folder on one PostgreSQL database: each file is claimed by one station
(`db.services.claims`).

Nothing heavy is imported at module level (a test asserts building the parser
imports no torch).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `inspect` subcommand."""
    p = sub.add_parser("inspect", help="inspect board images into the database")
    p.add_argument("images", nargs="*", help="board images (or folders of them)")
    p.add_argument(
        "--recipe",
        help="board recipe JSON (default: <stem>.json beside the image or in recipes/)",
    )
    p.add_argument(
        "--detector",
        metavar="FOLDER",
        help="learned detector folder, used for boards without a recipe "
        "(`soldernet detector train`)",
    )
    p.add_argument("--db", help="database file or URL (default: from the settings)")
    p.add_argument("--watch", metavar="DIR", help="keep inspecting new files in DIR")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    p.add_argument("--model", help="model folder (default: the configured model)")
    p.add_argument(
        "--force",
        action="store_true",
        help="inspect again boards already inspected with this model",
    )
    p.add_argument(
        "--no-explain",
        dest="explain",
        action="store_false",
        help="no explanations of possibly defective joints",
    )
    p.add_argument(
        "--max-explanations",
        type=int,
        default=None,
        metavar="N",
        help="explain at most N joints per board (queue order)",
    )
    p.add_argument("--serial", help="board serial (default: the file name's stem)")
    p.add_argument("--product", help="product (default: the recipe's product)")
    p.add_argument("--side", default="top", help="board side (top/bottom)")
    p.add_argument("--user", help="name of the user who ingests the boards")
    p.add_argument(
        "--artefacts", metavar="DIR", help="crops and explanation files folder"
    )
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="classifier backend (auto: onnxruntime on CPU, torch on a GPU)",
    )
    p.add_argument(
        "--station", help="station name for --watch claims (default: host:pid)"
    )
    p.add_argument(
        "--poll", type=float, default=2.0, help="--watch: seconds between scans"
    )
    p.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="--watch: a file must be unchanged this many seconds",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="--watch: stop when no unclaimed file is left",
    )
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    p.add_argument(
        "--vigilance-library",
        metavar="PATH",
        help="seed known joints from this manifest folder into the review queue "
        "(default: the settings' library when vigilance is on)",
    )
    p.add_argument(
        "--vigilance-rate",
        type=_fraction,
        metavar="R",
        help="seeds per possibly defective joint (default: settings, else 0.05)",
    )
    p.add_argument(
        "--vigilance-defect-fraction",
        type=_fraction,
        metavar="F",
        help="share of known-defect seeds (default: settings, else 0.5)",
    )
    p.set_defaults(handler=run)


def _backend(backend: str, device: str) -> str:
    """Resolve ``auto``: onnxruntime on CPU (measured ~4x faster), torch on a GPU."""
    from inference.device import resolve_backend

    return resolve_backend(backend, device)


def _fraction(text: str) -> float:
    """A number within [0, 1] (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        msg = f"expected a number within [0, 1], got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _vigilance_seeder(args: argparse.Namespace, artefacts: Path) -> Any:
    """The vigilance seeder of the flags and the settings (None: off)."""
    from app.settings import SettingsError, Vigilance, load_settings
    from app.vigilance import VigilanceConfig, VigilanceSeeder

    try:
        v = load_settings().vigilance
    except SettingsError:
        v = Vigilance()
    library = args.vigilance_library or v.active_library
    rate = v.rate if args.vigilance_rate is None else args.vigilance_rate
    if not library or rate <= 0:
        return None
    fraction = args.vigilance_defect_fraction
    return VigilanceSeeder(
        VigilanceConfig(
            library=Path(library),
            rate=rate,
            defect_fraction=v.defect_fraction if fraction is None else fraction,
            cache_dir=artefacts / "vigilance",
        )
    )


def _say(message: str) -> None:
    text = " ".join(str(message).split("\n")[0].split())
    print(f"soldernet inspect: {text}", file=sys.stderr)


def _expand(items: Iterable[str]) -> list[Path]:
    from app.inspection_runner import IMAGE_SUFFIXES

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.extend(
                sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            )
        else:
            out.append(p)
    return out


def _regions_text(regions: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in regions.items())


def _print_board(r: Any) -> None:
    name = Path(r.path).name
    if r.status == "failed":
        _say(r.error)
        return
    if r.status == "skipped":
        print(
            f"{name}: skipped, already inspected with this model "
            f"(inspection {r.inspection_id}; --force to redo)"
        )
        return
    print(
        f"{name}: {r.status}, serial {r.serial}, {r.n_joints} joints "
        f"({_regions_text(r.regions)}), {r.n_explained} explained, "
        f"{r.seconds:.1f} s [inspection {r.inspection_id}]"
    )


def _summary(results: list[Any], seconds: float) -> dict[str, Any]:
    from inference.types import Region

    regions = {r.value: 0 for r in Region}
    for r in results:
        if r.status == "done":
            for k, v in r.regions.items():
                regions[k] = regions.get(k, 0) + v
    return {
        "boards": len(results),
        "done": sum(r.status == "done" for r in results),
        "skipped": sum(r.status == "skipped" for r in results),
        "failed": sum(r.status == "failed" for r in results),
        "cancelled": sum(r.status == "cancelled" for r in results),
        "joints": sum(r.n_joints for r in results if r.status == "done"),
        "regions": regions,
        "explained": sum(r.n_explained for r in results),
        "seconds": seconds,
    }


def _find_user(db: Any, name: str) -> Any:
    for u in db.users.list_users(include_inactive=False):
        if u.name == name:
            return u
    msg = f"no active user named {name!r}"
    raise LookupError(msg)


def run(args: argparse.Namespace) -> int:
    """Inspect the boards (and/or watch a folder); returns the exit code."""
    if not args.images and not args.watch:
        _say("give board images or --watch DIR")
        return EXIT_USAGE
    if args.serial and (len(args.images) > 1 or args.watch):
        _say("--serial names one board; give a single image (no --watch)")
        return EXIT_USAGE

    from app.commands.db import resolve_database
    from app.commands.explain import model_folder, write_json
    from app.fieldloop.versions import choose_model, ensure_baseline
    from app.inspection_runner import BoardResult, InspectionRunner
    from app.settings import SettingsError, default_data_dir, load_settings
    from db import DbError, open_database
    from inference.errors import InferenceError

    if args.threads:
        import torch

        torch.set_num_threads(max(1, int(args.threads)))
    try:
        configured = model_folder(args)
    except FileNotFoundError as exc:
        _say(str(exc))
        return EXIT_FAILURE
    try:
        data_dir = load_settings().data_dir
    except SettingsError:
        data_dir = default_data_dir()
    artefacts = Path(args.artefacts) if args.artefacts else data_dir / "artefacts"
    target, is_default = resolve_database(args.db)

    results: list[BoardResult] = []
    t_start = time.perf_counter()
    try:
        with open_database(target, create_folder=is_default) as db:
            db.inspections.mark_interrupted()
            user = _find_user(db, args.user) if args.user else None
            # Without --model: the registry's active version, else the configured
            # folder (which, once loaded, becomes the registry's baseline).
            choice = choose_model(None if args.model else db, configured)
            folder = choice.folder
            runner = InspectionRunner.from_model_folder(
                db,
                folder,
                artefact_dir=artefacts,
                explain=args.explain,
                cache_dir=data_dir / "cache" / "explanations",
                device=args.device,
                user=user,
                max_explanations=args.max_explanations,
                backend=_backend(args.backend, args.device),
                vigilance=_vigilance_seeder(args, artefacts),
            )
            if choice.version is None and not args.model:
                ensure_baseline(db, folder)
            learned = _learned_detector(args.detector)

            def one(path: Path) -> BoardResult:
                try:
                    r = runner.inspect(
                        path,
                        detector=_detector_for(path, args.recipe, learned),
                        recipe=args.recipe,
                        serial=args.serial,
                        product=args.product,
                        side=args.side,
                        force=args.force,
                    )
                except (InferenceError, ValueError, OSError) as exc:
                    msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
                    r = BoardResult(path=str(path), status="failed", error=msg)
                _print_board(r)
                results.append(r)
                return r

            _run_batch(_expand(args.images), one, args.progress)
            if args.watch:
                _watch(db, Path(args.watch), one, args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
    except (DbError, InferenceError, LookupError, OSError) as exc:
        _say(str(exc))
        return EXIT_FAILURE
    summary = _summary(results, time.perf_counter() - t_start)
    print(
        f"{summary['boards']} board(s): {summary['done']} done, "
        f"{summary['skipped']} skipped, {summary['failed']} failed; "
        f"{summary['joints']} joints ({_regions_text(summary['regions'])}); "
        f"{summary['explained']} explained; {summary['seconds']:.1f} s"
    )
    write_json(
        args.json,
        {"summary": summary, "boards": [r.to_dict() for r in results]},
    )
    return EXIT_OK if summary["failed"] == 0 else EXIT_FAILURE


def _learned_detector(folder: str | None) -> Any:
    """The `--detector` folder's learned detector (None without the flag)."""
    if not folder:
        return None
    from inference.learned_detector import LearnedDetector

    return LearnedDetector.from_folder(folder)


def _detector_for(path: Path, recipe: str | None, learned: Any) -> Any:
    """The learned detector for a board without a recipe, else None (recipe mode)."""
    if learned is None or recipe:
        return None
    from app.inspection_runner import find_recipe

    return None if find_recipe(path) is not None else learned


def _run_batch(paths: list[Path], one: Any, progress: bool) -> None:
    if not paths:
        return
    from tqdm import tqdm

    bar = tqdm(
        paths,
        desc="inspect",
        unit="board",
        disable=not (progress and sys.stderr.isatty()),
        leave=False,
    )
    try:
        for path in bar:
            one(path)
    finally:
        bar.close()


def _watch(db: Any, folder: Path, one: Any, args: argparse.Namespace) -> None:
    """Claim and inspect image files in ``folder`` until interrupted (or ``--once``)."""
    from app.inspection_runner import IMAGE_SUFFIXES

    if not folder.is_dir():
        msg = f"--watch {folder}: not a folder"
        raise OSError(msg)
    station = args.station or f"{socket.gethostname()}:{os.getpid()}"
    claims = db.claims
    print(f"watching {folder} as station {station} (Ctrl+C to stop)", file=sys.stderr)
    while True:
        now = time.time()
        files = [
            str(f.resolve())
            for f in sorted(folder.iterdir())
            if f.is_file()
            and f.suffix.lower() in IMAGE_SUFFIXES
            and now - f.stat().st_mtime >= args.settle
        ]
        path = claims.claim_next(station, files) if files else None
        if path is None:
            if args.once:
                return
            time.sleep(max(0.05, args.poll))
            continue
        try:
            r = one(Path(path))
        except BaseException:
            claims.release(path, station)
            raise
        claims.complete(path, station, ok=r.ok, error=r.error)
