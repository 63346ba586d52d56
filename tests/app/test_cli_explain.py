"""`soldernet explain`, `xai-eval` and `soxai` end to end on a tiny model folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from app.cli import EXIT_FAILURE, EXIT_OK, main

torch.set_num_threads(1)

SIZE = 64
FAST = [
    "--config",
    "regions=grid",
    "--config",
    "grid_cell=16",
    "--config",
    "ig_steps=4",
    "--config",
    "blur_sigma=4",
    "--config",
    "patch_steps=30",
    "--threads",
    "1",
    "--no-progress",
]


def _reinit(model: nn.Module, seed: int = 0) -> None:
    """He-normal weights and unit norms: a random net whose logit depends on x."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Conv2d, nn.Linear)):
                fan = mod.weight[0].numel()
                mod.weight.copy_(
                    torch.randn(mod.weight.shape, generator=gen) * (2 / fan) ** 0.5
                )
                if mod.bias is not None:
                    mod.bias.zero_()
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.fill_(1.0)
                mod.bias.zero_()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, Path]:
    from inference.architectures import build_model
    from inference.datasets import read_manifest
    from inference.model_card import save_model
    from inference.preprocessing import EvalPreset, load_image
    from inference.synth import generate_joint_dataset

    root = tmp_path_factory.mktemp("cli_explain")
    data = root / "data"
    generate_joint_dataset(data, 5, 0, size=SIZE)
    rows = read_manifest(data)
    model = build_model("mobilenet_v3_small").eval()
    _reinit(model)
    xs = torch.stack([EvalPreset(size=SIZE)(load_image(r.path)) for r in rows])
    head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        logits = model(xs).flatten()
        scale = 3.0 / float(logits.std().clamp_min(1e-6))
        head.weight.mul_(scale)
        head.bias.sub_(float(logits.median()) * scale - 0.5)
    folder = root / "model"
    save_model(
        model, folder, {"architecture": "mobilenet_v3_small", "input_size": SIZE}
    )
    return {"root": root, "data": data, "model": folder, "images": data / "images"}


def test_explain_end_to_end_with_a_bad_file(workspace, tmp_path, capsys) -> None:
    images = sorted(workspace["images"].iterdir())[:2]
    bad = tmp_path / "corrupt.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    out, js, cache = tmp_path / "out", tmp_path / "e.json", tmp_path / "cache"
    argv = [
        "explain",
        str(images[0]),
        str(bad),
        str(images[1]),
        "--model",
        str(workspace["model"]),
        "--out",
        str(out),
        "--json",
        str(js),
        "--cache",
        str(cache),
        *FAST,
    ]
    assert main(argv) == EXIT_OK
    captured = capsys.readouterr()
    assert "corrupt.jpg" in captured.err
    assert "2 of 3 explained" in captured.out
    data = json.loads(js.read_text())
    items = data["items"]
    assert "corrupt.jpg" in items[1]["error"]
    for item in (items[0], items[2]):
        assert Path(item["overlay"]).is_file()
        assert Path(item["json"]).is_file()
        assert {"p_before", "p_after", "summary", "n_forward"} <= set(item)
    assert data["summary"]["model"]["architecture"] == "mobilenet_v3_small"
    # Second run is served from the cache.
    assert main(argv) == EXIT_OK
    assert "(2 from cache)" in capsys.readouterr().out


def test_explain_missing_model_is_a_clear_error(tmp_path, capsys) -> None:
    img = tmp_path / "x.png"
    img.write_bytes(b"")
    rc = main(
        ["explain", str(img), "--model", str(tmp_path / "nope"), "--out", str(tmp_path)]
    )
    assert rc == EXIT_FAILURE
    err = capsys.readouterr().err.strip()
    assert err.startswith("soldernet explain: model folder not found")
    assert len(err.splitlines()) == 1


def test_default_model_missing_is_a_clear_error(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SOLDERNET_MODEL", str(tmp_path / "not-installed"))
    rc = main(["soxai", "--data", str(tmp_path), "--out", str(tmp_path)])
    assert rc == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "soldernet soxai:" in err  # the manifest is checked first
    img = tmp_path / "x.png"
    img.write_bytes(b"")
    rc = main(["explain", str(img), "--out", str(tmp_path / "o")])
    assert rc == EXIT_FAILURE
    err = capsys.readouterr().err
    assert "default model folder" in err
    assert "--model" in err


def test_unknown_knob_is_a_clear_error(workspace, tmp_path, capsys) -> None:
    img = sorted(workspace["images"].iterdir())[0]
    rc = main(
        [
            "explain",
            str(img),
            "--model",
            str(workspace["model"]),
            "--out",
            str(tmp_path),
            "--config",
            "colour=red",
        ]
    )
    assert rc == EXIT_FAILURE
    assert "unknown explainer knob 'colour'" in capsys.readouterr().err


def test_xai_eval_end_to_end(workspace, tmp_path, capsys) -> None:
    js = tmp_path / "x.json"
    rc = main(
        [
            "xai-eval",
            "--model",
            str(workspace["model"]),
            "--data",
            str(workspace["data"]),
            "--json",
            str(js),
            "--limit",
            "4",
            "--cache",
            str(tmp_path / "cache"),
            *FAST,
        ]
    )
    assert rc == EXIT_OK
    out = capsys.readouterr().out
    for name in ("ours", "gradcam", "occlusion"):
        assert name in out
    data = json.loads(js.read_text())
    assert data["n_evaluated"] == 4
    for m in data["methods"].values():
        assert set(m["impact"]) == {"blur", "mean", "constant"}
        assert m["coverage"]["n_attacked"] == 4
        assert "pointing_game" in m["localisation"]
        assert m["seconds_per_explanation"] > 0


def test_xai_eval_bad_dataset(tmp_path, capsys) -> None:
    rc = main(["xai-eval", "--data", str(tmp_path / "nowhere")])
    assert rc == EXIT_FAILURE
    err = capsys.readouterr().err
    assert err.startswith("soldernet xai-eval:")
    assert "manifest" in err


def test_soxai_end_to_end(workspace, tmp_path, capsys) -> None:
    out, js = tmp_path / "sox", tmp_path / "s.json"
    rc = main(
        [
            "soxai",
            "--model",
            str(workspace["model"]),
            "--data",
            str(workspace["data"]),
            "--out",
            str(out),
            "--json",
            str(js),
            "--groups",
            "2",
            "--cache",
            str(tmp_path / "cache"),
            *FAST,
        ]
    )
    assert rc == EXIT_OK, capsys.readouterr().err
    assert "group 0" in capsys.readouterr().out
    for name in ("soxai_map.png", "soxai_scatter_groups.png", "soxai.json"):
        assert (out / name).is_file()
    data = json.loads(js.read_text())
    assert data["k"] == 2
    assert len(data["groups"]) == 2
    assert sum(g["size"] for g in data["groups"]) == data["n_embedded"]
    # explain (another patch knob, same cache) reuses soxai's explanations.
    img = sorted(workspace["images"].iterdir())[0]
    rc = main(
        [
            "explain",
            str(img),
            "--model",
            str(workspace["model"]),
            "--out",
            str(tmp_path / "e"),
            "--cache",
            str(tmp_path / "cache"),
            *FAST,
            "--config",
            "patch_steps=7",
        ]
    )
    assert rc == EXIT_OK
    assert "(1 from cache)" in capsys.readouterr().out
