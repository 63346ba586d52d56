"""Training checkpoints: save atomically, load with ``weights_only=True``.

A checkpoint holds plain tensors, dicts and config values made plain by ``_plain``,
so it loads without unpickling arbitrary objects. Used by
``inference.training.train_classifier`` to resume a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from inference.training.results import TrainingError

__all__: list[str] = []


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = f"checkpoint {path} does not exist"
        raise TrainingError(msg)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        msg = f"cannot load checkpoint {path}: {exc}"
        raise TrainingError(msg) from exc
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        msg = f"{path} is not a training checkpoint of this program"
        raise TrainingError(msg)
    return state


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _plain(obj: Any) -> Any:
    """Config values as str/int/float/bool/None/list/dict (weights_only-safe)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return str(obj)
