"""Inspector vigilance: project known joints into the review queue (Qt-free).

Airport X-ray screening projects threat images into real bags; annotation tools slip
honeypots into the work. `VigilanceSeeder` does the same for the review queue: after a
board's joints are persisted (before the inspection is marked done, so the board
enters the queue with its seeds), it adds round-stochastically
``rate x (possibly defective joints of the board)`` seeds from a *seed library*, a
manifest-format folder (``manifest.csv`` with path,label,defect_type,group; e.g.
`soldernet synth joints` or `soldernet export-verified`).

What makes a seed look like a real queued joint:

* band matching: only library crops whose score by this very model falls inside its
  review band [t_lo, t_hi) are used, and the stored p is that real score (a
  known-good crop scored 0.01 would give itself away); each seed aims at the p of a
  randomly chosen real queued joint of the board (one of the `NEAREST` closest
  crops, the least used), so seeds follow the queue's own p distribution and do not
  gather at the top or the bottom of a queue sorted by p;
* a cover joint: refdes, pin, joint type, package and bbox come from a joint of the
  same board that is not in the queue (a non-defect one), so the board view shows one
  box there as for any queued joint;
* the crop is resized to the board's crop size and written as
  ``crops/joint_NNNN.png`` next to the real ones (NNNN continues the board's joint
  numbering), and it is explained exactly like the real queued joints, in queue
  order, so it has an overlay too.

The library is scored once per model version and crop size; the scores are cached in
memory and, with a cache folder, on disk. Inspection never fails because of
vigilance: any problem (library missing or unreadable, no crop in the band) is logged
with the library file named and the board goes on without seeds.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from db import JointRecord
from inference.types import DefectCode, JointType, Region

if TYPE_CHECKING:
    from db import Database
    from inference.pipeline import BoardInspection

__all__ = [
    "LibraryCrop",
    "PlacedSeed",
    "VigilanceConfig",
    "VigilanceError",
    "VigilanceSeeder",
    "explain_inputs",
    "seed_count",
]

log = logging.getLogger(__name__)

SCORE_BATCH = 64
# A seed's crop is drawn from the NEAREST library crops (by score) to the p of a real
# queued joint of the board: seeds then follow the queue's own p distribution.
NEAREST = 5
DEFAULT_RATE = 0.05
DEFAULT_DEFECT_FRACTION = 0.5


class VigilanceError(RuntimeError):
    """The seed library cannot be used (the message names the file)."""


@dataclass(frozen=True)
class VigilanceConfig:
    """How seeds are chosen.

    Attributes:
        library: the seed library (folder with ``manifest.csv``, or the file).
        rate: seeds per possibly defective joint of a board (0.05 = one seed per
            20 real queued joints, on average).
        defect_fraction: the share of known-defect seeds (the rest are known good).
        cache_dir: where library scores are cached on disk (None: memory only).
        seed: random seed (None: a fresh one; tests pass a number).
    """

    library: Path
    rate: float = DEFAULT_RATE
    defect_fraction: float = DEFAULT_DEFECT_FRACTION
    cache_dir: Path | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            msg = f"vigilance rate must be within [0, 1], got {self.rate}"
            raise ValueError(msg)
        if not 0.0 <= self.defect_fraction <= 1.0:
            msg = (
                "vigilance defect fraction must be within [0, 1], got "
                f"{self.defect_fraction}"
            )
            raise ValueError(msg)


@dataclass(frozen=True)
class LibraryCrop:
    """One library crop with its score by the current model."""

    path: Path
    is_defect: bool
    defect_code: DefectCode | None
    source: str
    p: float
    joint_type: JointType | None = None
    package: str = ""


@dataclass(frozen=True, eq=False)
class PlacedSeed:
    """A seed added to a board: its joint row and the crop to explain."""

    index: int
    joint_id: int
    p: float
    crop: np.ndarray
    is_defect: bool


def seed_count(rate: float, n_queued: int, rng: random.Random) -> int:
    """Round ``rate x n_queued`` stochastically (its expectation is exact)."""
    x = max(0.0, rate) * max(0, n_queued)
    whole = math.floor(x)
    return whole + (1 if rng.random() < x - whole else 0)


def explain_inputs(
    board: BoardInspection, seeds: Sequence[PlacedSeed]
) -> tuple[list[np.ndarray], list[int]]:
    """The crops and queue order to explain a board with its seeds.

    Seeds take the indices after the board's joints and slot into the queue order by
    their p, like any possibly defective joint.
    """
    from inference.pipeline import queue_order

    crops = list(board.crops) + [s.crop for s in seeds]
    p = np.concatenate([np.asarray(board.p, float), [s.p for s in seeds]])
    regions = list(board.regions) + [Region.POSSIBLE_DEFECT] * len(seeds)
    return crops, queue_order(p, regions)


def _code(text: str) -> DefectCode | None:
    try:
        return DefectCode(text.strip().lower())
    except ValueError:
        return None


def _extra_columns(manifest: Path) -> dict[str, dict[str, str]]:
    """Optional ``joint_type``/``package`` columns, by the row's path text."""
    with manifest.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or ())
        if not fields & {"joint_type", "package"}:
            return {}
        return {
            (row.get("path") or "").strip(): {
                "joint_type": (row.get("joint_type") or "").strip().lower(),
                "package": (row.get("package") or "").strip(),
            }
            for row in reader
        }


