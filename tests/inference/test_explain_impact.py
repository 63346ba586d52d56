"""Impact Score / Impact Coverage (algorithms.md §1.7, tests 9–10 of §1.9) and the
Grad-CAM / occlusion baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inference.explain import (
    ExplainConfig,
    ExplainError,
    GradCAM,
    Occlusion,
    adversarial_patch,
    binarize_heatmap,
    explain_cfi,
    heatmap_critical_mask,
    image_impact,
    impact_coverage,
    impact_summary,
    mask_overlap,
    removal_impact,
)
from tests.inference._explain_toys import (
    BOX_A,
    BoxModel,
    TinyCNN,
    blob_image,
    box_mask,
    toy_image,
)

torch.set_num_threads(1)

CFG = ExplainConfig(regions="grid", grid_cell=32, baseline="mean", target_layer=None)

# p(x), p(x'), κ_margin rel. drop, κ_prob rel. drop, impact margin, impact prob
TABLE = [
    (0.95, 0.30, 1.444444, 0.684211, True, True),
    (0.95, 0.70, 0.555556, 0.263158, True, False),
    (0.10, 0.20, 0.250000, 0.111111, False, False),
    (0.20, 0.55, 1.166667, 0.437500, True, True),
]


@pytest.mark.parametrize("row", TABLE)
def test_impact_table_rows(row):
    p0, p1, drop_m, drop_p, imp_m, imp_p = row
    m = image_impact(p0, p1, tau=0.5, measure="margin")
    p = image_impact(p0, p1, tau=0.5, measure="prob")
    assert m.relative_drop == pytest.approx(drop_m, abs=1e-6)
    assert p.relative_drop == pytest.approx(drop_p, abs=1e-6)
    assert m.impact is imp_m
    assert p.impact is imp_p


def test_impact_score_table():
    margin = [image_impact(a, b, measure="margin") for a, b, *_ in TABLE]
    prob = [image_impact(a, b, measure="prob") for a, b, *_ in TABLE]
    s_m = impact_summary(margin, [0.1, 0.2, 0.3, 0.4])
    s_p = impact_summary(prob)
    assert s_m.impact_score == 0.75
    assert s_p.impact_score == 0.50
    assert s_m.flip_rate == s_p.flip_rate == 0.50
    assert s_m.mean_area_frac == pytest.approx(0.25)
    assert s_m.n == 4
    # TrustyAI's variant: κ_prob(x') < 0.2 κ_prob(x)  ⇔  rel. drop ≥ 0.8
    trusty = [image_impact(a, b, tau=0.8, measure="prob") for a, b, *_ in TABLE]
    assert [r.impact for r in trusty] == [True, False, False, True]


def test_iou_example():
    m_e = np.zeros((256, 256), bool)
    m_p = np.zeros((256, 256), bool)
    m_e[96:128, 160:192] = True
    m_p[96:128, 176:208] = True
    o = mask_overlap(m_e, m_p)
    assert o.iou == pytest.approx(1 / 3)
    assert o.recall == 0.5
    assert o.precision == 0.5
    assert mask_overlap(np.zeros_like(m_e), m_p).iou == 0.0


def test_binarize_matched_area_ties_by_index():
    heat = np.zeros((4, 4))
    heat[0, :] = 1.0  # 4 tied pixels
    heat[3, 3] = 2.0
    heat[2, 2] = -5.0
    mask = binarize_heatmap(heat, 3)
    assert mask.sum() == 3
    assert mask[3, 3]
    assert mask[0, 0]
    assert mask[0, 1]
    assert not mask[0, 2]
    # only positive attribution counts
    assert binarize_heatmap(heat, 10).sum() == 5
    assert binarize_heatmap(heat, 0.25).sum() == 4
    assert heatmap_critical_mask(heat, CFG, matched_area_px=2).sum() == 2
    assert heatmap_critical_mask(heat, CFG.replace(binarize_area=0.125)).sum() == 2
    with pytest.raises(ExplainError, match="matched"):
        heatmap_critical_mask(heat, CFG)


def test_removal_impact_toy():
    rec = removal_impact(BoxModel("single"), toy_image(), box_mask(BOX_A).numpy(), CFG)
    assert rec.decision_impact
    assert rec.impact
    rec = removal_impact(
        BoxModel("single"), toy_image(), np.zeros((256, 256), bool), CFG
    )
    assert not rec.impact


def test_patch_attack_and_coverage():
    """§1.9 test 10: box A painted over (logit −6); a 32×32 patch on A's cell flips
    the decision; CFI on x_adv returns region {29}, IoU with the patch = 1."""
    model = BoxModel("single")
    x = toy_image(with_a=False)
    with torch.no_grad():
        assert float(model(x)) == pytest.approx(-6.0, abs=1e-5)
    att = adversarial_patch(model, x, CFG, side=32, top_left=(96, 160))
    assert att.success
    assert att.target_class == 1
    assert att.p_target >= 0.9
    assert 0 < att.steps <= CFG.patch_steps
    with torch.no_grad():
        assert float(model(att.x_adv)) > 0
    outside = ~torch.from_numpy(att.patch_mask)
    assert torch.equal(att.x_adv[0][:, outside], x[0][:, outside])
    r = explain_cfi(model, att.x_adv, CFG.replace(ig_steps=4))
    assert r.selected_region_ids == (29,)
    assert mask_overlap(r.mask, att.patch_mask).iou == 1.0


def test_impact_coverage_failed_attacks_are_excluded():
    # the toy model only looks at box A; a randomly placed 38 px patch elsewhere fails
    cfg = CFG.replace(patch_steps=3, seed=0)
    summ = impact_coverage(
        BoxModel("single"),
        [toy_image(with_a=False)],
        lambda x: np.ones((256, 256)),
        cfg,
    )
    att = adversarial_patch(BoxModel("single"), toy_image(with_a=False), cfg)
    assert att.patch_mask.sum() == 38 * 38
    assert not att.success
    assert summ.attack_success_rate == 0.0
    assert np.isnan(summ.impact_coverage)
    assert summ.per_image == (None,)


def test_patch_placement_is_seeded():
    cfg = CFG.replace(patch_steps=0)
    a = adversarial_patch(BoxModel("single"), toy_image(), cfg, index=3)
    b = adversarial_patch(BoxModel("single"), toy_image(), cfg, index=3)
    assert np.array_equal(a.patch_mask, b.patch_mask)
    with pytest.raises(ExplainError):
        adversarial_patch(BoxModel("single"), toy_image(), cfg, side=300)


# --- baselines ----------------------------------------------------------------------


def test_gradcam_shape_range_hooks():
    model = TinyCNN(0)
    cam = GradCAM(model).attribute(blob_image(64))
    assert cam.shape == (64, 64)
    assert cam.dtype == np.float32
    assert cam.min() >= 0.0
    assert cam.max() <= 1.0
    assert len(model.conv2._forward_hooks) == 0
    model.raise_after_features = True
    with pytest.raises(RuntimeError, match="boom"):
        GradCAM(model, "conv1").attribute(blob_image(64))
    assert len(model.conv1._forward_hooks) == 0
    assert model.training  # mode restored


def test_gradcam_needs_conv():
    with pytest.raises(ExplainError, match="no conv layer"):
        GradCAM(BoxModel("single"))


def test_occlusion_sliding_and_regions():
    heat = Occlusion(BoxModel("single"), window=32, stride=32, cfg=CFG).attribute(
        toy_image()
    )
    assert heat.shape == (256, 256)
    assert heat.dtype == np.float32
    assert heat.min() >= 0.0
    assert heat.max() == 1.0
    assert heat[BOX_A].min() == 1.0
    assert heat.sum() == heat[BOX_A].sum()
    labels = np.arange(256)[:, None] // 128 * 2 + np.arange(256)[None, :] // 128
    reg = Occlusion(BoxModel("single"), regions=labels, cfg=CFG).attribute(toy_image())
    assert reg[100, 170] == 1.0
    assert reg[200, 50] == 0.0
    model = TinyCNN(0)
    h = Occlusion(model, window=16, stride=8).attribute(blob_image(64))
    assert h.shape == (64, 64)
    assert 0.0 <= h.min()
    assert h.max() <= 1.0
