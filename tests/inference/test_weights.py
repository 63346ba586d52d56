"""Model folders: safetensors + model.json, and every refusal of load_model."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from inference.architectures import build_model
from inference.errors import ModelLoadError
from inference.model_card import (
    CARD_FILE,
    WEIGHTS_FILE,
    ModelCard,
    load_model,
    save_model,
)
from inference.weights import read_state_dict, sha256_file, write_state_dict

ARCH = "attend_next_s"


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return build_model(ARCH).eval()


@pytest.fixture
def folder(tmp_path, model):
    card = {
        "architecture": ARCH,
        "input_size": 256,
        "temperature": 1.7,
        "t_lo": 0.08,
        "t_hi": 0.93,
        "version": "1.2.0",
        "data": {"train": {"n": 10, "defective": 4}},
        "metrics": {"val": {"accuracy": 0.9, "auroc": float("nan")}},
        "training": {"epochs": 3},
    }
    save_model(model, tmp_path / "m", card)
    return tmp_path / "m"


def test_roundtrip(folder, model):
    assert (folder / WEIGHTS_FILE).is_file()
    raw = json.loads((folder / CARD_FILE).read_text())
    assert raw["architecture"] == ARCH
    assert raw["weights_sha256"] == sha256_file(folder / WEIGHTS_FILE)
    assert raw["thresholds"] == {"t_lo": 0.08, "t_hi": 0.93}
    assert raw["preprocessing"]["size"] == 256
    assert raw["architecture_options"]["input_norm"] == "none"
    assert raw["metrics"]["val"]["auroc"] is None  # NaN stored as null (strict JSON)
    loaded = load_model(folder)
    assert loaded.card.temperature == pytest.approx(1.7)
    assert loaded.card.thresholds == {"t_lo": 0.08, "t_hi": 0.93}
    assert loaded.card.version == "1.2.0"
    assert not loaded.model.training
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x))
    p = loaded.probabilities(x)
    torch.testing.assert_close(p, torch.sigmoid(model(x).reshape(-1) / 1.7))
    assert loaded.preset.size == 256


def test_save_model_accepts_card_object_and_preserves_extra(tmp_path, model):
    card = ModelCard(architecture=ARCH, notes="hello")
    card.extra["site"] = "line 3"
    written = save_model(model, tmp_path / "x", card)
    assert written.weights_sha256
    assert card.weights_sha256 == ""  # caller's card untouched
    loaded = load_model(tmp_path / "x")
    assert loaded.card.extra["site"] == "line 3"
    assert loaded.card.notes == "hello"


def test_missing_folder_card_and_weights(tmp_path, folder):
    with pytest.raises(ModelLoadError, match="not found"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"model\.json is missing"):
        load_model(tmp_path / "empty")
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"model\.safetensors.*missing"):
        load_model(folder)


def test_bad_json(folder):
    (folder / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"model\.json is not valid JSON"):
        load_model(folder)


def test_tampered_weights(folder):
    path = folder / WEIGHTS_FILE
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(
        ModelLoadError, match=r"model\.safetensors: SHA-256 .* modified"
    ):
        load_model(folder)


def _rewrite_sha(folder):
    card = json.loads((folder / CARD_FILE).read_text())
    card["weights_sha256"] = sha256_file(folder / WEIGHTS_FILE)
    (folder / CARD_FILE).write_text(json.dumps(card))


def test_corrupt_weights_with_matching_sha(folder):
    path = folder / WEIGHTS_FILE
    path.write_bytes(path.read_bytes()[:1000])  # truncated
    _rewrite_sha(folder)
    with pytest.raises(
        ModelLoadError, match=r"model\.safetensors is corrupt or truncated"
    ):
        load_model(folder)


def test_mismatched_architecture(folder):
    card = json.loads((folder / CARD_FILE).read_text())
    card["architecture"] = "mobilenet_v2"
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(
        ModelLoadError, match=r"does not match architecture 'mobilenet_v2'"
    ):
        load_model(folder)


def test_mismatched_shapes(folder):
    state = read_state_dict(folder / WEIGHTS_FILE)
    state["fc.weight"] = torch.zeros(2, 744)
    write_state_dict(state, folder / WEIGHTS_FILE)
    _rewrite_sha(folder)
    with pytest.raises(ModelLoadError, match=r"other shapes \(e\.g\. fc\.weight"):
        load_model(folder)


def test_pickled_full_object_refused(folder, model):
    torch.save(model, folder / "model.pt")
    card = json.loads((folder / CARD_FILE).read_text())
    card["weights_file"] = "model.pt"
    card["weights_sha256"] = sha256_file(folder / "model.pt")
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(
        ModelLoadError, match=r"model\.pt: it holds pickled Python objects"
    ):
        load_model(folder)
    # the same pickle renamed to .safetensors is refused too
    (folder / "model.pt").replace(folder / WEIGHTS_FILE)
    card["weights_file"] = WEIGHTS_FILE
    (folder / CARD_FILE).write_text(json.dumps(card))
    _rewrite_sha(folder)
    with pytest.raises(ModelLoadError, match="pickled Python objects"):
        load_model(folder)


def test_plain_state_dict_pt_is_accepted(folder, model):
    torch.save(model.state_dict(), folder / "model.pt")
    card = json.loads((folder / CARD_FILE).read_text())
    card["weights_file"] = "model.pt"
    card["weights_sha256"] = sha256_file(folder / "model.pt")
    (folder / CARD_FILE).write_text(json.dumps(card))
    loaded = load_model(folder)
    assert loaded.weights_path.name == "model.pt"


def test_invalid_card_values(folder):
    card = json.loads((folder / CARD_FILE).read_text())
    card["t_lo"] = 0.7
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelLoadError, match=r"model\.json: thresholds"):
        load_model(folder)


def test_save_model_rejects_wrong_architecture(tmp_path):
    with pytest.raises(Exception, match="card says"):
        save_model(
            build_model("mobilenet_v3_small"), tmp_path / "y", {"architecture": ARCH}
        )


def test_load_model_on_selected_device(folder):
    loaded = load_model(folder, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert loaded.device.type == expected
    assert next(loaded.model.parameters()).device.type == expected


def test_select_device():
    from inference.device import select_device
    from inference.errors import InferenceError

    assert select_device("cpu") == torch.device("cpu")
    assert select_device(" CPU ") == torch.device("cpu")
    assert select_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InferenceError, match="unknown device"):
        select_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InferenceError, match="CUDA is not available"):
            select_device("cuda")


def test_error_hierarchy():
    from inference import errors

    for cls in (
        errors.ModelLoadError,
        errors.ImageDecodeError,
        errors.Cancelled,
        errors.DataError,
    ):
        assert issubclass(cls, errors.InferenceError)
    assert issubclass(errors.DataError, ValueError)
