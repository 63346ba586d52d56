"""Qt-free glue from a board image to the database, shared by the CLI and the GUI.

`InspectionRunner.inspect(path)` does, for one board:

1. load the image (a bad file records nothing and returns an error result naming
   it);
2. skip it when the same image (SHA-256) was already inspected with the same model
   version, unless ``force``;
3. open a ``running`` inspection with the model version and thresholds, run
   `inference.pipeline.inspect_board`, write the crops of the joints a person will
   look at, add the joints and mark the inspection ``done`` (a crash before that
   leaves it ``running``; `InspectionService.mark_interrupted` turns it into
   ``failed`` at the next start; a cancel or an error marks it cancelled/failed at
   once, so no half-recorded board is ever ``done``);
4. explain the possibly defective joints in queue order (highest P(defect) first),
   persisting each explanation as soon as it is ready.

The runner owns no thread: the GUI worker calls it from its own thread with its
`CancelToken`; the CLI calls it directly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from db import Database, ExplanationRecord, JointRecord, UserDTO
from inference.errors import Cancelled, DataError, ImageDecodeError, InferenceError
from inference.image_io import DEFAULT_MAX_PIXELS, load_image
from inference.types import Region

if TYPE_CHECKING:
    from app.vigilance import PlacedSeed, VigilanceSeeder
    from inference.classifier import DefectClassifier
    from inference.detector import JointDetector
    from inference.explain.runner import Explainer
    from inference.explain_queue import JointExplanation
    from inference.pipeline import BoardInspection, CancelCheck, ProgressCallback

__all__ = [
    "NO_RECIPE_MESSAGE",
    "BoardResult",
    "InspectionRunner",
    "find_recipe",
    "serial_from_path",
]

log = logging.getLogger(__name__)

NO_RECIPE_MESSAGE = (
    "no recipe: pass --recipe, put <stem>.json next to the image or in a recipes/ "
    "folder, or inspect with a learned detector (soldernet inspect --detector FOLDER)"
)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
"""File suffixes treated as board images (watched folders, folder arguments)."""


def serial_from_path(path: str | Path) -> str:
    """The board serial of a file name: its stem, stripped of odd characters."""
    stem = Path(path).stem.strip()
    return re.sub(r"[^\w.\-]+", "_", stem) or "board"


def find_recipe(image_path: str | Path) -> Path | None:
    """A recipe for an image: ``<stem>.json`` beside it or in a ``recipes/`` folder.

    Looks at ``<dir>/<stem>.json``, ``<dir>/recipes/<stem>.json`` and
    ``<dir>/../recipes/<stem>.json`` (the layout `soldernet synth boards` writes).

    Returns:
        The first that exists, or None.
    """
    p = Path(image_path)
    name = f"{p.stem}.json"
    for candidate in (
        p.with_suffix(".json"),
        p.parent / "recipes" / name,
        p.parent.parent / "recipes" / name,
    ):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class BoardResult:
    """What happened to one board.

    Attributes:
        path: the image file.
        status: ``done``, ``skipped``, ``failed`` or ``cancelled``.
        error: the message for the operator (names the file) when not ok.
        serial: board serial used.
        product: product name used.
        inspection_id: the inspection row (the earlier one when skipped; None when
            nothing was recorded).
        n_joints: joints inspected.
        regions: joints per region.
        n_explained: explanations persisted.
        seconds: wall time of the whole board.
        timings: seconds per stage (``load``, ``detect``, ``crop``, ``classify``,
            ``persist``, ``explain``, ``first_explanation``).
    """

    path: str
    status: str
    error: str = ""
    serial: str = ""
    product: str = ""
    inspection_id: int | None = None
    n_joints: int = 0
    regions: dict[str, int] = field(default_factory=dict)
    n_explained: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True for ``done`` and ``skipped``."""
        return self.status in ("done", "skipped")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready copy."""
        return {
            "path": self.path,
            "status": self.status,
            "ok": self.ok,
            "error": self.error,
            "serial": self.serial,
            "product": self.product,
            "inspection_id": self.inspection_id,
            "n_joints": self.n_joints,
            "regions": dict(self.regions),
            "n_explained": self.n_explained,
            "seconds": self.seconds,
            "timings": dict(self.timings),
        }


def _empty_regions() -> dict[str, int]:
    return {r.value: 0 for r in Region}


class InspectionRunner:
    """Inspect boards into a database with one classifier (and optional explainer).

    Args:
        db: the open database.
        classifier: scores crops (`DefectClassifier`).
        model_version: stored on every inspection (and used to skip repeats).
        artefact_dir: crops and explanation files go under it.
        explainer: CFI explainer for possibly defective joints (None: no
            explanations).
        user: who ingests the boards.
        max_explanations: explain at most this many joints per board (None: all).
        max_pixels: decompression-bomb guard.
        vigilance: seeds known joints into the queue (`app.vigilance`); None: off.
    """

    def __init__(
        self,
        db: Database,
        classifier: DefectClassifier,
        *,
        model_version: str,
        artefact_dir: str | Path,
        explainer: Explainer | None = None,
        user: UserDTO | None = None,
        max_explanations: int | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        vigilance: VigilanceSeeder | None = None,
    ) -> None:
        self.db = db
        self.classifier = classifier
        self.model_version = model_version
        self.artefact_dir = Path(artefact_dir)
        self.explainer = explainer
        self.user = user
        self.max_explanations = max_explanations
        self.max_pixels = max_pixels
        self.vigilance = vigilance

    @classmethod
    def from_model_folder(
        cls,
        db: Database,
        folder: str | Path,
        *,
        artefact_dir: str | Path,
        explain: bool = True,
        explain_overrides: Iterable[str] = (),
        fast_explain: bool = True,
        cache_dir: str | Path | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        backend: str = "torch",
        **kwargs: Any,
    ) -> InspectionRunner:
        """Load a model folder once and build the classifier and the explainer.

        Args:
            db: the open database.
            folder: model folder (``model.json`` + weights).
            artefact_dir: where crops and explanation files go.
            explain: build an explainer for possibly defective joints.
            explain_overrides: ``KEY=VALUE`` explainer knobs.
            fast_explain: use the cheaper explainer knobs (``--fast``).
            cache_dir: explanation cache folder (None: no cache).
            device: torch device.
            batch_size: crops per classifier forward pass.
            backend: ``"torch"`` or ``"onnx"`` for the classifier (onnxruntime
                scores crops ~4x faster on CPU, see docs/pipeline.md; the explainer
                always uses the torch model, which needs gradients).
            **kwargs: passed to the constructor (``user``, ``max_explanations``).

        Returns:
            The runner.

        Raises:
            ModelLoadError: the folder is missing, corrupt or mismatched.
        """
        from inference.classifier import DefectClassifier
        from inference.model_card import load_model

        loaded = load_model(folder, device=device)
        card = loaded.card
        classifier = DefectClassifier.from_loaded(
            loaded, batch_size=batch_size, backend=backend
        )
        explainer = None
        if explain:
            from inference.explain.cache import ExplanationCache
            from inference.explain.runner import (
                Explainer,
                config_from_overrides,
                station_config,
                wrap_model,
            )

            em = wrap_model(
                loaded.model,
                card.preset,
                model_id=card.weights_sha256 or f"unverified:{loaded.weights_path}",
                temperature=card.temperature,
                info={"folder": str(loaded.folder), "version": card.version},
            )
            overrides = list(explain_overrides)  # read twice: a generator would empty
            cfg = config_from_overrides(overrides, fast=fast_explain)
            cfg = station_config(cfg, overrides, classifier.t_lo)
            cache = ExplanationCache(cache_dir) if cache_dir is not None else None
            # The explainer's search forwards follow the classifier's runtime
            # ("auto" checks the export against torch and falls back with a log).
            # With the onnx classifier they share its session (one per process).
            explainer = Explainer(
                em,
                cfg,
                cache,
                backend="torch" if backend == "torch" else "auto",
                classifier=classifier if classifier.backend == "onnx" else None,
            )
        return cls(
            db,
            classifier,
            model_version=card.version,
            artefact_dir=artefact_dir,
            explainer=explainer,
            **kwargs,
        )

    # ------------------------------------------------------------------ one board

    def inspect(
        self,
        path: str | Path,
        *,
        detector: JointDetector | None = None,
        recipe: str | Path | None = None,
        serial: str | None = None,
        product: str | None = None,
        side: str = "top",
        force: bool = False,
        explain: bool = True,
        on_progress: ProgressCallback | None = None,
        on_explained: Callable[[JointExplanation], None] | None = None,
        cancel: CancelCheck | None = None,
    ) -> BoardResult:
        """Inspect one board image into the database (see the module doc).

        Args:
            path: the board image.
            detector: the joint detector; default: a `RecipeDetector` for
                ``recipe`` or the recipe `find_recipe` finds next to the image.
            recipe: recipe JSON (ignored when ``detector`` is given).
            serial: board serial (default: from the file name).
            product: product name (default: the recipe's product, else
                ``default``).
            side: board side.
            force: inspect again even if this image was already inspected with
                this model version.
            explain: explain the possibly defective joints (if the runner has an
                explainer).
            on_progress: ``on_progress(stage, done, total)``; stages are the
                pipeline's plus ``persist`` and ``explain``.
            on_explained: called after each explanation is persisted.
            cancel: cancel token (checked between stages, batches and
                explanations).

        Returns:
            The board's result; errors of this board are in it, not raised.

        Raises:
            Cancelled: ``cancel`` asked to stop during detection or
                classification (the inspection is recorded as cancelled, never
                done). A cancel during explanations stops them and returns the
                (done) board normally.
        """
        from inference.pipeline import check_cancel, inspect_board

        path = Path(path)
        t_start = time.perf_counter()
        serial = (serial or "").strip() or serial_from_path(path)

        def failed(msg: str, **extra: Any) -> BoardResult:
            log.warning("%s", msg)
            return BoardResult(
                path=str(path),
                status="failed",
                error=msg,
                serial=serial,
                seconds=time.perf_counter() - t_start,
                **extra,
            )

        check_cancel(cancel)
        t0 = time.perf_counter()
        try:
            image = load_image(path, max_pixels=self.max_pixels)
        except ImageDecodeError as exc:
            return failed(str(exc))
        load_s = time.perf_counter() - t0

        if not force:
            earlier = self.db.inspections.find_done_inspection(
                image.sha256, self.model_version
            )
            if earlier is not None:
                log.info(
                    "%s: already inspected with model %s (inspection %d); skipped",
                    path,
                    self.model_version,
                    earlier.id,
                )
                return BoardResult(
                    path=str(path),
                    status="skipped",
                    serial=earlier.board_serial,
                    product=earlier.product,
                    inspection_id=earlier.id,
                    n_joints=earlier.n_joints,
                    regions={
                        Region.DEFECT.value: earlier.n_defect,
                        Region.POSSIBLE_DEFECT.value: earlier.n_possible_defect,
                        Region.NON_DEFECT.value: earlier.n_non_defect,
                    },
                    seconds=time.perf_counter() - t_start,
                )

        if detector is None:
            recipe_path = Path(recipe) if recipe else find_recipe(path)
            if recipe_path is None:
                return failed(f"{path}: {NO_RECIPE_MESSAGE}")
            from inference.detector import RecipeDetector

            try:
                detector = RecipeDetector.from_file(recipe_path)
            except (DataError, OSError) as exc:
                return failed(f"{path}: recipe {recipe_path}: {exc}")
        if not product:
            recipe_obj = getattr(detector, "recipe", None)
            product = str(getattr(recipe_obj, "product", "") or "default")

        insp = self.db.inspections.start_inspection(
            serial=serial,
            product=product,
            image_path=str(path.resolve()),
            image_sha256=image.sha256,
            model_version=self.model_version,
            t_lo=float(self.classifier.t_lo),
            t_hi=float(self.classifier.t_hi),
            side=side,
            user=self.user,
        )
        try:
            board = inspect_board(
                image.rgb,
                detector=detector,
                classifier=self.classifier,
                on_progress=on_progress,
                cancel=cancel,
            )
            del image  # the decoded board (36 MB at 12 MP) is not needed any more
            check_cancel(cancel)
            t0 = time.perf_counter()
            records = self._joint_records(board, insp.id)
            self.db.inspections.add_joints(insp.id, records)
            seeds = self._seed(board, insp.id, records)
            done = self.db.inspections.finish_inspection(insp.id)
            persist_s = time.perf_counter() - t0
        except Cancelled:
            self.db.inspections.fail_inspection(insp.id, "cancelled", cancelled=True)
            raise
        except (InferenceError, ValueError, OSError, RuntimeError) as exc:
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            self.db.inspections.fail_inspection(insp.id, msg)
            return failed(msg, product=product, inspection_id=insp.id)
        except BaseException as exc:
            self.db.inspections.fail_inspection(insp.id, f"{type(exc).__name__}: {exc}")
            raise
        if on_progress is not None:
            on_progress("persist", 1, 1)
        timings = {k: float(v) for k, v in board.timings.items()}
        timings["load"] = load_s
        timings["persist"] = persist_s
        regions = board.counts()
        n_joints = len(board.joints)
        n_explained = 0
        if explain and self.explainer is not None and (board.queue_order() or seeds):
            crops, order = self._explain_inputs(board, seeds)
            del board  # only the crops to explain stay in memory
            n_explained = self._explain(
                crops, order, insp.id, on_progress, on_explained, cancel, timings
            )
        log.info(
            "%s: %d joints (%s) as inspection %d",
            path,
            n_joints,
            ", ".join(f"{k} {v}" for k, v in regions.items()),
            insp.id,
        )
        return BoardResult(
            path=str(path),
            status="done",
            serial=done.board_serial,
            product=done.product,
            inspection_id=insp.id,
            n_joints=n_joints,
            regions=regions,
            n_explained=n_explained,
            seconds=time.perf_counter() - t_start,
            timings=timings,
        )

    # ------------------------------------------------------------------ internals

    def _board_dir(self, inspection_id: int) -> Path:
        return self.artefact_dir / "inspections" / f"{inspection_id:08d}"

    def _joint_records(
        self, board: BoardInspection, inspection_id: int
    ) -> list[JointRecord]:
        """Joint rows; crops are written for the joints a person will look at."""
        import cv2

        crop_dir = self._board_dir(inspection_id) / "crops"
        records: list[JointRecord] = []
        for i, (jb, p, region) in enumerate(
            zip(board.joints, board.p, board.regions, strict=True)
        ):
            crop_path = ""
            if region is not Region.NON_DEFECT:
                crop_dir.mkdir(parents=True, exist_ok=True)
                target = crop_dir / f"joint_{i:04d}.png"
                bgr = cv2.cvtColor(
                    np.ascontiguousarray(board.crops[i]), cv2.COLOR_RGB2BGR
                )
                if not cv2.imwrite(str(target), bgr):
                    msg = f"cannot write {target}"
                    raise OSError(msg)
                crop_path = str(target)
            records.append(
                JointRecord(
                    bbox=jb.bbox,
                    p=float(np.clip(p, 0.0, 1.0)),
                    refdes=jb.refdes,
                    pin=jb.pin,
                    joint_type=jb.joint_type,
                    package=jb.package,
                    crop_path=crop_path,
                    region=region,
                )
            )
        return records

    def _seed(
        self, board: BoardInspection, inspection_id: int, records: list[JointRecord]
    ) -> list[PlacedSeed]:
        """Vigilance seeds for the board (never raises; see `app.vigilance`)."""
        if self.vigilance is None:
            return []
        crop_dir = self._board_dir(inspection_id) / "crops"
        return self.vigilance.seed_board(
            self.db,
            self.classifier,
            self.model_version,
            board,
            inspection_id,
            records,
            crop_dir,
        )

    def _explain_inputs(
        self, board: BoardInspection, seeds: list[PlacedSeed]
    ) -> tuple[dict[int, np.ndarray], list[int]]:
        """Copies of the crops to explain, by joint index, and the queue order."""
        from app.vigilance import explain_inputs

        crops, order = explain_inputs(board, seeds)
        if self.max_explanations is not None:
            order = order[: max(0, self.max_explanations)]
        return {i: np.array(crops[i]) for i in order}, order

    def _explain(
        self,
        crops: dict[int, np.ndarray],
        order: list[int],
        inspection_id: int,
        on_progress: ProgressCallback | None,
        on_explained: Callable[[JointExplanation], None] | None,
        cancel: CancelCheck | None,
        timings: dict[str, float],
    ) -> int:
        from inference.explain_queue import explain_joints

        assert self.explainer is not None
        # Joint ids in insertion order: the board's joints, then its seeds.
        ids = self.db.inspections.joint_ids(inspection_id)
        total = len(order)
        t0 = time.perf_counter()
        count = 0

        def persist(item: JointExplanation) -> None:
            nonlocal count
            self.db.inspections.add_explanation(
                ids[item.index],
                ExplanationRecord(
                    p_before=float(item.result.p_before),
                    p_after=float(item.result.p_after),
                    n_factors=len(item.result.factors),
                    forward_passes=item.forward_passes,
                    explainer_version=item.explainer_version,
                    overlay_path=str(item.overlay_path),
                    heatmap_path=str(item.heatmap_path),
                    mask_path=str(item.mask_path),
                ),
            )
            count += 1
            if count == 1:
                timings["first_explanation"] = time.perf_counter() - t0
            if on_progress is not None:
                on_progress("explain", count, total)
            if on_explained is not None:
                on_explained(item)

        try:
            explain_joints(
                self.explainer,
                crops,
                order,
                self._board_dir(inspection_id) / "explanations",
                on_explained=persist,
                cancel=cancel,
            )
        except Cancelled:
            log.info(
                "explanations of inspection %d cancelled after %d of %d",
                inspection_id,
                count,
                total,
            )
        timings["explain"] = time.perf_counter() - t0
        return count
