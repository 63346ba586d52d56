"""All knobs of the explainer (algorithms.md §1.8) in one frozen dataclass."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from inference.explain.errors import ExplainError

_CHOICES: dict[str, tuple[str, ...]] = {
    "baseline": ("blur", "mean", "constant", "dataset_mean"),
    "regions": ("slic", "grid", "activation"),
    "ranking": ("occlusion", "activation"),
    "fallback": ("adaptive", "none"),
    "within": ("ig", "occlusion_restore"),
    "confidence_measure": ("margin", "prob"),
    "target": ("decision", "defect"),
    "backend": ("torch", "onnx", "auto"),
}


@dataclass(frozen=True)
class ExplainConfig:
    """Knobs of CFI, the within-factor heatmap and the XAI metrics (spec §1.8).

    Pixel sizes (`blur_sigma`, `grid_cell`, `sub_cell`, ...) are absolute pixels; the
    defaults are meant for 256×256 crops.

    Attributes:
        baseline: removal fill: `blur`, `mean`, `constant` or `dataset_mean`.
        blur_sigma: Gaussian σ in px for `blur` (kernel `2·ceil(3σ)+1`, reflect pad).
        fill_value: grey level for `constant`.
        dataset_mean: per-channel training-set mean, needed by `dataset_mean`.
        feather_sigma: Gaussian σ that softens mask edges (0 = hard mask).
        regions: region proposals: `slic`, `grid` or `activation`.
        n_segments: SLIC segment count.
        compactness: SLIC compactness.
        slic_sigma: SLIC pre-smoothing σ.
        grid_cell: cell side in px for `grid`.
        activation_quantiles: band edges of the `activation` proposals.
        activation_cell: grid cell in px that bounds `activation` regions.
        ranking: region ranking: `occlusion` or `activation`.
        target_layer: layer for the activation map: `"auto"` (the model's
            `target_layer` attribute, else its last `Conv2d`), a dotted module name,
            or None (no activation map, ties go by region index).
        max_area_frac: area budget of the critical set (fraction of the image).
        fallback: `adaptive` greedy search when the prefix search fails, or `none`.
        max_forwards: forward-pass budget of the search (reference, single-region
            drops, prefix search, adaptive fallback); when the next batch would
            exceed it the search stops, keeps the best set tried so far and the
            result says `budget_exhausted` (a budget too small to flip the
            decision, §1.9 test 8). The reference and the K single-region drops
            always run (they rank the regions). None = no budget. Pruning,
            factor statistics and IG come on top (≈ |S| + 2m + 1 forwards,
            `ig_steps` both ways).
        within: within-factor attribution: `ig` or `occlusion_restore`.
        ig_steps: integrated-gradients steps (midpoint rule).
        sub_cell: sub-block grid in px inside each factor.
        max_sub: most sub-blocks per factor (the cell doubles until it fits).
        batch_size: images per forward pass.
        confidence_measure: κ of the impact criterion: `margin` or `prob`.
        tau: relative confidence drop that counts as a strong impact.
        binarize_area: heat-map binarisation: `"matched"` or a fixed fraction.
        eval_baseline: removal fill for impact evaluation (None = `baseline`).
        patch_side_frac: adversarial patch side as a fraction of H.
        patch_steps: most Adam steps of the patch attack.
        patch_lr: Adam learning rate of the patch attack.
        patch_target_p: attack stops once P(target class) reaches this.
        seed: seed of the patch placement.
        target: what is explained: `decision` or `defect`.
        defect_target_p: success threshold of `defect` mode (t_lo of §3.2).
        deterministic: run under `torch.use_deterministic_algorithms(True)`.
        backend: how `Explainer` evaluates the search forwards: `torch` (eager,
            the default), `onnx` (onnxruntime export; fails if impossible) or
            `auto` (onnx when onnxruntime imports, the model is on the CPU and
            the export agrees with torch within 1e-4 on logits, else torch, with
            a log line). An execution choice that computes the same function,
            so it is not part of the cache key (`cache.EXECUTION_ONLY_KNOBS`).
            `explain_cfi` itself does not read it (it takes `forward=` /
            `grad_model=`).
    """

    baseline: str = "blur"
    blur_sigma: float = 10.0
    fill_value: float = 0.5
    dataset_mean: tuple[float, float, float] | None = None
    feather_sigma: float = 0.0
    regions: str = "slic"
    n_segments: int = 64
    compactness: float = 10.0
    slic_sigma: float = 1.0
    grid_cell: int = 32
    activation_quantiles: tuple[float, ...] = (0.5, 0.7, 0.9)
    activation_cell: int = 16
    ranking: str = "occlusion"
    target_layer: str | None = "auto"
    max_area_frac: float = 0.5
    fallback: str = "adaptive"
    max_forwards: int | None = 400
    within: str = "ig"
    ig_steps: int = 32
    sub_cell: int = 8
    max_sub: int = 64
    batch_size: int = 32
    confidence_measure: str = "margin"
    tau: float = 0.5
    binarize_area: str | float = "matched"
    eval_baseline: str | None = None
    patch_side_frac: float = 0.15
    patch_steps: int = 300
    patch_lr: float = 0.1
    patch_target_p: float = 0.9
    seed: int = 0
    target: str = "decision"
    defect_target_p: float = 0.1
    deterministic: bool = True
    backend: str = "torch"

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                msg = f"{name}={value!r} is not one of {allowed}"
                raise ExplainError(msg)
        if (
            self.eval_baseline is not None
            and self.eval_baseline not in _CHOICES["baseline"]
        ):
            msg = f"eval_baseline={self.eval_baseline!r} is not a known baseline"
            raise ExplainError(msg)
        positive = {
            "grid_cell": self.grid_cell,
            "sub_cell": self.sub_cell,
            "max_sub": self.max_sub,
            "batch_size": self.batch_size,
            "ig_steps": self.ig_steps,
            "n_segments": self.n_segments,
            "activation_cell": self.activation_cell,
            "blur_sigma": self.blur_sigma,
        }
        for name, value in positive.items():
            if not value > 0:
                msg = f"{name} must be > 0, got {value!r}"
                raise ExplainError(msg)
        if not 0.0 < self.max_area_frac <= 1.0:
            msg = f"max_area_frac must be in (0, 1], got {self.max_area_frac!r}"
            raise ExplainError(msg)
        if self.max_forwards is not None and self.max_forwards < 1:
            msg = f"max_forwards must be >= 1 or None, got {self.max_forwards!r}"
            raise ExplainError(msg)
        if self.feather_sigma < 0 or self.patch_steps < 0:
            msg = "feather_sigma and patch_steps must be >= 0"
            raise ExplainError(msg)
        if self.baseline == "dataset_mean" and self.dataset_mean is None:
            msg = "baseline='dataset_mean' needs dataset_mean=(r, g, b)"
            raise ExplainError(msg)
        if isinstance(self.binarize_area, str):
            if self.binarize_area != "matched":
                msg = "binarize_area must be 'matched' or a fraction in (0, 1]"
                raise ExplainError(msg)
        elif not 0.0 < float(self.binarize_area) <= 1.0:
            msg = f"binarize_area fraction must be in (0, 1], got {self.binarize_area}"
            raise ExplainError(msg)
        for name in ("tau", "defect_target_p", "patch_target_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                msg = f"{name} must be in [0, 1]"
                raise ExplainError(msg)

    def replace(self, **changes: Any) -> ExplainConfig:
        """Return a copy with some knobs changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """All knobs as a plain, JSON-friendly dict (stored as `params`)."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out
