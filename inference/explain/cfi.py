"""CFI: critical factor identification, the GSInquire-style explainer (spec §1.3)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from inference.explain._oracle import MaskOracle
from inference.explain._torch import (
    as_image,
    deterministic,
    eval_mode,
    model_device,
    sigmoid,
)
from inference.explain.activation import activation_map, resolve_target_layer
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.impact import image_impact
from inference.explain.regions import EIGHT, propose_regions, region_masks, region_means
from inference.explain.removal import baseline_image, remove_np
from inference.explain.result import CriticalFactorResult, Factor, bbox_of
from inference.explain.within import (
    block_importance,
    integrated_gradients,
    regional_heatmap,
)

log = logging.getLogger(__name__)


class _Search:
    """State of one CFI search: scores, success test and the region masks."""

    def __init__(
        self,
        oracle: MaskOracle,
        masks: np.ndarray,
        cfg: ExplainConfig,
        sign: float,
        s0: float,
    ) -> None:
        self.oracle = oracle
        self.masks = masks
        self.cfg = cfg
        self.sign = sign
        self.s0 = s0
        self.pixels = masks.shape[1] * masks.shape[2]
        self.area = masks.reshape(masks.shape[0], -1).sum(axis=1)
        self.budget_exhausted = False

    def afford(self, n: int) -> bool:
        """True if `n` more forwards fit the budget; else note that it is spent."""
        cap = self.cfg.max_forwards
        if cap is None or self.oracle.n_forward + n <= cap:
            return True
        self.budget_exhausted = True
        return False

    def success(self, logit: float) -> bool:
        if self.cfg.target == "defect":
            return sigmoid(logit) < self.cfg.defect_target_p
        return (logit >= 0) != (self.sign > 0)

    def union(self, ids: list[int] | tuple[int, ...]) -> np.ndarray:
        out = np.zeros(self.masks.shape[1:], dtype=bool)
        for j in ids:
            out |= self.masks[j]
        return out

    def fits(self, mask: np.ndarray) -> bool:
        return int(mask.sum()) <= self.cfg.max_area_frac * self.pixels

    def prefix(self, order: np.ndarray, tried: list) -> list[int] | None:
        """Walk the ranking; return the first flipping prefix."""
        cur = np.zeros(self.masks.shape[1:], dtype=bool)
        chosen: list[int] = []
        for j in order.tolist():
            cand = cur | self.masks[j]
            if not self.fits(cand):
                continue
            if not self.afford(1):
                return None
            cur, chosen = cand, [*chosen, j]
            logit = self.oracle.logit(cur)
            tried.append((self.s0 - self.sign * logit, chosen))
            if self.success(logit):
                return chosen
        return None

    def adaptive(self, tried: list) -> list[int] | None:
        """Greedy restart: add the region giving the lowest score until success."""
        cur = np.zeros(self.masks.shape[1:], dtype=bool)
        chosen: list[int] = []
        remaining = list(range(self.masks.shape[0]))
        while remaining:
            cands = [j for j in remaining if self.fits(cur | self.masks[j])]
            if not cands or not self.afford(len(cands)):
                return None
            logits = self.oracle.logits([cur | self.masks[j] for j in cands])
            best = int(np.argmin(self.sign * logits))
            j = cands[best]
            cur, chosen = cur | self.masks[j], [*chosen, j]
            remaining.remove(j)
            tried.append((self.s0 - self.sign * float(logits[best]), chosen))
            if self.success(float(logits[best])):
                return chosen
        return None

    def prune(self, chosen: list[int], drops: np.ndarray) -> list[int]:
        """Backward pruning, repeated until a full pass drops nothing (1-minimal)."""
        s = list(chosen)
        changed = True
        while changed:
            changed = False
            for j in sorted(s, key=lambda i: (drops[i], -i)):
                rest = [i for i in s if i != j]
                if rest and self.success(self.oracle.logit(self.union(rest))):
                    s, changed = rest, True
        return s


def explain_cfi(
    model: nn.Module,
    x: torch.Tensor,
    cfg: ExplainConfig | None = None,
    *,
    target_layer: nn.Module | None = None,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
    grad_model: nn.Module | None = None,
) -> CriticalFactorResult:
    """Find the critical factors of one image and their within-factor importance.

    `forward` and `grad_model` are faster evaluations of the *same* function as
    `model` (`inference.explain.fast_model`; `Explainer` builds them from
    `cfg.backend`); `cfg.backend` itself is not read here.

    Args:
        model: maps `N×3×H×W` in [0, 1] to `N` or `N×1` logits.
        x: one image, `1×3×H×W` or `3×H×W`, float in [0, 1].
        cfg: knobs; None = the spec defaults.
        target_layer: a layer module that overrides `cfg.target_layer`.
        forward: evaluates the search forwards (reference, drops, prefixes,
            pruning, factor statistics) instead of `model`, e.g. onnxruntime;
            gets `N×3×H×W` CPU/model-device images, returns `N` logits.
        grad_model: network (eval mode) used for the integrated gradients instead
            of `model`, e.g. a batch-norm-folded copy. The activation map always
            uses `model` (its target layer belongs to it).

    Returns:
        The critical factor result (§1.3) with heatmap and sub-regions (§1.4).

    Raises:
        ExplainError: bad image, model output, or a configuration that needs an
            activation map when the model has no usable layer.
    """
    cfg = ExplainConfig() if cfg is None else cfg
    x = as_image(x)
    device = model_device(model, x)
    x = x.to(device)
    with (
        torch.inference_mode(False),
        eval_mode(model),
        deterministic(cfg.deterministic, device),
    ):
        return _explain(model, x, cfg, target_layer, forward, grad_model)


def _explain(
    model: nn.Module,
    x: torch.Tensor,
    cfg: ExplainConfig,
    layer_override: nn.Module | None,
    forward: Callable[[torch.Tensor], torch.Tensor] | None,
    grad_model: nn.Module | None,
) -> CriticalFactorResult:
    b = baseline_image(x, cfg)
    oracle = MaskOracle(model, x, b, cfg.batch_size, cfg.feather_sigma, forward)
    l0 = oracle.reference()
    y0 = int(l0 >= 0)
    sign = 1.0 if (y0 == 1 or cfg.target == "defect") else -1.0
    s0 = sign * l0
    layer = (
        layer_override
        if layer_override is not None
        else resolve_target_layer(model, cfg.target_layer)
    )
    needs_cam = cfg.ranking == "activation" or cfg.regions == "activation"
    if needs_cam and layer is None:
        msg = (
            f"ranking={cfg.ranking!r}/regions={cfg.regions!r} need an activation map "
            "but the model has no target layer (no Conv2d; set target_layer)"
        )
        raise ExplainError(msg)
    cam: np.ndarray | None = None

    def get_cam() -> np.ndarray:
        nonlocal cam
        if cam is None:
            cam, _ = activation_map(model, x, layer, sign)
            oracle.n_forward += 1
            oracle.n_backward += 1
        return cam

    labels = propose_regions(x, cfg, get_cam() if cfg.regions == "activation" else None)
    masks = region_masks(labels)
    k = masks.shape[0]
    search = _Search(oracle, masks, cfg, sign, s0)
    idx = np.arange(k)
    if cfg.target == "defect" and search.success(l0):
        log.info(
            "P(defect)=%.4f already below defect_target_p; nothing to explain",
            sigmoid(l0),
        )
        chosen: list[int] = []
        flipped = False
        drops = np.zeros(k)
    else:
        drops = s0 - sign * oracle.logits(list(masks))
        ties = np.unique(drops).size < k
        act = np.zeros(k)
        if layer is not None and (cfg.ranking == "activation" or ties):
            act = region_means(get_cam(), labels)
        if cfg.ranking == "occlusion":
            order = np.lexsort((idx, -act, -drops))
        else:
            order = np.lexsort((idx, -drops, -act))
        tried: list[tuple[float, list[int]]] = []
        found = search.prefix(order, tried)
        if found is None and cfg.fallback == "adaptive" and not search.budget_exhausted:
            found = search.adaptive(tried)
        flipped = found is not None
        if flipped:
            chosen = search.prune(found, drops)
        else:
            # Keep the set with the largest drop (first one on ties); nothing if no
            # set lowers the score at all.
            best = max(range(len(tried)), key=lambda i: (tried[i][0], -i), default=None)
            if best is None or tried[best][0] <= 0:
                chosen = []
            else:
                chosen = list(tried[best][1])
    ig_model = model if grad_model is None else grad_model
    return _finish(
        ig_model, x, cfg, oracle, search, labels, sorted(chosen), flipped, y0, l0, sign
    )


def _finish(
    model: nn.Module,
    x: torch.Tensor,
    cfg: ExplainConfig,
    oracle: MaskOracle,
    search: _Search,
    labels: np.ndarray,
    chosen: list[int],
    flipped: bool,
    y0: int,
    l0: float,
    sign: float,
) -> CriticalFactorResult:
    mstar = search.union(chosen)
    s0 = sign * l0
    l_rem = oracle.logit(mstar)
    s_rem = sign * l_rem
    comp, m = ndimage.label(mstar, structure=EIGHT)
    stats = []
    for c in range(1, m + 1):
        f = comp == c
        d = s0 - sign * oracle.logit(f)
        restore = sign * oracle.logit(mstar & ~f) - s_rem
        stats.append((restore, c, d))
    stats.sort(key=lambda t: (-t[0], t[1]))
    factor_labels = np.zeros(mstar.shape, dtype=np.int32)
    for new_id, (_, c, _) in enumerate(stats, start=1):
        factor_labels[comp == c] = new_id

    attr = None
    ig_delta = 0.0
    if m and cfg.within == "ig":
        x_rem = remove_np(x, mstar, oracle.baseline, cfg.feather_sigma)
        attr = integrated_gradients(model, x, x_rem, sign, cfg.ig_steps, cfg.batch_size)
        oracle.n_forward += cfg.ig_steps
        oracle.n_backward += cfg.ig_steps
        target = s0 - s_rem
        ig_delta = abs(float(attr.sum()) - target) / max(1.0, abs(target))

    def importance_of(blocks: np.ndarray, n: int) -> np.ndarray:
        return block_importance(cfg.within, blocks, n, mstar, attr, oracle, sign)

    heat, subs = regional_heatmap(
        factor_labels, m, importance_of, cfg.sub_cell, cfg.max_sub
    )
    factors = tuple(
        Factor(
            id=i,
            area_px=int((factor_labels == i).sum()),
            bbox=bbox_of(factor_labels == i),
            removal_effect=float(d),
            restoration_effect=float(restore),
            subregions=subs[i - 1],
        )
        for i, (restore, _, d) in enumerate(stats, start=1)
    )
    p0, p_after = sigmoid(l0), sigmoid(l_rem)
    log.debug(
        "CFI: K=%d |S|=%d factors=%d flipped=%s forwards=%d backwards=%d",
        search.masks.shape[0],
        len(chosen),
        m,
        flipped,
        oracle.n_forward,
        oracle.n_backward,
    )
    if flipped:
        impact_type = "decision"
    else:
        rec = image_impact(p0, p_after, tau=cfg.tau, measure=cfg.confidence_measure)
        impact_type = (
            "decision"
            if rec.decision_impact
            else "confidence"
            if rec.confidence_impact
            else "none"
        )
        if not chosen:
            impact_type = "none"
    return CriticalFactorResult(
        decision_before=y0,
        p_before=p0,
        logit_before=l0,
        p_after=p_after,
        logit_after=l_rem,
        flipped=flipped,
        impact_type=impact_type,
        mask=mstar.astype(np.uint8),
        factor_labels=factor_labels,
        factors=factors,
        selected_region_ids=tuple(int(j) for j in chosen),
        region_labels=labels,
        n_forward=oracle.n_forward,
        n_backward=oracle.n_backward,
        heatmap=heat,
        ig_delta=float(ig_delta),
        target=cfg.target,
        params=cfg.to_dict(),
        budget_exhausted=search.budget_exhausted and not flipped,
    )
