"""Rendering of explanations and a smoke test of CFI on a small CNN with SLIC."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy import ndimage

from inference.explain import ExplainConfig, explain_cfi, render, summary_text
from inference.explain.removal import baseline_image, remove
from inference.explain.render import factor_outline
from tests.inference._explain_toys import (
    BoxModel,
    blob_image,
    centred_cnn,
    toy_image,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def smoke():
    x = blob_image(64)
    model = centred_cnn(x, 0.3, seed=2)
    cfg = ExplainConfig(regions="slic", baseline="mean", ig_steps=8)
    return model, x, cfg, explain_cfi(model, x, cfg)


def test_smoke_cnn_slic_result(smoke):
    model, x, cfg, r = smoke
    assert r.flipped
    assert r.impact_type == "decision"
    assert r.mask.dtype == np.uint8
    assert r.mask.shape == (64, 64)
    assert r.mask.sum() > 0
    assert r.mask.mean() <= cfg.max_area_frac
    assert set(np.unique(r.factor_labels)) == set(range(len(r.factors) + 1))
    assert np.array_equal(r.factor_labels > 0, r.mask > 0)
    restore = [f.restoration_effect for f in r.factors]
    assert restore == sorted(restore, reverse=True)
    assert sum(f.area_px for f in r.factors) == int(r.mask.sum())
    assert r.heatmap.shape == (64, 64)
    assert np.all(r.heatmap[r.mask == 0] == 0)
    for f in r.factors:
        assert sum(s.area_px for s in f.subregions) == f.area_px
        assert len(f.subregions) <= cfg.max_sub
    assert r.n_forward > 0
    assert r.n_backward == cfg.ig_steps
    assert r.to_dict()["flipped"] is True
    # 1-minimal with respect to the selected SLIC regions
    b = baseline_image(x, cfg)
    for j in r.selected_region_ids:
        rest = np.isin(r.region_labels, [i for i in r.selected_region_ids if i != j])
        if rest.any():
            with torch.no_grad():
                logit = float(model(remove(x, torch.from_numpy(rest), b)))
            assert (logit >= 0) == (r.decision_before == 1)


def test_smoke_occlusion_restore(smoke):
    model, x, cfg, r = smoke
    r2 = explain_cfi(model, x, cfg.replace(within="occlusion_restore"))
    assert np.array_equal(r2.mask, r.mask)
    assert r2.ig_delta == 0.0
    assert r2.n_backward == 0
    assert np.all(r2.heatmap[r2.mask == 0] == 0)
    assert r2.heatmap.max() <= 1.0


def test_render_overlay_and_outline(smoke):
    _, x, _, r = smoke
    img = render(x, r)
    assert img.dtype == np.uint8
    assert img.shape == (64, 64, 3)
    outline = factor_outline(r.factor_labels)
    for k in range(1, len(r.factors) + 1):
        f = r.factor_labels == k
        ring = f ^ ndimage.binary_erosion(f, structure=np.ones((3, 3), bool))
        assert np.array_equal(outline & f, ring)
    assert outline.any()
    assert np.all(img[outline] == 255)
    plain = np.round(x[0].double().numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    outside = r.mask == 0
    assert np.array_equal(img[outside], plain[outside])  # no colour outside M*
    inside = (r.mask == 1) & ~outline
    assert not np.array_equal(img[inside], plain[inside])
    thick = render(x, r, outline_width=2)
    assert (thick == 255).all(axis=2).sum() > (img == 255).all(axis=2).sum()


def test_render_empty_explanation():
    cfg = ExplainConfig(
        regions="grid", baseline="mean", target_layer=None, max_area_frac=0.01
    )
    r = explain_cfi(BoxModel("single"), toy_image(), cfg)
    img = render(toy_image(), r)
    assert img.shape == (256, 256, 3)
    assert np.array_equal(
        img[..., 0], np.round(toy_image()[0, 0].double().numpy() * 255)
    )
    assert "no compact region" in summary_text(r)


def test_summary_text(smoke):
    *_, r = smoke
    one = dataclasses.replace(
        r, p_before=0.93, p_after=0.12, factors=r.factors[:1], impact_type="decision"
    )
    assert summary_text(one) == (
        "removing the outlined region drops P(defect) from 0.93 to 0.12"
    )
    two = dataclasses.replace(r, p_before=0.08, p_after=0.62, factors=r.factors[:1] * 2)
    assert summary_text(two).startswith("removing the 2 outlined regions raises")
    conf = dataclasses.replace(one, p_after=0.7, impact_type="confidence")
    assert summary_text(conf).endswith("(decision unchanged)")
