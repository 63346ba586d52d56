"""Model tab: model card, evaluation plots, threshold what-if and model versions.

* Card: architecture, data, metrics, thresholds, version and weights SHA-256 of the
  active model folder (the registry's active version, else the configured folder).
* Evaluation plots: every `*.png` in the model folder (trust matrix, reliability
  diagram, ...), one at a time.
* Threshold what-if: past verdicts give (p, confirmed defect) pairs; moving t_lo/t_hi
  shows the projected review rate, auto-escape and auto-overkill
  (`inference.metrics.region_metrics`).
* Versions: the registry with promote / roll back for engineers and admins.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.screens.reports_screen import ImageView
from app.widgets.error_presenter import describe
from app.widgets.outcome_histogram import (
    DEFECT_COLOUR,
    GOOD_COLOUR,
    OutcomeHistogram,
)
from app.widgets.soxai_panel import SoxaiPanel
from app.widgets.versions_panel import VersionsPanel
from inference.metrics import region_metrics

if TYPE_CHECKING:
    from app.controllers.model_controller import ModelController, ModelInfo
    from app.settings import Settings

log = logging.getLogger(__name__)

SLIDER_STEPS = 100  # slider units per 1.0 of probability
CARD_WIDTH = 340


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:.4g}"
    if value is None:
        return "n/a"
    return str(value)


def _lines(mapping: Any, limit: int = 18) -> str:
    """`key: value` lines of a (nested) mapping, one level of nesting flattened."""
    if not isinstance(mapping, dict) or not mapping:
        return "–"
    out: list[str] = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            inner = ", ".join(
                f"{k}={_fmt(v)}"
                for k, v in value.items()
                if not isinstance(v, dict | list)
            )
            out.append(f"{key}: {inner or '…'}")
        elif isinstance(value, list):
            out.append(f"{key}: {len(value)} values")
        else:
            out.append(f"{key}: {_fmt(value)}")
    if len(out) > limit:
        out = [*out[:limit], f"… {len(out) - limit} more in model.json"]
    return "\n".join(out)


def _pct(x: float) -> str:
    return f"{x:.1%}"


class ModelScreen(QWidget):
    """The model card, its evaluation plots, the threshold what-if and versions."""

    TITLE = "Model"

    def __init__(
        self,
        settings: Settings,
        models: ModelController | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._models = models
        self._session: Any = None
        self.info: ModelInfo | None = None
        self._p = np.zeros(0)
        self._y = np.zeros(0, dtype=np.int64)
        self._model_thresholds = (settings.thresholds.t_lo, settings.thresholds.t_hi)

        heading = QLabel("Model", self)
        heading.setProperty("role", "heading")
        self.source_label = QLabel(str(settings.model_dir), self)
        self.source_label.setProperty("role", "muted")
        self.refresh_button = QPushButton("Reload", self)
        self.refresh_button.setObjectName("modelRefresh")
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.note_label = QLabel("", self)
        self.note_label.setObjectName("modelNote")
        self.note_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(heading)
        top.addSpacing(12)
        top.addWidget(self.source_label, 1)
        top.addWidget(self.note_label, 1)
        top.addWidget(self.refresh_button)

        body = QHBoxLayout()
        body.addWidget(self._build_card(), 0)
        self.tabs = QTabWidget(self)
        # In a scroll area, so a small window can still show the tab (no min height).
        whatif = QScrollArea(self)
        whatif.setWidget(self._build_whatif())
        whatif.setWidgetResizable(True)
        whatif.setFrameShape(QFrame.Shape.NoFrame)
        self.tabs.addTab(whatif, "Threshold what-if")
        self.tabs.addTab(self._build_plots(), "Evaluation plots")
        self.soxai_panel = SoxaiPanel(self)
        self.tabs.addTab(self.soxai_panel, "SOXAI map")
        self.tabs.addTab(self._build_versions(), "Versions")
        body.addWidget(self.tabs, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 16, 16, 12)
        layout.addLayout(top)
        layout.addLayout(body, 1)

        if models is not None:
            models.info_ready.connect(self._on_models_info_ready)
            models.outcomes_ready.connect(self._on_models_outcomes_ready)
            models.versions_ready.connect(self._on_models_versions_ready)
            models.comparison_ready.connect(self._on_models_comparison_ready)
            models.version_changed.connect(self._on_models_version_changed)
            models.failed.connect(self._on_models_failed)
            models.busy_changed.connect(self._on_models_busy_changed)
        self._set_thresholds(*self._model_thresholds)
        self._update_permissions()

    # -- assembly ------------------------------------------------------------------
    def _build_card(self) -> QWidget:
        card = QFrame(self)
        card.setProperty("role", "card")
        form = QFormLayout(card)
        form.setContentsMargins(16, 12, 16, 12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.card_labels: dict[str, QLabel] = {}
        for key, title in (
            ("folder", "Folder"),
            ("architecture", "Architecture"),
            ("version", "Version"),
            ("sha256", "Weights SHA-256"),
            ("thresholds", "Thresholds"),
            ("temperature", "Temperature"),
            ("input_size", "Input size"),
            ("created", "Created"),
            ("data", "Data"),
            ("metrics", "Metrics"),
        ):
            label = QLabel("–", card)
            label.setObjectName(f"card_{key}")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(title, label)
            self.card_labels[key] = label
        scroll = QScrollArea(self)
        scroll.setWidget(card)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(CARD_WIDTH)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    def _slider(self, low: float, high: float) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(round(low * SLIDER_STEPS), round(high * SLIDER_STEPS))
        slider.setSingleStep(1)
        slider.setPageStep(5)
        slider.setTickInterval(10)
        slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        slider.valueChanged.connect(self._on_slider_value_changed)
        return slider

    def _build_whatif(self) -> QWidget:
        page = QWidget(self)
        self.whatif_summary = QLabel("No past verdicts loaded yet.", page)
        self.whatif_summary.setWordWrap(True)
        # Both sliders span 0..1 so their handles line up with the histogram below;
        # t_lo stops at 0.5 and t_hi at 0.5 (region_metrics needs t_lo <= 0.5 <= t_hi).
        self.t_lo_slider = self._slider(0.0, 1.0)
        self.t_lo_slider.setObjectName("whatifTLo")
        self.t_hi_slider = self._slider(0.0, 1.0)
        self.t_hi_slider.setObjectName("whatifTHi")
        self.t_lo_label = QLabel(page)
        self.t_hi_label = QLabel(page)
        self.reset_button = QPushButton("Model's thresholds", page)
        self.reset_button.clicked.connect(self._on_reset_button_clicked)
        sliders = QGridLayout()
        sliders.addWidget(QLabel("t_lo (below: passed, no review)", page), 0, 0)
        sliders.addWidget(self.t_lo_slider, 0, 1)
        sliders.addWidget(self.t_lo_label, 0, 2)
        sliders.addWidget(QLabel("t_hi (at or above: straight to rework)", page), 1, 0)
        sliders.addWidget(self.t_hi_slider, 1, 1)
        sliders.addWidget(self.t_hi_label, 1, 2)
        sliders.setColumnStretch(1, 1)

        self.projection: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(24)
        for row, (key, title, tip) in enumerate(
            (
                ("review_rate", "Review rate", "Share left for human review"),
                ("auto_escape", "Auto-escape", "Confirmed defects passed (p < t_lo)"),
                (
                    "auto_overkill",
                    "Auto-overkill",
                    "False calls sent straight to rework (p >= t_hi)",
                ),
                ("auto_pass_rate", "Auto-pass rate", "Share passed without review"),
                ("auto_defect_rate", "Auto-defect rate", "Share sent to rework"),
            )
        ):
            name = QLabel(title, page)
            name.setToolTip(tip)
            value = QLabel("–", page)
            value.setObjectName(f"whatif_{key}")
            value.setProperty("role", "subheading")
            value.setToolTip(tip)
            grid.addWidget(name, row, 0)
            grid.addWidget(value, row, 1)
            self.projection[key] = value
        grid.setColumnStretch(2, 1)
        note = QLabel(
            "Projected over the joints that have a current verdict: each confirmed "
            "defect counts as a defect, each false call or process indicator as a good "
            "joint. Joints that never reached review have no verdict and are not "
            "included.",
            page,
        )
        note.setProperty("role", "muted")
        note.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self.whatif_summary)
        layout.addSpacing(4)
        layout.addLayout(grid)
        self.histogram = OutcomeHistogram(page)
        self.histogram.setObjectName("whatifHistogram")
        legend = QLabel(
            f'<span style="color:{DEFECT_COLOUR}">&#9632;</span> confirmed defect<br>'
            f'<span style="color:{GOOD_COLOUR}">&#9632;</span> false call / '
            "process indicator<br>shaded: human review<br>"
            "x: model confidence p",
            page,
        )
        legend.setTextFormat(Qt.TextFormat.RichText)
        legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        sliders.addWidget(legend, 2, 0)
        sliders.addWidget(self.histogram, 2, 1)
        sliders.setRowStretch(2, 1)
        layout.addLayout(sliders, 1)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(note)
        return page

    def _build_plots(self) -> QWidget:
        page = QWidget(self)
        self.plot_combo = QComboBox(page)
        self.plot_combo.setObjectName("modelPlots")
        self.plot_combo.currentIndexChanged.connect(self._on_plot_combo_changed)
        self.plot_view = ImageView(page)
        self.plot_view.setObjectName("modelPlotView")
        self.plots_empty = QLabel(
            "No evaluation plots in the model folder (soldernet evaluate writes the "
            "trust matrix, reliability diagram and others as PNG files).",
            page,
        )
        self.plots_empty.setProperty("role", "muted")
        self.plots_empty.setWordWrap(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self.plot_combo, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.plots_empty)
        layout.addWidget(self.plot_view, 1)
        return page

    def _build_versions(self) -> QWidget:
        panel = VersionsPanel(self)
        panel.promote_requested.connect(self._on_versions_promote_requested)
        panel.rollback_requested.connect(self._on_versions_rollback_requested)
        panel.selection_changed.connect(self._on_versions_selection_changed)
        self.versions = panel
        # The parts tests and screenshots reach for.
        self.versions_table = panel.table
        self.promote_button = panel.promote_button
        self.rollback_button = panel.rollback_button
        self.comparison = panel.comparison
        self.permission_label = panel.permission_label
        return panel

    # -- session -------------------------------------------------------------------
    def set_session(self, session: Any) -> None:
        """Refresh for `session` (promote/rollback only for engineers and admins)."""
        self._session = session
        self._update_permissions()
        if session is not None and self._models is not None:
            self._models.refresh()

    def _may_promote(self) -> bool:
        return (
            self._session is not None
            and self._models is not None
            and self._models.may_promote(self._session.role)
        )

    def _update_permissions(self) -> None:
        self.versions.set_allowed(
            self._may_promote(), logged_in=self._session is not None
        )

    @Slot(object)
    def _on_versions_selection_changed(self, version: Any) -> None:
        if version is not None and self._models is not None:
            self._models.load_comparison(version)

    @Slot(object)
    def _on_models_comparison_ready(self, result: Any) -> None:
        self.versions.show_comparison(*result)

    # -- what-if -------------------------------------------------------------------
    @property
    def thresholds(self) -> tuple[float, float]:
        """The (t_lo, t_hi) the sliders show."""
        return (
            self.t_lo_slider.value() / SLIDER_STEPS,
            self.t_hi_slider.value() / SLIDER_STEPS,
        )

    def _set_thresholds(self, t_lo: float, t_hi: float) -> None:
        t_lo = min(max(t_lo, 0.0), 0.5)
        t_hi = min(max(t_hi, 0.5), 1.0)
        self.t_lo_slider.setValue(round(t_lo * SLIDER_STEPS))
        self.t_hi_slider.setValue(round(t_hi * SLIDER_STEPS))
        self._update_projection()

    def set_outcomes(self, pairs: list[tuple[float, bool]]) -> None:
        """Use these past (p, is_defect) pairs for the what-if."""
        self._p = np.array([p for p, _y in pairs], dtype=np.float64)
        self._y = np.array([int(y) for _p, y in pairs], dtype=np.int64)
        self.histogram.set_data(self._p, self._y)
        defects = int(self._y.sum())
        self.whatif_summary.setText(
            f"{len(pairs)} past verdicts: {defects} confirmed defects, "
            f"{len(pairs) - defects} false calls or process indicators."
            if pairs
            else "No past verdicts yet: the what-if needs reviewed joints."
        )
        self._update_projection()

    def _update_projection(self) -> None:
        t_lo, t_hi = self.thresholds
        self.t_lo_label.setText(f"{t_lo:.2f}")
        self.t_hi_label.setText(f"{t_hi:.2f}")
        self.histogram.set_thresholds(t_lo, t_hi)
        if len(self._p) == 0:
            for label in self.projection.values():
                label.setText("–")
            return
        m = region_metrics(self._y, self._p, t_lo, t_hi)
        n = m.n
        values = {
            "review_rate": m.review_rate,
            "auto_escape": m.auto_escape,
            "auto_overkill": m.auto_overkill,
            "auto_pass_rate": m.auto_pass_rate,
            "auto_defect_rate": m.auto_defect_rate,
        }
        for key, rate in values.items():
            self.projection[key].setText(f"{_pct(rate)}  ({round(rate * n)} of {n})")

    # -- display -------------------------------------------------------------------
    def _show_info(self, info: ModelInfo) -> None:
        self.info = info
        self.soxai_panel.set_info(info.soxai, info.folder)
        card = info.card
        source = "active version" if info.source == "active" else "configured folder"
        self.source_label.setText(f"{info.folder} ({source})")
        sha = str(card.get("weights_sha256") or card.get("sha256") or "")
        thresholds = info.thresholds
        texts = {
            "folder": str(info.folder),
            "architecture": _fmt(card.get("architecture")),
            "version": _fmt(card.get("version")),
            "sha256": f"{sha[:16]}…" if len(sha) > 16 else (sha or "–"),
            "thresholds": (
                f"t_lo {thresholds[0]:.2f}, t_hi {thresholds[1]:.2f}"
                if thresholds
                else "–"
            ),
            "temperature": _fmt(card.get("temperature")),
            "input_size": _fmt(card.get("input_size")),
            "created": _fmt(card.get("created_utc")),
            "data": _lines(card.get("data") or card.get("data_summary")),
            "metrics": _lines(card.get("metrics")),
        }
        for key, text in texts.items():
            self.card_labels[key].setText(text if card or key == "folder" else "–")
        if info.error:
            self.card_labels["architecture"].setText(info.error)
        self.card_labels["sha256"].setToolTip(sha)
        if thresholds is not None:
            self._model_thresholds = thresholds
            self._set_thresholds(*thresholds)
        self.plot_combo.blockSignals(True)
        self.plot_combo.clear()
        for name, _image in info.plots:
            self.plot_combo.addItem(name)
        self.plot_combo.blockSignals(False)
        self.plot_combo.setVisible(bool(info.plots))
        self.plots_empty.setVisible(not info.plots)
        self._on_plot_combo_changed(0)

    def _note(self, text: str, *, error: bool = False) -> None:
        self.note_label.setProperty("role", "error" if error else "muted")
        self.note_label.setText(text)
        self.note_label.style().unpolish(self.note_label)
        self.note_label.style().polish(self.note_label)

    # -- slots ---------------------------------------------------------------------
    @Slot()
    def _on_refresh_button_clicked(self) -> None:
        if self._models is not None:
            self._note("")
            self._models.refresh()

    @Slot(int)
    def _on_slider_value_changed(self, _value: int) -> None:
        half = SLIDER_STEPS // 2
        if self.t_lo_slider.value() > half:
            self.t_lo_slider.setValue(half)  # re-enters with the clamped value
            return
        if self.t_hi_slider.value() < half:
            self.t_hi_slider.setValue(half)
            return
        self._update_projection()

    @Slot()
    def _on_reset_button_clicked(self) -> None:
        self._set_thresholds(*self._model_thresholds)

    @Slot(int)
    def _on_plot_combo_changed(self, index: int) -> None:
        plots = self.info.plots if self.info is not None else []
        if 0 <= index < len(plots):
            self.plot_view.set_image(plots[index][1])
        else:
            from PySide6.QtGui import QImage

            self.plot_view.set_image(QImage())

    @Slot(str)
    def _on_versions_promote_requested(self, version: str) -> None:
        if self._models is not None and self._session is not None:
            self._models.promote(self._session.user, version)

    @Slot()
    def _on_versions_rollback_requested(self) -> None:
        if self._models is not None and self._session is not None:
            self._models.rollback(self._session.user)

    @Slot(object)
    def _on_models_info_ready(self, info: Any) -> None:
        self._show_info(info)

    @Slot(object)
    def _on_models_outcomes_ready(self, pairs: Any) -> None:
        self.set_outcomes(list(pairs))

    @Slot(object)
    def _on_models_versions_ready(self, versions: Any) -> None:
        self.versions.set_versions(list(versions))

    @Slot(object)
    def _on_models_version_changed(self, version: Any) -> None:
        self._note(f"Active model: {version.version}")

    @Slot(object)
    def _on_models_failed(self, error: Any) -> None:
        self._note(describe(error), error=True)

    @Slot(bool)
    def _on_models_busy_changed(self, busy: bool) -> None:
        self.refresh_button.setEnabled(not busy)
