"""Choice of the torch device the engine runs on."""

from __future__ import annotations

import logging

import torch

from inference.errors import InferenceError

__all__ = ["select_device"]

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
