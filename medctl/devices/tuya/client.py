"""One Tuya BLE massager over bleak: connect, handshake, pair, write data points, hear reports.

The bytes come from :class:`~medctl.devices.tuya.link.TuyaLink`; this module only moves them.
Connecting uses bleak-retry-connector like medctl's own BLE transport; bleak's disconnected
callback completes :attr:`TuyaClient.lost`, which is how link loss is noticed — a Tuya
device sends no heartbeat, so there is nothing else to watch. Every request waits for the
device's answer (bounded); an answer other than success is a :class:`TuyaDeviceError`.
Notifications that are not valid for this connection are dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from medctl.devices.tuya.link import Answer, Credentials, InfoReceived, Reply, Reported, TuyaLink
from medctl.devices.tuya.protocol import (
    NOTIFY_CHAR_UUID,
    SERVICE_UUID,
    WRITE_CHAR_UUID,
    DataPoint,
    DpValue,
    PairResult,
    TuyaProtocolError,
)
from medctl.errors import ConnectionLost, MedctlError, TransportError
from medctl.transport.ble import CONNECT_ATTEMPTS, LINK_ERRORS, SCAN_TIMEOUT_S, BleBackend, bluetooth_error

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.device import BLEDevice

_LOGGER = logging.getLogger(__name__)

#: How long the device has to answer one request.
ANSWER_TIMEOUT_S: Final = 5.0
DISCONNECT_TIMEOUT_S: Final = 5.0


class TuyaDeviceError(MedctlError):
    """The massager refused a request (its answer was not success)."""


class TuyaClient:
    """A paired, encrypted connection to one Tuya BLE device at *address*."""

    def __init__(
        self, address: str, credentials: Credentials, *, backend: BleBackend | None = None, scan_timeout: float = 0.0
    ) -> None:
        self.address = address.upper()
        self.credentials = credentials
        self._backend = backend or BleBackend()
        self._scan_timeout = scan_timeout or SCAN_TIMEOUT_S
        self._client: BleakClient | None = None
        self._link: TuyaLink | None = None
        self._pending: dict[int, asyncio.Future[Answer | InfoReceived]] = {}
        self._listeners: list[Callable[[dict[int, DpValue]], None]] = []
        self._write_lock = asyncio.Lock()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.values: dict[int, DpValue] = {}
        self.rejected = 0
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.firmware = ""

    @property
    def description(self) -> str:
        return f"Tuya BLE massager {self.address}"

    @property
    def connected(self) -> bool:
        return self._client is not None and not self.lost.done() and self._link is not None and self._link.has_session

    def on_report(self, listener: Callable[[dict[int, DpValue]], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # --- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        """Find, connect, handshake and pair; then ask for every data point. Raises TransportError."""
        from bleak.exc import BleakError

        self._closing = False
        if self.lost.done():
            self.lost = asyncio.get_running_loop().create_future()
        self._link = TuyaLink(self.credentials)
        try:
            device = await self._find()
            self._client = await self._connect(device)
            await self._client.start_notify(NOTIFY_CHAR_UUID, self._on_notification)
            await self._handshake()
        except (*LINK_ERRORS, BleakError) as exc:
            await self.close()
            raise bluetooth_error(exc, self.description) from exc
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        self._closing = True
        client, self._client = self._client, None
        self._fail_pending(f"{self.description} is closed")
        if client is not None:
            from bleak.exc import BleakError

            with contextlib.suppress(*LINK_ERRORS, BleakError):
                async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                    await client.disconnect()

    # --- requests -------------------------------------------------------------------------

    async def write(self, point: DataPoint, *, guard: Callable[[], None] | None = None) -> None:
        """Send one data point and wait for the device to accept it.

        *guard* runs under the write lock just before the packet is built; raising there sends
        nothing. So a latch checked by *guard* cannot be overtaken by a write that was already
        waiting for the lock when it closed.
        """
        link = self._require_link()

        def build() -> tuple[int, list[bytes]]:
            if guard is not None:
                guard()
            return link.write(point)

        answer = await self._request(build)
        if not isinstance(answer, Answer) or answer.result != 0:
            raise TuyaDeviceError(f"{self.description} refused data point {point.id} = {point.value!r}")

    async def query(self) -> None:
        link = self._require_link()
        await self._request(link.query)

    # --- internals ------------------------------------------------------------------------

    async def _handshake(self) -> None:
        link = self._require_link()
        info = await self._request(link.device_info)
        if not isinstance(info, InfoReceived):
            raise TransportError(f"{self.description} did not send its device info")
        self.firmware = info.info.firmware
        paired = await self._request(link.pair)
        if not isinstance(paired, Answer) or paired.result not in (PairResult.OK, PairResult.ALREADY_BOUND):
            raise TransportError(
                f"{self.description} refused pairing: check the uuid, device id and local key "
                "(they change when the device is reset or re-added in its app)"
            )
        await self.query()

    async def _request(self, build: Callable[[], tuple[int, list[bytes]]]) -> Answer | InfoReceived:
        """Build (taking the next sequence number) and write under one lock, so numbers go out in order."""
        client = self._client
        if client is None or self.lost.done():
            raise ConnectionLost(self.lost.result() if self.lost.done() else f"{self.description} is not connected")
        from bleak.exc import BleakError

        future: asyncio.Future[Answer | InfoReceived] = asyncio.get_running_loop().create_future()
        seq = 0
        try:
            async with self._write_lock:
                seq, fragments = build()
                self._pending[seq] = future
                for piece in fragments:
                    await client.write_gatt_char(WRITE_CHAR_UUID, piece, response=True)
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                return await future
        except TimeoutError:
            raise ConnectionLost(f"{self.description} did not answer within {ANSWER_TIMEOUT_S:g} s") from None
        except (*LINK_ERRORS, BleakError) as exc:
            raise ConnectionLost(f"{self.description}: write failed: {exc or type(exc).__name__}") from exc
        finally:
            self._pending.pop(seq, None)

    def _require_link(self) -> TuyaLink:
        if self._link is None:
            raise ConnectionLost(f"{self.description} is not connected")
        return self._link

    async def _find(self) -> BLEDevice:
        from bleak import BleakScanner

        async with BleakScanner(service_uuids=[SERVICE_UUID], **self._backend.scanner_kwargs()) as scanner:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._scan_timeout):
                    async for device, _ad in scanner.advertisement_data():
                        if device.address.upper() == self.address:
                            return device
        raise TransportError(
            f"{self.description} was not found advertising within {self._scan_timeout:g} s: is it switched on, "
            "in range, and not connected to its phone app?"
        )

    async def _connect(self, device: BLEDevice) -> BleakClient:
        from bleak import BleakClient
        from bleak_retry_connector import establish_connection

        return await establish_connection(
            BleakClient,
            device,
            self.description,
            disconnected_callback=self._on_disconnected,
            max_attempts=CONNECT_ATTEMPTS,
            **self._backend.client_kwargs(),
        )

    def _on_disconnected(self, _client: BleakClient) -> None:
        if not self._closing:
            self._lose(f"{self.description} dropped the connection (out of range or switched off?)")

    def _lose(self, reason: str) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)
        self._fail_pending(reason)

    def _fail_pending(self, reason: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(reason))

    def _on_notification(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        link = self._link
        if link is None:
            return
        try:
            received = link.receive(bytes(data))
        except TuyaProtocolError as exc:
            self.rejected += 1
            _LOGGER.debug("%s: dropped a notification: %s", self.description, exc)
            return
        for event in received.events:
            if isinstance(event, Reported):
                self.values.update({p.id: p.value for p in event.points})
                snapshot = dict(self.values)
                for listener in list(self._listeners):
                    listener(snapshot)
            else:
                future = self._pending.get(event.response_to)
                if future is not None and not future.done():
                    future.set_result(event)
        for reply in received.replies:
            task = asyncio.get_running_loop().create_task(self._send_reply(reply))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_reply(self, reply: Reply) -> None:
        client, link = self._client, self._link
        if client is None or link is None:
            return
        from bleak.exc import BleakError

        with contextlib.suppress(*LINK_ERRORS, BleakError):
            async with self._write_lock:
                for piece in link.reply(reply):
                    await client.write_gatt_char(WRITE_CHAR_UUID, piece, response=True)
