"""Batched defect classification of joint crops, in eager PyTorch or ONNX Runtime.

`DefectClassifier` wraps a one-logit model with the shared preprocessing
(``inference.preprocessing.EvalPreset``: resize to the input size, /255, float RGB),
the model card's temperature and its region thresholds ``t_lo``/``t_hi``. The ONNX
backend exports the same model (dynamic batch axis) and runs it with onnxruntime;
`compare_backends` checks that both give the same probabilities.
"""

from __future__ import annotations

import logging
import tempfile
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from inference.errors import DataError, InferenceError, ModelLoadError
from inference.preprocessing import preprocess_batch
from inference.types import Region, region_of

__all__ = [
    "BACKENDS",
    "DefectClassifier",
    "JointScore",
    "compare_backends",
    "export_onnx",
]

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")
Crops = Sequence[np.ndarray] | np.ndarray | torch.Tensor


@dataclass(frozen=True)
class JointScore:
    """The classifier's call on one joint.

    Attributes:
        p: calibrated P(defective) (temperature applied).
        logit: raw model logit (before the temperature).
        region: confidence region from the model's ``t_lo``/``t_hi``.
    """

    p: float
    logit: float
    region: Region


def export_onnx(model: nn.Module, path: str | Path, input_size: int = 256) -> Path:
    """Export a one-logit model to ONNX with a dynamic batch axis.

    Args:
        model: the classifier (exported in eval mode, on CPU).
        path: the ``.onnx`` file to write.
        input_size: square input side.

    Returns:
        The written path.

    Raises:
        InferenceError: the exporter failed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    model.eval()
    device = next(iter(model.parameters()), torch.empty(0)).device
    dummy = torch.zeros(1, 3, input_size, input_size, device=device)
    try:
        with warnings.catch_warnings():
            # The TorchScript-based exporter is deprecated in favour of the dynamo one,
            # which needs onnxscript (not a dependency); it still exports these models.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (dummy,),
                str(path),
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
    except Exception as exc:
        msg = f"ONNX export of {type(model).__name__} failed: {exc}"
        raise InferenceError(msg) from exc
    finally:
        model.train(was_training)
    return path


def _card_get(card: Any, key: str, default: Any = None) -> Any:
    if isinstance(card, dict):
        return card.get(key, default)
    return getattr(card, key, default)


class DefectClassifier:
    """Calibrated defect probabilities and regions for batches of joint crops.

    Args:
        model: one-logit classifier (images ``Nx3xHxW`` in [0, 1] -> logits).
        input_size: square input side of the model (the card's ``input_size``).
        temperature: logits are divided by it before the sigmoid.
        t_lo: below this probability a joint is ``non_defect``.
        t_hi: at or above this probability a joint is ``defect``.
        device: torch device for the eager backend (``"auto"``, ``"cpu"``, ``"cuda"``).
        backend: ``"torch"`` (eager) or ``"onnx"`` (onnxruntime).
        batch_size: crops per forward pass (eager torch, and onnxruntime on CUDA).
        onnx_path: where to write the ONNX export (default: a temporary folder).
        architecture: name for messages and benchmarks.
        threads: CPU threads (default: ``torch.get_num_threads()``). onnxruntime on
            the CPU runs a single-threaded session on this many worker threads at
            once, each on ``cpu_chunk`` images (data parallel), instead of one
            multi-threaded run per batch: on 2 cores 0.9 s instead of 1.4 s for
            328 crops at 128 px, and ~50 MB of arena instead of ~470 MB
            (docs/pipeline.md).
        cpu_chunk: images per onnxruntime run on the CPU (4: small activations
            that stay in cache; 2-4 were fastest, 32-64 slowest).

    Raises:
        InferenceError: unknown backend, bad thresholds or temperature.
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        input_size: int = 256,
        temperature: float = 1.0,
        t_lo: float = 0.1,
        t_hi: float = 0.9,
        device: str | torch.device = "cpu",
        backend: str = "torch",
        batch_size: int = 64,
        onnx_path: str | Path | None = None,
        architecture: str = "",
        threads: int | None = None,
        cpu_chunk: int = 4,
    ) -> None:
        from inference.device import select_device

        if backend not in BACKENDS:
            msg = f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}"
            raise InferenceError(msg)
        if not temperature > 0:
            msg = f"temperature must be > 0, got {temperature}"
            raise InferenceError(msg)
        if not 0.0 <= t_lo <= t_hi <= 1.0:
            msg = f"need 0 <= t_lo <= t_hi <= 1, got t_lo={t_lo}, t_hi={t_hi}"
            raise InferenceError(msg)
        if batch_size < 1 or cpu_chunk < 1:
            msg = (
                "batch_size and cpu_chunk must be >= 1, got "
                f"{batch_size} and {cpu_chunk}"
            )
            raise InferenceError(msg)
        self.device = (
            device if isinstance(device, torch.device) else select_device(device)
        )
        self.model = model.eval().to(self.device)
        self.input_size = int(input_size)
        self.temperature = float(temperature)
        self.t_lo = float(t_lo)
        self.t_hi = float(t_hi)
        self.backend = backend
        self.batch_size = int(batch_size)
        self.architecture = architecture or type(model).__name__
        self._onnx_path = Path(onnx_path) if onnx_path is not None else None
        self.threads = max(1, int(threads or torch.get_num_threads()))
        self.cpu_chunk = int(cpu_chunk)
        self._session: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._parallel = False  # data-parallel CPU runs (set by _make_session)
        if backend == "onnx":
            self._session = self._make_session()

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        *,
        device: str = "auto",
        backend: str = "torch",
        batch_size: int = 64,
        onnx_path: str | Path | None = None,
    ) -> DefectClassifier:
        """Load a model folder (weights + ``model.json``) as a classifier.

        Args:
            folder: the model folder.
            device: torch device preference.
            backend: ``"torch"`` or ``"onnx"``.
            batch_size: crops per forward pass.
            onnx_path: where to keep the ONNX export (default: a temporary file,
                removed once onnxruntime has loaded it; the model folder is never
                written to).

        Returns:
            The classifier with the card's input size, temperature and thresholds.

        Raises:
            ModelLoadError: the folder is missing, corrupt or of an unknown
                architecture.
        """
        from inference.model_card import load_model

        return cls.from_loaded(
            load_model(folder),
            device=device,
            backend=backend,
            batch_size=batch_size,
            onnx_path=onnx_path,
        )

    @classmethod
    def from_loaded(
        cls,
        loaded: Any,
        *,
        device: str | torch.device | None = None,
        backend: str = "torch",
        batch_size: int = 64,
        onnx_path: str | Path | None = None,
    ) -> DefectClassifier:
        """A classifier on an already loaded model folder (`model_card.LoadedModel`).

        Args:
            loaded: the loaded model and its card.
            device: torch device (None: where the model was loaded).
            backend: ``"torch"`` or ``"onnx"``.
            batch_size: crops per forward pass.
            onnx_path: where to keep the ONNX export (see `from_folder`).

        Returns:
            The classifier with the card's input size, temperature and thresholds.
        """
        card = loaded.card
        thresholds = _card_get(card, "thresholds", None)
        t_lo = _card_get(card, "t_lo", None)
        t_hi = _card_get(card, "t_hi", None)
        if thresholds is not None:
            t_lo = _card_get(thresholds, "t_lo", t_lo)
            t_hi = _card_get(thresholds, "t_hi", t_hi)
        return cls(
            loaded.model,
            input_size=int(_card_get(card, "input_size", 256) or 256),
            temperature=float(_card_get(card, "temperature", 1.0) or 1.0),
            t_lo=float(0.1 if t_lo is None else t_lo),
            t_hi=float(0.9 if t_hi is None else t_hi),
            device=loaded.device if device is None else device,
            backend=backend,
            batch_size=batch_size,
            onnx_path=onnx_path,
            architecture=str(_card_get(card, "architecture", "") or ""),
        )

    # ----------------------------------------------------------------------------------
    # Input

    def preprocess(self, crops: Crops) -> torch.Tensor:
        """Turn crops into the model's input batch.

        Args:
            crops: a list (or ``NxHxWx3`` array) of ``HxWx3`` uint8 RGB crops of any
                size, or an already preprocessed float tensor ``Nx3xSxS`` in [0, 1]
                with ``S`` = the input size.

        Returns:
            Float tensor ``Nx3xSxS`` on CPU.

        Raises:
            DataError: a crop of the wrong shape or type (names its index).
        """
        if isinstance(crops, torch.Tensor):
            t = crops
            s = self.input_size
            if (
                t.ndim != 4
                or tuple(t.shape[1:]) != (3, s, s)
                or not t.is_floating_point()
            ):
                msg = (
                    f"a tensor batch must be float Nx3x{s}x{s} (preprocessed), got "
                    f"{t.dtype} {tuple(t.shape)}"
                )
                raise DataError(msg)
            return t.detach().to("cpu", torch.float32)
        arrays = (
            crops if isinstance(crops, np.ndarray) else [np.asarray(c) for c in crops]
        )
        for i, arr in enumerate(arrays):
            if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
                msg = (
                    f"crop {i} must be an HxWx3 uint8 RGB array, "
                    f"got {arr.dtype} {arr.shape}"
                )
                raise DataError(msg)
            if arr.shape[0] == 0 or arr.shape[1] == 0:
                msg = f"crop {i} is empty ({arr.shape})"
                raise DataError(msg)
        if len(arrays) == 0:
            return torch.zeros(0, 3, self.input_size, self.input_size)
        if isinstance(arrays, np.ndarray) or len({a.shape for a in arrays}) == 1:
            return preprocess_batch(
                arrays if isinstance(arrays, np.ndarray) else np.stack(arrays),
                self.input_size,
            )
        from inference.training.datasets import preprocess_crop

        return torch.stack([preprocess_crop(a, self.input_size) for a in arrays])

    # ----------------------------------------------------------------------------------
    # Output

    def logits(self, crops: Crops) -> np.ndarray:
        """Raw logits (no temperature) of a batch of crops.

        Args:
            crops: see `preprocess`.

        Returns:
            Float64 array ``(N,)``.
        """
        batch = self.preprocess(crops)
        if batch.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        if self.backend == "onnx":
            return self.onnx_logits(batch.numpy()).astype(np.float64)
        parts = [
            self._forward(batch[i : i + self.batch_size])
            for i in range(0, batch.shape[0], self.batch_size)
        ]
        return np.concatenate(parts).astype(np.float64)

    def predict_proba(self, crops: Crops) -> np.ndarray:
        """Calibrated P(defective) of every crop (temperature applied).

        Args:
            crops: see `preprocess`.

        Returns:
            Float64 array ``(N,)`` in [0, 1].
        """
        return _sigmoid(self.logits(crops) / self.temperature)

    def classify(self, crops: Crops) -> list[JointScore]:
        """Probability, logit and region of every crop.

        Args:
            crops: see `preprocess`.

        Returns:
            One `JointScore` per crop, in order.
        """
        lg = self.logits(crops)
        p = _sigmoid(lg / self.temperature)
        return [
            JointScore(float(pi), float(li), region_of(float(pi), self.t_lo, self.t_hi))
            for pi, li in zip(p, lg, strict=True)
        ]

    def regions(self, p: Sequence[float] | np.ndarray) -> list[Region]:
        """Regions of given probabilities under this model's thresholds."""
        return [region_of(float(v), self.t_lo, self.t_hi) for v in p]

    # ----------------------------------------------------------------------------------
    # Backends

    def onnx_logits(self, images: np.ndarray) -> np.ndarray:
        """Raw logits of preprocessed images through the onnxruntime session.

        On the CPU the images go in runs of ``cpu_chunk`` to ``threads`` workers at
        once (each run single-threaded; onnxruntime releases the GIL), else in
        batches of ``batch_size`` one after the other. Safe to call from several
        threads (the explainer's search forwards share this session).

        Args:
            images: float32 ``Nx3xSxS`` in [0, 1].

        Returns:
            Float32 array ``(N,)``.

        Raises:
            InferenceError: not an onnx classifier.
        """
        if self._session is None:
            msg = "onnx_logits needs the onnx backend"
            raise InferenceError(msg)
        x = np.ascontiguousarray(images, dtype=np.float32)
        n = x.shape[0]
        if n == 0:
            return np.zeros(0, dtype=np.float32)
        if self._parallel:
            # At least one run per worker (2 images go to 2 workers), and a
            # multiple of the workers, so they finish together.
            w = self.threads
            k = max(-(-n // self.cpu_chunk), min(w, n))
            parts = np.array_split(x, min(n, -(-k // w) * w))
        else:
            parts = [x[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
        if len(parts) == 1:
            outs = [self._run(parts[0])]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.threads, thread_name_prefix="soldernet-onnx"
                )
            outs = list(self._pool.map(self._run, parts))
        return np.concatenate(outs).astype(np.float32, copy=False)

    def _run(self, images: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {"images": images})[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def _forward(self, batch: torch.Tensor) -> np.ndarray:
        with torch.inference_mode():
            lg = self.model(batch.to(self.device)).reshape(-1)
        return np.asarray(lg.float().cpu().numpy(), dtype=np.float64)

    def _make_session(self) -> Any:
        import shutil

        import onnxruntime as ort

        tmp_dir: str | None = None
        path = self._onnx_path
        if path is None:
            # Throw-away export: the session holds the model in memory, so the file
            # and its folder are removed right after loading.
            tmp_dir = tempfile.mkdtemp(prefix="soldernet-onnx-")
            path = Path(tmp_dir) / "model.onnx"
        try:
            cpu_model = self.model.to("cpu")
            try:
                export_onnx(cpu_model, path, self.input_size)
            finally:
                self.model.to(self.device)
            providers = ["CPUExecutionProvider"]
            if self.device.type == "cuda" and "CUDAExecutionProvider" in (
                ort.get_available_providers()
            ):
                providers.insert(0, "CUDAExecutionProvider")
            opts = ort.SessionOptions()
            # CPU: single-threaded runs, `threads` of them at once (onnx_logits).
            self._parallel = providers[0] == "CPUExecutionProvider" and (
                self.threads > 1
            )
            opts.intra_op_num_threads = 1 if self._parallel else self.threads
            opts.inter_op_num_threads = 1
            # No busy-waiting of idle pool threads (they would take CPU from the
            # GUI and from torch's threads between runs).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                return ort.InferenceSession(
                    str(path), sess_options=opts, providers=providers
                )
            except Exception as exc:
                msg = f"onnxruntime cannot load {path}: {exc}"
                raise ModelLoadError(msg) from exc
        finally:
            if tmp_dir is not None:
                shutil.rmtree(tmp_dir, ignore_errors=True)

    def with_backend(self, backend: str) -> DefectClassifier:
        """A classifier on the same model and card with another backend."""
        return DefectClassifier(
            self.model,
            input_size=self.input_size,
            temperature=self.temperature,
            t_lo=self.t_lo,
            t_hi=self.t_hi,
            device=self.device,
            backend=backend,
            batch_size=self.batch_size,
            architecture=self.architecture,
            threads=self.threads,
            cpu_chunk=self.cpu_chunk,
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def compare_backends(
    classifier: DefectClassifier,
    *,
    n: int = 16,
    batch_size: int = 8,
    runs: int = 10,
    warmup: int = 3,
    seed: int = 0,
    tolerance: float = 1e-3,
) -> dict[str, Any]:
    """Run eager PyTorch and ONNX Runtime on the same model and inputs, in one run.

    Args:
        classifier: the classifier (any backend; both are built from its model).
        n: random test images.
        batch_size: images per timed forward.
        runs: timed repetitions per backend (mean reported).
        warmup: untimed repetitions first.
        seed: seed of the random images.
        tolerance: largest allowed max-abs difference of the probabilities.

    Returns:
        ``max_abs_prob_diff``, ``max_abs_logit_diff``, ``agree`` (within tolerance),
        per-backend mean/median milliseconds per batch and images per second.
    """
    g = torch.Generator().manual_seed(seed)
    s = classifier.input_size
    images = torch.rand(n, 3, s, s, generator=g)
    eager = classifier.with_backend("torch")
    ort_clf = classifier.with_backend("onnx")
    lg_t = eager.logits(images)
    lg_o = ort_clf.logits(images)
    p_t = _sigmoid(lg_t / classifier.temperature)
    p_o = _sigmoid(lg_o / classifier.temperature)
    result: dict[str, Any] = {
        "architecture": classifier.architecture,
        "input_size": s,
        "n_images": n,
        "max_abs_prob_diff": float(np.max(np.abs(p_t - p_o))),
        "max_abs_logit_diff": float(np.max(np.abs(lg_t - lg_o))),
        # A near-zero spread means a degenerate (constant) model: a vacuous check.
        "logit_std": float(np.std(lg_t)),
        "tolerance": tolerance,
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
    }
    result["agree"] = bool(result["max_abs_prob_diff"] <= tolerance)
    batch = images[:batch_size]
    for name, clf in (("torch", eager), ("onnx", ort_clf)):
        for _ in range(warmup):
            clf.logits(batch)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            clf.logits(batch)
            times.append(time.perf_counter() - t0)
        arr = np.asarray(times) * 1000.0
        result[name] = {
            "mean_ms_per_batch": float(arr.mean()),
            "median_ms_per_batch": float(np.median(arr)),
            "images_per_s": float(batch.shape[0] / (arr.mean() / 1000.0)),
        }
    return result
