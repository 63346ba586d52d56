"""End-to-end SOXAI for a dataset (`soldernet soxai`, algorithms.md §4).

1. Explain every image with CFI (through the explanation cache); images whose
   explanation is empty are excluded and counted (§4.1 step 5, default).
2. Embed the explained regions with `embed_masked_crop` (the classifier's own
   `features()`, masked with the dataset mean colour, L2-normalised).
3. t-SNE to 2-D (`tsne_2d`), KMeans groups (`kmeans_groups`, on the embeddings by
   default) with their label / defect-type make-up and the over- (share ≥ 1.5× the
   overall share) and under-represented (≤ 0.5×) defect types per group.
4. Lay the explanation thumbnails on a grid (`grid_layout`, `soxai_map`) and draw
   scatter plots coloured by group and by defect type.

Outputs in the output folder: `soxai_map.png`, `soxai_scatter_groups.png`,
`soxai_scatter_types.png` and `soxai.json`.

Images are processed twice (explain, then embed) so that only masks and thumbnails
stay in memory, never the whole dataset.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.explain.cache import ExplanationCache
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.render import summary_text
from inference.explain.runner import (
    ITEM_ERRORS,
    Explainer,
    ExplainModel,
    Progress,
    load_input,
    save_overlay,
)
from inference.explain.soxai import (
    embed_masked_crop,
    explanation_thumbnail,
    grid_layout,
    kmeans_groups,
    scatter_plot,
    soxai_map,
    tsne_2d,
)
from inference.explain.xai_eval import EvalImage, jsonable

log = logging.getLogger(__name__)

OVER = 1.5
UNDER = 0.5


def default_groups(n: int) -> int:
    """Default KMeans k: `round(sqrt(n / 2))`, at least 2, at most n and 12."""
    return max(1, min(n, 12, max(2, round(math.sqrt(n / 2)))))


def _type_of(item: EvalImage) -> str:
    if item.defect_type:
        return item.defect_type
    if item.label is None:
        return "unknown"
    return "defective" if item.label == 1 else "good"


def group_makeup(
    assign: np.ndarray, types: Sequence[str]
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Overall defect-type shares and, per group, shares and enrichment ratios."""
    n = len(types)
    overall = Counter(types)
    share = {t: c / n for t, c in sorted(overall.items())}
    groups = []
    for c in sorted(set(assign.tolist())):
        idx = np.flatnonzero(assign == c)
        counts = Counter(types[i] for i in idx)
        g_share = {t: counts.get(t, 0) / idx.size for t in share}
        ratio = {t: g_share[t] / share[t] for t in share}
        groups.append(
            {
                "cluster": int(c),
                "defect_type_share": g_share,
                "enrichment": ratio,
                "over_represented": [t for t, r in ratio.items() if r >= OVER],
                "under_represented": [t for t, r in ratio.items() if r <= UNDER],
            }
        )
    return share, groups


