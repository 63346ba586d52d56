"""Report writers: pure functions of the `ShiftReport` DTO (no Qt, no database)."""

from __future__ import annotations

from app.reports.writers import write_csv, write_json, write_report, write_xlsx

__all__ = ["write_csv", "write_json", "write_report", "write_xlsx"]
