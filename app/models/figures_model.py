"""`FiguresTableModel`: (figure, value) rows; `report_rows` flattens a report DTO."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

_Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Figure", "Value")

# Words kept upper-case when a field name becomes a label.
_ACRONYMS = {
    "ppm": "PPM",
    "fpy": "FPY",
    "id": "ID",
    "ece": "ECE",
    "pct": "%",
    "dpmo": "DPMO",
}


def label_of(name: str) -> str:
    """`false_call_ppm` -> `False call PPM`."""
    words = [_ACRONYMS.get(w, w) for w in name.split("_") if w]
    if not words:
        return name
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])


def format_value(value: Any) -> str:
    """A short display string for a scalar report value."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer():
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, dt.datetime):
        local = value.astimezone() if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.timedelta):
        minutes = value.total_seconds() / 60
        return f"{minutes:,.1f} min"
    return str(value)


def report_rows(report: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten a (nested) frozen-dataclass report into (label, value) rows.

    Scalars become rows; nested dataclasses are flattened with their field name as
    prefix; mappings and sequences (Pareto lists, per-operator tables) are summarised
    by their length, since charts and tables for them come with the dashboard.
    """
    if not dataclasses.is_dataclass(report):
        return [(prefix or "Value", format_value(report))]
    rows: list[tuple[str, str]] = []
    for field in dataclasses.fields(report):
        value = getattr(report, field.name)
        label = (
            label_of(field.name) if not prefix else f"{prefix}: {label_of(field.name)}"
        )
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            rows.extend(report_rows(value, label))
        elif isinstance(value, Mapping):
            rows.append((label, f"{len(value)} entries"))
        elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
            rows.append((label, f"{len(value)} entries"))
        else:
            rows.append((label, format_value(value)))
    return rows


class FiguresTableModel(QAbstractTableModel):
    """Two read-only columns: figure and value."""

    def __init__(
        self, rows: list[tuple[str, str]] | None = None, parent: QObject | None = None
    ):
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = list(rows or [])

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        """Replace the rows."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None
