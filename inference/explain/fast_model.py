"""Faster evaluation paths for the explainer that compute the same function.

Two levers, both checked against the eager model before use:

- `fold_batchnorm`: an eval-mode *copy* of a model with every BatchNorm that directly
  follows a convolution folded into that convolution's weights, TF-style "same"
  padding of stride-1 convolutions turned into ordinary symmetric padding (no
  `F.pad` per call) and parameters frozen (`requires_grad=False`, so backward
  passes compute input gradients only). `fast_grad_model` runs that copy in
  channels-last layout, 16 images at a time (`ChunkedForward`); used for the
  integrated gradients.
- `OnnxForward`: the model exported to ONNX (`inference.classifier.export_onnx`
  through `DefectClassifier`'s ONNX backend) for the search forwards, or the
  station classifier's own onnxruntime session shared (its logits divided by the
  card temperature, as `CalibratedModel` does), so the process holds one session.

`resolve_backend` picks `torch`, `onnx` or, for `auto`, ONNX only where onnxruntime
imports, the model runs on the CPU and the export agrees with torch on logits.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from inference.architectures.base import TFSameConv2d, conv_sharing_weights
from inference.explain._torch import forward_logits

if TYPE_CHECKING:
    from inference.classifier import DefectClassifier

log = logging.getLogger(__name__)

#: Largest absolute logit difference accepted between a fast path and eager torch.
AGREE_TOL = 1e-4

#: Backends of the search forwards (`ExplainConfig.backend`).
BACKENDS = ("torch", "onnx", "auto")

Forward = Callable[[torch.Tensor], torch.Tensor]


def _check_images(model: nn.Module, size: tuple[int, int], n: int = 4) -> torch.Tensor:
    g = torch.Generator().manual_seed(1234)
    device = next(iter(model.parameters()), torch.empty(0)).device
    return torch.rand(n, 3, *size, generator=g).to(device)


def _max_logit_diff(a: Forward, b: Forward, xs: torch.Tensor) -> float:
    la = a(xs).double().cpu()
    lb = b(xs).double().cpu()
    return float((la - lb).abs().max())


def _conv_bn_pairs(model: nn.Module, example: torch.Tensor) -> list[tuple[str, str]]:
    """(conv name, bn name) where the BN's input is that conv's output tensor.

    Found with forward hooks on one example forward; modules called more than once
    are left out. Outputs are kept alive during the forward so tensor ids are unique.
    """
    names = {m: n for n, m in model.named_modules()}
    calls: dict[str, int] = {}
    produced: dict[int, str] = {}
    keep: list[torch.Tensor] = []
    pairs: dict[str, str] = {}

    def conv_hook(mod: nn.Module, _inp: Any, out: Any) -> None:
        name = names[mod]
        calls[name] = calls.get(name, 0) + 1
        if isinstance(out, torch.Tensor):
            keep.append(out)
            produced[id(out)] = name

    def bn_hook(mod: nn.Module, inp: Any, _out: Any) -> None:
        name = names[mod]
        calls[name] = calls.get(name, 0) + 1
        src = produced.get(id(inp[0])) if inp else None
        if src is not None:
            pairs[name] = src

    handles = []
    for mod in model.modules():
        if type(mod) is nn.BatchNorm2d:
            handles.append(mod.register_forward_hook(bn_hook))
        elif isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook))
    try:
        with torch.inference_mode():
            model(example)
    finally:
        for h in handles:
            h.remove()
    return [
        (conv, bn)
        for bn, conv in pairs.items()
        if calls.get(bn) == 1 and calls.get(conv) == 1
    ]


def _set_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, attr = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, attr, new)


def _static_same_padding(conv: nn.Conv2d) -> nn.Conv2d | None:
    """An `nn.Conv2d` equal to a TF-"same" stride-1 odd-kernel convolution, else None.

    For stride 1 and dilation d the "same" padding is `d·(k−1)` in total, split evenly
    when `k` is odd, whatever the input size: plain symmetric zero padding.
    """
    if not isinstance(conv, TFSameConv2d):
        return None
    if getattr(conv, "padding_mode", "zeros") != "zeros" or conv.padding not in (
        (0, 0),
        0,
    ):
        return None
    if conv.stride != (1, 1) or any(k % 2 == 0 for k in conv.kernel_size):
        return None
    pad = tuple(
        d * (k - 1) // 2 for k, d in zip(conv.kernel_size, conv.dilation, strict=True)
    )
    return conv_sharing_weights(conv, stride=1, padding=pad)


def fold_batchnorm(
    model: nn.Module, example: torch.Tensor, tol: float = AGREE_TOL
) -> nn.Module:
    """An eval-mode copy of `model` with conv→BatchNorm pairs folded (model untouched).

    Also replaces stride-1 TF-"same" convolutions (`TFSameConv2d`) by
    symmetric-padding `nn.Conv2d` and freezes all parameters of the copy. The copy
    is checked on random images of `example`'s size: if its logits differ from the
    model's by more than `tol`, the padding change and then the folding are dropped
    (each with a log line), so the result always computes the model's function.

    Args:
        model: the network (any mode; the copy is in eval mode).
        example: one input `1×3×H×W` used to trace which conv feeds which BN.
        tol: largest accepted absolute logit difference.

    Returns:
        The folded copy (or an unfolded eval-mode copy when folding failed).
    """
    src = copy.deepcopy(model).eval()
    for p in src.parameters():
        p.requires_grad_(False)
    xs = _check_images(src, tuple(example.shape[2:]))

    def ref(b: torch.Tensor) -> torch.Tensor:
        return forward_logits(src, b, b.shape[0])

    pairs = _conv_bn_pairs(src, example.to(xs.device))
    for fix_padding in (True, False):
        fused = copy.deepcopy(src)
        for conv_name, bn_name in pairs:
            conv = fused.get_submodule(conv_name)
            bn = fused.get_submodule(bn_name)
            new = torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
            for p in new.parameters():
                p.requires_grad_(False)
            _set_module(fused, conv_name, new)
            _set_module(fused, bn_name, nn.Identity())
        if fix_padding:
            for name, mod in list(fused.named_modules()):
                if isinstance(mod, nn.Conv2d):
                    plain = _static_same_padding(mod)
                    if plain is not None:
                        _set_module(fused, name, plain)

        def got(b: torch.Tensor, m: nn.Module = fused) -> torch.Tensor:
            return forward_logits(m, b, b.shape[0])

        diff = _max_logit_diff(ref, got, xs)
        if diff <= tol:
            log.debug(
                "folded %d conv-BN pairs (static padding %s), logit diff %.2e",
                len(pairs),
                fix_padding,
                diff,
            )
            return fused
        log.info(
            "BN folding%s changes logits by %.2e > %.0e; %s",
            " with static padding" if fix_padding else "",
            diff,
            tol,
            "retrying without the padding change" if fix_padding else "not folded",
        )
    return src


class ChunkedForward(nn.Module):
    """Runs a network on chunks of a batch, optionally in channels-last layout.

    Same function as `inner` (up to float rounding); on a CPU, forward+backward
    of 16 images at a time in channels-last layout kept the working set in cache
    and took about half the time of one 32-image NCHW pass (EfficientNet-Lite0 at
    128², one thread).

    Args:
        inner: the network (eval mode).
        chunk: images per pass.
        channels_last: convert the input (and expect `inner`) to channels-last.
    """

    def __init__(self, inner: nn.Module, chunk: int = 16, channels_last: bool = True):
        super().__init__()
        self.inner = inner
        self.chunk = max(1, int(chunk))
        self.channels_last = channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of `x`, chunk by chunk, concatenated."""
        outs = []
        for start in range(0, x.shape[0], self.chunk):
            part = x[start : start + self.chunk]
            if self.channels_last:
                part = part.contiguous(memory_format=torch.channels_last)
            outs.append(self.inner(part))
        return torch.cat(outs)