def _read_rgb(path: Path, size: tuple[int, int]) -> np.ndarray | None:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    if bgr.shape[:2] != size:
        bgr = cv2.resize(bgr, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[..., ::-1])


class VigilanceSeeder:
    """Chooses, writes and records seeds for boards (see the module doc).

    Args:
        config: library, rate, defect fraction, cache folder.
    """

    def __init__(self, config: VigilanceConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self._pools: dict[str, list[LibraryCrop]] = {}
        self._used: dict[Path, int] = {}
        self._warned: set[str] = set()

    @property
    def manifest(self) -> Path:
        """The library's manifest file."""
        lib = Path(self.config.library)
        return lib if lib.suffix.lower() == ".csv" else lib / "manifest.csv"

    # ------------------------------------------------------------------ library
    def library_scores(
        self, classifier: Any, model_version: str, size: tuple[int, int]
    ) -> list[LibraryCrop]:
        """Every readable library crop with its score (cached per model and size).

        Raises:
            VigilanceError: the manifest is missing, unreadable or empty.
        """
        from inference.datasets import ManifestError, read_manifest

        manifest = self.manifest
        try:
            stat = manifest.stat()
            samples = read_manifest(manifest, check_files=False)
            extra = _extra_columns(manifest)
        except FileNotFoundError as exc:
            msg = f"vigilance library {manifest}: manifest file not found"
            raise VigilanceError(msg) from exc
        except (ManifestError, OSError, UnicodeDecodeError, csv.Error) as exc:
            msg = f"vigilance library {manifest}: {exc}"
            raise VigilanceError(msg) from exc
        if not samples:
            msg = f"vigilance library {manifest}: no crops listed"
            raise VigilanceError(msg)
        key_text = (
            f"{model_version}|{manifest.resolve()}|{stat.st_mtime_ns}|"
            f"{stat.st_size}|{size[0]}x{size[1]}"
        )
        key = hashlib.sha256(key_text.encode()).hexdigest()[:20]
        if key in self._pools:
            return self._pools[key]
        cached = self._load_cache(key)
        root = manifest.resolve().parent
        rel = {
            s.path: (
                str(s.path.relative_to(root))
                if s.path.is_relative_to(root)
                else str(s.path)
            )
            for s in samples
        }
        todo = [s for s in samples if rel[s.path] not in cached]
        if todo:
            log.info(
                "vigilance: scoring %d library crops of %s with model %s",
                len(todo),
                manifest,
                model_version,
            )
        unreadable = 0
        for start in range(0, len(todo), SCORE_BATCH):
            batch = todo[start : start + SCORE_BATCH]
            imgs, keep = [], []
            for s in batch:
                img = _read_rgb(s.path, size)
                if img is None:
                    unreadable += 1
                    cached[rel[s.path]] = -1.0
                    continue
                imgs.append(img)
                keep.append(s)
            if imgs:
                ps = np.asarray(classifier.predict_proba(imgs), float).reshape(-1)
                for s, p in zip(keep, ps, strict=True):
                    cached[rel[s.path]] = float(p)
        if unreadable:
            log.warning(
                "vigilance library %s: %d crop(s) unreadable, not used",
                manifest,
                unreadable,
            )
        if todo:
            self._save_cache(key, cached)
        pool: list[LibraryCrop] = []
        for line, s in enumerate(samples, start=2):
            p = cached.get(rel[s.path], -1.0)
            if p < 0:
                continue
            ex = extra.get(rel[s.path]) or extra.get(str(s.path)) or {}
            jt = ex.get("joint_type", "")
            pool.append(
                LibraryCrop(
                    path=s.path,
                    is_defect=bool(s.label),
                    defect_code=_code(s.defect_type) if s.label else None,
                    source=f"{manifest}:{line}",
                    p=p,
                    joint_type=JointType(jt) if jt in {"smd", "tht"} else None,
                    package=ex.get("package", ""),
                )
            )
        self._pools[key] = pool
        return pool

    def band(
        self, classifier: Any, model_version: str, size: tuple[int, int]
    ) -> dict[bool, list[LibraryCrop]]:
        """The library crops inside the model's review band, by truth."""
        lo, hi = float(classifier.t_lo), float(classifier.t_hi)
        out: dict[bool, list[LibraryCrop]] = {True: [], False: []}
        for c in self.library_scores(classifier, model_version, size):
            if lo <= c.p < hi:
                out[c.is_defect].append(c)
        return out

    def _cache_file(self, key: str) -> Path | None:
        d = self.config.cache_dir
        return Path(d) / f"library-scores-{key}.json" if d is not None else None

    def _load_cache(self, key: str) -> dict[str, float]:
        path = self._cache_file(key)
        if path is None or not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {str(k): float(v) for k, v in dict(data).items()}
        except (OSError, ValueError, TypeError) as exc:
            log.warning("vigilance: ignoring score cache %s (%s)", path, exc)
            return {}

    def _save_cache(self, key: str, scores: dict[str, float]) -> None:
        path = self._cache_file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(scores), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            log.warning("vigilance: cannot write score cache %s (%s)", path, exc)

    # ------------------------------------------------------------------ one board
    def seed_board(
        self,
        db: Database,
        classifier: Any,
        model_version: str,
        board: BoardInspection,
        inspection_id: int,
        records: Sequence[JointRecord],
        crop_dir: Path,
    ) -> list[PlacedSeed]:
        """Add this board's seeds (never raises; problems are logged).

        Returns:
            The seeds added, in index order (for the explanations).
        """
        try:
            return self._seed_board(
                db, classifier, model_version, board, inspection_id, records, crop_dir
            )
        except Exception as exc:
            self._warn(
                f"vigilance seeding skipped for inspection {inspection_id}: {exc}",
                str(exc),
            )
            return []

    def _warn(self, text: str, key: str) -> None:
        if key in self._warned:
            log.info("%s", text)
        else:
            self._warned.add(key)
            log.warning("%s", text)

    def _pick(self, pool: list[LibraryCrop], target: float) -> LibraryCrop:
        """A crop scored close to `target`: the least used of the nearest few."""
        near = sorted(pool, key=lambda c: abs(c.p - target))[:NEAREST]
        low = min(self._used.get(c.path, 0) for c in near)
        choice = self._rng.choice([c for c in near if self._used.get(c.path, 0) == low])
        self._used[choice.path] = low + 1
        return choice

    def _covers(
        self, records: Sequence[JointRecord], crop: LibraryCrop, taken: set[int]
    ) -> int | None:
        """A cover joint: one a person would not see in the queue, not taken yet.

        Non-defect joints first, then defect-region ones (they go straight to rework,
        not to the queue); never a queued joint, whose box and refdes would show up
        twice. Within that, the crop's joint type and package when the library
        names them. None when the board has no free cover left.
        """
        for region in (Region.NON_DEFECT, Region.DEFECT):
            free = [
                i
                for i, r in enumerate(records)
                if i not in taken and r.region is region
            ]
            for want in (
                lambda r: (
                    (crop.joint_type in (None, r.joint_type))
                    and (not crop.package or r.package == crop.package)
                ),
                lambda r: crop.joint_type in (None, r.joint_type),
                lambda r: True,
            ):
                match = [i for i in free if want(records[i])]
                if match:
                    return self._rng.choice(match)
        return None

    def _seed_board(
        self,
        db: Database,
        classifier: Any,
        model_version: str,
        board: BoardInspection,
        inspection_id: int,
        records: Sequence[JointRecord],
        crop_dir: Path,
    ) -> list[PlacedSeed]:

        n_queued = sum(1 for r in board.regions if r is Region.POSSIBLE_DEFECT)
        n = seed_count(self.config.rate, n_queued, self._rng)
        if n == 0 or not records or len(board.crops) == 0:
            return []
        size = (int(board.crops.shape[1]), int(board.crops.shape[2]))
        try:
            band = self.band(classifier, model_version, size)
        except VigilanceError as exc:
            self._warn(f"{exc}; boards go on without seeds", str(exc))
            return []
        if not band[True] and not band[False]:
            msg = (
                f"vigilance library {self.manifest}: no crop scores inside the "
                f"review band [{classifier.t_lo:g}, {classifier.t_hi:g}) of model "
                f"{model_version}; no seeds"
            )
            self._warn(msg, msg)
            return []
        # Seeds copy the p distribution of the board's real queue: each one aims at
        # the p of a randomly chosen real queued joint.
        targets = [
            float(p)
            for p, r in zip(board.p, board.regions, strict=True)
            if r is Region.POSSIBLE_DEFECT
        ]
        placed: list[PlacedSeed] = []
        taken: set[int] = set()
        crop_dir.mkdir(parents=True, exist_ok=True)
        for _k in range(n):
            want_defect = self._rng.random() < self.config.defect_fraction
            pool = band[want_defect] or band[not want_defect]
            crop = self._pick(pool, self._rng.choice(targets))
            cover_i = self._covers(records, crop, taken)
            if cover_i is None:
                log.info(
                    "vigilance: inspection %d has no free cover joint left; %d of %d "
                    "seeds added",
                    inspection_id,
                    len(placed),
                    n,
                )
                break
            taken.add(cover_i)
            index = len(records) + len(placed)
            try:
                seed = self._place(
                    db, crop, records[cover_i], inspection_id, size, crop_dir, index
                )
            except Exception as exc:  # keep the seeds already added
                text = f"vigilance seed for inspection {inspection_id}: {exc}"
                self._warn(text, str(exc))
                break
            if seed is not None:
                placed.append(seed)
        log.debug("vigilance: %d seed(s) for inspection %d", len(placed), inspection_id)
        return placed

    def _place(
        self,
        db: Database,
        crop: LibraryCrop,
        cover: JointRecord,
        inspection_id: int,
        size: tuple[int, int],
        crop_dir: Path,
        index: int,
    ) -> PlacedSeed | None:
        """Write one seed's crop and record its joint (None: crop unreadable)."""
        import cv2

        image = _read_rgb(crop.path, size)
        if image is None:
            log.warning("vigilance library crop %s unreadable; skipped", crop.path)
            return None
        target = crop_dir / f"joint_{index:04d}.png"
        if not cv2.imwrite(str(target), np.ascontiguousarray(image[..., ::-1])):
            msg = f"cannot write {target}"
            raise OSError(msg)
        joint_id = db.vigilance.add_seed(
            inspection_id,
            JointRecord(
                bbox=cover.bbox,
                p=float(np.clip(crop.p, 0.0, 1.0)),
                refdes=cover.refdes,
                pin=cover.pin,
                joint_type=cover.joint_type,
                package=cover.package,
                crop_path=str(target),
                region=Region.POSSIBLE_DEFECT,
            ),
            is_defect=crop.is_defect,
            defect_code=crop.defect_code,
            source=crop.source,
        )
        return PlacedSeed(index, joint_id, crop.p, image, crop.is_defect)
