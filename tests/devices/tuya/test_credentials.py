"""Pairing values from the private Tuya key file: used when the URL carries none, refused with a sentence
when the file is not private or damaged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from medctl.devices.tuya.credentials import load_credentials
from medctl.devices.tuya.driver import credentials_from
from medctl.devices.tuya.link import Credentials
from medctl.errors import AddressError, KeyStoreError

ADDRESS = "F0:0D:C0:FF:EE:7A"
ENTRY = {"uuid": "tuya290051fdb1de", "device_id": "bf0123456789abcdefghij", "local_key": "Xy7#pQ2!aB9$kL4m"}


def write(path: Path, document: object, mode: int = 0o600) -> None:
    path.write_text(json.dumps(document))
    os.chmod(path, mode)


def test_stored_values_are_used_when_the_url_has_none(tuya_keys: Path) -> None:
    write(tuya_keys, {"format": 1, "devices": {ADDRESS.lower(): ENTRY}})
    expected = Credentials(ENTRY["uuid"], ENTRY["local_key"], ENTRY["device_id"])
    assert credentials_from(ADDRESS, {}) == expected
    assert load_credentials("AA:AA:AA:AA:AA:AA") is None


def test_values_on_the_url_win_and_half_of_them_is_refused(tuya_keys: Path) -> None:
    write(tuya_keys, {"format": 1, "devices": {ADDRESS: ENTRY}})
    assert credentials_from(ADDRESS, {**ENTRY, "uuid": "tuya000000000000"}).uuid == "tuya000000000000"
    with pytest.raises(AddressError, match="needs local_key on the URL, or all three stored"):
        credentials_from(ADDRESS, {"uuid": ENTRY["uuid"], "device_id": ENTRY["device_id"]})


def test_no_file_and_no_values_says_where_to_put_them(tuya_keys: Path) -> None:
    with pytest.raises(AddressError, match=str(tuya_keys)):
        credentials_from(ADDRESS, {})


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file modes are POSIX")
def test_a_key_file_others_can_read_is_refused(tuya_keys: Path) -> None:
    write(tuya_keys, {"format": 1, "devices": {ADDRESS: ENTRY}}, mode=0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        load_credentials(ADDRESS)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": 2, "devices": {}}, "not a format 1"),
        ({"format": 1}, "no 'devices'"),
        ({"format": 1, "devices": {ADDRESS: {"uuid": "x"}}}, "needs uuid, device_id and local_key"),
        ({"format": 1, "devices": {ADDRESS: {**ENTRY, "uuid": "short"}}}, "uuid has 16 characters"),
    ],
)
def test_a_damaged_key_file_is_refused(tuya_keys: Path, document: object, message: str) -> None:
    write(tuya_keys, document)
    with pytest.raises(KeyStoreError, match=message):
        load_credentials(ADDRESS)
