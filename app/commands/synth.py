"""`soldernet synth joints|boards`: synthetic joint crops and whole boards.

``synth joints`` writes joint crops with defect masks and a manifest
(`inference.synth.generate_joint_dataset`); ``synth boards`` writes whole boards
with recipes and ground truth (`inference.synth.boards.generate_board_dataset`):
``boards/*.jpg|png``, ``recipes/*.json``, ``truth/*.json|png`` and ``manifest.csv``.
A progress bar goes to stderr; one summary line to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `synth` subcommand."""
    p = sub.add_parser(
        "synth", help="generate synthetic joints or boards with ground truth"
    )
    p.add_argument(
        "kind",
        choices=["joints", "boards", "board-joints"],
        help="what to render (board-joints: crops cut from N boards like the pipeline)",
    )
    p.add_argument("--out", required=True, help="output folder (manifest format)")
    p.add_argument("--n", type=int, default=100, help="how many items")
    p.add_argument(
        "--seed", type=int, default=0, help="random seed (same seed, same bytes)"
    )
    p.add_argument("--style", default="mixed", help="imaging style (or 'mixed')")
    p.add_argument(
        "--defect-rate",
        type=float,
        default=None,
        help="fraction defective (joints: of crops, default 0.5; boards: of joints, "
        "default 0.12)",
    )
    p.add_argument(
        "--size",
        default=None,
        help="joints: crop side in px (default 256); boards: WxH or a preset "
        "(small 800x600, demo 2000x1500, default 3000x2200, large 4000x3000)",
    )
    p.add_argument(
        "--format", choices=["jpg", "png"], default="jpg", help="board image format"
    )
    p.add_argument("--quality", type=int, default=90, help="JPEG quality of boards")
    p.add_argument("--json", metavar="PATH", help="write a summary as JSON")
    p.set_defaults(handler=run)


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"soldernet synth: {message}", file=sys.stderr)
    return code


def _progress(total: int, unit: str) -> tuple[Any, Any]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(done: int | None = None, *_rest: Any) -> None:
        # Accepts progress(done), progress(done, total) or progress() (one step).
        target = bar.n + 1 if done is None else int(done)
        bar.update(max(0, target - bar.n))

    return bar, update


def _board_size(text: str | None) -> tuple[int, int]:
    from inference.synth.boards import SIZE_PRESETS

    if text is None:
        return SIZE_PRESETS["default"]
    if text in SIZE_PRESETS:
        return SIZE_PRESETS[text]
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        msg = f"--size must be WxH or one of {', '.join(SIZE_PRESETS)}, got {text!r}"
        raise ValueError(msg) from None
    if not (200 <= w <= 12000 and 200 <= h <= 12000):
        msg = f"--size must be between 200 and 12000 px per side, got {text!r}"
        raise ValueError(msg)
    return w, h


