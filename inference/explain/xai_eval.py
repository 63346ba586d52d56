"""Compare explainers on the same images (`soldernet xai-eval`, algorithms.md §1.7).

Methods: `ours` (CFI critical mask M*, within-factor heat map), `gradcam` and
`occlusion` (sliding window, side 1/8 of the image, stride half of it). Heat maps are
binarised with `heatmap_critical_mask` (`binarize_area="matched"`: the CFI mask area
of the same image, so every method removes as many pixels).

Per method:

- Impact Score under the search baseline (`cfg.baseline`, default blur) and under
  different evaluation baselines (default mean and constant), each with the
  `margin` criterion (τ = `cfg.tau`) and TrustyAI's `prob` variant (τ = 0.8), with
  the flip rate beside it; mean critical-mask area; images with an empty mask;
- Impact Coverage: one patch attack per image (shared by all methods), the attacked
  image explained by every method; mean IoU, patch recall and precision over the
  successful attacks, attack success rate;
- localisation against the manifest's `mask` column (`localisation.py`): pointing
  game, energy inside, IoU, recall, precision over defective images with a
  non-empty mask;
- cost: seconds, forwards and backwards per explanation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.explain._torch import deterministic, eval_mode, forward_logits, sigmoid
from inference.explain.cache import ExplanationCache
from inference.explain.config import ExplainConfig
from inference.explain.gradcam import GradCAM
from inference.explain.impact import (
    ImpactRecord,
    Overlap,
    adversarial_patch,
    heatmap_critical_mask,
    image_impact,
    mask_overlap,
)
from inference.explain.localisation import (
    POINTING_TOLERANCE_PX,
    Localisation,
    load_gt_mask,
    localisation_summary,
    localise,
)
from inference.explain.occlusion import Occlusion
from inference.explain.removal import baseline_image, remove
from inference.explain.runner import (
    ITEM_ERRORS,
    Explainer,
    ExplainModel,
    Progress,
    load_input,
)

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("ours", "gradcam", "occlusion")
#: TrustyAI's variant of the impact criterion (§1.7): `prob` with τ = 0.8.
TRUSTYAI_TAU = 0.8
#: P(defect) at and above which the model's decision is "defective".
DECISION_P = 0.5


@dataclass(frozen=True)
class EvalImage:
    """One image to evaluate on.

    Attributes:
        path: image file.
        label: 1 = defective, 0 = good, None = unknown.
        defect_type: defect code or "".
        mask: ground-truth defect mask file or None.
    """

    path: Path
    label: int | None = None
    defect_type: str = ""
    mask: Path | None = None


def images_from_manifest(
    folder: str | Path, limit: int | None = None
) -> list[EvalImage]:
    """Rows of a dataset folder's `manifest.csv` as `EvalImage`s (first `limit`).

    Raises:
        ManifestError: the manifest is missing or invalid (names the file and row).
    """
    from inference.datasets import read_manifest

    rows = read_manifest(folder, check_files=False)
    if limit is not None:
        rows = rows[: max(0, limit)]
    return [EvalImage(s.path, s.label, s.defect_type, s.mask) for s in rows]


@dataclass(frozen=True)
class XaiEvalOptions:
    """Options of `evaluate_explainers`.

    Attributes:
        eval_baselines: evaluation baselines besides the search baseline.
        coverage: run the patch attack (Impact Coverage).
        occlusion_window: occlusion window side in px (None = 1/8 of the side).
        occlusion_stride: occlusion stride (None = half the window).
        tolerance_px: pointing-game tolerance.
        per_image: include per-image rows in the result.
    """

    eval_baselines: tuple[str, ...] = ("mean", "constant")
    coverage: bool = True
    occlusion_window: int | None = None
    occlusion_stride: int | None = None
    tolerance_px: int = POINTING_TOLERANCE_PX
    per_image: bool = False


def jsonable(value: Any) -> Any:
    """JSON-safe copy: NaN/inf to None, numpy scalars/arrays and Paths to Python."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