def fast_grad_model(
    model: nn.Module,
    example: torch.Tensor,
    chunk: int = 16,
    channels_last: bool = True,
    tol: float = AGREE_TOL,
) -> nn.Module:
    """The network for gradient passes (integrated gradients): a folded copy
    (`fold_batchnorm`) run in chunks of `chunk` images, channels-last on the CPU.

    Checked against `model` on random images (logits within `tol`); when the layout
    change breaks that, the plain folded copy is returned. `model` is not changed.
    """
    folded = fold_batchnorm(model, example, tol)
    device = next(iter(folded.parameters()), torch.empty(0)).device
    cl = channels_last and device.type == "cpu"
    inner = (
        copy.deepcopy(folded).to(memory_format=torch.channels_last) if cl else folded
    )
    fast = ChunkedForward(inner, chunk, cl).eval()
    xs = _check_images(folded, tuple(example.shape[2:]))

    def ref(b: torch.Tensor) -> torch.Tensor:
        return forward_logits(model, b, b.shape[0])

    def got(b: torch.Tensor) -> torch.Tensor:
        return forward_logits(fast, b, b.shape[0])

    was = model.training
    model.eval()
    try:
        diff = _max_logit_diff(ref, got, xs)
    finally:
        model.train(was)
    if diff <= tol:
        return fast
    log.info("chunked/channels-last copy differs by %.2e; using the folded copy", diff)
    return folded


