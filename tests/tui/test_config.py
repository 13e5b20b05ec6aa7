"""The remembered default massager: a small TOML file; a damaged one is a notice, never a crash."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from medctl.tui.config import ConfigError, TuiConfig, default_config_path, load_config, save_config, toml_string


def test_no_file_means_nothing_remembered(tmp_path: Path) -> None:
    loaded = load_config(tmp_path / "config.toml")
    assert loaded.config == TuiConfig() and loaded.notice is None


def test_saved_settings_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "config.toml"
    save_config(path, TuiConfig(device="serial:///dev/ttyUSB0?baud=115200"))
    assert load_config(path).config.device == "serial:///dev/ttyUSB0?baud=115200"
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('device = "sim://', "is not valid TOML"),
        ("device = 7", "not text"),
        ('device = "bluetooth://x"', "cannot use: unknown device address"),
        (b"\xff\xfe".decode("latin-1"), "is not valid TOML"),
    ],
)
def test_a_damaged_file_is_ignored_with_a_notice(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    loaded = load_config(path)
    assert loaded.config == TuiConfig()
    assert loaded.notice is not None and why in loaded.notice and str(path) in loaded.notice


def test_a_file_that_is_not_text_is_ignored_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'device = "\xff"')
    notice = load_config(path).notice
    assert notice is not None and "cannot be read" in notice


def test_saving_where_it_cannot_be_written_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot save the settings"):
        save_config(blocker / "config.toml", TuiConfig(device="sim://"))


@pytest.mark.parametrize("value", ['a"b\\c', "tab\there", "bell\x07", "del\x7f", "é ✓ 😀"])
def test_strings_are_written_as_valid_toml(value: str) -> None:
    assert tomllib.loads(f"v = {toml_string(value)}")["v"] == value


def test_the_path_follows_medctl_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCTL_CONFIG", str(tmp_path / "mine.toml"))
    assert default_config_path() == tmp_path / "mine.toml"
    monkeypatch.delenv("MEDCTL_CONFIG")
    assert default_config_path().name == "config.toml" and default_config_path().parent.name == "medctl"


def test_the_bell_setting_reads_back_and_a_bad_one_is_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    save_config(path, TuiConfig(bell=False))
    assert load_config(path).config == TuiConfig(bell=False)
    save_config(path, TuiConfig(device="sim://"))
    assert "bell" not in path.read_text() and load_config(path).config.bell
    path.write_text("bell = 1\n")
    loaded = load_config(path)
    assert loaded.config == TuiConfig() and loaded.notice is not None and "bell = false" in loaded.notice
