"""Training and evaluation of the learned joint detector on synthetic boards.

Boards come from `inference.synth.boards.render_board` (seeds ``board_seed(seed,
i)``); the model (`inference.learned_detector.build_model`) learns on square tiles
cut from them: mostly around a random joint, sometimes anywhere, at a random scale
(``scale_range``: the detector must also see joints smaller and larger than the
synthetic 40 px/mm), flipped / rotated by 90°, with random gain and contrast and
some gray tiles. Only joints with at least half their box inside the tile are
labelled (their box is clipped to it).

`evaluate_detector` renders held-out boards and reports recall and precision at
IoU 0.5 (greedy one-to-one matching by score), per joint type too, plus the
seconds per board.

Usage::

    model, card = train_detector(TrainConfig(steps=2000), progress=print)
    save_detector(model, card, "build/detector")
    report = evaluate_detector(LearnedDetector(model, card), seeds=[...])
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import torch

from inference.learned_detector import (
    CLASSES,
    DetectorCard,
    LearnedDetector,
    build_model,
)
from inference.synth.boards import BoardConfig, board_seed, render_board

__all__ = [
    "TrainConfig",
    "box_iou",
    "evaluate_detector",
    "match_detections",
    "render_training_boards",
    "sample_tile",
    "train_detector",
]

log = logging.getLogger(__name__)

_CLASS_OF = {c.value: k + 1 for k, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class TrainConfig:
    """How to train (all defaults are what the shipped numbers used)."""

    steps: int = 1500
    batch: int = 4
    lr: float = 1e-3
    weight_decay: float = 1e-4
    boards: int = 40
    seed: int = 1
    board_size: tuple[int, int] = (1600, 1200)
    tile: int = 512
    overlap: int = 128
    width: int = 64
    scale_range: tuple[float, float] = (0.6, 1.4)
    joint_centred: float = 0.8
    gray_fraction: float = 0.2
    max_seconds: float | None = None  # stop (cosine end) at this wall time too


Board = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(RGB image, boxes (N, 4) x1 y1 x2 y2, labels (N,) model classes)."""


def board_truth(sample: Any) -> Board:
    """RGB image, truth boxes (x1 y1 x2 y2) and model labels of a `BoardSample`."""
    img = sample.image
    rgb = (
        np.repeat(img[:, :, None], 3, axis=2)
        if img.ndim == 2
        else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    )
    b = np.array([j.box for j in sample.joints], np.float32).reshape(-1, 4)
    b[:, 2:] += b[:, :2]
    labels = np.array([_CLASS_OF[j.type] for j in sample.joints], np.int64)
    return rgb, b, labels


def render_training_boards(
    n: int,
    seed: int,
    size: tuple[int, int],
    progress: Callable[[str], None] | None = None,
) -> list[Board]:
    """Render ``n`` boards (seeds ``board_seed(seed, i)``) as training material."""
    out = []
    for i in range(n):
        s = render_board(
            board_seed(seed, i), BoardConfig(width=size[0], height=size[1])
        )
        out.append(board_truth(s))
        if progress and (i + 1) % 10 == 0:
            progress(f"rendered {i + 1}/{n} boards")
    return out


