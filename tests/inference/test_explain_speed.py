"""Fast explanation paths compute what the eager torch path computes.

Real models (the shipped EfficientNet-Lite0, a random-init MobileNetV3-S) and real
synthetic joint crops, no mocks; only the external `onnxruntime` import is hidden
to test the fallback. Tolerances: logits 1e-4 (absolute), the per-factor normalised
heat map 2e-2 (absolute, values in [0, 1]; measured ≤ 2e-3), the sub-region IG
importances 2 % of the largest one.
"""

from __future__ import annotations

import copy
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from inference.architectures import build_model
from inference.datasets import read_manifest
from inference.explain import ExplainConfig
from inference.explain.cache import config_hash
from inference.explain.errors import ExplainError
from inference.explain.fast_model import fast_grad_model, fold_batchnorm
from inference.explain.runner import Explainer, load_explain_model, load_input
from inference.synth import generate_joint_dataset

torch.set_num_threads(1)

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"
#: config_hash(ExplainConfig()) before the `backend` knob existed.
DEFAULT_HASH = "a426d6667da44441c5b7ab38567fa7aa1003c1cd2c745b24b8a36b012472b5e4"
#: Small knobs so that both backends explain three crops in a few seconds.
CFG = ExplainConfig(n_segments=32, ig_steps=8, max_forwards=90)


@pytest.fixture(scope="module")
def em():
    return load_explain_model(SHIPPED)


@pytest.fixture(scope="module")
def images(em, tmp_path_factory) -> list[torch.Tensor]:
    data = tmp_path_factory.mktemp("speed_joints")
    generate_joint_dataset(data, 3, 1, size=256, defect_rate=0.5)
    return [load_input(r.path, em.preset) for r in read_manifest(data)]


def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x).reshape(-1).double()


def test_backend_is_not_part_of_the_cache_key() -> None:
    assert config_hash(ExplainConfig()) == DEFAULT_HASH
    for backend in ("torch", "onnx", "auto"):
        assert config_hash(ExplainConfig(backend=backend)) == DEFAULT_HASH
    with pytest.raises(ExplainError, match="backend"):
        ExplainConfig(backend="tensorrt")


def test_onnx_backend_finds_the_same_regions(em, images) -> None:
    eager = Explainer(em, CFG, backend="torch", fold_bn=False)
    fast = Explainer(em, CFG, backend="onnx")
    assert fast.prepare() == "onnx"
    flips = 0
    for x in images:
        ref, _, _ = eager.explain(x)
        got, _, _ = fast.explain(x)
        flips += ref.flipped
        assert got.selected_region_ids == ref.selected_region_ids
        assert got.flipped == ref.flipped
        assert got.budget_exhausted == ref.budget_exhausted
        assert np.array_equal(got.mask, ref.mask)
        assert np.array_equal(got.factor_labels, ref.factor_labels)
        assert got.n_forward == ref.n_forward
        assert got.logit_before == pytest.approx(ref.logit_before, abs=1e-4)
        assert got.logit_after == pytest.approx(ref.logit_after, abs=1e-4)
        assert np.abs(got.heatmap - ref.heatmap).max() <= 2e-2
        for fg, fr in zip(got.factors, ref.factors, strict=True):
            assert fg.restoration_effect == pytest.approx(
                fr.restoration_effect, abs=1e-4
            )
            imp_g = np.array([s.importance for s in fg.subregions])
            imp_r = np.array([s.importance for s in fr.subregions])
            scale = max(1e-6, float(np.abs(imp_r).max()))
            assert np.abs(imp_g - imp_r).max() <= 0.02 * scale
    assert flips >= 1  # the comparison covers a flipping explanation


@pytest.mark.parametrize("arch", ["shipped", "mobilenet_v3_small"])
def test_bn_folding_keeps_logits_and_the_model(em, images, arch) -> None:
    if arch == "shipped":
        model, xs = em.model, torch.cat(images)
    else:
        torch.manual_seed(0)
        model = build_model(arch).eval()
        xs = torch.rand(3, 3, 96, 96, generator=torch.Generator().manual_seed(3))
    before = copy.deepcopy(model.state_dict())
    grads = [p.requires_grad for p in model.parameters()]
    folded = fold_batchnorm(model, xs[:1])
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert n_bn > 0
    assert sum(isinstance(m, nn.BatchNorm2d) for m in folded.modules()) < n_bn
    assert torch.allclose(_logits(folded, xs), _logits(model, xs), atol=1e-4, rtol=0)
    fast = fast_grad_model(model, xs[:1], chunk=2)
    assert torch.allclose(_logits(fast, xs), _logits(model, xs), atol=1e-4, rtol=0)
    # The loaded model is untouched: same weights, BN layers, grad flags.
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == n_bn
    assert [p.requires_grad for p in model.parameters()] == grads
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    if arch == "shipped":  # every conv→BN pair of EfficientNet-Lite0 folds
        assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())


def test_auto_falls_back_to_torch_without_onnxruntime(
    em, images, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with caplog.at_level(logging.INFO, logger="inference.explain.fast_model"):
        ex = Explainer(em, CFG.replace(backend="auto"))
        assert ex.prepare() == "torch"
    assert any(
        "ONNX unavailable" in r.getMessage() and "using torch" in r.getMessage()
        for r in caplog.records
    )
    with pytest.raises(ExplainError, match="backend 'onnx' unavailable"):
        Explainer(em, CFG, backend="onnx").prepare()


def test_auto_uses_onnx_when_it_agrees(em, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="inference.explain.fast_model"):
        assert Explainer(em, CFG.replace(backend="auto")).prepare() == "onnx"
    assert any("using onnxruntime" in r.getMessage() for r in caplog.records)
    assert Explainer(em, CFG).prepare() == "torch"  # the default knob
