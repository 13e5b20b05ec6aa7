"""Pairing (SPAKE2) and signed connections through the library, on the in-process simulator and a virtual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from medctl import AuthenticationRefused, KeyStore, KeyStoreError, PairingError, pair
from medctl.client import DeviceClient
from medctl.keys import PairedKey
from medctl.pairing import pair_client
from medctl.transport.sim import SimTransport
from simulator import DeviceConfig, LoopClock, SimulatedDevice

pytestmark = pytest.mark.looptime

CODE = "7KQM-3XHP"


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys.json")


@asynccontextmanager
async def paired_device(store: KeyStore, code: str = CODE) -> AsyncIterator[tuple[SimulatedDevice, PairedKey]]:
    async with SimulatedDevice(DeviceConfig(pairing_code=CODE), clock=LoopClock()) as device:
        yield device, await pair_over(device, store, code)


async def pair_over(
    device: SimulatedDevice, store: KeyStore, code: str = CODE, *, press: bool = True
) -> PairedKey:
    if press:
        device.firmware.open_pairing_window()
    client = DeviceClient(SimTransport(device=device), heartbeat_interval=None)
    await client.open_link()
    try:
        return await pair_client(client, code, store)
    finally:
        await client.close(stop=False)


def client_for(device: SimulatedDevice, store: KeyStore | None, **options: object) -> DeviceClient:
    return DeviceClient(SimTransport(device=device), keys=store, **options)  # type: ignore[arg-type]


async def test_pairing_stores_the_key_on_both_sides(store: KeyStore) -> None:
    async with paired_device(store) as (device, record):
        assert store.get("NE2-000001") == record and record.model == "NeckEase 2"
        assert device.firmware.auth.controllers == (record.controller_id,)
        assert device.state.auth_failed == 0


async def test_a_paired_controller_signs_every_request(store: KeyStore) -> None:
    async with paired_device(store) as (device, record):
        client = client_for(device, store)
        await client.open()
        try:
            assert client.authenticated and client.controller_id == record.controller_id
            assert client.identity is not None and client.identity.protocol_version == 3
            await client.raw().start(1)
            await client.raw().set_intensity(3)
            await client.raw().set_heat(1)
            await asyncio.sleep(5)  # signed heartbeats keep the device owned
            assert device.state.running and device.state.owned and (device.state.intensity, device.state.heat) == (3, 1)
            await client.stop()
        finally:
            await client.close()
        state = device.state
        assert not state.running and not state.owned
        assert (state.auth_required, state.auth_failed, state.replayed) == (0, 0, 0)


async def test_every_connection_has_its_own_keys_and_writes_nothing(store: KeyStore) -> None:
    async with paired_device(store) as (device, record):
        for _ in range(3):
            client = client_for(device, store)
            await client.open()
            await client.raw().start(1)
            await client.close()
        assert store.get(record.serial) == record  # counters live and die with the connection
        assert device.state.replayed == 0 and device.state.auth_failed == 0


async def test_pairing_needs_the_button(store: KeyStore) -> None:
    async with SimulatedDevice(DeviceConfig(pairing_code=CODE), clock=LoopClock()) as device:
        with pytest.raises(PairingError, match="press its pairing button"):
            await pair_over(device, store, press=False)
        assert store.get("NE2-000001") is None and not device.firmware.auth.paired
        await pair_over(device, store)
        with pytest.raises(PairingError, match="press its pairing button"):  # one pairing per press
            await pair_over(device, store, press=False)


async def test_a_stop_that_cannot_be_signed_goes_plain(store: KeyStore) -> None:
    async with paired_device(store) as (device, _):
        client = client_for(device, store)
        await client.open()
        try:
            await client.raw().start(1)
            client._signer._next = 0x1_0000_0000  # type: ignore[union-attr]  # this connection's counters used up
            with pytest.raises(KeyStoreError, match="used all its message counters"):
                await client.raw().set_intensity(3)
            await client.stop()
            assert not device.state.running
        finally:
            await client.close()


async def test_an_unpaired_controller_is_refused_with_advice(store: KeyStore, tmp_path: Path) -> None:
    async with paired_device(store) as (device, _):
        for keys in (None, KeyStore(tmp_path / "other.json")):
            stranger = client_for(device, keys, address="tcp://127.0.0.1:7000")
            with pytest.raises(AuthenticationRefused, match=r"pair with it first \(medctl pair --device tcp://"):
                await stranger.open()
        assert not device.state.owned and device.state.auth_required == 2


async def test_a_wrong_code_stores_nothing(store: KeyStore) -> None:
    async with SimulatedDevice(DeviceConfig(pairing_code=CODE), clock=LoopClock()) as device:
        with pytest.raises(PairingError, match="refused the pairing code"):
            await pair_over(device, store, "ZZZZ-2222")
        assert store.get("NE2-000001") is None and not device.firmware.auth.paired


async def test_a_reset_device_asks_to_pair_again(store: KeyStore) -> None:
    async with paired_device(store) as (device, _):
        device.firmware.auth.forget_all()
        client = client_for(device, store)
        with pytest.raises(AuthenticationRefused, match="does not know this computer's key"):
            await client.open()
        assert store.signer("NE2-000001") is not None  # the failed connect gave the key back


async def test_a_second_program_with_the_same_key_is_refused(store: KeyStore) -> None:
    async with paired_device(store) as (device, _):
        first = client_for(device, store)
        await first.open()
        try:
            with pytest.raises(KeyStoreError, match="another medctl program"):
                await client_for(device, store).open()
            assert device.state.owned
        finally:
            await first.close()


async def test_a_retry_overtaken_by_a_newer_counter_is_sent_again(store: KeyStore) -> None:
    async with paired_device(store) as (device, _):
        client = client_for(device, store)
        await client.open()
        try:
            await client.raw().start(1)
            device.faults.corrupt_next(1, direction="out")  # SET_INTENSITY's ACK is lost ...
            change = asyncio.create_task(client.raw().set_intensity(4))
            await asyncio.sleep(0.05)
            await client.get_status()  # ... and a newer request gets through before its retry
            await change
            assert device.state.intensity == 4 and device.state.replayed == 1
        finally:
            await client.close()


async def test_stop_from_a_stranger_is_accepted(store: KeyStore) -> None:
    async with paired_device(store) as (device, _):
        client = client_for(device, store)
        await client.open()
        try:
            await client.raw().start(1)
            stranger = DeviceClient(SimTransport(device=device))
            await stranger.open_link()
            await stranger.stop()
            assert not device.state.running
            await stranger.close(stop=False)
        finally:
            await client.close()


async def test_the_built_in_simulator_is_never_paired(store: KeyStore) -> None:
    with pytest.raises(PairingError, match="never paired"):
        await pair("sim://", CODE, keys=store)


async def test_a_malformed_code_is_refused_before_anything_is_sent(store: KeyStore) -> None:
    with pytest.raises(PairingError, match="not a pairing code"):
        await pair("tcp://127.0.0.1:9", "1234", keys=store)