class OnnxForward:
    """Logits of a model through onnxruntime, as a drop-in for the eager forward.

    Either its own export (`DefectClassifier`'s ONNX backend: `export_onnx`,
    dynamic batch axis, fixed square input `size`) or, with `classifier`, that
    classifier's session: the station's classifier scores the same network, so its
    raw logits divided by its temperature are the logits of the temperature-wrapped
    model the explainer explains (`make_onnx_forward` checks this against torch).
    On the CPU, runs are single-threaded and spread over `torch.get_num_threads()`
    workers (`DefectClassifier.onnx_logits`).

    Args:
        model: the one-logit network exactly as it is explained (e.g. with the
            temperature wrapper), on the CPU.
        size: square input side it is exported for.
        batch_size: images per session run when runs are not spread over workers.
        classifier: an onnx-backend `DefectClassifier` of `model`'s inner network
            whose session is shared (None: export `model`).

    Raises:
        ImportError: onnxruntime is not installed.
        InferenceError: the export failed, or `classifier` has no session of
            `size`.
        ModelLoadError: onnxruntime cannot load the export.
    """

    def __init__(
        self,
        model: nn.Module,
        size: int,
        batch_size: int = 8,
        *,
        classifier: DefectClassifier | None = None,
    ) -> None:
        import onnxruntime  # noqa: F401  (fail early and clearly)

        from inference.classifier import DefectClassifier
        from inference.errors import InferenceError

        self.size = int(size)
        self.shared = classifier is not None
        if classifier is not None:
            if classifier.backend != "onnx" or classifier.input_size != self.size:
                msg = (
                    f"cannot share a {classifier.backend} classifier at "
                    f"{classifier.input_size} px for {self.size} px forwards"
                )
                raise InferenceError(msg)
            self._clf = classifier
            self._temperature = float(classifier.temperature)
            return
        device = next(iter(model.parameters()), torch.empty(0)).device
        self._clf = DefectClassifier(
            model,
            input_size=self.size,
            device=device,
            backend="onnx",
            batch_size=batch_size,
        )
        self._temperature = 1.0

    def accepts(self, x: torch.Tensor) -> bool:
        """True for CPU images of the exported size."""
        return x.device.type == "cpu" and tuple(x.shape[-2:]) == (self.size,) * 2

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """`N` float32 logits of `N×3×size×size` images."""
        x = batch.detach().to("cpu", torch.float32).numpy()
        out = self._clf.onnx_logits(x)
        if self._temperature != 1.0:
            out = out / np.float32(self._temperature)
        return torch.from_numpy(np.asarray(out, dtype=np.float32))


def make_onnx_forward(
    model: nn.Module,
    size: int,
    batch_size: int = 8,
    tol: float = AGREE_TOL,
    classifier: DefectClassifier | None = None,
) -> OnnxForward:
    """Export `model` (or share `classifier`'s session) and check it against eager
    torch on 4 random images.

    A shared session that disagrees (another network or temperature) is dropped
    with a log line and `model` is exported instead.

    Raises:
        ImportError: no onnxruntime.
        RuntimeError: the export disagrees with torch by more than `tol`.
        InferenceError | ModelLoadError: export or loading failed.
    """
    xs = _check_images(model, (size, size))

    def ref(b: torch.Tensor) -> torch.Tensor:
        was = model.training
        model.eval()
        try:
            return forward_logits(model, b, b.shape[0])
        finally:
            model.train(was)

    if classifier is not None:
        try:
            shared = OnnxForward(model, size, batch_size, classifier=classifier)
            diff = _max_logit_diff(ref, shared, xs)
        except Exception as exc:  # any failure: export the model itself
            log.info("cannot share the classifier's ONNX session: %s", exc)
        else:
            if diff <= tol:
                log.debug("shared ONNX session agrees: max logit diff %.2e", diff)
                return shared
            log.info(
                "the classifier's ONNX session differs by %.2e > %.0e; exporting",
                diff,
                tol,
            )
    onnx = OnnxForward(model, size, batch_size)
    diff = _max_logit_diff(ref, onnx, xs)
    if not diff <= tol:
        msg = f"ONNX export disagrees with torch: max logit diff {diff:.2e} > {tol:.0e}"
        raise RuntimeError(msg)
    log.debug("ONNX export agrees with torch: max logit diff %.2e", diff)
    return onnx


def resolve_backend(
    backend: str,
    model: nn.Module,
    size: int,
    batch_size: int = 8,
    classifier: DefectClassifier | None = None,
) -> tuple[str, OnnxForward | None]:
    """The search backend actually used and its forward (None = eager torch).

    `torch` never exports; `onnx` raises when the export is impossible; `auto`
    uses ONNX when onnxruntime imports, the model is on the CPU and the export
    agrees with torch within `AGREE_TOL`, else falls back to torch with a log line
    saying why. `classifier`: an onnx `DefectClassifier` whose session the
    forwards share when it computes the same function (`make_onnx_forward`).

    Raises:
        ValueError: unknown backend.
        ImportError | RuntimeError | InferenceError | ModelLoadError: `onnx` only.
    """
    if backend not in BACKENDS:
        msg = f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}"
        raise ValueError(msg)
    if backend == "torch":
        return "torch", None
    if backend == "onnx":
        return "onnx", make_onnx_forward(model, size, batch_size, classifier=classifier)
    device = next(iter(model.parameters()), torch.empty(0)).device
    if device.type != "cpu":
        log.info("explainer backend auto: model on %s, using torch", device)
        return "torch", None
    try:
        fwd = make_onnx_forward(model, size, batch_size, classifier=classifier)
    except Exception as exc:  # any export/runtime failure means: stay on torch
        log.info("explainer backend auto: ONNX unavailable (%s), using torch", exc)
        return "torch", None
    log.info("explainer backend auto: using onnxruntime for the search forwards")
    return "onnx", fwd
