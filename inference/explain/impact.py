"""Impact Score and Impact Coverage (spec §1.7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from inference.explain._torch import (
    as_image,
    deterministic,
    eval_mode,
    forward_logits,
    grad_enabled,
    logits_of,
    model_device,
    sigmoid,
)
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.removal import baseline_image, remove_np


def kappa(p_class: float, measure: str) -> float:
    """Confidence κ of the originally predicted class from its probability.

    Args:
        p_class: P(ŷ(x) | z).
        measure: `"prob"` (κ = p) or `"margin"` (κ = 2p − 1).
    """
    if measure == "prob":
        return float(p_class)
    if measure == "margin":
        return 2.0 * float(p_class) - 1.0
    msg = f"unknown confidence measure {measure!r}"
    raise ExplainError(msg)


@dataclass(frozen=True)
class ImpactRecord:
    """Impact of removing an explanation's critical region from one image."""

    decision_before: int
    decision_after: int
    kappa_before: float
    kappa_after: float
    relative_drop: float
    decision_impact: bool
    confidence_impact: bool

    @property
    def impact(self) -> bool:
        """decision_impact OR confidence_impact."""
        return self.decision_impact or self.confidence_impact


def image_impact(
    p_before: float, p_after: float, *, tau: float = 0.5, measure: str = "margin"
) -> ImpactRecord:
    """Per-image impact (decision threshold 0.5, ties count as defective).

    Args:
        p_before: P(defective | x).
        p_after: P(defective | x') with x' = R(x, M_E(x)).
        tau: relative confidence drop that counts as strong.
        measure: `"margin"` or `"prob"`.

    Returns:
        The impact record.
    """
    y0 = int(p_before >= 0.5)
    y1 = int(p_after >= 0.5)
    pc0 = p_before if y0 == 1 else 1.0 - p_before
    pc1 = p_after if y0 == 1 else 1.0 - p_after
    k0, k1 = kappa(pc0, measure), kappa(pc1, measure)
    drop = (k0 - k1) / k0 if k0 > 0 else 0.0
    return ImpactRecord(
        decision_before=y0,
        decision_after=y1,
        kappa_before=k0,
        kappa_after=k1,
        relative_drop=drop,
        decision_impact=y0 != y1,
        confidence_impact=bool(k0 > 0 and drop >= tau - 1e-12),
    )


@dataclass(frozen=True)
class ImpactSummary:
    """Impact Score with its companions: flip rate and mean mask area."""

    impact_score: float
    flip_rate: float
    mean_area_frac: float
    n: int


def impact_summary(
    records: Sequence[ImpactRecord], area_fracs: Sequence[float] | None = None
) -> ImpactSummary:
    """IS = mean impact, flip rate = mean decision impact, mean critical-mask area."""
    n = len(records)
    if n == 0:
        return ImpactSummary(float("nan"), float("nan"), float("nan"), 0)
    areas = list(area_fracs) if area_fracs is not None else []
    return ImpactSummary(
        impact_score=sum(r.impact for r in records) / n,
        flip_rate=sum(r.decision_impact for r in records) / n,
        mean_area_frac=float(np.mean(areas)) if areas else float("nan"),
        n=n,
    )


def binarize_heatmap(heat: np.ndarray, area: float | int) -> np.ndarray:
    """Top-q pixels with the largest positive attribution (ties by pixel index).

    Args:
        heat: `H×W` attribution toward the original decision.
        area: a fraction in (0, 1] of the image, or an int pixel count (matched
            area).

    Returns:
        `H×W` bool mask with at most that many pixels, all with heat > 0.
    """
    flat = np.asarray(heat, dtype=np.float64).ravel()
    k = (
        int(area)
        if isinstance(area, (int, np.integer))
        else round(float(area) * flat.size)
    )
    order = np.lexsort((np.arange(flat.size), -flat))
    keep = order[: max(0, min(k, flat.size))]
    keep = keep[flat[keep] > 0]
    out = np.zeros(flat.size, dtype=bool)
    out[keep] = True
    return out.reshape(np.shape(heat))


def heatmap_critical_mask(
    heat: np.ndarray, cfg: ExplainConfig, matched_area_px: int | None = None
) -> np.ndarray:
    """Critical mask of a heat-map explainer following `cfg.binarize_area`.

    Args:
        heat: `H×W` attribution toward the original decision.
        cfg: `binarize_area` is `"matched"` or a fixed fraction.
        matched_area_px: the CFI mask area of the same image (needed for
            `"matched"`).

    Returns:
        `H×W` bool mask (see `binarize_heatmap`).
    """
    if cfg.binarize_area == "matched":
        if matched_area_px is None:
            msg = "binarize_area='matched' needs the CFI mask area of the image"
            raise ExplainError(msg)
        return binarize_heatmap(heat, int(matched_area_px))
    return binarize_heatmap(heat, float(cfg.binarize_area))


@dataclass(frozen=True)
class Overlap:
    """Overlap of an explanation mask with a reference (patch or defect) mask."""

    iou: float
    recall: float
    precision: float


def mask_overlap(pred: np.ndarray, ref: np.ndarray) -> Overlap:
    """IoU, recall `|P∩R|/|R|` and precision `|P∩R|/|P|` (0 for empty denominators)."""
    p, r = np.asarray(pred, bool), np.asarray(ref, bool)
    inter = float((p & r).sum())
    union = float((p | r).sum())
    return Overlap(
        iou=inter / union if union else 0.0,
        recall=inter / float(r.sum()) if r.any() else 0.0,
        precision=inter / float(p.sum()) if p.any() else 0.0,
    )


