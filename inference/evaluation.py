"""Evaluation of a model folder on a dataset: inspection, calibration and trust metrics.

`evaluate_predictions` turns labels and calibrated probabilities into one JSON-ready
dict: accuracy, overkill and escape at 0.5 (the paper), sensitivity, specificity,
precision, F1, AUROC, ECE, Brier, reliability diagrams, question-answer trust,
NetTrustScore, trust spectrum, trust matrix with counts, (conditional) trust densities,
the three confidence regions with their rates, and the rates at a production
prevalence. All numbers come from ``inference.metrics`` and ``inference.trust``.

`evaluate_model` runs a model folder over a dataset (all of it or one split), adds the
latency of the paper's protocol (batch 1, 3x256x256, 20 warm-ups, mean of 100 runs,
algorithms.md §3.4) and the batch throughput, and can write PNG plots (trust matrix,
trust densities, reliability diagram, confidence histograms).

The timing lives in ``inference.evaluation_latency``, the plots in
``inference.evaluation_plots`` and the pass over image files in
``inference.evaluation_predict``; their public names are re-exported here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import DataError
from inference.evaluation_latency import cpu_name, measure_latency, measure_throughput
from inference.evaluation_plots import save_plots
from inference.evaluation_predict import predict_samples

__all__ = [
    "DEFAULT_PREVALENCE",
    "by_defect_type",
    "cpu_name",
    "evaluate_model",
    "evaluate_predictions",
    "jsonable",
    "measure_latency",
    "measure_throughput",
    "predict_samples",
    "save_plots",
]

logger = logging.getLogger(__name__)

#: Production defect prevalence used for the "at production" rates (1000 PPM).
DEFAULT_PREVALENCE = 1e-3


def jsonable(obj: Any) -> Any:
    """Convert numpy values, tuples and NaN/inf into strict-JSON-ready Python values.

    NaN and infinities become ``None``; dict keys become strings.

    Args:
        obj: nested dicts/lists of numbers, arrays and strings.

    Returns:
        The same structure with plain Python values only.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "value") and isinstance(getattr(obj, "value", None), str):
        return obj.value
    return obj


def evaluate_predictions(
    y: Sequence[int] | np.ndarray,
    p: Sequence[float] | np.ndarray,
    *,
    t_lo: float = 0.1,
    t_hi: float = 0.9,
    prevalence: float | None = DEFAULT_PREVALENCE,
    alpha: float = 1.0,
    beta: float = 1.0,
    ece_bins: int = 15,
    threshold: float = 0.5,
    density_bins: int = 20,
) -> dict[str, Any]:
    """All metrics of calibrated predictions.

    Args:
        y: true labels (1 = defective).
        p: calibrated P(defective).
        t_lo: lower region threshold.
        t_hi: upper region threshold.
        prevalence: production defect prevalence for re-weighted rates (None = skip;
            skipped too when only one class is present).
        alpha: reward exponent of question-answer trust.
        beta: penalty exponent of question-answer trust.
        ece_bins: bins of the ECE and the reliability diagrams.
        threshold: decision threshold (the paper: 0.5).
        density_bins: bins of the trust densities.

    Returns:
        A dict (numpy-free, NaN kept as float NaN; pass it through `jsonable` to write
        strict JSON).

    Raises:
        DataError: empty or malformed input.
    """
    from inference import metrics, trust

    yy = np.asarray(y, dtype=np.int64)
    pp = np.asarray(p, dtype=np.float64)
    if yy.size == 0:
        msg = "no predictions to evaluate (empty dataset)"
        raise DataError(msg)
    tm = metrics.threshold_metrics(yy, pp, threshold)
    out: dict[str, Any] = {
        "n": int(yy.size),
        "n_defective": int(yy.sum()),
        "n_non_defective": int(yy.size - yy.sum()),
        **tm.to_dict(),
    }
    prec, sens = tm.precision, tm.sensitivity
    out["f1"] = (
        2 * prec * sens / (prec + sens)
        if math.isfinite(prec) and math.isfinite(sens) and prec + sens > 0
        else math.nan
    )
    out["ece"] = metrics.expected_calibration_error(yy, pp, ece_bins, threshold)
    out["ece_positive"] = metrics.positive_class_ece(yy, pp, ece_bins)
    out["brier"] = metrics.brier_score(yy, pp)
    out["ece_bins"] = ece_bins
    reliability = {}
    for mode in ("top_label", "positive"):
        rd = metrics.reliability_diagram(
            yy, pp, ece_bins, mode=mode, threshold=threshold
        )
        reliability[mode] = {
            "edges": rd.edges.tolist(),
            "counts": rd.counts.tolist(),
            "observed": rd.observed.tolist(),
            "confidence": rd.confidence.tolist(),
            "ece": float(rd.ece),
        }
    out["reliability"] = reliability

    q = trust.question_answer_trust(yy, pp, alpha, beta, threshold)
    tmat, counts = trust.trust_matrix(yy, pp, alpha, beta, threshold)
    spectrum = trust.trust_spectrum(yy, q)
    densities = {}
    for z in (0, 1):
        edges, dens = trust.trust_density(q[yy == z], density_bins)
        densities[str(z)] = {"edges": edges.tolist(), "density": dens.tolist()}
    conditional = {}
    for (z, yhat), (edges, dens) in trust.conditional_trust_densities(
        yy, pp, alpha, beta, threshold, bins=density_bins
    ).items():
        conditional[f"z{z}_y{yhat}"] = {
            "z": int(z),
            "y": int(yhat),
            "n": int(counts[z, yhat]),
            "edges": edges.tolist(),
            "density": dens.tolist(),
        }
    out["trust"] = {
        "alpha": alpha,
        "beta": beta,
        "net_trust_score": trust.net_trust_score(yy, q),
        "net_trust_score_class_balanced": trust.net_trust_score(
            yy, q, class_balanced=True
        ),
        "spectrum": {str(k): float(v) for k, v in spectrum.items()},
        "matrix": tmat.tolist(),
        "counts": counts.tolist(),
        "matrix_layout": "rows = true label (0 non-defective, 1 defective), "
        "columns = predicted label",
        "q_mean_correct": _mean(q[(pp >= threshold).astype(np.int64) == yy]),
        "q_mean_wrong": _mean(q[(pp >= threshold).astype(np.int64) != yy]),
        "densities": densities,
        "conditional_densities": conditional,
    }
    out["question_answer_trust"] = q.tolist()

    rm = metrics.region_metrics(yy, pp, t_lo, t_hi, threshold).to_dict()
    regions = metrics.regions(pp, t_lo, t_hi)
    per_region: dict[str, dict[str, int]] = {}
    for name in ("defect", "possible_defect", "non_defect"):
        sel = np.array(
            [str(getattr(r, "value", r)) == name for r in regions], dtype=bool
        )
        per_region[name] = {
            "n": int(sel.sum()),
            "defective": int(yy[sel].sum()),
            "non_defective": int(sel.sum() - yy[sel].sum()),
        }
    rm["counts"] = per_region
    out["regions"] = rm

    out["production"] = None
    if prevalence is not None and 0 < out["n_defective"] < out["n"]:
        rates = metrics.rates_at_prevalence(
            yy, pp, prevalence, threshold, t_lo=t_lo, t_hi=t_hi
        )
        prod = {k: getattr(rates, k) for k in rates.__dataclass_fields__}
        prod["escape_ppm"] = rates.escape_ppm
        prod["overkill_ppm"] = rates.overkill_ppm
        out["production"] = prod
    return out


