"""Quantitative explanations: CFI critical factors, baselines, XAI metrics, SOXAI.

No Qt and no database here. See algorithms.md §1 (explainer, metrics) and §4 (SOXAI).
"""

from __future__ import annotations

from inference.explain.activation import (
    activation_map,
    captured_output,
    resolve_target_layer,
)
from inference.explain.cfi import explain_cfi
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.gradcam import GradCAM
from inference.explain.impact import (
    CoverageSummary,
    ImpactRecord,
    ImpactSummary,
    Overlap,
    PatchAttack,
    adversarial_patch,
    binarize_heatmap,
    heatmap_critical_mask,
    image_impact,
    impact_coverage,
    impact_summary,
    kappa,
    mask_overlap,
    removal_impact,
)
from inference.explain.occlusion import Occlusion
from inference.explain.regions import propose_regions
from inference.explain.removal import baseline_image, remove
from inference.explain.render import render, summary_text
from inference.explain.result import CriticalFactorResult, Factor, SubRegion

__all__ = [
    "CoverageSummary",
    "CriticalFactorResult",
    "ExplainConfig",
    "ExplainError",
    "Factor",
    "GradCAM",
    "ImpactRecord",
    "ImpactSummary",
    "Occlusion",
    "Overlap",
    "PatchAttack",
    "SubRegion",
    "activation_map",
    "adversarial_patch",
    "baseline_image",
    "binarize_heatmap",
    "captured_output",
    "explain_cfi",
    "heatmap_critical_mask",
    "image_impact",
    "impact_coverage",
    "impact_summary",
    "kappa",
    "mask_overlap",
    "propose_regions",
    "removal_impact",
    "remove",
    "render",
    "resolve_target_layer",
    "summary_text",
]
