"""Trainer test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

import relgraph as rg


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh relgraph home (job store and artifacts) under ``tmp_path``."""
    rg.init(home=tmp_path / "home")
    return tmp_path
