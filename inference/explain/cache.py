"""On-disk cache of CFI explanations, so the GUI and the commands never recompute.

An entry is keyed by `sha256(image | model | config | method | version)`:

- image: `image_hash(x)`, the SHA-256 of the preprocessed model input (shape and
  float32 bytes), so the same joint gives the same key whatever its file name;
- model: the weights' SHA-256 from the model card (plus anything else that changes
  the numbers, e.g. the temperature: see `model_identity`);
- config: `config_hash(cfg)`, the SHA-256 of the sorted JSON of every explainer knob
  that can change a CFI result (not the metric-only knobs `METRIC_ONLY_KNOBS` nor
  the execution-only `backend`, `EXECUTION_ONLY_KNOBS`);
- method and `CACHE_VERSION` (bumped when the explainer's output changes).

Each entry is two files in `<folder>/<key[:2]>/`: `<key>.npz` with the arrays
(mask, factor labels, region labels, heat map; plain arrays, read with
`allow_pickle=False`) and `<key>.json` with the numbers, the SHA-256 of the `.npz`
bytes and the compute time. Both are written to a temporary file and renamed
(atomic on one file system); the JSON is written last and is the commit marker. An
entry that cannot be read or does not verify is logged, deleted and recomputed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from inference.explain.config import ExplainConfig
from inference.explain.result import CriticalFactorResult, Factor, SubRegion

log = logging.getLogger(__name__)

#: Bump when the explainer's output for the same inputs changes.
CACHE_VERSION = "cfi-1"

_ARRAYS = ("mask", "factor_labels", "region_labels", "heatmap")


def image_hash(x: Any) -> str:
    """SHA-256 of a preprocessed image (shape, dtype float32, C-order bytes).

    Args:
        x: a `1×3×H×W` / `3×H×W` torch tensor or numpy array.
    """
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    if arr.ndim == 3:
        arr = arr[None]
    h = hashlib.sha256()
    h.update(f"{arr.shape}|float32|".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


#: Knobs that only affect the metrics (patch attack, binarisation, evaluation
#: baseline), never a CFI result: left out of the key so xai-eval, soxai and the GUI
#: share entries.
METRIC_ONLY_KNOBS: frozenset[str] = frozenset(
    {
        "patch_side_frac",
        "patch_steps",
        "patch_lr",
        "patch_target_p",
        "seed",
        "binarize_area",
        "eval_baseline",
    }
)


#: Knobs that choose how the same function is evaluated (torch or onnxruntime for
#: the search forwards), not what is computed: left out of the key, so the hash of
#: the default knobs is the one from before the knob existed.
EXECUTION_ONLY_KNOBS: frozenset[str] = frozenset({"backend"})


def config_hash(cfg: ExplainConfig) -> str:
    """SHA-256 of the sorted JSON of every knob that can change a CFI result."""
    skip = METRIC_ONLY_KNOBS | EXECUTION_ONLY_KNOBS
    knobs = {k: v for k, v in cfg.to_dict().items() if k not in skip}
    text = json.dumps(knobs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def model_identity(weights_sha256: str, temperature: float = 1.0) -> str:
    """What identifies a model for the cache: weights hash and temperature."""
    return f"{weights_sha256}|T={float(temperature)!r}"


def cache_key(
    image_sha: str, model_id: str, cfg: ExplainConfig, method: str = "cfi"
) -> str:
    """The entry key (64 hex digits)."""
    text = "|".join((image_sha, model_id, config_hash(cfg), method, CACHE_VERSION))
    return hashlib.sha256(text.encode()).hexdigest()


def result_to_record(result: CriticalFactorResult) -> dict[str, Any]:
    """Numbers of a result, including the sub-region densities, as a plain dict."""
    d = result.to_dict()
    for fd, f in zip(d["factors"], result.factors, strict=True):
        for sd, s in zip(fd["subregions"], f.subregions, strict=True):
            sd["density"] = s.density
    return d


def result_from_parts(
    record: dict[str, Any], arrays: dict[str, np.ndarray]
) -> CriticalFactorResult:
    """Rebuild a result from `result_to_record` and its arrays."""
    factors = tuple(
        Factor(
            id=int(f["id"]),
            area_px=int(f["area_px"]),
            bbox=tuple(int(v) for v in f["bbox"]),  # type: ignore[arg-type]
            removal_effect=float(f["removal_effect"]),
            restoration_effect=float(f["restoration_effect"]),
            subregions=tuple(
                SubRegion(
                    id=int(s["id"]),
                    area_px=int(s["area_px"]),
                    bbox=tuple(int(v) for v in s["bbox"]),  # type: ignore[arg-type]
                    importance=float(s["importance"]),
                    share=float(s["share"]),
                    density=float(s.get("density", 0.0)),
                )
                for s in f["subregions"]
            ),
        )
        for f in record["factors"]
    )
    return CriticalFactorResult(
        decision_before=int(record["decision_before"]),
        p_before=float(record["p_before"]),
        logit_before=float(record["logit_before"]),
        p_after=float(record["p_after"]),
        logit_after=float(record["logit_after"]),
        flipped=bool(record["flipped"]),
        impact_type=str(record["impact_type"]),
        mask=np.asarray(arrays["mask"], dtype=np.uint8),
        factor_labels=np.asarray(arrays["factor_labels"], dtype=np.int32),
        factors=factors,
        selected_region_ids=tuple(int(i) for i in record["selected_region_ids"]),
        region_labels=np.asarray(arrays["region_labels"], dtype=np.int32),
        n_forward=int(record["n_forward"]),
        n_backward=int(record["n_backward"]),
        heatmap=np.asarray(arrays["heatmap"], dtype=np.float32),
        ig_delta=float(record["ig_delta"]),
        target=str(record.get("target", "decision")),
        params=dict(record.get("params", {})),
        budget_exhausted=bool(record.get("budget_exhausted", False)),
    )


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class CachedExplanation:
    """A cache entry: the result and the seconds it originally took to compute."""

    result: CriticalFactorResult
    seconds: float


class ExplanationCache:
    """Folder of cached explanations (see the module docstring).

    Args:
        folder: cache folder (created on first write).

    Attributes:
        hits: entries found by `get` since creation.
        misses: lookups that found nothing usable.
        corrupt: entries that were unreadable and were deleted.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    def paths(self, key: str) -> tuple[Path, Path]:
        """`(npz, json)` paths of an entry."""
        sub = self.folder / key[:2]
        return sub / f"{key}.npz", sub / f"{key}.json"

    def get(self, key: str) -> CachedExplanation | None:
        """The entry for `key`, or None when missing or corrupt (then deleted)."""
        npz_path, json_path = self.paths(key)
        if not json_path.is_file():
            self.misses += 1
            return None
        try:
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            blob = npz_path.read_bytes()
            if hashlib.sha256(blob).hexdigest() != meta["arrays_sha256"]:
                msg = "array file does not match its checksum"
                raise ValueError(msg)
            with np.load(io.BytesIO(blob), allow_pickle=False) as z:
                arrays = {name: z[name] for name in _ARRAYS}
            result = result_from_parts(meta["result"], arrays)
            seconds = float(meta.get("seconds", 0.0))
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            log.warning(
                "explanation cache entry %s is corrupt (%s); recomputing", key, exc
            )
            self.corrupt += 1
            self.misses += 1
            for p in (json_path, npz_path):
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)
            return None
        self.hits += 1
        return CachedExplanation(result, seconds)

    def put(self, key: str, result: CriticalFactorResult, seconds: float = 0.0) -> None:
        """Store an entry atomically (npz first, then the JSON commit marker)."""
        npz_path, json_path = self.paths(key)
        npz_path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            mask=np.asarray(result.mask, dtype=np.uint8),
            factor_labels=np.asarray(result.factor_labels, dtype=np.int32),
            region_labels=np.asarray(result.region_labels, dtype=np.int32),
            heatmap=np.asarray(result.heatmap, dtype=np.float32),
        )
        blob = buf.getvalue()
        meta = {
            "version": CACHE_VERSION,
            "key": key,
            "arrays_sha256": hashlib.sha256(blob).hexdigest(),
            "seconds": float(seconds),
            "result": result_to_record(result),
        }
        _write_atomic(npz_path, blob)
        _write_atomic(json_path, json.dumps(meta, indent=1).encode())

    def get_or_compute(
        self, key: str, compute: Callable[[], CriticalFactorResult]
    ) -> tuple[CachedExplanation, bool]:
        """Cached entry, or `compute()` timed and stored.

        Returns:
            `(entry, was_cached)`.
        """
        hit = self.get(key)
        if hit is not None:
            return hit, True
        t0 = time.perf_counter()
        result = compute()
        seconds = time.perf_counter() - t0
        try:
            self.put(key, result, seconds)
        except OSError as exc:
            log.warning("cannot write explanation cache %s: %s", self.folder, exc)
        return CachedExplanation(result, seconds), False
