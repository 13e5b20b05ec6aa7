"""The TUI's settings file: the remembered default massager, a small TOML file.

It lives in the user's config directory (``~/.config/medctl/config.toml`` on Linux;
``MEDCTL_CONFIG`` overrides the path) and holds ``device = "serial:///dev/ttyUSB0"`` and,
when the bell is switched off, ``bell = false`` (the CLI reads it too).
A missing file means nothing is remembered; a file that cannot be read or understood gives
a notice that says what to do, never a crash, and the TUI carries on as if it were missing.
Writes go to a temporary file created exclusively beside it (a random name, never one
planted in advance) and replace the old one, so a crash never leaves half a file behind.
Only a regular file of bounded size is read: a FIFO or ``/dev/zero`` at the path is a notice.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs

from medctl.address import parse_address
from medctl.errors import AddressError, MedctlError
from medctl.localfiles import LocalFileError, read_small_file, write_atomically

CONFIG_NAME: Final = "config.toml"


class ConfigError(MedctlError):
    """The settings file cannot be written; the message says where and why."""


@dataclass(frozen=True)
class TuiConfig:
    """What the TUI remembers between runs."""

    device: str | None = None
    #: A terminal bell when increases unlock, at the step-down and at the end (``bell = false``: silent).
    bell: bool = True


@dataclass(frozen=True)
class LoadedConfig:
    """The settings, and a notice for the person when the file had to be ignored."""

    config: TuiConfig
    notice: str | None = None


def default_config_path() -> Path:
    """``$MEDCTL_CONFIG`` if set, else ``config.toml`` in the user's config directory."""
    override = os.environ.get("MEDCTL_CONFIG")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("medctl") / CONFIG_NAME


def load_config(path: Path) -> LoadedConfig:
    """Read the settings; anything wrong with the file becomes a notice, not an exception."""
    try:
        text = read_small_file(path)[0].decode("utf-8")
    except FileNotFoundError:
        return LoadedConfig(TuiConfig())
    except LocalFileError as exc:
        return _ignored(path, f"cannot be used ({exc})")
    except (OSError, UnicodeDecodeError) as exc:
        return _ignored(path, f"cannot be read ({getattr(exc, 'strerror', None) or exc})")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return _ignored(path, f"is not valid TOML ({exc})")
    bell = document.get("bell", True)
    if not isinstance(bell, bool):
        return _ignored(path, "has a bell that is not true or false; write it as bell = false")
    device = document.get("device")
    if device is None:
        return LoadedConfig(TuiConfig(bell=bell))
    if not isinstance(device, str):
        return _ignored(path, 'has a device that is not text; write it as device = "serial:///dev/ttyUSB0"')
    try:
        parse_address(device)
    except AddressError as exc:
        return _ignored(path, f"names a device medctl cannot use: {exc}")
    return LoadedConfig(TuiConfig(device=device, bell=bell))


def save_config(path: Path, config: TuiConfig) -> None:
    """Write the settings atomically; raises ConfigError with a sentence to act on."""
    lines = ["# medctl settings, written by the TUI when you choose to remember a massager"]
    if config.device is not None:
        lines.append(f"device = {toml_string(config.device)}")
    if not config.bell:
        lines.append("bell = false")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(path, ("\n".join(lines) + "\n").encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot save the settings to {path} ({exc.strerror or exc})") from exc


def toml_string(value: str) -> str:
    """*value* as a TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = []
    for char in value:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _ignored(path: Path, why: str) -> LoadedConfig:
    return LoadedConfig(
        TuiConfig(),
        notice=f"The settings file {path} {why}. It is ignored for now; choosing a massager "
        "with 'remember' ticked writes a fresh one.",
    )
