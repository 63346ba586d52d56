"""`JointView`: the large joint crop with its explanation overlay, zoom and pan."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QImage, QResizeEvent

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.1, 40.0
DEFAULT_OPACITY = 80


class _ZoomGraphicsView(QGraphicsView):
    """A graphics view that zooms on the wheel and keeps "fit" across resizes."""

    # The zoom changed: the new scale factor.
    zoom_changed = Signal(float)

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.fit_mode = True
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def scale_factor(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = min(max(self.scale_factor() * factor, MIN_SCALE), MAX_SCALE)
        self.fit_mode = False
        self.scale(target / self.scale_factor(), target / self.scale_factor())
        self.zoom_changed.emit(self.scale_factor())

    def fit(self) -> None:
        self.fit_mode = True
        rect = self.scene().itemsBoundingRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.scale_factor())

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()


class JointView(QWidget):
    """Crop plus explanation overlay (outline and heatmap) with opacity and zoom.

    Images arrive as QImages (decoded on a worker); pixmaps are made here, on the
    GUI thread.
    """

    # The overlay was shown (True) or hidden (False).
    overlay_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, overlay_key: str = "") -> None:
        super().__init__(parent)
        self.scene = QGraphicsScene(self)
        self.view = _ZoomGraphicsView(self.scene, self)
        self.view.setObjectName("jointGraphicsView")
        self._crop_item = QGraphicsPixmapItem()
        self._overlay_item = QGraphicsPixmapItem()
        self._overlay_item.setZValue(1)
        self.scene.addItem(self._crop_item)
        self.scene.addItem(self._overlay_item)

        hint = f" ({overlay_key})" if overlay_key else ""
        self.overlay_check = QCheckBox(f"Overlay{hint}", self)
        self.overlay_check.setToolTip(
            "The explanation: critical-factor outline and regional heatmap"
        )
        self.overlay_check.setObjectName("overlayCheck")
        self.overlay_check.setChecked(True)
        self.overlay_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.overlay_check.toggled.connect(self._on_overlay_check_toggled)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity_slider.setObjectName("overlayOpacity")
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(DEFAULT_OPACITY)
        self.opacity_slider.setMinimumWidth(60)
        self.opacity_slider.setMaximumWidth(140)
        self.opacity_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.opacity_slider.setToolTip("Overlay opacity")
        self.opacity_slider.valueChanged.connect(self._on_opacity_slider_changed)
        self.zoom_label = QLabel("Fit", self)
        self.zoom_label.setProperty("role", "muted")
        self.zoom_label.setToolTip("+ / - zoom, 0 fits; drag to pan")
        self.view.zoom_changed.connect(self._on_view_zoom_changed)
        self.message_label = QLabel("", self)
        self.message_label.setProperty("role", "muted")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.message_label.hide()

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.overlay_check)
        bar.addWidget(QLabel("Opacity", self))
        bar.addWidget(self.opacity_slider)
        bar.addStretch(1)
        bar.addWidget(self.zoom_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(bar)
        self._overlay_item.setOpacity(DEFAULT_OPACITY / 100)

    # -- content ---------------------------------------------------------------------
    def set_images(self, crop: QImage | None, overlay: QImage | None) -> None:
        """Show a crop and (optionally) its overlay; fits the view."""
        self._crop_item.setPixmap(QPixmap.fromImage(crop) if crop else QPixmap())
        self._overlay_item.setPixmap(
            QPixmap.fromImage(overlay) if overlay else QPixmap()
        )
        self._overlay_item.setVisible(
            overlay is not None and self.overlay_check.isChecked()
        )
        self.overlay_check.setEnabled(overlay is not None)
        self.opacity_slider.setEnabled(overlay is not None)
        self.show_message("" if crop else "No crop image for this joint.")
        self.scene.setSceneRect(self._crop_item.boundingRect())
        self.view.fit()

    def show_message(self, text: str) -> None:
        """A line under the image (missing files, loading); empty hides it."""
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def clear(self, message: str = "") -> None:
        """Show nothing (an empty queue)."""
        self.set_images(None, None)
        self.show_message(message)

    @property
    def has_overlay(self) -> bool:
        return not self._overlay_item.pixmap().isNull()

    @property
    def overlay_visible(self) -> bool:
        """Whether the overlay is drawn now."""
        return self.has_overlay and self._overlay_item.isVisible()

    # -- commands (keyboard) ---------------------------------------------------------
    def toggle_overlay(self) -> None:
        """Space: show or hide the explanation overlay."""
        self.overlay_check.toggle()

    def zoom_in(self) -> None:
        self.view.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.view.zoom_by(1 / ZOOM_STEP)

    def fit(self) -> None:
        self.view.fit()

    def scale_factor(self) -> float:
        return self.view.scale_factor()

    # -- slots -----------------------------------------------------------------------
    @Slot(bool)
    def _on_overlay_check_toggled(self, checked: bool) -> None:
        self._overlay_item.setVisible(checked and self.has_overlay)
        self.overlay_toggled.emit(checked)

    @Slot(int)
    def _on_opacity_slider_changed(self, value: int) -> None:
        self._overlay_item.setOpacity(value / 100)

    @Slot(float)
    def _on_view_zoom_changed(self, factor: float) -> None:
        fit = " (fit)" if self.view.fit_mode else ""
        self.zoom_label.setText(f"{factor * 100:.0f} %{fit}")
