"""First start: inspect the demo boards so a new user lands in a populated queue.

On a station whose database holds no inspection yet, the four demo boards shipped
in `resources/demo/boards` (recipes in `resources/demo/recipes`) are queued on the
ingest controller with the configured model. When that model is missing the Inspect
screen says so instead (nothing is queued).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import DEMO_DIR

if TYPE_CHECKING:
    from app.controllers.ingest_controller import BoardJob, IngestController

log = logging.getLogger(__name__)

DEMO_BOARDS_DIR = DEMO_DIR / "boards"


@dataclass(frozen=True)
class FirstStart:
    """What the first start did: the demo jobs queued, or why none were."""

    jobs: tuple[BoardJob, ...] = ()
    message: str = ""


def demo_boards(folder: Path = DEMO_BOARDS_DIR) -> list[Path]:
    """The shipped demo board images (sorted)."""
    return sorted(folder.glob("*.jpg")) if folder.is_dir() else []


def model_missing_message(model_dir: str | Path) -> str:
    """The Inspect screen's sentence when the model folder holds no model."""
    return (
        f"No model is installed in {model_dir}: boards cannot be inspected yet. "
        "Install a model folder there (model.json + weights) or choose another "
        "model in Settings, then restart."
    )


def is_first_start(database: Any) -> bool:
    """No inspection was ever recorded in this database."""
    return not database.inspections.list_inspections(limit=1)


def run_first_start(
    database: Any,
    ingest: IngestController,
    *,
    boards: list[Path] | None = None,
) -> FirstStart:
    """Queue the demo boards on a first start; say when the model is missing.

    Args:
        database: the open database (read once, at startup, before the window).
        ingest: where the boards are queued.
        boards: the demo boards (default: `resources/demo/boards/*.jpg`).

    Returns:
        The jobs queued, or the message for the Inspect screen.
    """
    if not ingest.model_available:
        return FirstStart(message=model_missing_message(ingest.config.model_dir))
    if not is_first_start(database):
        return FirstStart()
    images = demo_boards() if boards is None else boards
    if not images:
        return FirstStart()
    log.info("first start: inspecting %d demo boards", len(images))
    return FirstStart(jobs=tuple(ingest.add_paths(images)))