def removal_impact(
    model: nn.Module,
    x: torch.Tensor,
    mask: np.ndarray,
    cfg: ExplainConfig | None = None,
) -> ImpactRecord:
    """Impact of removing `mask` from `x` with `cfg.eval_baseline` (or `baseline`)."""
    cfg = ExplainConfig() if cfg is None else cfg
    x = as_image(x)
    x = x.to(model_device(model, x))
    with eval_mode(model), deterministic(cfg.deterministic, x.device):
        b = baseline_image(x, cfg, cfg.eval_baseline or cfg.baseline)
        batch = torch.cat([x, remove_np(x, np.asarray(mask, bool), b)])
        logits = forward_logits(model, batch, cfg.batch_size).tolist()
    return image_impact(
        sigmoid(logits[0]),
        sigmoid(logits[1]),
        tau=cfg.tau,
        measure=cfg.confidence_measure,
    )


@dataclass(frozen=True)
class PatchAttack:
    """Result of the adversarial patch attack on one image."""

    x_adv: torch.Tensor
    patch_mask: np.ndarray
    success: bool
    steps: int
    p_target: float
    target_class: int


def adversarial_patch(
    model: nn.Module,
    x: torch.Tensor,
    cfg: ExplainConfig | None = None,
    *,
    index: int = 0,
    side: int | None = None,
    top_left: tuple[int, int] | None = None,
) -> PatchAttack:
    """Optimise a square patch that drives the decision to the other class.

    Args:
        model: single-logit classifier.
        x: `1×3×H×W` image in [0, 1].
        cfg: knobs (`patch_side_frac`, `patch_steps`, `patch_lr`, `patch_target_p`,
            `seed`).
        index: image index i; the corner is drawn with `default_rng(seed + i)`.
        side: patch side in px (overrides `patch_side_frac`).
        top_left: `(row, col)` of the patch (overrides the random placement).

    Returns:
        The attacked image and the patch mask.
    """
    cfg = ExplainConfig() if cfg is None else cfg
    x = as_image(x)
    x = x.to(model_device(model, x))
    h, w = int(x.shape[2]), int(x.shape[3])
    sp = round(cfg.patch_side_frac * h) if side is None else int(side)
    if not 1 <= sp <= min(h, w):
        msg = f"patch side {sp} does not fit a {h}×{w} image"
        raise ExplainError(msg)
    if top_left is None:
        rng = np.random.default_rng(cfg.seed + index)
        top_left = (int(rng.integers(0, h - sp + 1)), int(rng.integers(0, w - sp + 1)))
    r0, c0 = top_left
    if not (0 <= r0 <= h - sp and 0 <= c0 <= w - sp):
        msg = f"patch at {top_left} with side {sp} leaves the image"
        raise ExplainError(msg)
    pm = np.zeros((h, w), dtype=bool)
    pm[r0 : r0 + sp, c0 : c0 + sp] = True
    with (
        torch.inference_mode(False),
        eval_mode(model),
        deterministic(cfg.deterministic, x.device),
    ):
        y0 = int(float(forward_logits(model, x, 1)[0]) >= 0)
        t_sign = 1.0 if y0 == 0 else -1.0
        theta = torch.zeros(1, 3, sp, sp, device=x.device, requires_grad=True)
        opt = torch.optim.Adam([theta], lr=cfg.patch_lr)
        steps, p_t, x_adv = 0, 0.0, x
        while True:
            with grad_enabled():
                canvas = x.clone()
                canvas[:, :, r0 : r0 + sp, c0 : c0 + sp] = torch.sigmoid(theta)
                st = t_sign * logits_of(model(canvas), 1)[0]
            x_adv = canvas.detach()
            p_t = sigmoid(float(st.detach()))
            if p_t >= cfg.patch_target_p or steps >= cfg.patch_steps:
                break
            (grad,) = torch.autograd.grad(-st, theta)
            theta.grad = grad
            opt.step()
            opt.zero_grad(set_to_none=True)
            steps += 1
    return PatchAttack(x_adv, pm, p_t >= cfg.patch_target_p, steps, p_t, 1 - y0)


@dataclass(frozen=True)
class CoverageSummary:
    """Impact Coverage over the successfully attacked images."""

    impact_coverage: float
    mean_recall: float
    mean_precision: float
    attack_success_rate: float
    per_image: tuple[Overlap | None, ...]


def impact_coverage(
    model: nn.Module,
    images: Sequence[torch.Tensor],
    explain_mask: Callable[[torch.Tensor], np.ndarray],
    cfg: ExplainConfig | None = None,
) -> CoverageSummary:
    """Attack every image with a patch, explain the attacked image, measure overlap.

    Args:
        model: single-logit classifier.
        images: `1×3×H×W` images.
        explain_mask: explainer under test: attacked image → `H×W` critical mask.
        cfg: knobs of the attack.

    Returns:
        IC (mean IoU), mean patch recall/precision, attack success rate and the
        per-image overlaps (None where the attack failed).
    """
    cfg = ExplainConfig() if cfg is None else cfg
    overlaps: list[Overlap | None] = []
    for i, x in enumerate(images):
        attack = adversarial_patch(model, x, cfg, index=i)
        if not attack.success:
            overlaps.append(None)
            continue
        overlaps.append(mask_overlap(explain_mask(attack.x_adv), attack.patch_mask))
    ok = [o for o in overlaps if o is not None]
    nan = float("nan")
    return CoverageSummary(
        impact_coverage=float(np.mean([o.iou for o in ok])) if ok else nan,
        mean_recall=float(np.mean([o.recall for o in ok])) if ok else nan,
        mean_precision=float(np.mean([o.precision for o in ok])) if ok else nan,
        attack_success_rate=len(ok) / len(overlaps) if overlaps else nan,
        per_image=tuple(overlaps),
    )
