"""Choice of the torch device the engine runs on."""

from __future__ import annotations

import logging

import torch

from inference.errors import InferenceError

__all__ = ["BACKENDS", "resolve_backend", "select_device"]

logger = logging.getLogger(__name__)

_CHOICES = ("auto", "cpu", "cuda")


def select_device(preference: str = "auto") -> torch.device:
    """Resolve a device preference into a `torch.device`.

    Args:
        preference: ``"auto"`` (CUDA when available, else CPU), ``"cpu"`` or ``"cuda"``
            (``"cuda:N"`` selects a given GPU).

    Returns:
        The device to use.

    Raises:
        InferenceError: ``preference`` is unknown, or CUDA was asked for and is not
            available.
    """
    pref = preference.strip().lower()
    if pref == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        logger.debug("device auto -> %s", device)
        return device
    if pref == "cpu":
        return torch.device("cpu")
    if pref == "cuda" or pref.startswith("cuda:"):
        if not torch.cuda.is_available():
            msg = f"device {preference!r} requested but CUDA is not available here"
            raise InferenceError(msg)
        device = torch.device(pref)
        if device.index is not None and device.index >= torch.cuda.device_count():
            msg = (
                f"device {preference!r} requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) exist"
            )
            raise InferenceError(msg)
        return device
    msg = f"unknown device {preference!r}; expected one of {', '.join(_CHOICES)}"
    raise InferenceError(msg)


#: Classifier backends: eager PyTorch, ONNX Runtime, or the faster one for the device.
BACKENDS = ("auto", "torch", "onnx")


def resolve_backend(backend: str, device: str = "auto") -> str:
    """Resolve a classifier backend choice into ``"torch"`` or ``"onnx"``.

    ``"auto"`` picks ONNX Runtime on a CPU (measured 2.5-4x the crops per second of
    eager PyTorch, ``bench/bench_classifier.py``) and PyTorch on a GPU. When the
    onnxruntime package cannot be imported, ``"auto"`` falls back to PyTorch with a
    warning. Callers that need the probabilities to agree check them with
    ``inference.classifier.compare_backends``.

    Args:
        backend: ``"auto"``, ``"torch"`` or ``"onnx"``.
        device: the torch device preference the model runs on.

    Raises:
        InferenceError: unknown backend.
    """
    choice = backend.strip().lower()
    if choice not in BACKENDS:
        msg = f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}"
        raise InferenceError(msg)
    if choice != "auto":
        return choice
    if select_device(device).type == "cuda":
        return "torch"
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        logger.warning("onnxruntime is not installed; classifying with PyTorch")
        return "torch"
    return "onnx"
