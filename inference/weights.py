"""Safe reading and writing of weight files (safetensors; plain state_dicts only).

No pickled Python object is ever executed: ``.safetensors`` files are parsed by
`safetensors`, and legacy ``.pt``/``.pth`` files are accepted only when
``torch.load(..., weights_only=True)`` can read them as a plain ``{name: tensor}`` dict.
Model folders (weights + ``model.json``) are handled by `inference.model_card`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from inference.errors import ModelLoadError

__all__ = [
    "LEGACY_SUFFIXES",
    "check_state_dict",
    "read_state_dict",
    "sha256_file",
    "write_state_dict",
]

#: Suffixes read with ``torch.load(weights_only=True)``.
LEGACY_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")

_PICKLE_HINT = (
    "it holds pickled Python objects (for example a whole nn.Module saved with "
    "torch.save(model)), not a plain state_dict; refusing to unpickle it. Re-export "
    "the weights with inference.model_card.save_model() or "
    "torch.save(model.state_dict())"
)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file.

    Args:
        path: the file.
        chunk: read size.

    Returns:
        64 lowercase hex digits.
    """
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _looks_pickled(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4)
    return head[:2] == b"PK" or head[:1] == b"\x80"


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state_dict from ``.safetensors`` or a plain ``.pt``/``.pth`` file (on
    CPU).

    Args:
        path: the weight file.

    Returns:
        ``{name: tensor}``.

    Raises:
        ModelLoadError: missing, truncated/corrupt, or a pickled full-object file;
            the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"weight file not found: {path}"
        raise ModelLoadError(msg)
    if path.suffix.lower() in LEGACY_SUFFIXES:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            if _looks_pickled(path) and "weights_only" in str(exc).lower():
                msg = f"{path}: {_PICKLE_HINT}"
            else:
                msg = f"{path} is not a readable PyTorch state_dict (corrupt?): {exc}"
            raise ModelLoadError(msg) from exc
        if not isinstance(state, Mapping) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            msg = (
                f"{path} does not hold a plain state_dict ({{name: tensor}}); got "
                f"{type(state).__name__}"
            )
            raise ModelLoadError(msg)
        return dict(state)
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        if _looks_pickled(path):
            msg = f"{path} is not a safetensors file: {_PICKLE_HINT}"
        else:
            msg = (
                f"{path} is corrupt or truncated (not a valid safetensors file): {exc}"
            )
        raise ModelLoadError(msg) from exc


def write_state_dict(
    state: Mapping[str, torch.Tensor],
    path: str | Path,
    metadata: dict[str, str] | None = None,
) -> str:
    """Write a state_dict as safetensors atomically (temp file + rename).

    Args:
        state: ``{name: tensor}`` (copied to contiguous CPU tensors).
        path: destination ``.safetensors`` file.
        metadata: optional string metadata stored in the header.

    Returns:
        The SHA-256 of the written file.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".safetensors", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        digest = sha256_file(tmp)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return digest


def check_state_dict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    source: str | Path,
    arch: str = "",
) -> None:
    """Check that ``state`` fits ``model`` exactly (names and shapes).

    Args:
        model: the freshly built network.
        state: the loaded weights.
        source: file name for the message.
        arch: architecture name for the message.

    Raises:
        ModelLoadError: missing, unexpected or mis-shaped tensors (first few listed).
    """
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(
                f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})"
            )
        if shapes:
            parts.append(
                f"{len(shapes)} with other shapes (e.g. {'; '.join(shapes[:3])})"
            )
        what = f"architecture {arch!r}" if arch else type(model).__name__
        msg = f"{source} does not match {what}: " + ", ".join(parts)
        raise ModelLoadError(msg)