def _mean(v: np.ndarray) -> float:
    return float(v.mean()) if v.size else math.nan


def by_defect_type(
    types: Sequence[str], y: np.ndarray, p: np.ndarray, threshold: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Per defect type: count, label, share flagged defective at ``threshold``, mean p.

    For defective types the flagged share is the recall of that type; for the
    non-defective type(s) it is their overkill rate.

    Args:
        types: the manifest's ``defect_type`` of every evaluated image.
        y: labels.
        p: calibrated P(defective).
        threshold: decision threshold.

    Returns:
        ``{type: {"n", "label", "flagged_rate", "mean_p"}}`` sorted by type.
    """
    out: dict[str, dict[str, Any]] = {}
    t = np.asarray(list(types), dtype=object)
    yy = np.asarray(y)
    pp = np.asarray(p, dtype=np.float64)
    for name in sorted(set(t.tolist())):
        sel = t == name
        labels = yy[sel]
        out[str(name)] = {
            "n": int(sel.sum()),
            "label": round(float(labels.mean())),
            "flagged_rate": float((pp[sel] >= threshold).mean()),
            "mean_p": float(pp[sel].mean()),
        }
    return out


def evaluate_model(
    model_dir: str | Path,
    data: str | Path | Sequence[str | Path],
    *,
    split: str = "all",
    split_seed: int = 0,
    device: str = "auto",
    backend: str = "auto",
    batch_size: int = 64,
    prevalence: float | None = DEFAULT_PREVALENCE,
    alpha: float = 1.0,
    beta: float = 1.0,
    ece_bins: int = 15,
    latency: bool = True,
    latency_warmup: int = 20,
    latency_runs: int = 100,
    latency_input_size: int | None = None,
    throughput_batch: int = 32,
    threads: int | None = None,
    plots_dir: str | Path | None = None,
    progress: bool = False,
    include_predictions: bool = False,
) -> dict[str, Any]:
    """Evaluate a model folder on one or more datasets.

    Args:
        model_dir: model folder (weights + ``model.json``).
        data: dataset folder(s) in the manifest format.
        split: ``"all"`` or one of ``"train"``, ``"val"``, ``"test"`` of the
            group-aware split with ``split_seed`` (the training split's seed gives the
            held-out test set).
        split_seed: seed of that split.
        device: torch device preference.
        backend: ``"torch"``, ``"onnx"`` or ``"auto"`` (ONNX Runtime on a CPU when
            its probabilities agree with PyTorch within 1e-3 on random inputs, else
            PyTorch; the choice and the measured difference are in ``model``).
        batch_size: images per forward pass.
        prevalence: production prevalence for re-weighted rates (None = skip).
        alpha: trust reward exponent.
        beta: trust penalty exponent.
        ece_bins: ECE bins.
        latency: also measure latency and throughput.
        latency_warmup: warm-up runs of the latency protocol (paper: 20).
        latency_runs: timed runs of the latency protocol (paper: 100).
        latency_input_size: input side for latency (default: the card's input size).
        throughput_batch: batch size of the throughput measurement.
        threads: torch CPU threads for the timing (None = current).
        plots_dir: write PNG plots there (None = no plots).
        progress: show a progress bar.
        include_predictions: add per-image paths, labels and probabilities.

    Returns:
        The metrics of `evaluate_predictions` plus ``model``, ``data``, ``latency``,
        ``throughput``, ``skipped`` and ``plots``.

    Raises:
        DataError: empty data or unknown split.
        ModelLoadError: the model folder cannot be loaded.
    """
    from inference.training.data import load_split

    folders = [data] if isinstance(data, (str, Path)) else list(data)
    clf, backend_check = _load_classifier(model_dir, device, backend, batch_size)
    rows = load_split(folders, split, split_seed)
    samples = [(r.path, r.label) for r in rows]
    y, logits, kept, skipped = predict_samples(
        clf, samples, batch_size=batch_size, progress=progress
    )
    from inference.calibration import apply_temperature

    p = apply_temperature(logits, clf.temperature)
    result = evaluate_predictions(
        y,
        p,
        t_lo=clf.t_lo,
        t_hi=clf.t_hi,
        prevalence=prevalence,
        alpha=alpha,
        beta=beta,
        ece_bins=ece_bins,
    )
    result["model"] = {
        "folder": str(model_dir),
        "architecture": clf.architecture,
        "input_size": clf.input_size,
        "temperature": clf.temperature,
        "t_lo": clf.t_lo,
        "t_hi": clf.t_hi,
        "backend": clf.backend,
        "backend_requested": backend,
        "backend_check": backend_check,
    }
    result["data"] = {
        "folders": [str(f) for f in folders],
        "split": split,
        "split_seed": split_seed,
        "n_listed": len(samples),
        "n_evaluated": int(y.size),
    }
    result["skipped"] = skipped
    result["by_defect_type"] = by_defect_type(
        [rows[i].defect_type for i in kept.tolist()], y, p
    )
    if include_predictions:
        result["predictions"] = [
            {"path": str(samples[i][0]), "label": int(yy), "p": float(pv)}
            for i, yy, pv in zip(kept.tolist(), y.tolist(), p.tolist(), strict=True)
        ]
    if latency:
        size = latency_input_size or clf.input_size
        result["latency"] = measure_latency(
            clf.model,
            input_size=size,
            warmup=latency_warmup,
            runs=latency_runs,
            threads=threads,
        )
        result["throughput"] = measure_throughput(
            clf.model, batch_size=throughput_batch, input_size=size, threads=threads
        )
    else:
        result["latency"] = None
        result["throughput"] = None
    result["plots"] = {}
    if plots_dir is not None:
        result["plots"] = save_plots(result, plots_dir, y=y, p=p)
    return result


def _load_classifier(
    model_dir: str | Path, device: str, backend: str, batch_size: int
) -> tuple[Any, dict[str, Any] | None]:
    """The classifier for ``backend``; ``"auto"`` checks ONNX against PyTorch first.

    Returns:
        ``(classifier, check)``: ``check`` holds the measured probability difference
        of the ``auto`` choice (None when a backend was named).
    """
    from inference.classifier import DefectClassifier, compare_backends
    from inference.device import resolve_backend

    chosen = resolve_backend(backend, device)
    clf = DefectClassifier.from_folder(
        model_dir, device=device, backend="torch", batch_size=batch_size
    )
    if backend != "auto" or chosen == "torch":
        return (clf if chosen == "torch" else clf.with_backend(chosen)), None
    check = compare_backends(clf, n=8, batch_size=8, runs=1, warmup=0)
    summary = {
        "max_abs_prob_diff": check["max_abs_prob_diff"],
        "tolerance": check["tolerance"],
        "agree": check["agree"],
    }
    if not check["agree"]:
        logger.warning(
            "ONNX Runtime differs from PyTorch by %.2g in probability (> %.0e) for %s;"
            " evaluating with PyTorch",
            check["max_abs_prob_diff"],
            check["tolerance"],
            model_dir,
        )
        return clf, summary
    return clf.with_backend("onnx"), summary
