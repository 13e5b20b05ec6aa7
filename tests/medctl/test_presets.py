"""Saved plans ("my usual", "repeat last") in presets.toml, and medctl session --preset."""

from __future__ import annotations

from pathlib import Path

import pytest

from medctl.cli import build_parser
from medctl.cli.common import UsageError
from medctl.cli.session import _plan as session_plan
from medctl.presets import PresetError, default_presets_path, load_preset, load_presets, save_preset
from medctl.session import SessionPlan


def test_presets_are_saved_beside_each_other_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "presets.toml"
    assert load_presets(path) == {}
    save_preset(path, "usual", SessionPlan(minutes=8, heat=True, target_intensity=3))
    save_preset(path, "last", SessionPlan(minutes=6))
    assert load_preset(path, "usual") == SessionPlan(minutes=8, heat=True, target_intensity=3)
    assert load_preset(path, "last") == SessionPlan(minutes=6)
    assert sorted(p.name for p in path.parent.iterdir()) == ["presets.toml"]  # no temporary file left


def test_a_missing_preset_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match='no "my usual" plan saved yet'):
        load_preset(tmp_path / "presets.toml", "usual")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[usual\n", "not valid TOML"),
        ("usual = 3\n", "not a table"),
        ("[usual]\nminutes = 30\n", "usual"),
        ("[usual]\nspeed = 9\n", "only minutes, heat and target_intensity"),
        ('[last]\nheat = "yes"\n', "heat must be true or false"),
    ],
)
def test_a_damaged_file_is_one_clear_error(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "presets.toml"
    path.write_text(text)
    with pytest.raises(PresetError, match=why):
        load_presets(path)
    with pytest.raises(PresetError):
        save_preset(path, "last", SessionPlan())  # never writes over a file it could not read
    assert path.read_text() == text


def test_the_file_lives_beside_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCTL_CONFIG", str(tmp_path / "conf" / "config.toml"))
    assert default_presets_path() == tmp_path / "conf" / "presets.toml"


def test_session_preset_with_options_over_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDCTL_CONFIG", str(tmp_path / "config.toml"))
    save_preset(tmp_path / "presets.toml", "usual", SessionPlan(minutes=8, heat=True, target_intensity=3))
    parse = build_parser().parse_args
    assert session_plan(parse(["session", "--preset", "usual"])) == SessionPlan(8, True, 3)
    assert session_plan(parse(["session", "--preset", "usual", "--minutes", "6"])) == SessionPlan(6, True, 3)
    with pytest.raises(UsageError, match='no "repeat last" plan saved yet'):
        session_plan(parse(["session", "--preset", "last"]))
