"""Batch explanation runner, xai-eval and end-to-end SOXAI on a tiny CNN."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.explain import ExplainConfig
from inference.explain.cache import ExplanationCache
from inference.explain.errors import ExplainError
from inference.explain.runner import (
    config_from_overrides,
    explain_files,
    wrap_model,
)
from inference.explain.soxai_run import group_makeup, run_soxai
from inference.explain.xai_eval import (
    EvalImage,
    XaiEvalOptions,
    evaluate_explainers,
    format_xai_summary,
)
from inference.preprocessing import EvalPreset
from tests.inference._explain_toys import blob_image, centred_cnn

torch.set_num_threads(1)

SIZE = 64
CFG = ExplainConfig(
    regions="grid", grid_cell=16, blur_sigma=4.0, ig_steps=4, patch_steps=40
)


def _write_png(path: Path, x: torch.Tensor) -> Path:
    rgb = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _image(seed: int) -> torch.Tensor:
    x = blob_image(SIZE, seed)
    if seed % 2:  # move the blob for half the images
        x = torch.roll(x, shifts=(-14, 18), dims=(2, 3))
    return x


@pytest.fixture(scope="module")
def em():
    model = centred_cnn(blob_image(SIZE, 0), logit=0.8)
    return wrap_model(model, EvalPreset(size=SIZE), model_id="tiny")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> list[EvalImage]:
    root = tmp_path_factory.mktemp("ds")
    items = []
    for i in range(6):
        x = _image(i)
        path = _write_png(root / f"img{i}.png", x)
        mask = np.zeros((SIZE, SIZE), np.uint8)
        r, c = (38, 19) if i % 2 == 0 else (24, 37)
        mask[r - 6 : r + 6, c - 6 : c + 6] = 255
        cv2.imwrite(str(root / f"mask{i}.png"), mask)
        items.append(
            EvalImage(
                path,
                label=1 if i < 4 else 0,
                defect_type="blob" if i % 2 == 0 else "shifted",
                mask=root / f"mask{i}.png",
            )
        )
    return items


def test_runner_writes_overlay_and_numbers_and_survives_a_bad_file(
    tmp_path, em, dataset
) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG not really")
    paths = [dataset[0].path, bad, dataset[1].path, tmp_path / "missing.png"]
    seen = []
    run = explain_files(
        em,
        paths,
        tmp_path / "out",
        cfg=CFG,
        cache=ExplanationCache(tmp_path / "cache"),
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[-1] == (4, 4)
    ok, broken, ok2, missing = run.items
    assert "broken.png" in broken["error"]
    assert "missing.png" in missing["error"]
    for item in (ok, ok2):
        assert "error" not in item
        overlay = cv2.imread(item["overlay"])
        assert overlay.shape == (SIZE, SIZE, 3)
        data = json.loads(Path(item["json"]).read_text())
        for key in ("p_before", "p_after", "summary", "n_forward", "n_backward"):
            assert key in data
        assert data["summary"].startswith(("removing", "no compact"))
        assert 0.0 <= data["p_before"] <= 1.0
        assert data["n_forward"] > 0
    s = run.summary
    assert (s["n"], s["n_ok"], s["n_failed"], s["n_cached"]) == (4, 2, 2, 0)
    assert s["forwards_per_explanation"] > 0
    assert s["config"]["grid_cell"] == 16
    again = explain_files(
        em,
        [dataset[0].path],
        tmp_path / "out2",
        cfg=CFG,
        cache=ExplanationCache(tmp_path / "cache"),
    )
    assert again.items[0]["cached"]
    assert again.items[0]["p_before"] == ok["p_before"]


def test_same_stem_gets_distinct_outputs(tmp_path, em) -> None:
    a = _write_png((tmp_path / "a").mkdir() or tmp_path / "a" / "j.png", _image(0))
    b = _write_png((tmp_path / "b").mkdir() or tmp_path / "b" / "j.png", _image(1))
    run = explain_files(em, [a, b], tmp_path / "out", cfg=CFG)
    assert run.items[0]["overlay"] != run.items[1]["overlay"]


def test_config_overrides() -> None:
    cfg = config_from_overrides(
        ["baseline=mean", "ig_steps=8", "deterministic=false", "target_layer=none"],
        fast=True,
    )
    assert cfg.baseline == "mean"
    assert cfg.ig_steps == 8
    assert cfg.n_segments == 32
    assert cfg.deterministic is False
    assert cfg.target_layer is None
    assert config_from_overrides(["binarize_area=0.1"]).binarize_area == 0.1
    assert config_from_overrides(["dataset_mean=0.1,0.2,0.3"]).dataset_mean == (
        0.1,
        0.2,
        0.3,
    )
    with pytest.raises(ExplainError, match="unknown explainer knob 'nope'"):
        config_from_overrides(["nope=1"])
    with pytest.raises(ExplainError, match="key=value"):
        config_from_overrides(["baseline"])
    with pytest.raises(ExplainError, match="ig_steps"):
        config_from_overrides(["ig_steps=many"])
    with pytest.raises(ExplainError, match="baseline"):
        config_from_overrides(["baseline=fog"])


def test_xai_eval_reports_every_metric_for_every_method(tmp_path, em, dataset) -> None:
    bad = EvalImage(tmp_path / "gone.png", label=1)
    result = evaluate_explainers(
        em,
        [*dataset[:4], bad],
        CFG,
        options=XaiEvalOptions(per_image=True),
        cache=ExplanationCache(tmp_path / "cache"),
    )
    json.dumps(result, allow_nan=False)  # strictly valid JSON
    assert result["n_images"] == 5
    assert result["n_evaluated"] == 4
    assert result["errors"][0]["path"].endswith("gone.png")
    assert result["search_baseline"] == "blur"
    assert result["eval_baselines"] == ["mean", "constant"]
    assert result["n_with_mask"] == 4
    assert set(result["methods"]) == {"ours", "gradcam", "occlusion"}
    areas = set()
    for m in result["methods"].values():
        for key in (
            "impact_score",
            "flip_rate",
            "mean_area_frac",
            "n_empty",
            "seconds_per_explanation",
            "forwards_per_explanation",
            "backwards_per_explanation",
        ):
            assert key in m
        for b in ("blur", "mean", "constant"):
            for measure, tau in (("margin", 0.5), ("prob", 0.8)):
                entry = m["impact"][b][measure]
                assert entry["tau"] == tau
                assert entry["n"] == 4
                assert 0.0 <= entry["impact_score"] <= 1.0
                assert entry["flip_rate"] <= entry["impact_score"]
        cov = m["coverage"]
        assert cov["n_attacked"] == 4
        for key in ("impact_coverage", "mean_recall", "mean_precision"):
            assert key in cov
        assert 0.0 <= cov["attack_success_rate"] <= 1.0
        loc = m["localisation"]
        assert loc["n"] == 4
        for key in ("pointing_game", "energy_inside", "iou", "recall", "precision"):
            assert 0.0 <= loc[key] <= 1.0
        areas.add(round(m["mean_area_frac"], 6))
    # Heat maps are binarised at the CFI area (never more pixels than ours).
    ours = result["methods"]["ours"]["mean_area_frac"]
    assert result["methods"]["gradcam"]["mean_area_frac"] <= ours + 1e-9
    assert result["methods"]["occlusion"]["mean_area_frac"] <= ours + 1e-9
    assert result["methods"]["gradcam"]["backwards_per_explanation"] == 1
    assert len(result["per_image"]) == 4
    # The split by the model's decision partitions the images and their scores.
    defect = [r for r in result["per_image"] if r["p"] >= 0.5]
    for m in result["methods"].values():
        parts = m["by_decision"]
        assert sum(part["n"] for part in parts.values()) == 4
        assert parts.get("defect", {"n": 0})["n"] == len(defect)
        weighted = sum(part["n"] * part["impact_score"] for part in parts.values())
        assert weighted / 4 == pytest.approx(m["impact_score"])
    table = format_xai_summary(result)
    assert "by the model's decision" in table
    assert f"ours/defect ({len(defect)})" in table or not defect


def test_xai_eval_without_coverage_and_without_masks(em, dataset) -> None:
    rows = [EvalImage(d.path, d.label, d.defect_type) for d in dataset[:2]]
    result = evaluate_explainers(
        em, rows, CFG, options=XaiEvalOptions(coverage=False, eval_baselines=())
    )
    m = result["methods"]["ours"]
    assert m["coverage"] is None
    assert m["localisation"]["n"] == 0
    assert m["localisation"]["iou"] is None
    assert list(m["impact"]) == ["blur"]


def test_soxai_writes_map_scatter_and_groups(tmp_path, em, dataset) -> None:
    bad = EvalImage(tmp_path / "gone.png", label=1, defect_type="blob")
    result = run_soxai(
        em,
        [*dataset, bad],
        tmp_path / "sox",
        CFG,
        cache=ExplanationCache(tmp_path / "cache"),
        k=2,
    )
    files = result["files"]
    for key in ("map", "scatter_groups", "scatter_types", "json"):
        assert Path(files[key]).is_file()
    canvas = cv2.imread(files["map"])
    g = result["grid"]
    assert canvas.shape == (g * 64, g * 64, 3)
    on_disk = json.loads(Path(files["json"]).read_text())
    assert on_disk["k"] == 2
    assert len(on_disk["groups"]) == 2
    n = result["n_embedded"]
    assert n + result["n_excluded_empty"] == 6
    assert result["n_failed"] == 1
    assert sum(gr["size"] for gr in result["groups"]) == n
    assert len({tuple(i["cell"]) for i in result["items"]}) == n
    for gr in result["groups"]:
        assert "defect_type_counts" in gr
        assert "over_represented" in gr
    assert result["embedding"]["dim"] == 16  # TinyCNN's features


def test_group_makeup_enrichment() -> None:
    assign = np.array([0, 0, 0, 1])
    share, groups = group_makeup(assign, ["a", "a", "a", "b"])
    assert share == {"a": 0.75, "b": 0.25}
    assert groups[1]["over_represented"] == ["b"]
    assert groups[1]["under_represented"] == ["a"]
    assert groups[0]["enrichment"]["a"] == pytest.approx(1 / 0.75)


def test_soxai_needs_two_explanations(tmp_path, em, dataset) -> None:
    with pytest.raises(ExplainError, match="at least 2"):
        run_soxai(em, dataset[:1], tmp_path / "s", CFG)


def test_decompression_bomb_fails_only_that_file(tmp_path, em, dataset, monkeypatch):
    from PIL import Image

    big = _write_png(
        tmp_path / "bomb.png", torch.nn.functional.interpolate(_image(0), size=128)
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5000)  # 128² > 2 × 5000 > 64²
    run = explain_files(em, [big, dataset[0].path], tmp_path / "out", cfg=CFG)
    assert "bomb.png" in run.items[0]["error"]
    assert "error" not in run.items[1]


def test_station_config_asks_where_the_possible_defect_is() -> None:
    from inference.explain.runner import STATION_IG_STEPS, station_config

    base = ExplainConfig()
    station = station_config(base, [], t_lo=0.035)
    assert (station.target, station.defect_target_p) == ("defect", 0.035)
    assert station.ig_steps == STATION_IG_STEPS == 8
    # explicit overrides win; a degenerate band keeps the configured threshold
    assert station_config(base, ["target=decision"], 0.035).target == "decision"
    own = station_config(
        base.replace(defect_target_p=0.2, ig_steps=32),
        ["defect_target_p=0.2", "ig_steps=32"],
        0.035,
    )
    assert (own.target, own.defect_target_p, own.ig_steps) == ("defect", 0.2, 32)
    assert station_config(base, [], t_lo=0.0).defect_target_p == base.defect_target_p
    # --fast's 16 steps are not raised
    assert station_config(base.replace(ig_steps=4), [], 0.035).ig_steps == 4
