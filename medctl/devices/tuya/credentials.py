"""Tuya pairing values kept in a private file, so the local key need not be typed into a URL.

``tuya.json`` in the user configuration directory (``$MEDCTL_TUYA_KEYS`` names another)::

    {"format": 1, "devices": {"AA:BB:CC:DD:EE:FF": {"uuid": "...", "device_id": "...", "local_key": "..."}}}

It is read as medctl's own key file is: a regular file of bounded size, owned by this user and
readable by nobody else, or it is refused with a sentence saying why.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Final

import platformdirs

from medctl.devices.tuya.link import Credentials
from medctl.devices.tuya.protocol import TuyaProtocolError
from medctl.errors import KeyStoreError
from medctl.localfiles import LocalFileError, read_small_file

TUYA_KEYS_ENV: Final = "MEDCTL_TUYA_KEYS"
FORMAT: Final = 1


def default_credentials_path() -> Path:
    override = os.environ.get(TUYA_KEYS_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("medctl") / "tuya.json"


def load_credentials(address: str, path: Path | None = None) -> Credentials | None:
    """The pairing values stored for *address*, ``None`` if the file or the entry does not exist."""
    path = path or default_credentials_path()
    try:
        raw, info = read_small_file(path)
    except FileNotFoundError:
        return None
    except LocalFileError as exc:
        raise KeyStoreError(f"medctl will not use the Tuya key file: {exc}") from exc
    except OSError as exc:
        raise KeyStoreError(f"cannot read the Tuya key file {path}: {exc.strerror or exc}") from exc
    _check_private(path, info)
    try:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f"not a format {FORMAT} Tuya key file")
        devices = document.get("devices")
        if not isinstance(devices, dict):
            raise ValueError("no 'devices' object")
        entry = {k.upper(): v for k, v in devices.items()}.get(address.upper())
        if entry is None:
            return None
        if not isinstance(entry, dict) or not all(
            isinstance(entry.get(k), str) for k in ("uuid", "device_id", "local_key")
        ):
            raise ValueError(f"the entry for {address} needs uuid, device_id and local_key as text")
        return Credentials(entry["uuid"], entry["local_key"], entry["device_id"])
    except (ValueError, TuyaProtocolError) as exc:  # JSONDecodeError is a ValueError
        raise KeyStoreError(f"the Tuya key file {path} is damaged ({exc})") from exc


def _check_private(path: Path, info: os.stat_result) -> None:
    if not hasattr(os, "getuid"):
        return  # Windows: the profile directory's ACL keeps it private
    if info.st_uid != os.getuid():
        raise KeyStoreError(f"the Tuya key file {path} belongs to another user: medctl will not use it")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyStoreError(
            f"the Tuya key file {path} can be read or changed by other users (mode {mode:04o}): "
            f"medctl will not use it; run `chmod 600 {path}` if nobody could have copied it"
        )