def sample_tile(
    board: Board, rng: np.random.Generator, cfg: TrainConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented ``tile x tile`` training tile with its boxes and labels."""
    rgb, boxes, labels = board
    h, w = rgb.shape[:2]
    t = cfg.tile
    s = float(rng.uniform(*cfg.scale_range))
    side = round(t / s)
    if len(boxes) and rng.random() < cfg.joint_centred:
        j = int(rng.integers(len(boxes)))
        cx = (boxes[j, 0] + boxes[j, 2]) / 2 + rng.uniform(-0.4, 0.4) * side
        cy = (boxes[j, 1] + boxes[j, 3]) / 2 + rng.uniform(-0.4, 0.4) * side
        x0, y0 = int(cx - side / 2), int(cy - side / 2)
    else:
        x0 = int(rng.integers(-side // 4, max(1, w - side + side // 4)))
        y0 = int(rng.integers(-side // 4, max(1, h - side + side // 4)))
    x0 = min(max(x0, -side // 4), max(0, w - side + side // 4))
    y0 = min(max(y0, -side // 4), max(0, h - side + side // 4))
    src = np.zeros((side, side, 3), np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        src[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    interp = cv2.INTER_AREA if side > t else cv2.INTER_LINEAR
    tile = cv2.resize(src, (t, t), interpolation=interp)
    b = (boxes - np.array([x0, y0, x0, y0], np.float32)) * (t / side)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    c = b.copy()
    c[:, [0, 2]] = c[:, [0, 2]].clip(0, t)
    c[:, [1, 3]] = c[:, [1, 3]].clip(0, t)
    vis = (c[:, 2] - c[:, 0]).clip(0) * (c[:, 3] - c[:, 1]).clip(0)
    keep = vis >= 0.5 * np.maximum(area, 1e-6)
    # Only boxes inside the real image count: padding carries no joints.
    c, lab = c[keep], labels[keep]
    # Flips and 90° turns.
    if rng.random() < 0.5:
        tile = tile[:, ::-1]
        c = np.stack([t - c[:, 2], c[:, 1], t - c[:, 0], c[:, 3]], 1)
    if rng.random() < 0.5:
        tile = tile[::-1]
        c = np.stack([c[:, 0], t - c[:, 3], c[:, 2], t - c[:, 1]], 1)
    if rng.random() < 0.5:
        tile = tile.transpose(1, 0, 2)
        c = c[:, [1, 0, 3, 2]]
    tile = np.ascontiguousarray(tile)
    # Photometry: gain, contrast around the mean, sometimes gray.
    f = tile.astype(np.float32)
    if rng.random() < cfg.gray_fraction:
        f = np.repeat(f.mean(axis=2, keepdims=True), 3, axis=2)
    m = f.mean()
    f = (f - m) * rng.uniform(0.7, 1.3) + m * rng.uniform(0.7, 1.3)
    f *= rng.uniform(0.85, 1.15, 3).astype(np.float32)
    tile = f.clip(0, 255).astype(np.uint8)
    return tile, c.astype(np.float32).reshape(-1, 4), lab


def _to_target(tile: np.ndarray, boxes: np.ndarray, labels: np.ndarray) -> Any:
    x = torch.from_numpy(tile).permute(2, 0, 1).float().div_(255.0)
    ok = (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2)
    return x, {
        "boxes": torch.from_numpy(boxes[ok]).reshape(-1, 4),
        "labels": torch.from_numpy(labels[ok]),
    }


def train_detector(
    cfg: TrainConfig,
    *,
    boards: Sequence[Board] | None = None,
    progress: Callable[[str], None] | None = None,
    log_every: int = 50,
) -> tuple[torch.nn.Module, DetectorCard]:
    """Train a detector from scratch on synthetic-board tiles.

    Args:
        cfg: the settings.
        boards: training boards (default: `render_training_boards` of ``cfg``).
        progress: called with a one-line status now and then.
        log_every: steps between status lines.

    Returns:
        The trained model (eval mode) and its card (with the training record).
    """
    say = progress or (lambda _m: None)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    t_start = time.perf_counter()
    if boards is None:
        boards = render_training_boards(cfg.boards, cfg.seed, cfg.board_size, say)
    card = DetectorCard(width=cfg.width, tile=cfg.tile, overlap=cfg.overlap)
    model = build_model(card)
    model.train()
    opt = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    warm = max(1, min(100, cfg.steps // 10))

    t_train = time.perf_counter()

    def progress_frac(step: int) -> float:
        frac = (step - warm) / max(1, cfg.steps - warm)
        if cfg.max_seconds:
            frac = max(frac, (time.perf_counter() - t_train) / cfg.max_seconds)
        return min(1.0, frac)

    def lr_at(step: int, frac: float) -> float:
        if step < warm:
            return cfg.lr * (step + 1) / warm
        return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))

    avg: dict[str, float] = {}
    steps_done = 0
    for step in range(cfg.steps):
        frac = progress_frac(step)
        if step >= warm and frac >= 1.0:
            break
        for g in opt.param_groups:
            g["lr"] = lr_at(step, frac)
        xs, ts = [], []
        for _ in range(cfg.batch):
            board = boards[int(rng.integers(len(boards)))]
            x, t = _to_target(*sample_tile(board, rng, cfg))
            xs.append(x)
            ts.append(t)
        losses = model(xs, ts)
        loss = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        for k, v in losses.items():
            val = float(v.detach())
            avg[k] = 0.9 * avg.get(k, val) + 0.1 * val
        steps_done = step + 1
        if (step + 1) % log_every == 0 or step + 1 == cfg.steps:
            parts = " ".join(
                f"{k.replace('loss_', '')} {v:.3f}" for k, v in avg.items()
            )
            say(
                f"step {step + 1}/{cfg.steps} {parts} "
                f"({time.perf_counter() - t_start:.0f} s)"
            )
    model.eval()
    card.training = {
        **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()},
        "steps_done": steps_done,
        "seconds": round(time.perf_counter() - t_start, 1),
        "threads": torch.get_num_threads(),
        "final_losses": {k: round(v, 4) for k, v in avg.items()},
    }
    return model, card


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of boxes ``a (N, 4)`` and ``b (M, 4)``, x1 y1 x2 y2."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(
        a[:, None, 0], b[None, :, 0]
    )
    iy = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(
        a[:, None, 1], b[None, :, 1]
    )
    inter = ix.clip(0) * iy.clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def match_detections(
    pred: np.ndarray, scores: np.ndarray, truth: np.ndarray, iou: float = 0.5
) -> np.ndarray:
    """Greedy one-to-one matching, highest score first.

    Returns:
        For each prediction the index of its truth box, or -1.
    """
    out = np.full(len(pred), -1, int)
    if len(pred) == 0 or len(truth) == 0:
        return out
    m = box_iou(pred, truth)
    taken = np.zeros(len(truth), bool)
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        cand = np.where(~taken & (m[i] >= iou))[0]
        if len(cand):
            j = int(cand[np.argmax(m[i, cand])])
            out[i] = j
            taken[j] = True
    return out


def evaluate_detector(
    detector: LearnedDetector,
    seeds: Sequence[int],
    size: tuple[int, int],
    *,
    iou: float = 0.5,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Recall / precision at ``iou`` on held-out synthetic boards, and speed.

    Args:
        detector: the detector.
        seeds: board seeds (never the training ones).
        size: board size in px.
        iou: match threshold.
        progress: one line per board.

    Returns:
        ``{"boards", "size", "joints", "detections", "recall", "precision",
        "per_type": {type: {"joints", "recall", "detections", "precision"}},
        "type_accuracy", "seconds_per_board": [...], "median_seconds"}``.
    """
    n_t = {c.value: 0 for c in CLASSES}
    hit_t = dict.fromkeys(n_t, 0)
    det_t = dict.fromkeys(n_t, 0)
    tp_t = dict.fromkeys(n_t, 0)
    n_truth = n_pred = n_tp = n_same_type = 0
    secs = []
    sweep_scores: list[np.ndarray] = []
    sweep_hits: list[np.ndarray] = []
    for seed in seeds:
        sample = render_board(int(seed), BoardConfig(width=size[0], height=size[1]))
        rgb, truth, tlab = board_truth(sample)
        t0 = time.perf_counter()
        boxes, scores, labels = detector.predict(rgb)
        secs.append(time.perf_counter() - t0)
        m = match_detections(boxes, scores, truth, iou)
        sweep_scores.append(np.asarray(scores, np.float64))
        sweep_hits.append(m >= 0)
        n_truth += len(truth)
        n_pred += len(boxes)
        n_tp += int((m >= 0).sum())
        n_same_type += int(sum(labels[i] == tlab[j] for i, j in enumerate(m) if j >= 0))
        matched = {int(j) for j in m if j >= 0}
        for j, lab in enumerate(tlab):
            name = CLASSES[int(lab) - 1].value
            n_t[name] += 1
            hit_t[name] += j in matched
        for i, lab in enumerate(labels):
            name = CLASSES[int(lab) - 1].value
            det_t[name] += 1
            tp_t[name] += bool(m[i] >= 0 and tlab[m[i]] == lab)
        if progress:
            progress(
                f"board seed {seed}: {len(truth)} joints, {len(boxes)} detections, "
                f"{int((m >= 0).sum())} matched, {secs[-1]:.1f} s"
            )
    return {
        "boards": len(seeds),
        "size": list(size),
        "iou": iou,
        "joints": n_truth,
        "detections": n_pred,
        "recall": n_tp / max(1, n_truth),
        "precision": n_tp / max(1, n_pred),
        "type_accuracy": n_same_type / max(1, n_tp),
        "per_type": {
            k: {
                "joints": n_t[k],
                "recall": hit_t[k] / max(1, n_t[k]),
                "detections": det_t[k],
                "precision_with_type": tp_t[k] / max(1, det_t[k]),
            }
            for k in n_t
        },
        "sweep": _sweep(sweep_scores, sweep_hits, n_truth, detector.score_threshold),
        "seconds_per_board": [round(s, 3) for s in secs],
        "median_seconds": float(np.median(secs)) if secs else 0.0,
        "threads": torch.get_num_threads(),
    }


def _sweep(
    scores: list[np.ndarray], hits: list[np.ndarray], n_truth: int, floor: float
) -> list[dict[str, float]]:
    """Recall / precision at higher score thresholds (same detections, filtered).

    Filtering after the cross-tile NMS equals running at the higher threshold: a
    low-score box never suppresses a higher one, and matching goes by score.
    """
    s = np.concatenate(scores) if scores else np.zeros(0)
    h = np.concatenate(hits) if hits else np.zeros(0, bool)
    out = []
    for t in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        if t < floor:
            continue
        keep = s >= t
        out.append(
            {
                "score": t,
                "recall": float(h[keep].sum()) / max(1, n_truth),
                "precision": float(h[keep].sum()) / max(1, int(keep.sum())),
            }
        )
    return out
