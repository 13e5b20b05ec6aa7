"""The background tasks of a connection: the frame reader and the heartbeat/silence watch.

The reader yields after every frame and drops identical repeats, so a flooding device cannot
starve heartbeats and STOP (SECURITY.md, "hostile device").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

from firmware_protocol import (
    PLAIN_FRAME_VERSION,
    Ack,
    Fault,
    FaultEvent,
    MessageError,
    Nack,
    Status,
    decode_message,
)
from medctl.clock import reached, wait_set
from medctl.devices.medctl_protocol import translate
from medctl.devices.medctl_protocol.requests import SILENCE_LIMIT_S, STATUS_REPEAT_S, ClientCore
from medctl.errors import (
    ConnectionLost,
    MedctlError,
)

_LOGGER = logging.getLogger(__name__)


class Reader(ClientCore):
    """Reads frames and keeps the link alive."""

    # --- background tasks ------------------------------------------------------------------

    def _start_reader(self) -> None:
        self._last_heard = asyncio.get_running_loop().time()
        self._reader = self._spawn(self._read_loop(), "medctl-reader")

    def _start_keepalive(self) -> None:
        if self._heartbeat_interval is not None:
            self._keepalive = self._spawn(self._keepalive_loop(self._heartbeat_interval), "medctl-keepalive")

    async def _read_loop(self) -> None:
        """Frames from the device, one at a time, yielding to the loop after each one.

        ``recv()`` returns at once while frames are buffered, so without the yield a device
        that floods STATUS would starve heartbeats and STOP (SECURITY.md, "hostile device").
        """
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await self._transport.recv()
                await asyncio.sleep(0)
                self._last_heard = loop.time()
                if frame.version != PLAIN_FRAME_VERSION:  # a device only ever sends plain frames
                    self.invalid_messages += 1
                    continue
                try:
                    message = decode_message(frame)
                except MessageError as exc:
                    self.invalid_messages += 1
                    _LOGGER.debug("ignored invalid message from %s: %s", self.description, exc)
                    continue
                if isinstance(message, Ack | Nack):
                    self._resolve(frame.seq, message)
                elif isinstance(message, Status):
                    if not self._repeats_status(frame.payload, loop.time()):
                        self._store_status(message)
                elif isinstance(message, FaultEvent):
                    if self._repeats_fault(message):
                        continue
                    report = translate.fault_report(message)
                    for listener in list(self._fault_listeners):
                        listener(report)
                    if message.active and message.fault is Fault.LINK_LOST and self._owner:
                        self._mark_lost(ConnectionLost(f"{self.description}: its watchdog released this controller"))
        except ConnectionLost as exc:
            self._mark_lost(exc)
        except OSError as exc:  # a transport's own I/O error that it did not translate is still a lost link
            self._mark_lost(ConnectionLost(f"{self.description} failed: {exc}"))

    def _repeats_status(self, payload: bytes, now: float) -> bool:
        """True for a STATUS identical to the last one passed on less than :data:`STATUS_REPEAT_S` ago.

        A device sends STATUS on a change and once a second; the same bytes many times a second
        say nothing new, and passing each on would let a flooding device spend this process's CPU.
        """
        if payload == self._last_status_payload and now - self._last_status_at < STATUS_REPEAT_S:
            self.repeated_statuses += 1
            return True
        self._last_status_payload, self._last_status_at = payload, now
        return False

    def _repeats_fault(self, event: FaultEvent) -> bool:
        """True for a FAULT event identical to the last one about the same fault (counted, not passed on).

        A device reports a fault when it changes; the same event again says nothing new, and a
        device repeating it thousands of times must not become thousands of history rows or notices.
        """
        key = (event.active, event.detail)
        if self._last_faults.get(event.fault) == key:
            self.repeated_faults += 1
            return True
        self._last_faults[event.fault] = key
        return False

    def _silence_limit(self, interval: float) -> float:
        """The silence the heartbeat watch allows before it declares the link lost.

        One heartbeat short of the device's own watchdog: the blind STOP then reaches a device that
        still hears us (a one-way failure) no later than its watchdog. The device's watchdog is its
        claim: this controller never waits longer than its own limit.
        """
        watchdog = min(self.capabilities.watchdog_s or SILENCE_LIMIT_S, SILENCE_LIMIT_S)
        return max(interval, watchdog - interval)

    async def _keepalive_loop(self, interval: float) -> None:
        """Heartbeat when idle (unless a caller's loop does it); declare the link lost after silence.

        It wakes only when something is due (the next heartbeat, or the moment the silence would
        be too long, measured from the last frame heard) or when a caller stops driving the
        heartbeats. Those moments are a frame's arrival plus whole intervals, so they fall with
        the moments the device and the session wake for anyway; it waits exactly until them and
        counts a moment within :data:`~medctl.clock.DUE_MARGIN_S` as come (:func:`~medctl.clock.reached`),
        so it never wakes a hair early again and again.
        """
        loop = asyncio.get_running_loop()
        silence_limit = self._silence_limit(interval)
        retry_at = -math.inf  # after a heartbeat that could not be sent: not again before this
        while self._lost is None:
            now = loop.time()
            wake = self._last_heard + silence_limit
            if reached(wake, now):
                self._mark_lost(ConnectionLost(f"{self.description} stopped answering"))
                return
            if not self._driven_keepalive:
                due = max(self._last_sent + interval, retry_at)
                if reached(due, now):
                    sent = self._last_sent
                    with contextlib.suppress(MedctlError):
                        await self.heartbeat()
                    if self._last_sent == sent:
                        retry_at = loop.time() + interval
                    continue
                wake = min(wake, due)
            self._keepalive_wake.clear()
            await wait_set(self._keepalive_wake, wake - now)  # more than DUE_MARGIN_S: nothing above was reached
