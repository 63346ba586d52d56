"""`soldernet xai-eval`: impact score, coverage and localisation of explainers."""

from __future__ import annotations

import argparse

from app.cli import EXIT_FAILURE, EXIT_OK
from app.commands.explain import add_common_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `xai-eval` subcommand."""
    p = sub.add_parser("xai-eval", help="impact score, coverage, localisation")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="dataset folder (manifest.csv, masks)")
    p.add_argument("--json", metavar="PATH", help="write the metrics as JSON")
    p.add_argument("--limit", type=int, metavar="N", help="first N manifest rows only")
    p.add_argument(
        "--eval-baselines",
        default="mean,constant",
        help="evaluation baselines besides the search baseline (comma separated)",
    )
    p.add_argument(
        "--no-coverage",
        dest="coverage",
        action="store_false",
        help="skip the patch attack (Impact Coverage)",
    )
    p.add_argument(
        "--occlusion-window", type=int, help="occlusion window px (default side/8)"
    )
    p.add_argument(
        "--tolerance", type=int, default=4, help="pointing-game tolerance px (4)"
    )
    p.add_argument(
        "--per-image", action="store_true", help="include per-image rows in the JSON"
    )
    add_common_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate ours, Grad-CAM and occlusion on the dataset; print a table."""
    from app.commands.explain import (
        expected_errors,
        fail,
        prepare,
        progress_bar,
        write_json,
    )
    from inference.explain.xai_eval import (
        XaiEvalOptions,
        evaluate_explainers,
        format_xai_summary,
        images_from_manifest,
    )

    try:
        images = images_from_manifest(args.data, args.limit)
        if not images:
            return fail("xai-eval", f"{args.data}: the manifest lists no images")
        em, cfg, cache = prepare(args)
        opts = XaiEvalOptions(
            eval_baselines=tuple(
                b.strip() for b in args.eval_baselines.split(",") if b.strip()
            ),
            coverage=args.coverage,
            occlusion_window=args.occlusion_window,
            tolerance_px=args.tolerance,
            per_image=args.per_image,
        )
        for b in opts.eval_baselines:
            cfg.replace(eval_baseline=b)  # validates the name
        update, bar = progress_bar(args.progress, "xai-eval")
        try:
            result = evaluate_explainers(
                em, images, cfg, options=opts, cache=cache, progress=update
            )
        finally:
            bar.close()
        write_json(args.json, result)
    except expected_errors() as exc:
        return fail("xai-eval", str(exc))
    print(format_xai_summary(result))
    return EXIT_OK if result["n_evaluated"] else EXIT_FAILURE
