"""Shared test set-up: offscreen Qt, isolated settings and QSettings, no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--headed", action="store_true", help="show Qt windows")


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("--headed"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
):
    """No test touches the real home folder: data dir and XDG dirs point into tmp."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SOLDERNET_HOME", str(home / "soldernet"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("SOLDERNET_DB", raising=False)
    monkeypatch.delenv("SOLDERNET_MODEL", raising=False)
    return home


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a real SQLite file (never :memory:)."""
    return tmp_path / "inspection.db"


@pytest.fixture
def one_torch_thread():
    """Run the test on one torch CPU thread (tests share 2 cores)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
