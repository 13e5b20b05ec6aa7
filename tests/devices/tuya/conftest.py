"""No Tuya test reads the user's own Tuya key file: ``MEDCTL_TUYA_KEYS`` points into a temporary directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def tuya_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "tuya.json"
    monkeypatch.setenv("MEDCTL_TUYA_KEYS", str(path))
    return path
