"""Explain a batch of image files with a loaded model (`soldernet explain`).

Per image: load -> preprocess (the model card's preset) -> `explain_cfi` (through the
explanation cache) -> overlay PNG (`render`) + numbers JSON with `summary_text`.
A file that cannot be read or explained gets its error in the output and the rest
of the batch goes on.

The model is wrapped in `CalibratedModel` (logit / temperature), so `p_before` and
`p_after` are the calibrated probabilities shown on the review screen; decisions and
critical masks do not depend on the temperature (the search only uses the logit's
sign), the cache key does.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from PIL.Image import DecompressionBombError
from torch import nn

from inference.errors import InferenceError
from inference.explain.activation import resolve_target_layer
from inference.explain.cache import (
    ExplanationCache,
    cache_key,
    image_hash,
    model_identity,
)
from inference.explain.cfi import explain_cfi
from inference.explain.config import ExplainConfig
from inference.explain.errors import ExplainError
from inference.explain.fast_model import (
    BACKENDS,
    OnnxForward,
    fast_grad_model,
    resolve_backend,
)
from inference.explain.render import render, summary_text
from inference.explain.result import CriticalFactorResult
from inference.preprocessing import EvalPreset, load_image

if TYPE_CHECKING:
    from inference.classifier import DefectClassifier

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

#: Errors that fail one image of a batch, not the batch (a decompression bomb is
#: refused by Pillow with an error that is neither OSError nor ValueError).
ITEM_ERRORS: tuple[type[BaseException], ...] = (
    InferenceError,
    ExplainError,
    ValueError,
    OSError,
    RuntimeError,
    DecompressionBombError,
)


class CalibratedModel(nn.Module):
    """`logit / temperature` of a one-logit model; forwards `features`/`target_layer`.

    Args:
        inner: the classifier.
        temperature: the model card's temperature (> 0).
    """

    def __init__(self, inner: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        if not temperature > 0:
            msg = f"temperature must be > 0, got {temperature}"
            raise ExplainError(msg)
        self.inner = inner
        self.temperature = float(temperature)

    @property
    def target_layer(self) -> nn.Module | None:
        """The inner model's target layer (resolved like `resolve_target_layer`)."""
        return resolve_target_layer(self.inner, "auto")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The inner model's `features(x)`."""
        feats = getattr(self.inner, "features", None)
        if not callable(feats):
            msg = f"{type(self.inner).__name__} has no features(x) method"
            raise ExplainError(msg)
        return feats(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Temperature-scaled logits."""
        out = self.inner(x)
        return out if self.temperature == 1.0 else out / self.temperature


@dataclass
class ExplainModel:
    """A model ready to be explained.

    Attributes:
        model: the (temperature-wrapped) network in eval mode.
        preset: preprocessing of image files.
        model_id: cache identity (`model_identity`).
        info: description for reports (folder, architecture, version, sha256).
    """

    model: nn.Module
    preset: EvalPreset
    model_id: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> torch.device:
        """Where the model's parameters live (CPU for a parameter-free model)."""
        for t in (*self.model.parameters(), *self.model.buffers()):
            return t.device
        return torch.device("cpu")

    def layer(self, cfg: ExplainConfig) -> nn.Module | None:
        """The layer `cfg.target_layer` names, resolved on the inner model."""
        inner = getattr(self.model, "inner", self.model)
        return resolve_target_layer(inner, cfg.target_layer)


def wrap_model(
    model: nn.Module,
    preset: EvalPreset | None = None,
    *,
    model_id: str = "unversioned",
    temperature: float = 1.0,
    info: dict[str, Any] | None = None,
) -> ExplainModel:
    """An `ExplainModel` from an in-memory network (tests, the GUI).

    Args:
        model: one-logit classifier taking `N×3×H×W` in [0, 1].
        preset: preprocessing; default 256×256 / 255.
        model_id: weights hash (or any stable id) for the cache.
        temperature: logit temperature.
        info: report description.
    """
    model.eval()
    return ExplainModel(
        model=CalibratedModel(model, temperature).eval(),
        preset=preset or EvalPreset(),
        model_id=model_identity(model_id, temperature),
        info=dict(info or {"model_id": model_id, "temperature": temperature}),
    )


def load_explain_model(folder: str | Path, device: str = "cpu") -> ExplainModel:
    """Load a model folder (`inference.model_card.load_model`) for explanation.

    Raises:
        ModelLoadError: missing, corrupt or mismatched model folder.
    """
    from inference.model_card import load_model

    lm = load_model(folder, device=device)
    card = lm.card
    info = {
        "folder": str(lm.folder),
        "architecture": card.architecture,
        "version": card.version,
        "weights_sha256": card.weights_sha256,
        "temperature": card.temperature,
        "input_size": card.input_size,
    }
    return wrap_model(
        lm.model,
        card.preset,
        model_id=card.weights_sha256 or f"unverified:{lm.weights_path}",
        temperature=card.temperature,
        info=info,
    )


def load_input(path: str | Path, preset: EvalPreset) -> torch.Tensor:
    """Decode and preprocess one image file into `1×3×S×S` float32 in [0, 1].

    Raises:
        ImageDecodeError: unreadable file.
        DataError: unusable pixels.
    """
    return preset(load_image(path))[None]


class Explainer:
    """CFI with a model, a config and an optional cache.

    The first explanation computed (not a cache hit) prepares the faster paths
    (`inference.explain.fast_model`): the search forwards through onnxruntime when
    the backend resolves to `onnx`, and a batch-norm-folded copy of the model for
    the integrated gradients (the loaded model is never changed). Both compute the
    model's function (checked within 1e-4 on logits), so the critical regions are
    those of the eager torch path and the cache key does not depend on them. They
    are snapshots: a model whose weights change afterwards needs a new `Explainer`.

    Args:
        em: the model.
        cfg: explainer knobs (None = spec defaults).
        cache: explanation cache (None = always compute).
        backend: `torch`, `onnx` or `auto`; None = `cfg.backend`.
        fold_bn: IG on a batch-norm-folded copy of the model
            (`fast_model.fast_grad_model`: also chunked, channels-last).
        classifier: an onnx-backend `DefectClassifier` of the same network (the
            station's): the search forwards share its onnxruntime session instead
            of exporting a second one (checked like an export; None: export).

    Attributes:
        backend: the backend actually used once prepared (`torch` or `onnx`;
            None before the first computed explanation).
    """

    def __init__(
        self,
        em: ExplainModel,
        cfg: ExplainConfig | None = None,
        cache: ExplanationCache | None = None,
        *,
        backend: str | None = None,
        fold_bn: bool = True,
        classifier: DefectClassifier | None = None,
    ) -> None:
        self.em = em
        self.cfg = cfg or ExplainConfig()
        self.cache = cache
        self._layer = em.layer(self.cfg)
        self._want = backend or self.cfg.backend
        if self._want not in BACKENDS:
            msg = f"unknown backend {self._want!r}; use one of {', '.join(BACKENDS)}"
            raise ExplainError(msg)
        self._fold_bn = fold_bn
        self._classifier = classifier
        self.backend: str | None = None
        self._forward: OnnxForward | None = None
        self._grad_model: nn.Module | None = None

    def prepare(self) -> str:
        """Build the fast paths now (else done lazily); returns the backend used.

        Raises:
            ExplainError: backend `onnx` and the export failed or disagrees.
        """
        if self.backend is not None:
            return self.backend
        size = int(self.em.preset.size)
        try:
            self.backend, self._forward = resolve_backend(
                self._want, self.em.model, size, classifier=self._classifier
            )
        except Exception as exc:
            msg = f"explainer backend {self._want!r} unavailable: {exc}"
            raise ExplainError(msg) from exc
        if self._fold_bn:
            example = torch.zeros(1, 3, size, size, device=self.em.device)
            try:
                self._grad_model = fast_grad_model(self.em.model, example)
            except Exception as exc:  # e.g. a model that cannot be deep-copied
                log.info("IG on the model itself: no folded copy (%s)", exc)
                self._grad_model = None
        return self.backend

    def explain(self, x: torch.Tensor) -> tuple[CriticalFactorResult, float, bool]:
        """Explain one preprocessed image.

        Returns:
            `(result, seconds it took to compute, served from cache)`.
        """
        x = x.to(self.em.device)

        def compute() -> CriticalFactorResult:
            self.prepare()
            fwd = self._forward
            return explain_cfi(
                self.em.model,
                x,
                self.cfg,
                target_layer=self._layer,
                forward=fwd if fwd is not None and fwd.accepts(x) else None,
                grad_model=self._grad_model,
            )

        if self.cache is None:
            self.prepare()  # a one-off cost, not this explanation's
            t0 = time.perf_counter()
            result = compute()
            return result, time.perf_counter() - t0, False
        key = cache_key(image_hash(x), self.em.model_id, self.cfg)
        if self.backend is None and not self.cache.paths(key)[1].exists():
            self.prepare()  # a miss: keep the one-off cost out of its seconds
        entry, cached = self.cache.get_or_compute(key, compute)
        result = entry.result
        if cached:  # metric-only knobs may differ from the ones stored
            result = dataclasses.replace(result, params=self.cfg.to_dict())
        return result, entry.seconds, cached


def result_numbers(
    result: CriticalFactorResult, seconds: float, cached: bool
) -> dict[str, Any]:
    """The per-image numbers written to JSON (no arrays)."""
    d = result.to_dict()
    d.pop("params", None)
    return {
        "decision": "defective" if result.decision_before == 1 else "non-defective",
        "summary": summary_text(result),
        **d,
        "n_factors": len(result.factors),
        "seconds": seconds,
        "cached": cached,
    }


def save_overlay(path: Path, rgb: np.ndarray) -> None:
    """Write an `H×W×3` uint8 RGB image as PNG.

    Raises:
        OSError: the file cannot be written.
    """
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        msg = f"cannot write {path}"
        raise OSError(msg)


def _safe_stem(path: Path, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", path.stem) or "image"
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


@dataclass
class ExplainRun:
    """Outcome of `explain_files`.

    Attributes:
        items: one dict per input file, in input order (`error` set on failure).
        summary: counts and mean cost per computed explanation.
    """

    items: list[dict[str, Any]]
    summary: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict."""
        return {"summary": self.summary, "items": self.items}


def cost_summary(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts and mean seconds/forwards/backwards over the explained items."""
    ok = [i for i in items if not i.get("error")]
    fresh = [i for i in ok if not i.get("cached")]

    def mean(key: str, rows: Sequence[dict[str, Any]]) -> float | None:
        return float(np.mean([float(r[key]) for r in rows])) if rows else None

    return {
        "n": len(items),
        "n_ok": len(ok),
        "n_failed": len(items) - len(ok),
        "n_cached": len(ok) - len(fresh),
        "seconds_per_explanation": mean("seconds", ok),
        "forwards_per_explanation": mean("n_forward", ok),
        "backwards_per_explanation": mean("n_backward", ok),
    }


def explain_files(
    em: ExplainModel,
    paths: Sequence[str | Path],
    out_dir: str | Path,
    *,
    cfg: ExplainConfig | None = None,
    cache: ExplanationCache | None = None,
    progress: Progress | None = None,
) -> ExplainRun:
    """Explain image files; write `<stem>.overlay.png` and `<stem>.json` per image.

    Args:
        em: the model.
        paths: image files.
        out_dir: output folder (created).
        cfg: explainer knobs.
        cache: explanation cache.
        progress: called as `progress(done, total)` after every image.

    Returns:
        The per-image numbers and the cost summary (seconds are the compute time,
        also for cached entries, so the cost report stays meaningful).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    explainer = Explainer(em, cfg, cache)
    used: set[str] = set()
    items: list[dict[str, Any]] = []
    for i, p in enumerate(paths):
        path = Path(p)
        stem = _safe_stem(path, used)
        item: dict[str, Any] = {"path": str(path)}
        try:
            x = load_input(path, em.preset)
            result, seconds, cached = explainer.explain(x)
            overlay = out / f"{stem}.overlay.png"
            save_overlay(overlay, render(x, result))
            item.update(result_numbers(result, seconds, cached))
            item["overlay"] = str(overlay)
            json_path = out / f"{stem}.json"
            item["json"] = str(json_path)
            json_path.write_text(json.dumps(item, indent=2), encoding="utf-8")
        except ITEM_ERRORS as exc:
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            log.info("cannot explain %s", msg)
            item["error"] = msg
        items.append(item)
        if progress is not None:
            progress(i + 1, len(paths))
    summary = cost_summary(items)
    summary["model"] = dict(em.info)
    summary["config"] = explainer.cfg.to_dict()
    return ExplainRun(items, summary)


#: `--fast` knobs (algorithms.md §1.6: "reduce with n_segments=32, ig_steps=16").
FAST_KNOBS: dict[str, Any] = {"n_segments": 32, "ig_steps": 16}


def _coerce(name: str, text: str, default: Any) -> Any:
    low = text.strip().lower()
    if low in ("none", "null") and name in (
        "target_layer",
        "eval_baseline",
        "dataset_mean",
        "max_forwards",
    ):
        return None
    if isinstance(default, bool):
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        msg = f"{name} needs true or false, got {text!r}"
        raise ExplainError(msg)
    if isinstance(default, int):
        return int(text)
    if isinstance(default, float):
        return float(text)
    if isinstance(default, tuple) or name == "dataset_mean":
        return tuple(float(v) for v in text.split(","))
    if name == "binarize_area" and low != "matched":
        return float(text)
    return text.strip()


def config_from_overrides(
    pairs: Sequence[str] = (), base: ExplainConfig | None = None, *, fast: bool = False
) -> ExplainConfig:
    """Build an `ExplainConfig` from `key=value` strings (the CLI's `--config`).

    Values take the type of the knob's default (`none` for optional knobs, comma
    separated numbers for tuples).

    Args:
        pairs: `key=value` strings, applied in order.
        base: starting config (default: the spec defaults).
        fast: apply `FAST_KNOBS` first.

    Raises:
        ExplainError: unknown knob, malformed pair or invalid value (names it).
    """
    cfg = base or ExplainConfig()
    defaults = ExplainConfig()
    changes: dict[str, Any] = dict(FAST_KNOBS) if fast else {}
    for pair in pairs:
        if "=" not in pair:
            msg = f"--config expects key=value, got {pair!r}"
            raise ExplainError(msg)
        key, text = (s.strip() for s in pair.split("=", 1))
        if not hasattr(defaults, key) or key.startswith("_"):
            known = ", ".join(sorted(defaults.to_dict()))
            msg = f"unknown explainer knob {key!r}; known: {known}"
            raise ExplainError(msg)
        try:
            changes[key] = _coerce(key, text, getattr(defaults, key))
        except ValueError as exc:
            msg = f"--config {key}={text!r}: {exc}"
            raise ExplainError(msg) from exc
    return cfg.replace(**changes) if changes else cfg


#: IG steps of the station's display heat map: the critical regions do not use IG
#: (same regions as with 32 steps on 40 of 40 review joints of the demo boards) and the
#: completeness error stays small (median 3 %, 90th percentile 9 %, against 0.6 / 2 %
#: with 32), while the explanation takes about a quarter less time.
STATION_IG_STEPS = 8


def station_config(
    cfg: ExplainConfig, overrides: Iterable[str], t_lo: float
) -> ExplainConfig:
    """The station's explainer knobs: "where is the possible defect?", quickly.

    The station explains possibly defective joints, most of which score below 0.5.
    Explaining their *decision* would ask which removal makes a good joint look
    defective; algorithms.md §1.3 gives review joints the ``defect`` target instead:
    the smallest region whose removal brings P(defect) below ``t_lo``, i.e. what
    keeps the joint out of the automatic pass. The display heat map uses
    ``STATION_IG_STEPS`` integration steps. Explicit ``target``,
    ``defect_target_p`` or ``ig_steps`` overrides win.
    """
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    if "ig_steps" not in keys:
        cfg = cfg.replace(ig_steps=min(cfg.ig_steps, STATION_IG_STEPS))
    if "target" in keys:
        return cfg
    if "defect_target_p" in keys:
        return cfg.replace(target="defect")
    if not 0.0 < t_lo < 1.0:  # a degenerate band: keep the config's threshold
        return cfg.replace(target="defect")
    return cfg.replace(target="defect", defect_target_p=float(t_lo))