def run(args: argparse.Namespace) -> int:
    """Generate the data set; returns the exit code."""
    if args.n <= 0:
        return _fail(f"--n must be a positive number, got {args.n}")
    rate = args.defect_rate
    if rate is not None and not 0.0 <= rate <= 1.0:
        return _fail(f"--defect-rate must be within [0, 1], got {rate}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(f"--out {out} exists and is not a folder")
    start = time.perf_counter()
    try:
        if args.kind == "joints":
            summary = _joints(args, out, 0.5 if rate is None else rate)
        elif args.kind == "board-joints":
            summary = _board_joints(args, out, 0.3 if rate is None else rate)
        else:
            summary = _boards(args, out, 0.12 if rate is None else rate)
    except _UsageError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write to {out}: {exc}", EXIT_FAILURE)
    summary["seconds"] = round(time.perf_counter() - start, 2)
    summary.update(
        {"kind": args.kind, "n": args.n, "seed": args.seed, "style": args.style}
    )
    if args.kind in {"joints", "board-joints"}:
        line = (
            f"synth {args.kind}: wrote {summary['n_crops']} crops "
            f"({summary['n_defective']} defective) to {summary['manifest']} in "
            f"{summary['seconds']} s"
        )
    else:
        line = (
            f"synth boards: wrote {summary['n']} boards ({summary['n_joints']} joints, "
            f"{summary['n_defective_joints']} defective) to {summary['manifest']} in "
            f"{summary['seconds']} s"
        )
    if args.json:
        jpath = Path(args.json)
        jpath.parent.mkdir(parents=True, exist_ok=True)
        jpath.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    print(line)
    return EXIT_OK


class _UsageError(Exception):
    pass


def _joints(args: argparse.Namespace, out: Path, rate: float) -> dict[str, Any]:
    try:
        from inference.synth import STYLES, generate_joint_dataset
    except ImportError as exc:  # the joint renderer is not installed
        msg = f"the joint renderer is not available ({exc})"
        raise _UsageError(msg) from exc
    if args.style != "mixed" and args.style not in STYLES:
        choices = ", ".join([*STYLES, "mixed"])
        msg = f"unknown style {args.style!r}; choose one of {choices}"
        raise _UsageError(msg)
    try:
        size = 256 if args.size is None else int(args.size)
    except ValueError:
        msg = f"--size for joints is the crop side in px, got {args.size!r}"
        raise _UsageError(msg) from None
    if not 16 <= size <= 2048:
        msg = f"--size for joints must be within [16, 2048], got {size}"
        raise _UsageError(msg)
    bar, update = _progress(args.n, "joint")
    try:
        manifest = generate_joint_dataset(
            out,
            args.n,
            args.seed,
            style=args.style,
            defect_rate=rate,
            size=size,
            progress=update,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    finally:
        bar.close()
    return _crop_summary(manifest, size)


def _crop_summary(manifest: Path, size: int) -> dict[str, Any]:
    from inference.datasets import read_manifest

    rows = read_manifest(manifest, check_files=False)
    return {
        "manifest": str(manifest),
        "n_crops": len(rows),
        "n_defective": sum(r.label for r in rows),
        "size": size,
    }


def _check_board_style(style: str) -> None:
    from inference.synth.boards import BOARD_STYLES

    if style != "mixed" and style not in BOARD_STYLES:
        msg = (
            f"unknown board style {style!r}; choose one of "
            f"{', '.join([*BOARD_STYLES, 'mixed'])}"
        )
        raise _UsageError(msg)


def _board_joints(args: argparse.Namespace, out: Path, rate: float) -> dict[str, Any]:
    from inference.synth.board_joints import generate_board_joint_dataset
    from inference.synth.boards import BoardConfig

    _check_board_style(args.style)
    try:
        size = 256 if args.size is None else int(args.size)
    except ValueError:
        msg = f"--size for board-joints is the crop side in px, got {args.size!r}"
        raise _UsageError(msg) from None
    config = BoardConfig(width=1600, height=1200, defect_rate=rate, style=args.style)
    bar, update = _progress(args.n, "board")
    try:
        manifest = generate_board_joint_dataset(
            out, args.n, args.seed, config=config, size=size, progress=update
        )
    finally:
        bar.close()
    return _crop_summary(manifest, size)


def _boards(args: argparse.Namespace, out: Path, rate: float) -> dict[str, Any]:
    from inference.synth.boards import generate_board_dataset

    _check_board_style(args.style)
    try:
        size = _board_size(args.size)
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc
    if not 1 <= args.quality <= 100:
        msg = f"--quality must be within [1, 100], got {args.quality}"
        raise _UsageError(msg)
    bar, update = _progress(args.n, "board")
    try:
        manifest = generate_board_dataset(
            out,
            args.n,
            args.seed,
            style=args.style,
            size=size,
            defect_rate=rate,
            image_format=args.format,
            jpeg_quality=args.quality,
            progress=update,
        )
    finally:
        bar.close()
    n_joints = n_def = 0
    for i in range(args.n):
        tpath = out / "truth" / f"board_{i:04d}.json"
        data = json.loads(tpath.read_text(encoding="utf-8"))
        n_joints += int(data["n_joints"])
        n_def += int(data["n_defective"])
    return {
        "manifest": str(manifest),
        "size": list(size),
        "n_joints": n_joints,
        "n_defective_joints": n_def,
    }
