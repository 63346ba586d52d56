"""`soldernet soxai`: the second-order explanation map of a dataset."""

from __future__ import annotations

import argparse
import sys

from app.cli import EXIT_OK
from app.commands.explain import add_common_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the `soxai` subcommand."""
    p = sub.add_parser("soxai", help="second-order explainability map of a dataset")
    p.add_argument("--model", help="model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="dataset folder")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--json", metavar="PATH", help="write groups and positions as JSON")
    p.add_argument("--limit", type=int, metavar="N", help="first N manifest rows only")
    p.add_argument(
        "--groups", type=int, metavar="K", help="KMeans groups (default sqrt(n/2))"
    )
    p.add_argument(
        "--cluster-on",
        choices=["embedding", "points"],
        default="embedding",
        help="cluster the embeddings (default) or the 2-D map points",
    )
    p.add_argument("--thumb", type=int, default=64, help="thumbnail side px (64)")
    add_common_options(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Explain, embed, map and group the dataset; print the groups."""
    from app.commands.explain import (
        expected_errors,
        fail,
        prepare,
        progress_bar,
        write_json,
    )
    from inference.explain.soxai_run import run_soxai
    from inference.explain.xai_eval import images_from_manifest

    try:
        images = images_from_manifest(args.data, args.limit)
        if not images:
            return fail("soxai", f"{args.data}: the manifest lists no images")
        em, cfg, cache = prepare(args)
        update, bar = progress_bar(args.progress, "soxai")
        try:
            result = run_soxai(
                em,
                images,
                args.out,
                cfg,
                cache=cache,
                k=args.groups,
                cluster_on=args.cluster_on,
                thumb=args.thumb,
                progress=update,
            )
        finally:
            bar.close()
        write_json(args.json, result)
    except expected_errors() as exc:
        return fail("soxai", str(exc))
    print(
        f"{result['n_embedded']} explanations mapped ({result['n_excluded_empty']} "
        f"empty, {result['n_failed']} unreadable) into {result['k']} groups:"
    )
    for g in result["groups"]:
        types = ", ".join(f"{t} {c}" for t, c in g["defect_type_counts"].items())
        over = ", ".join(g["over_represented"]) or "-"
        print(
            f"  group {g['cluster']}: {g['size']} ({types}); over-represented: {over}"
        )
    for e in result["errors"]:
        print(f"soldernet soxai: {e['error']}", file=sys.stderr)
    print(f"map {result['files']['map']}; scatter {result['files']['scatter_groups']}")
    return EXIT_OK
