"""The controller's pairing keys, kept in one file only this user can read (SPEC.md §11, SECURITY.md).

``keys.json`` lives in the user's configuration directory (``~/.config/medctl`` on Linux);
``$MEDCTL_KEYS`` names another file. Per device serial number it holds the controller id
and key agreed in pairing, and the counter high-water mark::

    {"format": 1, "devices": {"NE2-000001": {"controller_id": 305419896, "key": "<64 hex digits>",
     "next_counter": 1025, "model": "NeckEase 2", "paired_at": "2025-01-31T09:00:00+00:00",
     "protocol": 3}}}

- Writes are atomic (an exclusive temporary file beside it, fsync, rename) and leave the
  file at mode 0600, in a directory created 0700. A key file another user owns or could
  read is refused, never used; so is anything but a regular file of bounded size.
- A connection holds its device's key exclusively (a lock file, released when the process
  ends, however it ends; ``filelock``, so on every platform).
- ``protocol`` 3 (SPEC.md §12): keys of a SPAKE2 pairing; each connection derives its own
  keys and counters, and nothing is signed before the device proves it holds the key.
  ``protocol`` 2 (SPEC.md §11, files written before it existed): the key signs directly
  with counters reserved in blocks written to the file *before* use; a crash skips the
  rest of a block, and no counter is ever signed twice (SPEC.md §11.3).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import filelock
import platformdirs

from firmware_protocol import Request
from firmware_protocol.auth import KEY_LEN, same, seal
from firmware_protocol.constants import MAX_COUNTER
from firmware_protocol.session import device_proof, session_key
from medctl.errors import KeyStoreError
from medctl.localfiles import LocalFileError, ensure_private_directory, read_small_file, write_atomically

#: Environment variable naming the key file (tests, several identities).
KEYS_ENV: Final = "MEDCTL_KEYS"
#: Counters reserved per write of the key file.
COUNTER_BLOCK: Final = 1024
FORMAT: Final = 1
#: Key records without a ``protocol`` were written by a version-2 pairing.
LEGACY_PROTOCOL: Final = 2
SESSION_PROTOCOL: Final = 3
_PRIVATE_FILE: Final = 0o600
_PRIVATE_DIR: Final = 0o700


def default_key_path() -> Path:
    """``$MEDCTL_KEYS``, else ``keys.json`` in the user configuration directory."""
    override = os.environ.get(KEYS_ENV)
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path("medctl") / "keys.json"


@dataclass(frozen=True)
class PairedKey:
    """What pairing with one device left this controller: its identity there, the key, the next counter."""

    serial: str
    controller_id: int
    key: bytes
    next_counter: int = 1
    model: str = ""
    paired_at: str = ""
    #: 3: a SPAKE2 pairing, keys per connection (SPEC.md §12); 2: signs with the key itself (§11).
    protocol: int = SESSION_PROTOCOL

    def __repr__(self) -> str:  # never print a key by accident
        return f"PairedKey(serial={self.serial!r}, controller_id={self.controller_id}, model={self.model!r})"

    def as_json(self) -> dict[str, Any]:
        return {
            "controller_id": self.controller_id,
            "key": self.key.hex(),
            "next_counter": self.next_counter,
            "model": self.model,
            "paired_at": self.paired_at,
            "protocol": self.protocol,
        }

    @classmethod
    def from_json(cls, serial: str, item: object) -> PairedKey:
        if not isinstance(item, dict):
            raise ValueError(f"entry for {serial!r} is not an object")
        key = bytes.fromhex(_text(item, "key"))
        controller_id, counter = _number(item, "controller_id"), _number(item, "next_counter")
        if len(key) != KEY_LEN or not 0 <= controller_id <= MAX_COUNTER or not 1 <= counter <= MAX_COUNTER + 1:
            raise ValueError(f"entry for {serial!r} holds values out of range")
        model, paired_at = str(item.get("model", "")), str(item.get("paired_at", ""))
        protocol = item.get("protocol", LEGACY_PROTOCOL)
        if protocol not in (LEGACY_PROTOCOL, SESSION_PROTOCOL):
            raise ValueError(f"entry for {serial!r} names protocol {protocol!r}, which this medctl does not know")
        return cls(serial, controller_id, key, counter, model, paired_at, protocol)


class KeyStore:
    """The key file: look keys up, store new ones, and lend one out for signing."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_key_path()
        self._default_dir = path is None and not os.environ.get(KEYS_ENV)

    def get(self, serial: str) -> PairedKey | None:
        """The key for the device with this serial number, or None when this controller is not paired with it.

        Reading needs no lock (the file is only ever replaced whole) and creates nothing.
        """
        return self._load().get(serial)

    def put(self, record: PairedKey) -> None:
        """Store (or replace) the key for ``record.serial``."""
        with self._locked():
            keys = self._load()
            keys[record.serial] = record
            self._save(keys)

    def remove(self, serial: str) -> bool:
        """Forget the key for *serial*; True if there was one."""
        with self._locked():
            keys = self._load()
            if keys.pop(serial, None) is None:
                return False
            self._save(keys)
            return True

    def serials(self) -> tuple[str, ...]:
        return tuple(self._load())

    @contextlib.contextmanager
    def device_lock(self, serial: str) -> Iterator[None]:
        """Hold *serial*'s key exclusively for the block; KeyStoreError if another program holds it."""
        handle = self._claim(serial)
        try:
            yield
        finally:
            handle.release()

    def signer(self, serial: str) -> Signer | None:
        """A :class:`Signer` holding *serial*'s key exclusively, or None when there is no key for it."""
        if self.get(serial) is None:
            return None
        handle = self._claim(serial)
        try:
            record = self.get(serial)  # again, now that it is ours: a previous holder may have moved the counter on
        except BaseException:
            handle.release()
            raise
        if record is None:
            handle.release()
            return None
        return Signer(self, record, handle)

    def reserve(self, record: PairedKey, first: int) -> int:
        """Write the high-water mark for *record* past a block starting at *first*; return the block's end."""
        end = min(first + COUNTER_BLOCK, MAX_COUNTER + 1)
        if first > MAX_COUNTER:
            raise KeyStoreError(
                f"the key for {record.serial} has used all its message counters: pair with the massager again"
            )
        self._set_counter(record, end)
        return end

    def release(self, record: PairedKey, next_counter: int) -> None:
        """Give back the unused rest of a block (the lock is still held, so nobody used it)."""
        self._set_counter(record, next_counter)

    # --- file handling -----------------------------------------------------------------------

    def _set_counter(self, record: PairedKey, value: int) -> None:
        with self._locked():
            keys = self._load()
            stored = keys.get(record.serial)
            if stored is None or stored.key != record.key:
                return  # paired again meanwhile: the new key starts its own count
            keys[record.serial] = replace(stored, next_counter=value)
            self._save(keys)

    def _load(self) -> dict[str, PairedKey]:
        try:
            raw, info = read_small_file(self.path)
        except FileNotFoundError:
            return {}
        except LocalFileError as exc:
            raise KeyStoreError(f"medctl will not use the key file: {exc}") from exc
        except OSError as exc:
            raise KeyStoreError(f"cannot read the key file {self.path}: {exc.strerror or exc}") from exc
        _check_private(self.path, info)
        return self._parse(raw)

    def _parse(self, raw: bytes) -> dict[str, PairedKey]:
        try:
            document = json.loads(raw)
            if not isinstance(document, dict) or document.get("format") != FORMAT:
                raise ValueError(f"not a format {FORMAT} key file")
            devices = document.get("devices")
            if not isinstance(devices, dict):
                raise ValueError("no 'devices' object")
            return {serial: PairedKey.from_json(serial, item) for serial, item in devices.items()}
        except ValueError as exc:
            raise KeyStoreError(f"the key file {self.path} is damaged ({exc}): move it away and pair again") from exc

    def _save(self, keys: dict[str, PairedKey]) -> None:
        document = {"format": FORMAT, "devices": {serial: key.as_json() for serial, key in sorted(keys.items())}}
        self._ensure_directory()
        try:
            write_atomically(self.path, (json.dumps(document, indent=1) + "\n").encode())
        except OSError as exc:
            raise KeyStoreError(f"cannot write the key file {self.path}: {exc.strerror or exc}") from exc

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        try:
            if not directory.exists():
                ensure_private_directory(directory)
            elif self._default_dir and stat.S_IMODE(directory.stat().st_mode) & 0o077:
                directory.chmod(_PRIVATE_DIR)  # medctl's own directory: nobody else needs to list it
        except OSError as exc:
            raise KeyStoreError(f"cannot create {directory} for the key file: {exc.strerror or exc}") from exc

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write of the key file between processes."""
        lock = self._lock(self.path.with_name(self.path.name + ".lock"))
        try:
            lock.acquire()
        except OSError as exc:
            raise KeyStoreError(f"cannot lock the key file {self.path}: {exc.strerror or exc}") from exc
        try:
            yield
        finally:
            lock.release()

    def _claim(self, serial: str) -> filelock.BaseFileLock:
        digest = hashlib.sha256(serial.encode()).hexdigest()[:16]
        lock = self._lock(self.path.with_name(f"{self.path.name}.{digest}.lock"))
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            raise KeyStoreError(
                f"another medctl program is connected to the massager {serial} with this computer's key; close it first"
            ) from None
        except OSError as exc:
            raise KeyStoreError(f"cannot lock the key file {self.path}: {exc.strerror or exc}") from exc
        return lock

    def _lock(self, path: Path) -> filelock.BaseFileLock:
        if not path.parent.exists():
            self._ensure_directory()
        # not thread-local and not reentrant: one acquisition is one hold, released once
        return filelock.FileLock(path, mode=_PRIVATE_FILE, thread_local=False, is_singleton=False)


class Signer:
    """Seals requests for one device; holds its key exclusively.

    Version 3 (``record.protocol == 3``): nothing can be sealed until :meth:`open_channel`
    has checked the device's proof; then requests are sealed with this connection's key
    and counters from 1. Version 2: sealed with the pairing key and counters reserved on disk.
    """

    def __init__(self, store: KeyStore, record: PairedKey, handle: filelock.BaseFileLock) -> None:
        self._store = store
        self._record = record
        self._handle: filelock.BaseFileLock | None = handle
        self._next = record.next_counter
        self._reserved_until = record.next_counter  # nothing reserved by this signer yet
        self._channel_key: bytes | None = None

    @property
    def protocol(self) -> int:
        return self._record.protocol

    def open_channel(self, controller_nonce: bytes, device_nonce: bytes, proof: bytes) -> bool:
        """Derive this connection's key (SPEC.md §12.2); True only if the device's *proof* verifies.

        Until it does, :meth:`seal` refuses to sign anything.
        """
        self._channel_key = None
        key = session_key(self._record.key, self.controller_id, controller_nonce, device_nonce)
        if not same(device_proof(key, self.controller_id, controller_nonce, device_nonce), proof):
            return False
        self._channel_key, self._next = key, 1
        return True

    @property
    def serial(self) -> str:
        return self._record.serial

    @property
    def controller_id(self) -> int:
        return self._record.controller_id

    @property
    def next_counter(self) -> int:
        return self._next

    def seal(self, message: Request, seq: int) -> bytes:
        """The authenticated frame for *message*, with the next counter (reserved on disk first)."""
        if self._handle is None:
            raise KeyStoreError(f"the key for {self.serial} was released")
        if self._record.protocol >= SESSION_PROTOCOL:
            if self._channel_key is None:
                raise KeyStoreError(f"{self.serial} has not proven it holds the key on this connection")
            if self._next > MAX_COUNTER:
                raise KeyStoreError(f"this connection to {self.serial} has used all its message counters: reconnect")
            counter, self._next = self._next, self._next + 1
            return seal(message, seq, self._channel_key, counter)
        if self._next >= self._reserved_until:
            self._reserved_until = self._store.reserve(self._record, self._next)
        counter, self._next = self._next, self._next + 1
        return seal(message, seq, self._record.key, counter)

    def close(self) -> None:
        """Return the unused counters of the block and release the key. Idempotent."""
        handle, self._handle = self._handle, None
        self._channel_key = None
        if handle is None:
            return
        try:
            if self._record.protocol < SESSION_PROTOCOL and self._next < self._reserved_until:
                self._store.release(self._record, self._next)
        finally:
            handle.release()


def _check_private(path: Path, info: os.stat_result) -> None:
    if not hasattr(os, "getuid"):
        return  # Windows: the user's profile directory's ACL is what keeps it private
    if info.st_uid != os.getuid():
        raise KeyStoreError(f"the key file {path} belongs to another user: medctl will not use it")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise KeyStoreError(
            f"the key file {path} can be read or changed by other users (mode {mode:04o}): medctl will not use it;"
            f" if nobody could have copied it, run `chmod 600 {path}`, otherwise pair again"
        )


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} missing or not a string")
    return value


def _number(item: dict[str, Any], key: str) -> int:
    value = item.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key!r} missing or not a whole number")
    return value
