"""Shared fixtures: paths to the bundled dataset and to the small valid test dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def valid_copy(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures/valid that a test may break."""
    target = tmp_path / "dataset"
    shutil.copytree(FIXTURES / "valid", target)
    return target
