"""Saved plans: "my usual" and "repeat last", kept in ``presets.toml`` beside ``config.toml``.

``usual`` is saved when the person asks (the plan screen's ``s``); ``last`` every time a
session starts, from the TUI or ``medctl session``. Each is a table of the plan's choices::

    [usual]
    minutes = 8
    heat = true
    target_intensity = 3

Writes are atomic (:func:`medctl.localfiles.write_atomically`); reads are bounded
(:func:`medctl.localfiles.read_small_file`). A damaged file is a :class:`PresetError` with a
sentence to act on, never a half-read plan: a preset is a plan the rules check again anyway.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Final, Literal

import platformdirs

from medctl.errors import MedctlError
from medctl.localfiles import LocalFileError, read_small_file, write_atomically
from medctl.session import RuleViolation, SessionPlan

PRESETS_NAME: Final = "presets.toml"
PresetName = Literal["usual", "last"]
PRESET_NAMES: Final[tuple[PresetName, ...]] = ("usual", "last")
PRESET_TITLES: Final[dict[PresetName, str]] = {"usual": "my usual", "last": "repeat last"}
_FIELDS: Final = ("minutes", "heat", "target_intensity")


class PresetError(MedctlError):
    """The presets file cannot be read, understood or written; the message says which and why."""


def default_presets_path() -> Path:
    """``presets.toml`` beside the settings file (``$MEDCTL_CONFIG``'s folder when that is set)."""
    override = os.environ.get("MEDCTL_CONFIG")
    folder = Path(override).expanduser().parent if override else platformdirs.user_config_path("medctl")
    return folder / PRESETS_NAME


def load_presets(path: Path) -> dict[PresetName, SessionPlan]:
    """Every preset saved in *path* (none when it does not exist)."""
    try:
        text = read_small_file(path)[0].decode("utf-8")
    except FileNotFoundError:
        return {}
    except (LocalFileError, OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"the presets file {path} cannot be read ({getattr(exc, 'strerror', None) or exc})") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(f"the presets file {path} is not valid TOML ({exc})") from exc
    presets: dict[PresetName, SessionPlan] = {}
    for name in PRESET_NAMES:
        table = document.get(name)
        if table is not None:
            presets[name] = _plan(path, name, table)
    return presets


def load_preset(path: Path, name: PresetName) -> SessionPlan:
    """One preset; a PresetError says so when it was never saved."""
    plan = load_presets(path).get(name)
    if plan is None:
        how = "save one with s on the plan screen" if name == "usual" else "it is saved when a session starts"
        raise PresetError(f'no "{PRESET_TITLES[name]}" plan saved yet ({how})')
    return plan


def save_preset(path: Path, name: PresetName, plan: SessionPlan) -> None:
    """Save *plan* as preset *name*, keeping the others; atomic, so a crash leaves the old file."""
    presets = load_presets(path)
    presets[name] = plan
    lines = ["# medctl saved plans: usual (saved on the plan screen) and last (the last session started)"]
    for key in PRESET_NAMES:
        saved = presets.get(key)
        if saved is None:
            continue
        lines += ["", f"[{key}]", f"minutes = {saved.minutes:g}", f"heat = {'true' if saved.heat else 'false'}"]
        if saved.target_intensity is not None:
            lines.append(f"target_intensity = {saved.target_intensity}")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(path, ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise PresetError(f"cannot save the plan to {path} ({exc.strerror or exc})") from exc


def _plan(path: Path, name: str, table: Any) -> SessionPlan:
    where = f"the presets file {path}, [{name}]"
    if not isinstance(table, dict):
        raise PresetError(f"{where} is not a table of minutes, heat and target_intensity")
    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        raise PresetError(f"{where} has {', '.join(unknown)}; only minutes, heat and target_intensity are known")
    try:
        return SessionPlan(**{key: table[key] for key in _FIELDS if key in table})
    except (RuleViolation, ValueError) as exc:
        raise PresetError(f"{where}: {exc}") from exc
