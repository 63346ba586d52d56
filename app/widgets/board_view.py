"""`BoardView`: the board image with a marker per joint, the current one highlighted.

The image is decoded into a QImage on the task pool; the QPixmap is made here, on
the GUI thread. Markers pair colour with shape: every joint is a thin box in its region
colour, the current joint a thick box plus a ring and cross-hair (never colour alone).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QToolTip,
    QWidget,
)

from app.qt_convert import load_qimage
from app.theme import OKABE_ITO, REGION_COLOURS

if TYPE_CHECKING:
    from PySide6.QtGui import QResizeEvent

    from app.workers.task import TaskRunner

log = logging.getLogger(__name__)

CURRENT_COLOUR = OKABE_ITO["sky_blue"]


@dataclass(frozen=True)
class BoardMarker:
    """One joint on the board: id, box in image pixels, region."""

    joint_id: int
    x: int
    y: int
    w: int
    h: int
    region: Any


def _marker_rect(m: BoardMarker) -> QRectF:
    return QRectF(m.x, m.y, m.w, m.h).adjusted(-2, -2, 2, 2)


def _load_board_image(path: str) -> tuple[str, Any]:
    return path, load_qimage(path)


class BoardView(QGraphicsView):
    """Board overview; click a marker to pick that joint."""

    # A marker was clicked: its joint id.
    joint_clicked = Signal(int)
    # The board image could not be read: an ErrorInfo.
    failed = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMinimumHeight(120)
        self._pixmap_item = QGraphicsPixmapItem()
        self.scene().addItem(self._pixmap_item)
        self._markers: list[QGraphicsItem] = []
        self._wanted_path = ""
        self._loaded_path = ""
        self._last_markers: list[BoardMarker] = []
        self._current: int | None = None
        self.message = ""

    @property
    def loaded_path(self) -> str:
        """The board image now shown ('' while none)."""
        return self._loaded_path

    def show_board(
        self, path: str, markers: list[BoardMarker], current: int | None
    ) -> None:
        """Show `path` (loaded in the background if new) with `markers`."""
        self._last_markers = list(markers)
        self._current = current
        if path != self._wanted_path:
            self._wanted_path = path
            if path:
                task = self._runner.submit(_load_board_image, path)
                task.signals.result.connect(self._on_image_task_result)
                task.signals.failed.connect(self._on_image_task_failed)
                self._runner.start(task)
            else:
                self._set_pixmap(QPixmap(), "")
        self._draw_markers()

    def clear(self) -> None:
        """Show nothing."""
        self._wanted_path = ""
        self._last_markers = []
        self._current = None
        self._set_pixmap(QPixmap(), "")
        self._draw_markers()

    def marker_count(self) -> int:
        return len(self._last_markers)

    def _set_pixmap(self, pixmap: QPixmap, path: str) -> None:
        self._pixmap_item.setPixmap(pixmap)
        self._loaded_path = path
        self.scene().setSceneRect(QRectF(pixmap.rect()))
        self._fit()

    def _draw_markers(self) -> None:
        # One path item per region colour, not one item per joint: a board of a
        # 10,000-joint queue has ~200 queued joints, and re-creating 200 items on
        # every joint cost ~5 ms of Python plus their painting
        # (docs/gui-performance.md).
        scene = self.scene()
        for item in self._markers:
            scene.removeItem(item)
        self._markers = []
        paths: dict[str, QPainterPath] = {}
        current_box = None
        for m in self._last_markers:
            rect = _marker_rect(m)
            colour = REGION_COLOURS.get(m.region, OKABE_ITO["orange"])
            paths.setdefault(colour, QPainterPath()).addRect(rect)
            if m.joint_id == self._current:
                current_box = rect
        for colour, path in paths.items():
            pen = QPen(QColor(colour), 2)
            pen.setCosmetic(True)
            item = QGraphicsPathItem(path)
            item.setPen(pen)
            scene.addItem(item)
            self._markers.append(item)
        if current_box is not None:
            self._draw_current(current_box)

    def marker_at(self, scene_pos: QPointF) -> int | None:
        """The joint id of the marker under `scene_pos` (the current one first)."""
        hits = [
            m.joint_id
            for m in self._last_markers
            if _marker_rect(m).contains(scene_pos)
        ]
        if not hits:
            return None
        return self._current if self._current in hits else hits[0]

    def _draw_current(self, rect: QRectF) -> None:
        scene = self.scene()
        colour = QColor(CURRENT_COLOUR)
        outline = QColor("#000000")
        size = max(rect.width(), rect.height()) + 16
        c = rect.center()
        ring_rect = QRectF(c.x() - size / 2, c.y() - size / 2, size, size)
        for width, col in ((6, outline), (3, colour)):
            pen = QPen(col, width)
            pen.setCosmetic(True)
            ring = QGraphicsEllipseItem(ring_rect)
            ring.setPen(pen)
            ring.setBrush(QBrush(Qt.BrushStyle.NoBrush))
            scene.addItem(ring)
            self._markers.append(ring)
            box = QGraphicsRectItem(rect)
            box.setPen(pen)
            scene.addItem(box)
            self._markers.append(box)
            reach = size * 1.4
            for a, b in (
                (QPointF(c.x() - reach, c.y()), QPointF(c.x() - size / 2, c.y())),
                (QPointF(c.x() + size / 2, c.y()), QPointF(c.x() + reach, c.y())),
                (QPointF(c.x(), c.y() - reach), QPointF(c.x(), c.y() - size / 2)),
                (QPointF(c.x(), c.y() + size / 2), QPointF(c.x(), c.y() + reach)),
            ):
                line = QGraphicsLineItem(a.x(), a.y(), b.x(), b.y())
                line.setPen(pen)
                scene.addItem(line)
                self._markers.append(line)

    def _fit(self) -> None:
        rect = self.scene().sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        joint_id = self.marker_at(self.mapToScene(event.position().toPoint()))
        if joint_id is not None:
            self.joint_clicked.emit(int(joint_id))
            return
        super().mousePressEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            assert isinstance(event, QHelpEvent)
            joint_id = self.marker_at(self.mapToScene(event.pos()))
            if joint_id is not None:
                QToolTip.showText(event.globalPos(), f"Joint {joint_id}", self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)

    @Slot(object)
    def _on_image_task_result(self, result: object) -> None:
        path, image = result  # type: ignore[misc]
        if path != self._wanted_path:
            return  # an older board finished loading after we moved on
        self._set_pixmap(QPixmap.fromImage(image), path)

    @Slot(object)
    def _on_image_task_failed(self, error: object) -> None:
        self.message = getattr(error, "message", str(error))
        self.failed.emit(error)
