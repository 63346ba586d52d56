"""Model folders: safetensors weights + a ``model.json`` card.

A model folder holds ``model.safetensors`` and ``model.json`` with the architecture (and
the options needed to rebuild it exactly), input size, preprocessing, region thresholds
``t_lo``/``t_hi``, temperature, a data summary, metrics, a version and the SHA-256 of
the
weights. `load_model` refuses missing, corrupt, tampered (SHA-256 mismatch), mismatched
(state_dict names or shapes) and pickled full-object files with messages naming the
file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.errors import DataError, InferenceError, ModelLoadError
from inference.preprocessing import EvalPreset
from inference.weights import (
    LEGACY_SUFFIXES,
    check_state_dict,
    read_state_dict,
    sha256_file,
    write_state_dict,
)

__all__ = [
    "CARD_FILE",
    "FORMAT_VERSION",
    "WEIGHTS_FILE",
    "LoadedModel",
    "ModelCard",
    "load_model",
    "save_model",
]

logger = logging.getLogger(__name__)

CARD_FILE = "model.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy/torch scalars to Python, NaN/inf to None, tuples to
    lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray | torch.Tensor):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


@dataclass
class ModelCard:
    """The ``model.json`` of a model folder.

    Attributes:
        architecture: registry name (`inference.architectures.build_model`).
        architecture_options: options that rebuild the exact layout (input norm,
            padding).
        input_size: side of the square model input.
        preprocessing: `EvalPreset.to_dict()` of the preprocessing used in training.
        t_lo: lower region threshold (below: non-defect).
        t_hi: upper region threshold (at or above: defect).
        temperature: logits are divided by it before the sigmoid.
        data: summary of the training/validation/test data.
        metrics: evaluation results.
        version: model version string.
        weights_file: weight file name inside the folder.
        weights_sha256: SHA-256 of the weight file.
        created_utc: ISO-8601 creation time.
        training: training settings (free form).
        notes: free text.
        format_version: card format version.
        extra: unknown keys preserved from older/newer cards.
    """

    architecture: str
    architecture_options: dict[str, Any] = field(default_factory=dict)
    input_size: int = 256
    preprocessing: dict[str, Any] = field(
        default_factory=lambda: EvalPreset().to_dict()
    )
    t_lo: float = 0.1
    t_hi: float = 0.9
    temperature: float = 1.0
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str = "0.0.0"
    weights_file: str = WEIGHTS_FILE
    weights_sha256: str = ""
    created_utc: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def thresholds(self) -> dict[str, float]:
        """``{"t_lo": ..., "t_hi": ...}``."""
        return {"t_lo": self.t_lo, "t_hi": self.t_hi}

    @property
    def preset(self) -> EvalPreset:
        """The preprocessing preset described by the card."""
        return EvalPreset.from_dict(self.preprocessing)

    def validate(self) -> None:
        """Check value ranges and consistency.

        Raises:
            DataError: naming the offending field.
        """
        from inference.architectures import ARCHITECTURES

        if self.architecture not in ARCHITECTURES:
            msg = f"unknown architecture {self.architecture!r}"
            raise DataError(msg)
        if not 0.0 <= self.t_lo <= 0.5 <= self.t_hi <= 1.0:
            msg = (
                "thresholds need 0 <= t_lo <= 0.5 <= t_hi <= 1, "
                f"got {self.t_lo}, {self.t_hi}"
            )
            raise DataError(msg)
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            msg = f"temperature must be > 0, got {self.temperature}"
            raise DataError(msg)
        if self.input_size < 8:
            msg = f"input_size must be >= 8, got {self.input_size}"
            raise DataError(msg)
        if int(self.preprocessing.get("size", self.input_size)) != self.input_size:
            msg = (
                f"preprocessing size {self.preprocessing.get('size')} differs from "
                f"input_size {self.input_size}"
            )
            raise DataError(msg)
        self.preset  # noqa: B018 - validates the preprocessing entry
        if self.weights_sha256 and not _SHA_RE.match(self.weights_sha256):
            msg = f"weights_sha256 is not 64 hex digits: {self.weights_sha256!r}"
            raise DataError(msg)
        if Path(self.weights_file).name != self.weights_file:
            msg = f"weights_file must be a plain file name, got {self.weights_file!r}"
            raise DataError(msg)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``extra`` keys merged at top level)."""
        d = dataclasses.asdict(self)
        extra = d.pop("extra")
        d["thresholds"] = self.thresholds
        return _plain({**extra, **d})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Build a card from a dict (accepts nested ``thresholds`` and
        ``data_summary``).

        Args:
            data: parsed ``model.json`` or a dict given to `save_model`.

        Returns:
            The card.

        Raises:
            DataError: missing architecture or wrongly typed fields.
        """
        d = dict(data)
        thresholds = d.pop("thresholds", None) or {}
        if "data_summary" in d and "data" not in d:
            d["data"] = d.pop("data_summary")
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in d.items() if k in names and k != "extra"}
        extra = {
            **dict(d.get("extra") or {}),
            **{k: v for k, v in d.items() if k not in names},
        }
        if "architecture" not in known or not isinstance(known["architecture"], str):
            msg = "model card lacks 'architecture' (a registry name string)"
            raise DataError(msg)
        for key in ("t_lo", "t_hi"):
            if key in thresholds and key not in known:
                known[key] = thresholds[key]
        try:
            for key in ("t_lo", "t_hi", "temperature"):
                if key in known and known[key] is not None:
                    known[key] = float(known[key])
            if "input_size" in known:
                size = known["input_size"]
                known["input_size"] = int(
                    size[0] if isinstance(size, list | tuple) else size
                )
            for key in ("format_version",):
                if key in known:
                    known[key] = int(known[key])
            for key in (
                "version",
                "weights_file",
                "weights_sha256",
                "created_utc",
                "notes",
            ):
                if key in known and known[key] is not None:
                    known[key] = str(known[key])
        except (TypeError, ValueError) as exc:
            msg = f"model card has a wrongly typed field: {exc}"
            raise DataError(msg) from exc
        known = {k: v for k, v in known.items() if v is not None}
        return cls(**known, extra=extra)


@dataclass
class LoadedModel:
    """A model folder loaded into memory.

    Attributes:
        model: the network in eval mode on ``device``.
        card: its card.
        folder: the folder it came from.
        weights_path: the weight file.
        device: where the model lives.
    """

    model: nn.Module
    card: ModelCard
    folder: Path
    weights_path: Path
    device: torch.device

    @property
    def preset(self) -> EvalPreset:
        """The preprocessing to apply to crops."""
        return self.card.preset

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw logits ``(N,)`` of a preprocessed ``N x 3 x H x W`` batch."""
        return self.model(batch.to(self.device)).reshape(-1).float().cpu()

    def probabilities(self, batch: torch.Tensor) -> torch.Tensor:
        """Calibrated P(defective) ``(N,)``: ``sigmoid(logit / temperature)``."""
        return torch.sigmoid(self.logits(batch) / self.card.temperature)


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(
    model: nn.Module, folder: str | Path, card: ModelCard | Mapping[str, Any]
) -> ModelCard:
    """Write ``model.safetensors`` and ``model.json`` into ``folder`` (created if
    needed).

    The card's architecture options, weight file name, SHA-256 and creation time are
    filled in here; the model's state_dict is checked against a fresh build of the
    architecture first, so a folder that saves also loads.

    Args:
        model: a network from `inference.architectures.build_model`.
        folder: destination folder.
        card: a `ModelCard` or a dict with at least ``architecture``.

    Returns:
        The card as written.

    Raises:
        DataError: invalid card values.
        ModelLoadError: the model does not match the card's architecture.
    """
    from inference.architectures import build_model_from_options

    folder = Path(folder)
    c = card if isinstance(card, ModelCard) else ModelCard.from_dict(card)
    c = dataclasses.replace(c)
    options = getattr(model, "arch_options", None)
    if callable(options):
        opts = dict(options())
        if opts.get("name") and opts["name"] != c.architecture:
            msg = f"model is a {opts['name']!r} but the card says {c.architecture!r}"
            raise DataError(msg)
        c.architecture_options = {k: v for k, v in opts.items() if k != "name"}
    if c.preprocessing.get("size") != c.input_size:
        c.preprocessing = EvalPreset(size=c.input_size).to_dict()
    c.weights_file = WEIGHTS_FILE
    c.created_utc = datetime.now(UTC).isoformat(timespec="seconds")
    c.validate()
    state = model.state_dict()
    fresh = build_model_from_options({"name": c.architecture, **c.architecture_options})
    check_state_dict(fresh, state, "model to save", c.architecture)
    folder.mkdir(parents=True, exist_ok=True)
    c.weights_sha256 = write_state_dict(
        state, folder / c.weights_file, metadata={"architecture": c.architecture}
    )
    text = json.dumps(c.to_dict(), indent=2, allow_nan=False)
    _write_text_atomic(folder / CARD_FILE, text + "\n")
    logger.info("saved %s model to %s", c.architecture, folder)
    return c


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a model folder after checking the card, the SHA-256 and the state_dict.

    Args:
        folder: folder with ``model.json`` and the weight file it names.
        device: ``"cpu"``, ``"cuda"``, ``"auto"`` or a `torch.device`.

    Returns:
        The loaded model (eval mode).

    Raises:
        ModelLoadError: missing folder/card/weights, unreadable card, SHA-256 mismatch
            (tampered or corrupted file), corrupt or pickled weight file, or weights
            that
            do not fit the architecture. Every message names the file.
    """
    from inference.architectures import build_model_from_options
    from inference.device import select_device

    folder = Path(folder)
    if not folder.exists():
        msg = f"model folder not found: {folder}"
        raise ModelLoadError(msg)
    if not folder.is_dir():
        msg = (
            f"{folder} is a file; expected a model folder with {CARD_FILE} and weights"
        )
        raise ModelLoadError(msg)
    card_path = folder / CARD_FILE
    if not card_path.is_file():
        msg = f"{card_path} is missing: not a model folder"
        raise ModelLoadError(msg)
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"{card_path} is not valid JSON: {exc}"
        raise ModelLoadError(msg) from exc
    if not isinstance(raw, dict):
        msg = f"{card_path} must hold a JSON object"
        raise ModelLoadError(msg)
    try:
        card = ModelCard.from_dict(raw)
        card.validate()
    except DataError as exc:
        msg = f"{card_path}: {exc}"
        raise ModelLoadError(msg) from exc
    if card.format_version > FORMAT_VERSION:
        msg = (
            f"{card_path} has format version {card.format_version}; this program reads "
            f"up to {FORMAT_VERSION}: update the software"
        )
        raise ModelLoadError(msg)
    weights_path = folder / card.weights_file
    if not weights_path.is_file():
        msg = f"weight file {weights_path} named in {card_path} is missing"
        raise ModelLoadError(msg)
    if card.weights_sha256:
        actual = sha256_file(weights_path)
        if actual != card.weights_sha256:
            msg = (
                f"{weights_path}: SHA-256 {actual[:16]}... does not match {CARD_FILE} "
                f"({card.weights_sha256[:16]}...): the weight file was modified, "
                "replaced or corrupted after export; refusing to load it"
            )
            raise ModelLoadError(msg)
    elif weights_path.suffix.lower() not in LEGACY_SUFFIXES:
        msg = f"{card_path} lacks weights_sha256: cannot verify {weights_path}"
        raise ModelLoadError(msg)
    else:
        logger.warning(
            "%s has no SHA-256 in %s; loading unverified", weights_path, card_path
        )
    state = read_state_dict(weights_path)
    try:
        model = build_model_from_options(
            {"name": card.architecture, **card.architecture_options}
        )
    except InferenceError as exc:
        msg = f"{card_path}: cannot build architecture {card.architecture!r}: {exc}"
        raise ModelLoadError(msg) from exc
    check_state_dict(model, state, weights_path, card.architecture)
    model.load_state_dict(state, strict=True)
    dev = device if isinstance(device, torch.device) else select_device(device)
    model.eval().to(dev)
    logger.info("loaded %s (%s) from %s", card.architecture, card.version, folder)
    return LoadedModel(
        model=model, card=card, folder=folder, weights_path=weights_path, device=dev
    )
