"""The controller against a device that lies, floods or goes silent: a scripted device on the virtual clock."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from firmware_protocol import (
    Ack,
    ErrorCode,
    Fault,
    FaultEvent,
    Feature,
    Frame,
    GetInfo,
    GetStatus,
    Hello,
    HelloResult,
    InfoField,
    InfoResult,
    Message,
    MotorState,
    Nack,
    SessionBegin,
    Status,
    StatusFlag,
    decode_message,
)
from firmware_protocol.auth import verify_frame
from medctl.client import DeviceClient
from medctl.devices import FaultFlag, FaultReport
from medctl.errors import ConnectionLost, ProtocolMismatch
from medctl.keys import KeyStore, PairedKey
from medctl.text import REPLACEMENT, csv_cell, printable

pytestmark = pytest.mark.looptime

OWNED = Status(MotorState.IDLE, 1, 0, 2000, Fault.NONE, 0xFF, StatusFlag.OWNED)
Answer = Callable[[Message], Message | None]


class ScriptedDevice:
    """A transport whose far end answers like a massager, except where a test says otherwise."""

    def __init__(self, *, version: int = 1, watchdog_ms: int = 3000, texts: dict[InfoField, str] | None = None) -> None:
        self.version, self.watchdog_ms = version, watchdog_ms
        self.texts = texts or {InfoField.MODEL: "NeckEase 2", InfoField.FIRMWARE: "1.0", InfoField.SERIAL: "NE2-1"}
        self.inbox: asyncio.Queue[Frame] = asyncio.Queue()
        self.received: list[tuple[float, Message]] = []
        self.raw: list[bytes] = []
        self.silent = False
        self.info_field: Callable[[InfoField], InfoField] = lambda asked: asked

    @property
    def description(self) -> str:
        return "a scripted device"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def recv(self) -> Frame:
        return await self.inbox.get()

    async def send(self, data: bytes) -> None:
        frame = Frame.loads(data)
        self.raw.append(data)
        message = decode_message(frame)
        self.received.append((asyncio.get_running_loop().time(), message))
        if self.silent:
            return
        answer = self.answer(message)
        if answer is not None:
            self.push(answer, frame.seq)

    def push(self, message: Message, seq: int = 0) -> None:
        self.inbox.put_nowait(message.to_frame(seq))

    def answer(self, message: Message) -> Message | None:
        if isinstance(message, Hello):
            return Ack(message.TYPE, HelloResult(self.version, 5, 2, Feature.HEAT, self.watchdog_ms).to_bytes())
        if isinstance(message, GetInfo):
            field = self.info_field(message.info)
            if field not in self.texts:  # as a firmware from before the field: an undefined value
                return Nack(message.TYPE, ErrorCode.BAD_VALUE, field)
            return Ack(message.TYPE, InfoResult(field, self.texts[field]).to_bytes())
        if isinstance(message, GetStatus):
            return Ack(message.TYPE, OWNED.payload())
        return Ack(message.TYPE)


async def test_a_version_that_was_not_offered_is_refused() -> None:
    device = ScriptedDevice(version=9)
    client = DeviceClient(device, versions=range(1, 3))
    with pytest.raises(ProtocolMismatch, match="chose protocol version 9, which was not offered"):
        await client.open()


async def test_an_answer_naming_another_info_field_is_refused() -> None:
    device = ScriptedDevice()
    device.info_field = lambda asked: InfoField.MODEL  # a MODEL answer to every question
    with pytest.raises(ConnectionLost, match="answered MODEL when FIRMWARE was asked"):
        await DeviceClient(device).open()


async def test_device_text_reaches_the_program_without_control_characters() -> None:
    hostile = "\x1b]0;pw\x07\x1b[2J"
    device = ScriptedDevice(texts={InfoField.MODEL: hostile, InfoField.FIRMWARE: "1\r\n", InfoField.SERIAL: "=1+1"})
    client = DeviceClient(device)
    identity = await client.open()
    try:
        assert "\x1b" not in identity.model and "\x07" not in identity.model and REPLACEMENT in identity.model
        assert identity.firmware == f"1{REPLACEMENT}{REPLACEMENT}"
        assert csv_cell(identity.serial_number) == "'=1+1"
    finally:
        await client.close()


@pytest.mark.parametrize("targets", ["38,x", "38", "38,42,45", "\x1b[2J,4"])
async def test_heat_targets_that_are_not_one_number_per_level_are_not_shown(targets: str) -> None:
    device = ScriptedDevice(
        texts={InfoField.MODEL: "M", InfoField.FIRMWARE: "1", InfoField.SERIAL: "S", InfoField.HEAT_TARGETS: targets}
    )
    client = DeviceClient(device)
    identity = await client.open()
    try:
        assert identity.capabilities.heat_targets_c is None and identity.model == "M"
    finally:
        await client.close()


async def test_heat_targets_are_read_when_well_formed() -> None:
    device = ScriptedDevice(
        texts={InfoField.MODEL: "M", InfoField.FIRMWARE: "1", InfoField.SERIAL: "S", InfoField.HEAT_TARGETS: "37,41"}
    )
    client = DeviceClient(device)
    identity = await client.open()
    try:
        assert identity.capabilities.heat_targets_c == (37.0, 41.0)
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("text", "shown"), [("ab\u202ecd", f"ab{REPLACEMENT}cd"), ("tab\there", f"tab{REPLACEMENT}here")]
)
def test_printable_replaces_format_and_control_characters(text: str, shown: str) -> None:
    assert printable(text) == shown and printable("Nackenmassage 2 – grün") == "Nackenmassage 2 – grün"


async def test_a_claimed_long_watchdog_does_not_delay_noticing_silence() -> None:
    device = ScriptedDevice(watchdog_ms=65_535)  # claims 65.5 s
    client = DeviceClient(device)
    await client.open()
    device.silent = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    lost = await asyncio.wait_for(client.wait_lost(), 10)
    assert "stopped answering" in str(lost)
    assert loop.time() - started <= 3.0 + 1.0  # min(65.5 s, 3 s), checked at the next heartbeat
    await client.close(stop=False)


async def test_identical_faults_are_passed_on_once() -> None:
    device = ScriptedDevice()
    client = DeviceClient(device)
    await client.open()
    seen: list[FaultReport] = []
    client.on_fault(seen.append)
    raised = FaultEvent(Fault.OVER_TEMPERATURE, active=True, detail=46)
    for _ in range(1000):
        device.push(raised)
    device.push(FaultEvent(Fault.OVER_TEMPERATURE, active=False, detail=40))
    device.push(raised)
    await asyncio.sleep(0.5)
    try:
        # listeners hear medctl's own FaultReport, translated from the wire's FAULT event
        raised_report = FaultReport(FaultFlag.OVER_TEMPERATURE, active=True, detail=46)
        cleared_report = FaultReport(FaultFlag.OVER_TEMPERATURE, active=False, detail=40)
        assert seen == [raised_report, cleared_report, raised_report]
        assert client.repeated_faults == 999
    finally:
        await client.close()


async def test_the_read_loop_yields_after_every_frame() -> None:
    device = ScriptedDevice()
    client = DeviceClient(device, heartbeat_interval=None)
    await client.open()
    handled: list[int] = []
    seen_at_turn: list[int] = []
    client.on_status(lambda status: handled.append(1))
    await asyncio.sleep(0.1)
    for _ in range(1000):  # all buffered at once, as after one large read from a flooding device
        device.push(OWNED)
    asyncio.get_running_loop().call_soon(lambda: seen_at_turn.append(len(handled) + client.repeated_statuses))
    await asyncio.sleep(0.1)
    try:
        assert len(handled) + client.repeated_statuses == 1000
        assert seen_at_turn[0] <= 2  # other callbacks ran after the first frame, not after the thousandth
    finally:
        await client.close()


async def test_a_status_flood_is_coalesced_and_heartbeats_keep_their_cadence() -> None:
    device = ScriptedDevice()
    client = DeviceClient(device)
    await client.open()
    updates: list[Status] = []
    client.on_status(lambda status: updates.append(status))  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()

    async def flood() -> None:
        while True:
            for _ in range(400):
                device.push(OWNED)
            await asyncio.sleep(0.01)  # 40 000 frames a second

    flooding = asyncio.create_task(flood())
    try:
        await asyncio.sleep(5)
        heartbeats = [t for t, m in device.received if type(m).__name__ == "Heartbeat"]
        assert len(heartbeats) >= 4 and max(b - a for a, b in itertools.pairwise(heartbeats)) < 1.5
        stopping = loop.time()
        await client.stop()
        assert loop.time() - stopping < 0.2  # answered, not buried behind the flood
        assert len(updates) <= 5 * 10 + 2 and client.repeated_statuses > 1000  # identical: at most 10 a second
    finally:
        flooding.cancel()
        await client.close(stop=False)


async def test_a_version_2_pairing_keeps_working_with_a_warning(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys.json")
    record = PairedKey(serial="NE2-1", controller_id=0x1234, key=bytes(range(32)), protocol=2)
    keys.put(record)
    device = ScriptedDevice(version=2)  # firmware from before version 3: no SESSION_BEGIN
    client = DeviceClient(device, keys=keys)
    await client.open()
    try:
        assert client.authenticated and len(client.warnings) == 1 and "protocol version 2" in client.warnings[0]
        await client.heartbeat()
    finally:
        await client.close()
    signed = [Frame.loads(data) for data in device.raw if Frame.loads(data).version == 2]
    assert signed and all(verify_frame(frame, record.key) for frame in signed)  # signed with the pairing key
    assert not any(isinstance(m, SessionBegin) for _, m in device.received)


def test_a_hostile_ble_name_cannot_drive_the_terminal_in_scan() -> None:
    from medctl.cli.scan import _table

    found = [{"name": "\x1b[2J\x1b]0;x\x07Neck", "address": "F0:0D:C0:FF:EE:01", "rssi": -40, "url": "ble://F0"}]
    table = _table(found, [], scanned=True, timeout=5)
    assert "\x1b" not in table and "\x07" not in table and "Neck" in table


def test_device_text_in_a_csv_export_is_neither_a_formula_nor_a_terminal_command() -> None:
    from datetime import UTC, datetime

    from medctl.history.export import export_csv
    from medctl.history.records import SessionRecord

    record = SessionRecord(
        id=1, started_at=datetime(2026, 1, 1, tzinfo=UTC), ended_at=None, device="=HYPERLINK(1)",
        device_model="Neck\x1b[2J", planned_s=300.0, heat=False, target_intensity=None,
        state="ended", end_reason=None, massage_s=0.0, max_intensity=1, pid=1, host="h",
        feedback=None, feedback_at=None, overrides=(),
    )  # fmt: skip
    text = export_csv([record])
    assert "'=HYPERLINK(1)" in text and "\x1b" not in text and f"Neck{REPLACEMENT}[2J" in text
