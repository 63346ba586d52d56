"""The Model screen's SOXAI tab: the second-order explanation map of a test set.

`soldernet soxai --model FOLDER --data TEST_SET --out FOLDER/soxai` writes the map,
two scatter plots and `soxai.json`; the controller reads them off the GUI thread
(`read_soxai`) and this panel shows the images and what each group is made of.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

SOXAI_FOLDER = "soxai"
IMAGES = (
    ("soxai_map.png", "Map (explanation thumbnails)"),
    ("soxai_scatter_groups.png", "Scatter by group"),
    ("soxai_scatter_types.png", "Scatter by defect type"),
)
COLUMNS = ("Group", "Joints", "Defective", "Over-represented", "Under-represented")


@dataclass(frozen=True)
class SoxaiInfo:
    """A SOXAI run found next to a model: its images, groups and any problem."""

    folder: Path
    images: list[tuple[str, QImage]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    n_embedded: int = 0
    error: str = ""


def read_soxai(model_folder: Path) -> SoxaiInfo | None:
    """Read `<model folder>/soxai/` (any thread; QImage only). None when absent."""
    folder = Path(model_folder) / SOXAI_FOLDER
    path = folder / "soxai.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        groups = list(data.get("groups") or [])
        n = int(data.get("n_embedded") or 0)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        return SoxaiInfo(folder, error=f"{path}: unreadable ({exc})")
    images = []
    for name, title in IMAGES:
        image = QImage(str(folder / name))
        if image.isNull():
            log.warning("%s: missing or not a readable PNG; skipped", folder / name)
            continue
        images.append((title, image))
    return SoxaiInfo(folder, images, groups, n)


def _types(group: dict[str, Any], key: str) -> str:
    return ", ".join(str(t) or "(good)" for t in group.get(key) or []) or "–"


class SoxaiPanel(QWidget):
    """The SOXAI images with a table of the groups' make-up."""

    def __init__(self, parent: QWidget | None = None) -> None:
        from app.screens.reports_screen import ImageView  # shared image widget

        super().__init__(parent)
        self.caption = QLabel("", self)
        self.caption.setObjectName("soxaiCaption")
        self.caption.setWordWrap(True)
        self.caption.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.image_combo = QComboBox(self)
        self.image_combo.setObjectName("soxaiImages")
        self.image_combo.currentIndexChanged.connect(self._on_image_combo_changed)
        self.image_view = ImageView(self)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("soxaiGroups")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.image_view)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.image_combo, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(split, 1)
        self._images: list[tuple[str, QImage]] = []
        self.set_info(None, None)

    def set_info(self, info: SoxaiInfo | None, model_folder: Path | None) -> None:
        """Show a SOXAI run, or how to make one for `model_folder`."""
        self._images = list(info.images) if info else []
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.addItems([title for title, _ in self._images])
        self.image_combo.blockSignals(False)
        self.table.setRowCount(0)
        if info is None or info.error:
            where = model_folder or Path("MODEL_FOLDER")
            self.caption.setText(
                info.error
                if info is not None
                else "No SOXAI map for this model yet. An engineer makes one from a "
                f"labelled test set: soldernet soxai --model {where} --data TEST_SET "
                f"--out {where / SOXAI_FOLDER}"
            )
            self.image_view.set_image(QImage())
            self.image_combo.hide()
            self.table.hide()
            return
        self.caption.setText(
            f"{info.n_embedded} explained joints grouped by what the model looked at "
            f"({len(info.groups)} groups; {info.folder}). A group that gathers one "
            "defect type is a concept the model learned; a group that mixes types "
            "by size or lighting is a shortcut to check."
        )
        self.image_combo.setVisible(bool(self._images))
        self.table.show()
        for g in info.groups:
            labels = g.get("label_counts") or {}
            row = self.table.rowCount()
            self.table.insertRow(row)
            cells = (
                str(g.get("cluster", row)),
                str(g.get("size", "")),
                str(labels.get("1", labels.get(1, 0))),
                _types(g, "over_represented"),
                _types(g, "under_represented"),
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self._on_image_combo_changed(0)

    @Slot(int)
    def _on_image_combo_changed(self, index: int) -> None:
        if 0 <= index < len(self._images):
            self.image_view.set_image(self._images[index][1])
        else:
            self.image_view.set_image(QImage())
