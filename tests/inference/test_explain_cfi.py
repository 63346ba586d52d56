"""CFI explainer: the ten unit tests of algorithms.md §1.9 (1–8 here) and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from inference.explain import ExplainConfig, ExplainError, explain_cfi, remove
from inference.explain.removal import baseline_image
from inference.explain.within import integrated_gradients
from tests.inference._explain_toys import (
    BOX_A,
    BOX_B,
    BoxModel,
    blob_image,
    box_mask,
    centred_cnn,
    toy_image,
)

torch.set_num_threads(1)

CFG = ExplainConfig(regions="grid", grid_cell=32, baseline="mean", target_layer=None)
# Search forwards of the spec's throw-away prototype (reference + occlusion + prefix
# + pruning); ours caches repeated masks, so it may only be lower.
PROTOTYPE = {"single": 66, "and": 69, "or": 125}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / (a | b).sum())


def _logit(model: nn.Module, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(model(x).reshape(-1)[0])


def _removed(x: torch.Tensor, mask: np.ndarray) -> torch.Tensor:
    return remove(x, torch.from_numpy(mask), baseline_image(x, CFG))


@pytest.fixture(scope="module")
def results():
    out = {}
    for kind in ("single", "and", "or"):
        model = BoxModel(kind)
        res = explain_cfi(model, toy_image(), CFG)
        out[kind] = (model, res)
        out[kind + "_calls"] = model.calls
    return out


def test_single_cause(results):
    _model, r = results["single"]
    assert r.selected_region_ids == (29,)
    assert r.flipped
    assert r.impact_type == "decision"
    assert _iou(r.mask, box_mask(BOX_A).numpy()) == 1.0
    assert len(r.factors) == 1
    assert r.decision_before == 1
    assert r.p_after < 0.5 < r.p_before


def test_conjunction(results):
    model, r = results["and"]
    x = toy_image()
    for box in (BOX_A, BOX_B):
        assert _logit(model, _removed(x, box_mask(box).numpy())) > 0
    assert r.selected_region_ids == (9, 29)
    assert len(r.factors) == 2
    both = (box_mask(BOX_A) | box_mask(BOX_B)).numpy()
    assert _iou(r.mask, both) == 1.0
    for f in r.factors:  # each box alone: 10·0.678125 logit units
        assert f.removal_effect == pytest.approx(6.78125, abs=1e-4)
        assert f.restoration_effect == pytest.approx(6.78125, abs=1e-4)


def test_disjunction_ties(results):
    model, r = results["or"]
    x = toy_image()
    l0 = _logit(model, x)
    for j in range(64):
        cell = r.region_labels == j
        assert _logit(model, _removed(x, cell)) == l0  # every single drop is 0
    assert r.selected_region_ids == (9, 29)
    assert len(r.factors) == 2


@pytest.mark.parametrize("kind", ["single", "and", "or"])
def test_one_minimal(results, kind):
    model, r = results[kind]
    assert r.flipped
    x = toy_image()
    for j in r.selected_region_ids:
        rest = np.isin(r.region_labels, [i for i in r.selected_region_ids if i != j])
        if rest.any():
            assert (_logit(model, _removed(x, rest)) >= 0) == (r.decision_before == 1)


@pytest.mark.parametrize("kind", ["single", "and", "or"])
def test_forward_counts(results, kind):
    _, r = results[kind]
    assert results[kind + "_calls"] == r.n_forward  # every image seen is counted
    assert r.n_backward == CFG.ig_steps
    assert r.n_forward - CFG.ig_steps <= PROTOTYPE[kind]


@pytest.mark.parametrize("baseline", ["blur", "mean", "constant"])
def test_locality_removal_bit_exact(baseline):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 64, 64, generator=gen)
    mask = torch.rand(64, 64, generator=gen) > 0.7
    b = baseline_image(x, CFG.replace(baseline=baseline, blur_sigma=3.0))
    out = remove(x, mask, b)
    assert torch.equal(out[0][:, ~mask], x[0][:, ~mask])
    assert torch.allclose(out[0][:, mask], b[0][:, mask])


@pytest.mark.parametrize("kind", ["single", "and", "or"])
def test_locality_ig_and_completeness(results, kind):
    model, r = results[kind]
    x = toy_image()
    mstar = r.mask.astype(bool)
    x_rem = _removed(x, mstar)
    attr = integrated_gradients(model, x, x_rem, 1.0, CFG.ig_steps, CFG.batch_size)
    assert np.all(attr[~mstar] == 0.0)
    assert np.all(r.heatmap[~mstar] == 0.0)
    assert r.heatmap.dtype == np.float32
    assert 0.0 <= r.heatmap.min()
    assert r.heatmap.max() <= 1.0
    target = _logit(model, x) - _logit(model, x_rem)
    expected = 6.78125 if kind == "or" else 13.5625
    assert target == pytest.approx(expected, abs=1e-4)
    assert abs(attr.sum() - target) <= 1e-4 * max(1.0, abs(target))
    assert r.ig_delta <= 1e-4


def test_determinism():
    a = explain_cfi(BoxModel("and"), toy_image(), CFG)
    b = explain_cfi(BoxModel("and"), toy_image(), CFG)
    assert np.array_equal(a.mask, b.mask)
    assert np.array_equal(a.factor_labels, b.factor_labels)
    assert np.array_equal(a.heatmap, b.heatmap)
    assert a.factors == b.factors
    assert a.selected_region_ids == b.selected_region_ids


def test_deterministic_setting_is_restored():
    before = torch.are_deterministic_algorithms_enabled()
    explain_cfi(BoxModel("single"), toy_image(), CFG)
    assert torch.are_deterministic_algorithms_enabled() == before


@pytest.mark.parametrize("fallback", ["adaptive", "none"])
@pytest.mark.parametrize(("kind", "frac"), [("single", 0.01), ("and", 1 / 64)])
def test_budget_too_small(kind, frac, fallback):
    cfg = CFG.replace(max_area_frac=frac, fallback=fallback, ig_steps=4)
    r = explain_cfi(BoxModel(kind), toy_image(), cfg)
    assert r.flipped is False
    assert r.impact_type in {"confidence", "none"}
    assert r.mask.sum() <= frac * r.mask.size
    assert r.heatmap.shape == r.mask.shape


def test_defect_mode_matches_decision_mode_for_defects():
    cfg = CFG.replace(target="defect", defect_target_p=0.5)
    r = explain_cfi(BoxModel("and"), toy_image(), cfg)
    assert r.selected_region_ids == (9, 29)
    assert r.target == "defect"


def test_defect_mode_stricter_target():
    cfg = CFG.replace(target="defect", defect_target_p=0.1)
    r = explain_cfi(BoxModel("single"), toy_image(), cfg)
    assert r.flipped
    assert r.p_after < 0.1


# --- bad input ----------------------------------------------------------------------


class Constant(nn.Module):
    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :1, 0, 0] * 0 + self.logit


def test_blank_image_slic_cnn():
    x = torch.full((1, 3, 64, 64), 0.5)
    r = explain_cfi(centred_cnn(x), x, ExplainConfig(ig_steps=4))
    assert r.flipped is False
    assert r.impact_type == "none"  # blur of a flat image removes nothing
    assert r.mask.sum() == 0
    assert r.factors == ()
    assert r.heatmap.shape == (64, 64)


def test_certain_model():
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    r = explain_cfi(Constant(60.0), x, CFG.replace(grid_cell=16, ig_steps=4))
    assert r.p_before == pytest.approx(1.0)
    assert not r.flipped
    assert r.impact_type == "none"
    assert r.mask.sum() == 0


def test_no_conv_layer():
    # "auto" finds nothing: occlusion ranking still works, activation ranking fails
    r = explain_cfi(BoxModel("single"), toy_image(), CFG.replace(target_layer="auto"))
    assert r.selected_region_ids == (29,)
    with pytest.raises(ExplainError, match="activation map"):
        explain_cfi(BoxModel("single"), toy_image(), CFG.replace(ranking="activation"))
    with pytest.raises(ExplainError, match="not a module"):
        explain_cfi(BoxModel("single"), toy_image(), CFG.replace(target_layer="x.y"))


def test_bad_images_and_outputs():
    with pytest.raises(ExplainError, match="one image"):
        explain_cfi(BoxModel("single"), torch.zeros(2, 3, 8, 8), CFG)
    with pytest.raises(ExplainError, match="NaN"):
        explain_cfi(BoxModel("single"), torch.full((1, 3, 8, 8), float("nan")), CFG)

    class TwoLogits(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :2, 0, 0]

    with pytest.raises(ExplainError, match="one logit"):
        explain_cfi(TwoLogits(), toy_image(), CFG)
    with pytest.raises(ExplainError, match="baseline"):
        ExplainConfig(baseline="zeros")


def test_cnn_activation_ranking_and_regions():
    x = blob_image(64)
    model = centred_cnn(x, 0.3, seed=2)
    for kw in ({"ranking": "activation"}, {"regions": "activation"}):
        cfg = ExplainConfig(baseline="mean", ig_steps=4, **kw)
        r = explain_cfi(model, x, cfg)
        assert r.n_backward >= 1 + 4 * (len(r.factors) > 0)
        assert r.mask.shape == (64, 64)
        assert r.region_labels.max() + 1 == len(np.unique(r.region_labels))


@pytest.mark.parametrize("ctx", [torch.no_grad, torch.inference_mode])
def test_runs_inside_callers_no_grad_or_inference_mode(ctx):
    x = blob_image(64)
    model = centred_cnn(x, 0.3, seed=2)
    cfg = ExplainConfig(baseline="mean", ig_steps=4)
    expected = explain_cfi(model, x, cfg)
    with ctx():
        r = explain_cfi(model, x.clone(), cfg)
    assert np.array_equal(r.mask, expected.mask)
    assert np.array_equal(r.heatmap, expected.heatmap)