class _Methods:
    """The three explainers on one model, each returning (mask, heat, cost)."""

    def __init__(
        self,
        em: ExplainModel,
        cfg: ExplainConfig,
        cache: ExplanationCache | None,
        opts: XaiEvalOptions,
    ) -> None:
        self.em = em
        self.cfg = cfg
        self.ours = Explainer(em, cfg, cache)
        # Grad-CAM needs a layer even when CFI runs without one.
        layer = em.layer(
            cfg if cfg.target_layer is not None else cfg.replace(target_layer="auto")
        )
        self.gradcam = (
            GradCAM(em.model, layer, deterministic=cfg.deterministic)
            if layer is not None
            else None
        )
        size = em.preset.size
        win = opts.occlusion_window or max(2, round(size / 8))
        stride = opts.occlusion_stride or max(1, win // 2)
        self.occlusion = Occlusion(em.model, window=win, stride=stride, cfg=cfg)

    def run(
        self, x: torch.Tensor
    ) -> dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]]:
        out: dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]] = {}
        res, sec, cached = self.ours.explain(x)
        mask = res.mask.astype(bool)
        heat = res.heatmap if float(res.heatmap.max()) > 0 else mask.astype(np.float32)
        area = int(mask.sum())
        out["ours"] = (
            mask,
            heat,
            {
                "seconds": sec,
                "n_forward": res.n_forward,
                "n_backward": res.n_backward,
                "cached": cached,
                "p_before": res.p_before,
                "budget_exhausted": res.budget_exhausted,
            },
        )
        if self.gradcam is not None:
            f0, b0 = self.gradcam.n_forward, self.gradcam.n_backward
            t0 = time.perf_counter()
            cam = self.gradcam.attribute(x)
            sec = time.perf_counter() - t0
            out["gradcam"] = (
                heatmap_critical_mask(cam, self.cfg, area),
                cam,
                {
                    "seconds": sec,
                    "n_forward": self.gradcam.n_forward - f0,
                    "n_backward": self.gradcam.n_backward - b0,
                },
            )
        f0 = self.occlusion.n_forward
        t0 = time.perf_counter()
        occ = self.occlusion.attribute(x)
        sec = time.perf_counter() - t0
        out["occlusion"] = (
            heatmap_critical_mask(occ, self.cfg, area),
            occ,
            {
                "seconds": sec,
                "n_forward": self.occlusion.n_forward - f0,
                "n_backward": 0,
            },
        )
        return out


def _impacts(
    em: ExplainModel,
    x: torch.Tensor,
    masks: dict[str, np.ndarray],
    cfg: ExplainConfig,
    baselines: Sequence[str],
) -> dict[str, dict[str, dict[str, ImpactRecord]]]:
    """method -> baseline -> measure -> impact record (one batched forward/baseline)."""
    names = list(masks)
    out: dict[str, dict[str, dict[str, ImpactRecord]]] = {m: {} for m in names}
    model = em.model
    with (
        torch.no_grad(),
        eval_mode(model),
        deterministic(cfg.deterministic, x.device),
    ):
        for bname in baselines:
            b = baseline_image(x, cfg, bname)
            stack = torch.from_numpy(
                np.stack([masks[m] for m in names]).astype(np.float32)
            )
            batch = torch.cat([x, remove(x, stack.to(x.device), b)])
            logits = forward_logits(model, batch, cfg.batch_size).tolist()
            p0 = sigmoid(logits[0])
            for m, logit in zip(names, logits[1:], strict=True):
                p1 = sigmoid(logit)
                out[m][bname] = {
                    "margin": image_impact(p0, p1, tau=cfg.tau, measure="margin"),
                    "prob": image_impact(p0, p1, tau=TRUSTYAI_TAU, measure="prob"),
                }
    return out


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _summarise_method(
    rows: list[dict[str, Any]],
    method: str,
    baselines: Sequence[str],
    cfg: ExplainConfig,
    coverage: list[Overlap | None] | None,
    locs: list[Localisation | None],
) -> dict[str, Any]:
    mine = [r["methods"][method] for r in rows if method in r["methods"]]
    impact: dict[str, Any] = {}
    for b in baselines:
        impact[b] = {}
        for measure, tau in (("margin", cfg.tau), ("prob", TRUSTYAI_TAU)):
            recs = [m["impact"][b][measure] for m in mine]
            impact[b][measure] = {
                "tau": tau,
                "impact_score": _mean([float(r.impact) for r in recs]),
                "flip_rate": _mean([float(r.decision_impact) for r in recs]),
                "n": len(recs),
            }
    search = impact[baselines[0]]["margin"] if baselines else {}
    cov: dict[str, Any] | None = None
    if coverage is not None:
        ok = [o for o in coverage if o is not None]
        cov = {
            "impact_coverage": _mean([o.iou for o in ok]),
            "mean_recall": _mean([o.recall for o in ok]),
            "mean_precision": _mean([o.precision for o in ok]),
            "attack_success_rate": len(ok) / len(coverage) if coverage else math.nan,
            "n_attacked": len(coverage),
            "n_success": len(ok),
        }
    return {
        "n": len(mine),
        "impact_score": search.get("impact_score", math.nan),
        "flip_rate": search.get("flip_rate", math.nan),
        "mean_area_frac": _mean([m["area_frac"] for m in mine]),
        "n_empty": sum(1 for m in mine if m["area_frac"] == 0),
        "n_budget_exhausted": sum(
            1 for m in mine if m["cost"].get("budget_exhausted", False)
        ),
        "impact": impact,
        "coverage": cov,
        "localisation": localisation_summary(locs),
        "seconds_per_explanation": _mean([m["cost"]["seconds"] for m in mine]),
        "forwards_per_explanation": _mean([m["cost"]["n_forward"] for m in mine]),
        "backwards_per_explanation": _mean([m["cost"]["n_backward"] for m in mine]),
    }


