"""Explanation cache: hits skip the model, keys follow model and config, corruption."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from inference.explain import ExplainConfig
from inference.explain.cache import (
    ExplanationCache,
    cache_key,
    config_hash,
    image_hash,
    model_identity,
)
from inference.explain.runner import Explainer, wrap_model
from inference.preprocessing import EvalPreset
from tests.inference._explain_toys import BoxModel, toy_image

torch.set_num_threads(1)

CFG = ExplainConfig(
    regions="grid", grid_cell=32, baseline="mean", target_layer=None, ig_steps=8
)


@pytest.fixture
def model() -> BoxModel:
    return BoxModel("single")


def _explainer(model: BoxModel, cache: ExplanationCache, sha: str = "a" * 64):
    em = wrap_model(model, EvalPreset(size=256), model_id=sha)
    return Explainer(em, CFG, cache)


def test_hit_returns_identical_arrays_and_skips_the_model(tmp_path, model) -> None:
    cache = ExplanationCache(tmp_path / "c")
    ex = _explainer(model, cache)
    x = toy_image()
    first, sec1, cached1 = ex.explain(x)
    calls = model.calls
    assert calls > 0
    assert not cached1
    assert sec1 > 0
    assert first.selected_region_ids == (29,)
    second, sec2, cached2 = ex.explain(x)
    assert model.calls == calls  # no forward pass at all
    assert cached2
    assert sec2 == pytest.approx(sec1)
    for name in ("mask", "factor_labels", "region_labels", "heatmap"):
        a, b = getattr(first, name), getattr(second, name)
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
    assert first.to_dict() == second.to_dict()
    assert first.factors == second.factors
    assert [s.density for s in first.factors[0].subregions] == [
        s.density for s in second.factors[0].subregions
    ]
    assert (cache.hits, cache.misses) == (1, 1)
    # A second cache object on the same folder (the GUI) also hits.
    other = ExplanationCache(tmp_path / "c")
    _, _, cached3 = _explainer(model, other).explain(x.clone())
    assert cached3
    assert model.calls == calls
    assert not list((tmp_path / "c").rglob(".tmp-*"))


def test_key_changes_with_model_config_and_image() -> None:
    img = image_hash(toy_image())
    base = cache_key(img, model_identity("a" * 64), CFG)
    assert base == cache_key(img, model_identity("a" * 64), CFG.replace())
    assert base != cache_key(img, model_identity("b" * 64), CFG)
    assert base != cache_key(img, model_identity("a" * 64, temperature=2.0), CFG)
    assert base != cache_key(img, model_identity("a" * 64), CFG.replace(ig_steps=9))
    assert base != cache_key(img, model_identity("a" * 64), CFG, method="gradcam")
    # Metric-only knobs (patch attack, binarisation) do not change a CFI result.
    metric_only = CFG.replace(patch_steps=5, binarize_area=0.1, eval_baseline="mean")
    assert base == cache_key(img, model_identity("a" * 64), metric_only)
    assert base != cache_key(img, model_identity("a" * 64), CFG.replace(tau=0.4))
    other = image_hash(toy_image(with_b=False))
    assert base != cache_key(other, model_identity("a" * 64), CFG)
    assert config_hash(CFG) != config_hash(ExplainConfig())
    # Same pixels as a 3×H×W numpy array hash the same as the tensor.
    assert image_hash(toy_image()[0].numpy()) == img


def test_other_model_or_config_recomputes(tmp_path, model) -> None:
    cache = ExplanationCache(tmp_path)
    x = toy_image()
    _explainer(model, cache, "a" * 64).explain(x)
    calls = model.calls
    _, _, cached = _explainer(model, cache, "b" * 64).explain(x)
    assert not cached
    assert model.calls > calls
    calls = model.calls
    em = wrap_model(model, EvalPreset(size=256), model_id="a" * 64)
    _, _, cached = Explainer(em, CFG.replace(ig_steps=4), cache).explain(x)
    assert not cached
    assert model.calls > calls


@pytest.mark.parametrize("part", ["npz", "json"])
def test_corrupt_entry_is_logged_and_recomputed(
    tmp_path, model, part, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ExplanationCache(tmp_path)
    ex = _explainer(model, cache)
    x = toy_image()
    first, _, _ = ex.explain(x)
    key = cache_key(image_hash(x), ex.em.model_id, CFG)
    npz, js = cache.paths(key)
    target = npz if part == "npz" else js
    target.write_bytes(target.read_bytes()[:40] + b"garbage")
    calls = model.calls
    with caplog.at_level(logging.WARNING, logger="inference.explain.cache"):
        again, _, cached = ex.explain(x)
    assert not cached
    assert model.calls > calls
    assert cache.corrupt == 1
    assert any("corrupt" in r.getMessage() for r in caplog.records)
    assert np.array_equal(again.mask, first.mask)
    # The entry was rewritten and is valid again.
    calls = model.calls
    _, _, cached = ex.explain(x)
    assert cached
    assert model.calls == calls


def test_missing_array_file_is_a_miss(tmp_path, model) -> None:
    cache = ExplanationCache(tmp_path)
    ex = _explainer(model, cache)
    x = toy_image()
    ex.explain(x)
    key = cache_key(image_hash(x), ex.em.model_id, CFG)
    cache.paths(key)[0].unlink()
    assert cache.get(key) is None
    assert not cache.paths(key)[1].exists()
