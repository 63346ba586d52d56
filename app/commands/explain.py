"""`soldernet explain`: critical-factor explanations for images.

Also holds the options and helpers shared by `xai-eval` and `soxai` (model folder,
explainer knobs, cache, threads). Nothing heavy is imported at module level: torch
and the explainer load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.cli import EXIT_FAILURE, EXIT_OK


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Options shared by explain, xai-eval and soxai."""
    p.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="explainer knob (algorithms.md §1.8), repeatable, e.g. baseline=mean",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="cheaper explanations: n_segments=32, ig_steps=16",
    )
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="explanation cache folder (default: <data dir>/cache/explanations)",
    )
    p.add_argument(
        "--no-cache", dest="use_cache", action="store_false", help="always recompute"
    )
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `explain` subcommand."""
    p = sub.add_parser("explain", help="explanation overlays (PNG) and numbers")
    p.add_argument("images", nargs="+", help="joint images")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", metavar="PATH", help="write the numbers as JSON")
    add_common_options(p)
    p.set_defaults(handler=run)


def fail(command: str, message: str) -> int:
    """Print a one-line error and return the failure exit code."""
    text = " ".join(str(message).split("\n")[0].split())
    print(f"soldernet {command}: {text}", file=sys.stderr)
    return EXIT_FAILURE


def model_folder(args: argparse.Namespace) -> Path:
    """`--model`, else the configured (`SOLDERNET_MODEL`, settings) default model."""
    if args.model:
        return Path(args.model)
    from app.settings import DEFAULT_MODEL_DIR, SettingsError, load_settings

    try:
        folder = load_settings().model_dir
    except SettingsError:
        folder = DEFAULT_MODEL_DIR
    if not folder.exists():
        msg = (
            f"no --model given and the default model folder {folder} does not exist "
            "(the shipped model is not installed); pass --model FOLDER"
        )
        raise FileNotFoundError(msg)
    return folder


def open_cache(args: argparse.Namespace) -> Any:
    """The explanation cache of `--cache` / the data folder, or None (`--no-cache`)."""
    if not args.use_cache:
        return None
    from app.settings import default_data_dir
    from inference.explain.cache import ExplanationCache

    folder = (
        Path(args.cache)
        if args.cache
        else default_data_dir() / "cache" / "explanations"
    )
    return ExplanationCache(folder)


def prepare(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Threads, explainer config, model and cache from the common options.

    Returns:
        `(ExplainModel, ExplainConfig, ExplanationCache | None)`.
    """
    import torch

    from inference.explain.runner import config_from_overrides, load_explain_model

    if args.threads:
        torch.set_num_threads(max(1, int(args.threads)))
    cfg = config_from_overrides(args.config, fast=args.fast)
    em = load_explain_model(model_folder(args), device=args.device)
    return em, cfg, open_cache(args)


def progress_bar(enabled: bool, desc: str) -> tuple[Callable[[int, int], None], Any]:
    """A `progress(done, total)` callback drawing a tqdm bar on stderr (if a tty)."""
    from tqdm import tqdm

    bar = tqdm(
        total=0, desc=desc, disable=not (enabled and sys.stderr.isatty()), leave=False
    )

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar


def write_json(path: str | None, data: Any) -> None:
    """Write `data` as JSON to `path` (folders created) when a path is given."""
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", "utf-8")


def expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that end a command with a one-line message and exit code 1."""
    from inference.datasets import ManifestError
    from inference.errors import InferenceError
    from inference.explain.errors import ExplainError

    return (InferenceError, ExplainError, ManifestError, OSError, ValueError)


def run(args: argparse.Namespace) -> int:
    """Explain the images; exit 0 if at least one was explained, else 1."""
    from inference.explain.runner import explain_files
    from inference.explain.xai_eval import jsonable

    try:
        em, cfg, cache = prepare(args)
        update, bar = progress_bar(args.progress, "explain")
        try:
            outcome = explain_files(
                em, args.images, args.out, cfg=cfg, cache=cache, progress=update
            )
        finally:
            bar.close()
        data = jsonable(outcome.to_dict())
        write_json(args.json, data)
    except expected_errors() as exc:
        return fail("explain", str(exc))
    for item in outcome.items:
        if item.get("error"):
            print(f"soldernet explain: {item['error']}", file=sys.stderr)
        else:
            tag = " (cached)" if item["cached"] else ""
            print(
                f"{item['path']}: {item['decision']} p={item['p_before']:.3f}; "
                f"{item['summary']} [{item['seconds']:.2f} s, "
                f"{item['n_forward']} fwd, {item['n_backward']} bwd{tag}] "
                f"-> {item['overlay']}"
            )
    s = outcome.summary
    if s["n_ok"]:
        print(
            f"{s['n_ok']} of {s['n']} explained ({s['n_cached']} from cache), "
            f"{s['seconds_per_explanation']:.2f} s, "
            f"{s['forwards_per_explanation']:.0f} forwards, "
            f"{s['backwards_per_explanation']:.0f} backwards per explanation"
        )
    return EXIT_OK if s["n_ok"] else EXIT_FAILURE
