"""Training loop: accuracy on a separable toy set, resume, determinism, bad input."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from inference.errors import DataError, ImageDecodeError
from inference.training import train_classifier as tc
from inference.training.datasets import AugmentConfig, JointCropDataset, augment
from inference.training.train_classifier import (
    TrainConfig,
    TrainingError,
    get_args_parser,
    head_parameters,
    train,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_toy_dataset(
    root: Path,
    n: int = 80,
    seed: int = 0,
    size: int = 48,
    one_class: int | None = None,
    group_size: int = 2,
) -> Path:
    """Write a separable toy joint set: a bright blob on a dark crop = defective."""
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = int(i % 2) if one_class is None else int(one_class)
        img = rng.normal(40, 8, (size, size, 3)).clip(0, 255).astype(np.uint8)
        c = (int(rng.integers(16, size - 16)), int(rng.integers(16, size - 16)))
        cv2.circle(img, c, size // 6, (90, 90, 80), -1)
        if label:
            b = (int(rng.integers(10, size - 10)), int(rng.integers(10, size - 10)))
            cv2.circle(img, b, size // 8, (235, 235, 220), -1)
        name = f"images/{i:04d}.png"
        cv2.imwrite(str(root / name), np.ascontiguousarray(img[:, :, ::-1]))
        rows.append([name, label, "blob" if label else "none", f"g{i // group_size}"])
    with open(root / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "defect_type", "group"])
        w.writerows(rows)
    return root


def tiny_config(data: Path, out: Path, **kw: object) -> TrainConfig:
    """A few-second CPU configuration through the real code paths."""
    base = TrainConfig(
        data=[str(data)],
        out=str(out),
        arch="attend_next_s",
        epochs=1,
        lp_epochs=1,
        batch_size=8,
        lr=1e-2,
        lp_lr=1e-2,
        input_size=32,
        progress=False,
        device="cpu",
        patience=0,
        precise_bn_batches=4,
    )
    return dataclasses.replace(base, **kw)


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from inference.model_card import load_model

    return load_model(folder).model.state_dict()


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_dataset(tmp_path_factory.mktemp("toy") / "data", n=80)


def test_training_reaches_high_accuracy_and_writes_loadable_model(toy, tmp_path):
    from inference.classifier import DefectClassifier
    from inference.model_card import load_model

    cfg = tiny_config(
        toy,
        tmp_path / "model",
        arch="shufflenet_v2",
        epochs=4,
        lp_epochs=0,
        mixup_alpha=0.0,
        label_smoothing=0.0,
    )
    result = train(cfg)
    assert result.history[-1].val_accuracy >= 0.9
    assert result.val_metrics["accuracy"] >= 0.9
    assert result.test_metrics["accuracy"] >= 0.9
    loaded = load_model(tmp_path / "model")
    card = loaded.card
    assert card.architecture == "shufflenet_v2"
    assert card.input_size == 32
    assert card.temperature == pytest.approx(result.temperature)
    assert 0.0 <= card.t_lo <= 0.5 <= card.t_hi <= 1.0
    assert card.metrics["val"]["accuracy"] >= 0.9
    assert (
        card.data["train"]["n"] + card.data["val"]["n"] + card.data["test"]["n"] == 80
    )
    # The classifier built from the folder reproduces the trained model's calls.
    clf = DefectClassifier.from_folder(tmp_path / "model", device="cpu")
    assert clf.temperature == pytest.approx(result.temperature)
    assert (tmp_path / "model" / "checkpoint.pt").is_file()


def test_resume_continues_and_matches_uninterrupted_run(toy, tmp_path, monkeypatch):
    # Uninterrupted: 1 linear-probe epoch + 2 fine-tune epochs.
    full = train(tiny_config(toy, tmp_path / "full", epochs=2))
    assert full.epochs_run == 3
    assert [h.phase for h in full.history] == ["lp", "ft", "ft"]

    # Interrupted after the second epoch (the first fine-tune epoch) ...
    real = tc.train_one_epoch
    calls = {"n": 0}

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(tc, "train_one_epoch", dying)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(toy, tmp_path / "resumed", epochs=2))
    ck = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 1
    assert ck["phase"] == "ft"
    monkeypatch.setattr(tc, "train_one_epoch", real)

    # ... then resumed: it runs only the last epoch and lands on the same weights.
    resumed = train(tiny_config(toy, tmp_path / "resumed", epochs=2, resume="auto"))
    assert resumed.epochs_run == 3
    assert len(resumed.history) == 3
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "resumed")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_same_seed_same_weights_other_seed_differs(toy, tmp_path):
    train(tiny_config(toy, tmp_path / "a", lp_epochs=0))
    train(tiny_config(toy, tmp_path / "b", lp_epochs=0))
    train(tiny_config(toy, tmp_path / "c", lp_epochs=0, seed=1))
    a, b, c = (_weights(tmp_path / x) for x in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    # Fine-tuning a model folder (`soldernet train --from`) starts from its weights.
    tuned = train(
        tiny_config(toy, tmp_path / "d", lp_epochs=0, from_model=str(tmp_path / "a"))
    )
    assert tuned.card["architecture"] == "attend_next_s"


def test_linear_probe_trains_only_the_head(toy, tmp_path):
    from inference.architectures import build_model
    from inference.model_card import load_model

    torch.manual_seed(0)
    before = dict(build_model("attend_next_s").named_parameters())
    train(tiny_config(toy, tmp_path / "lp", epochs=0, lp_epochs=1))
    after = dict(load_model(tmp_path / "lp").model.named_parameters())
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"fc.weight", "fc.bias"}


def test_balanced_sampler_and_no_augment_run(toy, tmp_path):
    result = train(
        tiny_config(toy, tmp_path / "s", lp_epochs=0, balance="sampler", augment=False)
    )
    assert result.epochs_run == 1


def test_one_class_data_is_refused(tmp_path):
    data = make_toy_dataset(tmp_path / "one", n=12, one_class=0)
    with pytest.raises(DataError, match="only non-defective"):
        train(tiny_config(data, tmp_path / "m"))


def test_empty_dataset_is_refused(tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    (data / "manifest.csv").write_text("path,label,defect_type,group\n", "utf-8")
    with pytest.raises(DataError, match="empty"):
        train(tiny_config(data, tmp_path / "m"))


def test_unreadable_image_names_the_file(tmp_path):
    data = make_toy_dataset(tmp_path / "bad", n=20)
    broken = data / "images" / "0003.png"
    broken.write_bytes(b"this is not a png")
    with pytest.raises(ImageDecodeError, match=r"0003\.png"):
        train(tiny_config(data, tmp_path / "m"))


def test_nan_loss_stops_and_names_epoch_and_batch(toy, tmp_path, monkeypatch):
    import inference.architectures as archs

    real_build = archs.build_model

    def build_nan(name, **kwargs):
        model = real_build(name, **kwargs)
        calls = {"n": 0}

        def poison(_module, _inputs, output):
            if _module.training:
                calls["n"] += 1
                if calls["n"] == 2:
                    return output * float("nan")
            return output

        model.register_forward_hook(poison)
        return model

    monkeypatch.setattr(archs, "build_model", build_nan)
    with pytest.raises(TrainingError, match=r"epoch 1, batch 2"):
        train(tiny_config(toy, tmp_path / "m", lp_epochs=0))


def test_bad_checkpoint_is_refused(toy, tmp_path):
    out = tmp_path / "m"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"garbage")
    with pytest.raises(TrainingError, match="checkpoint"):
        train(tiny_config(toy, out, resume="auto"))


def test_augmentation_is_seeded_per_epoch_and_index(toy):
    rows = sorted((toy / "images").glob("*.png"))[:4]
    ds = JointCropDataset([(p, 1) for p in rows], input_size=32, train=True, seed=3)
    ds.set_epoch(0)
    a0 = ds[1][0]
    ds.set_epoch(0)
    assert torch.equal(a0, ds[1][0])
    ds.set_epoch(1)
    assert not torch.equal(a0, ds[1][0])
    plain = JointCropDataset([(p, 1) for p in rows], input_size=32)[1][0]
    assert plain.shape == (3, 32, 32)
    assert float(a0.min()) >= 0.0
    assert float(a0.max()) <= 1.0


def test_augment_with_p_zero_is_identity():
    img = torch.rand(3, 16, 16)
    out = augment(img.clone(), torch.Generator().manual_seed(0), AugmentConfig(p=0.0))
    assert torch.equal(out, img)


def test_head_parameters_finds_heads():
    from inference.architectures import build_model

    head = head_parameters(build_model("attend_next_s"))
    assert [tuple(p.shape) for p in head] == [(1, 744), (1,)]
    mv2 = build_model("mobilenet_v2")
    assert head_parameters(mv2)[0].shape[0] == 1


def test_args_parser_round_trip():
    args = get_args_parser().parse_args(
        ["--data", "d", "--out", "o", "--lp-epochs", "2", "--epochs", "3"]
    )
    cfg = TrainConfig.from_args(args)
    assert (cfg.lp_epochs, cfg.epochs, cfg.batch_size) == (2, 3, 128)
    assert cfg.weight_decay == pytest.approx(1e-4)


def test_bn_recalibration_keeps_the_function_of_folded_weights():
    from inference.architectures import build_model
    from inference.training.train_classifier import recalibrate_bn_preserving

    torch.manual_seed(0)
    model = build_model("shufflenet_v2")
    with torch.no_grad():  # "folded" BatchNorm, as in converted TFLite weights
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
                m.weight.fill_(1.0)
                m.bias.normal_(0.0, 0.1)
    x = torch.rand(16, 3, 32, 32)
    model.eval()
    with torch.no_grad():
        before = model(x)
    used = recalibrate_bn_preserving(model, [(x, None)], torch.device("cpu"), 4)
    assert used == 1
    model.eval()
    with torch.no_grad():
        after_eval = model(x)
        model.train()
        after_train = model(x)
    torch.testing.assert_close(after_eval, before, rtol=1e-4, atol=1e-4)
    # Train-mode (batch statistics) now computes the same function on this batch.
    torch.testing.assert_close(after_train, before, rtol=1e-3, atol=1e-3)