def _by_decision(
    rows: list[dict[str, Any]],
    method: str,
    baselines: Sequence[str],
    cfg: ExplainConfig,
    locs: list[Localisation | None],
) -> dict[str, Any]:
    """The method's summary split by the model's decision on the original image.

    ``defect`` holds the joints the model calls defective: those the station
    explains and the paper's figures show. ``good`` holds the rest: explaining a
    good decision asks which removal makes a good joint look defective, which a
    model trained to ignore removals (``--removal-p``) rightly resists.
    """
    out: dict[str, Any] = {}
    for name, want in (("defect", True), ("good", False)):
        keep = [
            i
            for i, r in enumerate(rows)
            if (float(r["p"]) >= DECISION_P) == want and method in r["methods"]
        ]
        if not keep:
            continue
        part = _summarise_method(
            [rows[i] for i in keep],
            method,
            baselines,
            cfg,
            None,
            [locs[i] for i in keep],
        )
        part.pop("coverage", None)
        out[name] = part
    return out


def evaluate_explainers(
    em: ExplainModel,
    images: Sequence[EvalImage],
    cfg: ExplainConfig | None = None,
    *,
    options: XaiEvalOptions | None = None,
    cache: ExplanationCache | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Impact Score, Impact Coverage, localisation and cost of every method.

    Args:
        em: the model.
        images: the images (with labels and optional defect masks).
        cfg: explainer and metric knobs (search baseline, τ, patch attack, ...).
        options: evaluation options.
        cache: explanation cache for the CFI results.
        progress: `progress(done, total)` after each image (and each attack).

    Returns:
        JSON-ready dict: `methods` -> metrics (see the module docstring), `errors`
        (one entry per unreadable image), `config`, `n_images`.
    """
    cfg = cfg or ExplainConfig()
    opts = options or XaiEvalOptions()
    baselines = [cfg.baseline, *(b for b in opts.eval_baselines if b != cfg.baseline)]
    methods = _Methods(em, cfg, cache, opts)
    names = [m for m in METHODS if m != "gradcam" or methods.gradcam is not None]
    if methods.gradcam is None:
        log.warning("the model has no conv layer: Grad-CAM is left out")
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    inputs: list[tuple[int, torch.Tensor]] = []
    locs: dict[str, list[Localisation | None]] = {m: [] for m in names}
    total = len(images) * (2 if opts.coverage else 1)
    done = 0
    for i, item in enumerate(images):
        try:
            x = load_input(item.path, em.preset).to(em.device)
            found = methods.run(x)
            impacts = _impacts(
                em, x, {m: v[0] for m, v in found.items()}, cfg, baselines
            )
            gt = None
            if item.mask is not None and item.label != 0:
                gt = load_gt_mask(item.mask, (x.shape[2], x.shape[3]))
            row: dict[str, Any] = {
                "path": str(item.path),
                "label": item.label,
                "defect_type": item.defect_type,
                "p": found["ours"][2]["p_before"],
                "methods": {},
            }
            for m, (mask, heat, cost) in found.items():
                loc = (
                    localise(mask, heat, gt, opts.tolerance_px)
                    if gt is not None
                    else None
                )
                locs[m].append(loc)
                row["methods"][m] = {
                    "area_frac": float(mask.mean()),
                    "impact": impacts[m],
                    "localisation": loc,
                    "cost": cost,
                }
            rows.append(row)
            inputs.append((i, x))
        except ITEM_ERRORS as exc:
            msg = str(exc) if str(item.path) in str(exc) else f"{item.path}: {exc}"
            log.info("xai-eval: skipping %s", msg)
            errors.append({"path": str(item.path), "error": msg})
        done += 1
        if progress is not None:
            progress(done, total)
    coverage: dict[str, list[Overlap | None]] | None = None
    attack_seconds: list[float] = []
    if opts.coverage:
        coverage = {m: [] for m in names}
        for i, x in inputs:
            t0 = time.perf_counter()
            attack = adversarial_patch(em.model, x, cfg, index=i)
            attack_seconds.append(time.perf_counter() - t0)
            if attack.success:
                found = methods.run(attack.x_adv)
                for m in names:
                    coverage[m].append(mask_overlap(found[m][0], attack.patch_mask))
            else:
                for m in names:
                    coverage[m].append(None)
            done += 1
            if progress is not None:
                progress(done, total)
    summary = {
        m: _summarise_method(
            rows, m, baselines, cfg, None if coverage is None else coverage[m], locs[m]
        )
        for m in names
    }
    for m in names:
        summary[m]["by_decision"] = _by_decision(rows, m, baselines, cfg, locs[m])
    result: dict[str, Any] = {
        "model": dict(em.info),
        "n_images": len(images),
        "n_evaluated": len(rows),
        "n_with_mask": sum(1 for r in locs.get("ours", []) if r is not None),
        "search_baseline": cfg.baseline,
        "eval_baselines": baselines[1:],
        "binarize_area": cfg.binarize_area,
        "tolerance_px": opts.tolerance_px,
        "methods": summary,
        "attack_seconds_per_image": _mean(attack_seconds),
        "errors": errors,
        "config": cfg.to_dict(),
    }
    if opts.per_image:
        result["per_image"] = [
            {
                **{k: v for k, v in r.items() if k != "methods"},
                "methods": {
                    m: {
                        "area_frac": v["area_frac"],
                        "impact": {
                            b: {
                                meas: {
                                    "impact": rec.impact,
                                    "decision_impact": rec.decision_impact,
                                    "relative_drop": rec.relative_drop,
                                }
                                for meas, rec in d.items()
                            }
                            for b, d in v["impact"].items()
                        },
                        "localisation": None
                        if v["localisation"] is None
                        else v["localisation"].to_dict(),
                        "cost": v["cost"],
                    }
                    for m, v in r["methods"].items()
                },
            }
            for r in rows
        ]
    return jsonable(result)


def format_xai_summary(result: dict[str, Any]) -> str:
    """A short human-readable table of `evaluate_explainers`' result."""

    def f(v: Any) -> str:
        return "n/a" if v is None else f"{float(v):.3f}"

    lines = [
        f"{result['n_evaluated']} of {result['n_images']} images evaluated "
        f"({result['n_with_mask']} with a defect mask); search baseline "
        f"{result['search_baseline']}, heat maps binarised at "
        f"{result['binarize_area']} area",
        f"{'method':<10} {'IS':>6} {'flip':>6} "
        + " ".join(f"{'IS_' + b:>10}" for b in result["eval_baselines"])
        + f" {'area':>6} {'IC':>6} {'point':>6} {'IoU':>6} {'s/expl':>8} {'fwd':>6}",
    ]
    for name, m in result["methods"].items():
        cov = m.get("coverage") or {}
        loc = m.get("localisation") or {}
        lines.append(
            f"{name:<10} {f(m['impact_score']):>6} {f(m['flip_rate']):>6} "
            + " ".join(
                f"{f(m['impact'][b]['margin']['impact_score']):>10}"
                for b in result["eval_baselines"]
            )
            + f" {f(m['mean_area_frac']):>6} {f(cov.get('impact_coverage')):>6}"
            f" {f(loc.get('pointing_game')):>6} {f(loc.get('iou')):>6}"
            f" {f(m['seconds_per_explanation']):>8}"
            f" {f(m['forwards_per_explanation']):>6}"
        )
    lines.append("by the model's decision (defect: the joints the station explains)")
    for name, m in result["methods"].items():
        for decision, part in (m.get("by_decision") or {}).items():
            loc = part.get("localisation") or {}
            label = f"{name}/{decision} ({part['n']})"
            lines.append(
                f"{label:<10} {f(part['impact_score']):>6} {f(part['flip_rate']):>6} "
                + " ".join(
                    f"{f(part['impact'][b]['margin']['impact_score']):>10}"
                    for b in result["eval_baselines"]
                )
                + f" {f(part['mean_area_frac']):>6} {'':>6}"
                f" {f(loc.get('pointing_game')):>6}"
            )
    if result["errors"]:
        lines.append(f"{len(result['errors'])} image(s) failed:")
        lines.extend(f"  {e['error']}" for e in result["errors"])
    return "\n".join(lines)
