"""SOXAI (algorithms.md §4.3 tests 1–4) and the map / scatter helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import adjusted_rand_score

from inference.explain import ExplainConfig, ExplainError, explain_cfi
from inference.explain.soxai import (
    embed_masked_crop,
    embed_masked_gap,
    explanation_thumbnail,
    grid_layout,
    kmeans_groups,
    masked_crop,
    scatter_plot,
    soxai_map,
    tsne_2d,
)
from tests.inference._explain_toys import TinyCNN, blob_image, centred_cnn

torch.set_num_threads(1)


def _image_and_mask(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 3, 64, 64, generator=gen)
    mask = np.zeros((64, 64), bool)
    mask[20:40, 10:30] = True
    mask[45:50, 40:44] = True
    return x, mask


def test_masked_crop_embedding_ignores_outside_pixels():
    model = TinyCNN(0)
    x, mask = _image_and_mask()
    y = x.clone()
    outside = torch.from_numpy(~mask)
    y[0][:, outside] = torch.rand(3, int(outside.sum()))
    assert not torch.equal(x, y)
    assert torch.equal(masked_crop(x, mask), masked_crop(y, mask))
    e = embed_masked_crop(model, [x, y], [mask, mask], size=64)
    assert e.vectors.shape == (2, 16)
    assert np.array_equal(e.vectors[0], e.vectors[1])
    assert np.allclose(np.linalg.norm(e.vectors, axis=1), 1.0, atol=1e-6)
    # masked_gap sees the receptive fields around the mask: not invariant by design
    g = embed_masked_gap(model, [x, y], [mask, mask])
    assert not np.array_equal(g.vectors[0], g.vectors[1])


def test_embedding_excludes_empty_explanations():
    x, mask = _image_and_mask()
    e = embed_masked_crop(TinyCNN(0), [x, x], [mask, np.zeros_like(mask)], size=32)
    assert e.kept == (0,)
    assert e.n_excluded == 1
    with pytest.raises(ExplainError):
        masked_crop(x, np.zeros_like(mask))

    class NoFeatures(torch.nn.Module):
        def forward(self, x):
            return x.mean(dim=(1, 2, 3))

    with pytest.raises(ExplainError, match="features"):
        embed_masked_crop(NoFeatures(), [x], [mask], size=32)


def test_determinism_embedding_and_tsne():
    x, mask = _image_and_mask()
    a = embed_masked_crop(TinyCNN(0), [x], [mask], size=64).vectors
    b = embed_masked_crop(TinyCNN(0), [x], [mask], size=64).vectors
    assert np.array_equal(a, b)
    pts = np.random.default_rng(0).normal(size=(40, 60))
    t1, t2 = tsne_2d(pts), tsne_2d(pts)
    assert t1.shape == (40, 2)
    assert np.array_equal(t1, t2)


def test_layout_one_item_per_cell():
    pts = np.random.default_rng(1).normal(size=(23, 2))
    pts[5] = pts[6]  # two identical points still get distinct cells
    cells, g = grid_layout(pts)
    assert g == 5
    assert len({tuple(c) for c in cells.tolist()}) == 23
    assert cells.min() >= 0
    assert cells.max() < g
    thumbs = [np.full((64, 64, 3), i, np.uint8) for i in range(23)]
    canvas, boxes = soxai_map(thumbs, cells, g)
    assert canvas.shape == (g * 64, g * 64, 3)
    for i, (bx, by, bw, bh) in enumerate(boxes):
        assert 0 <= bx
        assert bx + bw <= canvas.shape[1]
        assert 0 <= by
        assert by + bh <= canvas.shape[0]
        assert np.all(canvas[by : by + bh, bx : bx + bw] == i)
    assert len(set(boxes)) == 23


def test_two_blobs_recovered():
    rng = np.random.default_rng(0)
    centre = np.zeros(16)
    centre[0] = 10.0  # 10σ apart
    emb = np.concatenate(
        [rng.normal(size=(30, 16)), rng.normal(size=(30, 16)) + centre]
    )
    truth = np.repeat([0, 1], 30)
    pts = tsne_2d(emb)
    assign, groups = kmeans_groups(
        pts, 2, labels=truth, defect_types=["bridge"] * 30 + ["overhang"] * 30
    )
    assert adjusted_rand_score(truth, assign) == 1.0
    assert sorted(g.size for g in groups) == [30, 30]
    mixes = sorted(tuple(g.defect_type_counts) for g in groups)
    assert mixes == [("bridge",), ("overhang",)]


def test_thumbnail_and_scatter(tmp_path):
    x = blob_image(64)
    model = centred_cnn(x, 0.3, seed=2)
    r = explain_cfi(model, x, ExplainConfig(baseline="mean", ig_steps=4))
    th = explanation_thumbnail(x, r)
    assert th.shape == (64, 64, 3)
    assert th.dtype == np.uint8
    path = tmp_path / "scatter.png"
    img = scatter_plot(
        np.random.default_rng(0).normal(size=(10, 2)), [0, 1] * 5, path=path
    )
    assert img.ndim == 3
    assert img.shape[2] == 3
    assert img.dtype == np.uint8
    assert path.stat().st_size > 0
    assert tsne_2d(np.zeros((1, 4))).shape == (1, 2)