def run_soxai(
    em: ExplainModel,
    images: Sequence[EvalImage],
    out_dir: str | Path,
    cfg: ExplainConfig | None = None,
    *,
    cache: ExplanationCache | None = None,
    k: int | None = None,
    cluster_on: str = "embedding",
    thumb: int = 64,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Explain, embed, map and group a dataset; write the PNGs and `soxai.json`.

    Args:
        em: the model (must expose `features(x)`).
        images: dataset rows.
        out_dir: output folder (created).
        cfg: explainer knobs.
        cache: explanation cache.
        k: KMeans groups (None = `default_groups(n)`).
        cluster_on: `"embedding"` or `"points"` (the 2-D t-SNE points).
        thumb: thumbnail side in px.
        batch_size: images per embedding batch.
        progress: `progress(done, total)` over both passes.

    Returns:
        The JSON-ready result (also written to `<out_dir>/soxai.json`).

    Raises:
        ExplainError: fewer than two images with a non-empty explanation, or bad
            options.
    """
    if cluster_on not in ("embedding", "points"):
        msg = f"cluster_on must be 'embedding' or 'points', got {cluster_on!r}"
        raise ExplainError(msg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    explainer = Explainer(em, cfg, cache)
    total = 2 * len(images)
    errors: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    masks: list[np.ndarray] = []
    thumbs: list[np.ndarray] = []
    colour_sum = np.zeros(3)
    n_loaded = 0
    for i, item in enumerate(images):
        try:
            x = load_input(item.path, em.preset)
            result, seconds, cached = explainer.explain(x)
            colour_sum += x[0].mean(dim=(1, 2)).double().cpu().numpy()
            n_loaded += 1
            if result.mask.any():
                masks.append(result.mask.astype(bool))
                thumbs.append(explanation_thumbnail(x, result, size=thumb))
                rows.append(
                    {
                        "index": i,
                        "path": str(item.path),
                        "label": item.label,
                        "defect_type": _type_of(item),
                        "p_before": result.p_before,
                        "p_after": result.p_after,
                        "impact_type": result.impact_type,
                        "area_frac": result.area_frac,
                        "n_factors": len(result.factors),
                        "summary": summary_text(result),
                        "seconds": seconds,
                        "cached": cached,
                    }
                )
        except ITEM_ERRORS as exc:
            msg = str(exc) if str(item.path) in str(exc) else f"{item.path}: {exc}"
            log.info("soxai: skipping %s", msg)
            errors.append({"path": str(item.path), "error": msg})
        if progress is not None:
            progress(i + 1, total)
    n_excluded = n_loaded - len(rows)
    if len(rows) < 2:
        msg = (
            f"SOXAI needs at least 2 images with a non-empty explanation; got "
            f"{len(rows)} of {n_loaded} explained ({len(errors)} unreadable)"
        )
        raise ExplainError(msg)
    fill = tuple(float(v) for v in colour_sum / max(1, n_loaded))
    vectors = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        xs = [load_input(r["path"], em.preset) for r in chunk]
        emb = embed_masked_crop(
            em.model,
            xs,
            masks[start : start + batch_size],
            fill=fill,  # type: ignore[arg-type]
            size=em.preset.size,
            batch_size=batch_size,
        )
        vectors.append(emb.vectors)
        if progress is not None:
            progress(len(images) + start + len(chunk), total)
    vecs = np.concatenate(vectors)
    points = tsne_2d(vecs)
    n = len(rows)
    k_used = default_groups(n) if k is None else k
    if not 1 <= k_used <= n:
        log.warning("soxai: %d groups for %d images; using %d", k_used, n, n)
        k_used = max(1, min(k_used, n))
    types = [r["defect_type"] for r in rows]
    assign, groups = kmeans_groups(
        vecs if cluster_on == "embedding" else points,
        k_used,
        labels=[r["label"] for r in rows],
        defect_types=types,
    )
    overall, makeup = group_makeup(assign, types)
    cells, grid = grid_layout(points)
    canvas, boxes = soxai_map(thumbs, cells, grid, thumb=thumb)
    files = {
        "map": str(out / "soxai_map.png"),
        "scatter_groups": str(out / "soxai_scatter_groups.png"),
        "scatter_types": str(out / "soxai_scatter_types.png"),
        "json": str(out / "soxai.json"),
    }
    save_overlay(Path(files["map"]), canvas)
    scatter_plot(
        points,
        [f"group {a}" for a in assign.tolist()],
        title="SOXAI map: KMeans groups",
        path=files["scatter_groups"],
    )
    scatter_plot(
        points, types, title="SOXAI map: defect type", path=files["scatter_types"]
    )
    for r, pt, cell, box, a in zip(
        rows, points.tolist(), cells.tolist(), boxes, assign.tolist(), strict=True
    ):
        r.update({"xy": pt, "cell": cell, "map_box": list(box), "group": int(a)})
    group_rows = []
    for g, extra in zip(groups, makeup, strict=True):
        group_rows.append(
            {
                "cluster": g.cluster,
                "size": g.size,
                "label_counts": g.label_counts,
                "defect_type_counts": g.defect_type_counts,
                **{k2: v for k2, v in extra.items() if k2 != "cluster"},
            }
        )
    result = jsonable(
        {
            "model": dict(em.info),
            "n_images": len(images),
            "n_embedded": n,
            "n_excluded_empty": n_excluded,
            "n_failed": len(errors),
            "embedding": {
                "kind": "masked_crop",
                "dim": int(vecs.shape[1]),
                "fill": list(fill),
            },
            "k": k_used,
            "cluster_on": cluster_on,
            "grid": grid,
            "thumb": thumb,
            "overall_defect_type_share": overall,
            "groups": group_rows,
            "items": rows,
            "errors": errors,
            "files": files,
            "config": explainer.cfg.to_dict(),
        }
    )
    Path(files["json"]).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result
