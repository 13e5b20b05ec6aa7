"""The key file: private permissions, atomic writes, exclusive use, counters that never repeat."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from firmware_protocol import Frame, Heartbeat
from firmware_protocol.auth import trailer_of, verify_frame
from firmware_protocol.session import device_proof, session_key
from medctl.errors import KeyStoreError
from medctl.keys import COUNTER_BLOCK, KEYS_ENV, KeyStore, PairedKey, default_key_path
from medctl.localfiles import MAX_SMALL_FILE

KEY = bytes(range(32))
RECORD = PairedKey(serial="NE2-000001", controller_id=0x12345678, key=KEY, model="NeckEase 2")
#: A key of a version-2 pairing: signs with the key itself, counters reserved on disk (SPEC.md §11.3).
LEGACY = replace(RECORD, protocol=2)


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
    store.put(LEGACY)
    signer = store.signer(LEGACY.serial)
    assert signer is not None and signer.controller_id == LEGACY.controller_id
    assert counter_of(signer.seal(Heartbeat(), 0)) == 1
    stored = store.get(LEGACY.serial)
    assert stored is not None and stored.next_counter == 1 + COUNTER_BLOCK
    assert [counter_of(signer.seal(Heartbeat(), 0)) for _ in range(3)] == [2, 3, 4]
    signer.close()
    released = store.get(LEGACY.serial)
    assert released is not None and released.next_counter == 5  # the unused rest is given back


def test_counters_continue_across_signers_and_blocks(store: KeyStore) -> None:
    store.put(LEGACY)
    seen: list[int] = []
    for _ in range(3):
        signer = store.signer(LEGACY.serial)
        assert signer is not None
        seen += [counter_of(signer.seal(Heartbeat(), 0)) for _ in range(COUNTER_BLOCK // 2 + 3)]
        signer.close()
    assert seen == sorted(set(seen)) and seen[0] == 1


def test_a_crash_skips_counters_but_never_repeats_one(store: KeyStore) -> None:
    store.put(LEGACY)
    crashed = store.signer(LEGACY.serial)
    assert crashed is not None
    used = [counter_of(crashed.seal(Heartbeat(), 0)) for _ in range(10)]
    crashed._handle.release()  # type: ignore[union-attr]  # the process died: no release, only the lock is gone
    after = store.signer(LEGACY.serial)
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
    store.put(PairedKey(serial=RECORD.serial, controller_id=7, key=bytes(32)))  # paired again meanwhile
    signer.close()
    assert store.get(RECORD.serial) == PairedKey(serial=RECORD.serial, controller_id=7, key=bytes(32))


def test_a_v3_key_signs_nothing_before_the_device_proves_it_holds_it(store: KeyStore) -> None:
    store.put(RECORD)
    signer = store.signer(RECORD.serial)
    assert signer is not None
    with pytest.raises(KeyStoreError, match="has not proven"):
        signer.seal(Heartbeat(), 0)
    nonce_c, nonce_d = bytes(8), bytes(range(8))
    assert not signer.open_channel(nonce_c, nonce_d, b"\x00\x00\x00\x00")  # a wrong proof
    with pytest.raises(KeyStoreError, match="has not proven"):
        signer.seal(Heartbeat(), 0)
    key = session_key(KEY, RECORD.controller_id, nonce_c, nonce_d)
    assert signer.open_channel(nonce_c, nonce_d, device_proof(key, RECORD.controller_id, nonce_c, nonce_d))
    assert [counter_of(signer.seal(Heartbeat(), 0)) for _ in range(3)] == [1, 2, 3]
    verify_frame(Frame.loads(signer.seal(Heartbeat(), 0)), key)  # sealed with the connection key
    signer.close()
    assert store.get(RECORD.serial) == RECORD  # nothing written: connection counters live in memory


def test_a_key_file_without_a_protocol_is_a_version_2_pairing(store: KeyStore) -> None:
    store.put(LEGACY)
    document = json.loads(store.path.read_text())
    del document["devices"][RECORD.serial]["protocol"]
    store.path.write_text(json.dumps(document))
    assert store.get(RECORD.serial) == LEGACY


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_at_the_key_path_is_refused_without_hanging(store: KeyStore) -> None:
    store.path.parent.mkdir(mode=0o700)
    os.mkfifo(store.path, 0o600)
    with pytest.raises(KeyStoreError, match="not a regular file"):
        store.get(RECORD.serial)


def test_a_key_path_naming_dev_zero_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError, match="not a regular file"):
        KeyStore(Path("/dev/zero")).get(RECORD.serial)


def test_a_huge_key_file_is_refused_before_it_is_read(store: KeyStore) -> None:
    store.path.parent.mkdir(mode=0o700)
    with open(store.path, "wb") as handle:
        handle.truncate(MAX_SMALL_FILE + 1)
    store.path.chmod(0o600)
    with pytest.raises(KeyStoreError, match="more than"):
        store.get(RECORD.serial)


def test_a_save_never_writes_through_a_planted_temporary_name(store: KeyStore) -> None:
    store.put(RECORD)
    victim = store.path.parent / "victim"
    victim.write_text("untouched")
    for name in (f".{store.path.name}.tmp", f".{store.path.name}.{os.getpid()}.tmp", f".{store.path.name}-.tmp"):
        (store.path.parent / name).symlink_to(victim)
    store.put(replace(RECORD, model="renamed"))
    assert victim.read_text() == "untouched"
    assert stat.S_ISREG(store.path.lstat().st_mode)


#: Modules that exist on POSIX only: no medctl module may import them at module level.
POSIX_ONLY = ("fcntl", "termios", "tty", "pwd", "grp", "resource")


def test_every_medctl_module_imports_without_posix_only_modules() -> None:
    """As on Windows: no module of medctl holds ``fcntl``, ``termios``… (the key file locks with
    filelock; the CLI reads single keys through termios only when it reads them).

    Every module is imported, then each one's globals are searched for those modules or anything
    taken from them. (Hiding them outright cannot work on Linux: pyserial's POSIX backend and the
    standard library need them, and on Windows they use their own.)
    """
    script = (
        "import sys, pkgutil, importlib\n"
        f"posix = {POSIX_ONLY!r}\n"
        "import medctl\n"
        "for module in pkgutil.walk_packages(medctl.__path__, 'medctl.'):\n"
        "    if module.name != 'medctl.__main__':  # that one runs the command line\n"
        "        importlib.import_module(module.name)\n"
        "users = sorted(\n"
        "    name for name, module in list(sys.modules.items()) if name.startswith('medctl') and module\n"
        "    for value in vars(module).values()\n"
        "    if getattr(value, '__name__', None) in posix or getattr(value, '__module__', None) in posix\n"
        ")\n"
        "print(' '.join(users) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "none"
