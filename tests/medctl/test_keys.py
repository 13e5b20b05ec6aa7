"""The key file: private permissions, atomic writes, exclusive use, counters that never repeat."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from firmware_protocol import Frame, Heartbeat
from firmware_protocol.auth import trailer_of
from medctl.errors import KeyStoreError
from medctl.keys import COUNTER_BLOCK, KEYS_ENV, KeyStore, PairedKey, default_key_path

KEY = bytes(range(32))
RECORD = PairedKey(serial="NE2-000001", controller_id=0x12345678, key=KEY, model="NeckEase 2")


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "medctl" / "keys.json")


def counter_of(frame: bytes) -> int:
    return trailer_of(Frame.loads(frame)).counter


def test_a_stored_key_reads_back(store: KeyStore) -> None:
    store.put(RECORD)
    assert store.get(RECORD.serial) == RECORD
    assert store.get("someone else") is None and store.serials() == (RECORD.serial,)


def test_the_key_file_is_0600_in_a_0700_directory(store: KeyStore) -> None:
    store.put(RECORD)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    lock_modes = {stat.S_IMODE(p.stat().st_mode) for p in store.path.parent.iterdir()}
    assert lock_modes == {0o600}


def test_a_lookup_creates_nothing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "not-yet" / "keys.json")
    assert store.get("NE2-000001") is None and store.signer("NE2-000001") is None
    assert not (tmp_path / "not-yet").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o622])
def test_a_key_file_others_can_reach_is_refused(store: KeyStore, mode: int) -> None:
    store.put(RECORD)
    store.path.chmod(mode)
    with pytest.raises(KeyStoreError, match=f"can be read or changed by other users \\(mode {mode:04o}\\)"):
        store.get(RECORD.serial)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.signer(RECORD.serial)


@pytest.mark.skipif(os.getuid() != 0, reason="changing a file's owner needs root")
def test_a_key_file_of_another_user_is_refused(store: KeyStore) -> None:
    store.put(RECORD)
    os.chown(store.path, 65534, 65534)
    with pytest.raises(KeyStoreError, match="belongs to another user"):
        store.get(RECORD.serial)


@pytest.mark.parametrize(
    "content",
    [b"not json", b"[]", b'{"format": 2, "devices": {}}', b'{"format": 1, "devices": {"x": {"key": "00"}}}'],
    ids=["text", "list", "format", "short_key"],
)
def test_a_damaged_key_file_is_one_clear_error(store: KeyStore, content: bytes) -> None:
    store.put(RECORD)
    store.path.write_bytes(content)
    with pytest.raises(KeyStoreError, match="is damaged"):
        store.get(RECORD.serial)


def test_writes_are_atomic(store: KeyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.put(RECORD)
    before = store.path.read_bytes()

    def fail(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(KeyStoreError, match="No space left"):
        store.put(PairedKey(serial="NE2-000002", controller_id=1, key=KEY))
    assert store.path.read_bytes() == before
    assert sorted(p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")) == []


def test_an_existing_default_directory_is_made_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "medctl").mkdir(mode=0o755)
    store = KeyStore()
    assert store.path == tmp_path / "medctl" / "keys.json" == default_key_path()
    store.put(RECORD)
    assert stat.S_IMODE((tmp_path / "medctl").stat().st_mode) == 0o700


def test_the_environment_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "elsewhere.json"))
    assert KeyStore().path == tmp_path / "elsewhere.json"


def test_a_key_is_never_printed() -> None:
    assert KEY.hex() not in repr(RECORD) and "NE2-000001" in repr(RECORD)


# --- signing and counters -------------------------------------------------------------------------


def test_a_block_of_counters_is_reserved_on_disk_before_the_first_is_used(store: KeyStore) -> None:
    store.put(RECORD)
    signer = store.signer(RECORD.serial)
    assert signer is not None and signer.controller_id == RECORD.controller_id
    assert counter_of(signer.seal(Heartbeat(), 0)) == 1
    stored = store.get(RECORD.serial)
    assert stored is not None and stored.next_counter == 1 + COUNTER_BLOCK
    assert [counter_of(signer.seal(Heartbeat(), 0)) for _ in range(3)] == [2, 3, 4]
    signer.close()
    released = store.get(RECORD.serial)
    assert released is not None and released.next_counter == 5  # the unused rest is given back


def test_counters_continue_across_signers_and_blocks(store: KeyStore) -> None:
    store.put(RECORD)
    seen: list[int] = []
    for _ in range(3):
        signer = store.signer(RECORD.serial)
        assert signer is not None
        seen += [counter_of(signer.seal(Heartbeat(), 0)) for _ in range(COUNTER_BLOCK // 2 + 3)]
        signer.close()
    assert seen == sorted(set(seen)) and seen[0] == 1


def test_a_crash_skips_counters_but_never_repeats_one(store: KeyStore) -> None:
    store.put(RECORD)
    crashed = store.signer(RECORD.serial)
    assert crashed is not None
    used = [counter_of(crashed.seal(Heartbeat(), 0)) for _ in range(10)]
    crashed._handle.close()  # type: ignore[union-attr]  # the process died: no release, only the lock is gone
    after = store.signer(RECORD.serial)
    assert after is not None
    assert counter_of(after.seal(Heartbeat(), 0)) == 1 + COUNTER_BLOCK > max(used)
    after.close()


def test_one_program_at_a_time_holds_a_key(store: KeyStore) -> None:
    store.put(RECORD)
    first = store.signer(RECORD.serial)
    with pytest.raises(KeyStoreError, match="another medctl program is connected"):
        store.signer(RECORD.serial)
    assert first is not None
    first.close()
    second = store.signer(RECORD.serial)
    assert second is not None
    second.close()


def test_a_killed_program_does_not_keep_the_key(store: KeyStore) -> None:
    store.put(RECORD)
    holder = (
        "import sys, time\n"
        "from medctl.keys import KeyStore\n"
        f"signer = KeyStore({str(store.path)!r}).signer({RECORD.serial!r})\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        with pytest.raises(KeyStoreError):
            store.signer(RECORD.serial)
    finally:
        process.kill()
        process.wait()
    signer = store.signer(RECORD.serial)
    assert signer is not None
    signer.close()


def test_a_new_pairing_is_not_overwritten_by_an_old_signer(store: KeyStore) -> None:
    store.put(RECORD)
    signer = store.signer(RECORD.serial)
    assert signer is not None
    signer.seal(Heartbeat(), 0)
    store.put(PairedKey(serial=RECORD.serial, controller_id=7, key=bytes(32)))  # paired again meanwhile
    signer.close()
    assert store.get(RECORD.serial) == PairedKey(serial=RECORD.serial, controller_id=7, key=bytes(32))
