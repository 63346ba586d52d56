"""Start-up: a station's own database comes back clean after a crash."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from app.bootstrap import open_station_database
from app.settings import Settings
from db.enums import InspectionStatus

START_AND_DIE = """
import os, sys
from db import open_database
db = open_database(sys.argv[1])
insp = db.inspections.start_inspection(
    serial="SN-1", product="demo", image_path="board.png", image_sha256="0" * 64,
    model_version="m1", t_lo=0.1, t_hi=0.9)
print(insp.id, flush=True)
os._exit(0)  # dies mid-board: no finish, no fail
"""


def test_inspection_of_a_dead_process_is_marked_failed_at_start(tmp_path: Path) -> None:
    settings = replace(Settings(data_dir=tmp_path), db_url=str(tmp_path / "station.db"))
    out = subprocess.run(
        [sys.executable, "-c", START_AND_DIE, settings.database],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    inspection_id = int(out.split()[-1])

    database = open_station_database(settings)
    try:
        again = database.inspections.get_inspection(inspection_id)
        assert again.status == InspectionStatus.FAILED
        assert "interrupted" in again.error
    finally:
        database.close()
