"""Local files: the settings file read and written as safely as the key file (SECURITY.md, "Local files")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from medctl.localfiles import MAX_SMALL_FILE
from medctl.tui.config import TuiConfig, load_config, save_config


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_as_the_settings_file_is_a_notice_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    os.mkfifo(path)
    loaded = load_config(path)
    assert loaded.config == TuiConfig() and loaded.notice is not None and "not a regular file" in loaded.notice


def test_dev_zero_as_the_settings_file_is_a_notice_not_a_memory_error() -> None:
    loaded = load_config(Path("/dev/zero"))
    assert loaded.config == TuiConfig() and loaded.notice is not None and "not a regular file" in loaded.notice


def test_a_huge_settings_file_is_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with open(path, "wb") as handle:
        handle.truncate(MAX_SMALL_FILE + 1)
    loaded = load_config(path)
    assert loaded.notice is not None and "more than" in loaded.notice


def test_saving_never_writes_through_a_planted_temporary_name(tmp_path: Path) -> None:
    path = tmp_path / "medctl" / "config.toml"
    path.parent.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    for name in (f".{path.name}.{os.getpid()}.tmp", f".{path.name}.tmp", f".{path.name}-.tmp"):
        (path.parent / name).symlink_to(victim)
    save_config(path, TuiConfig(device="serial:///dev/ttyUSB0"))
    assert victim.read_text() == "untouched"
    assert load_config(path).config == TuiConfig(device="serial:///dev/ttyUSB0")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_ISREG(path.lstat().st_mode)
