"""Where the history lives: ``$MEDCTL_DB``, else the user's data directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_db_path() -> Path:
    """``$MEDCTL_DB`` if set, else ``history.sqlite3`` in the user's data directory."""
    override = os.environ.get("MEDCTL_DB")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_data_path("medctl") / "history.sqlite3"
