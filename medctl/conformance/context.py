"""What a check works with: links to the device, what the device said about itself, and cleanup.

The suite keeps one **primary** link open for the whole run; a check that needs a second
controller opens another link (TCP, BLE and the simulator can; a serial port is one link,
SPEC §9.1, so those checks are skipped there). After every check :meth:`Context.cleanup`
stops the motor, ends every session the check opened and closes extra links, so one check's
failure does not leak into the next.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from firmware_protocol import IDENTITY_FIELDS, ClearFaults, Fault, Feature, GetInfo, InfoField, InfoResult, MessageError
from medctl.clock import seconds_until
from medctl.conformance.model import Failed, Skipped
from medctl.conformance.probe import ANSWER_TIMEOUT_S, Probe
from medctl.conformance.wire import LinkGone, Wire
from medctl.errors import MedctlError
from medctl.transport.base import Transport

#: A check that has not finished after this long has hung (the slow ones say how long they wait).
CHECK_BUDGET_S = 60.0


@dataclass(frozen=True, slots=True)
class SuiteOptions:
    """What to run: ``--slow``, ``--destructive``, ``--only SECTION``, and the pairing code when known."""

    slow: bool = False
    destructive: bool = False
    only: tuple[str, ...] = ()
    pairing_code: str | None = None
    answer_timeout: float = ANSWER_TIMEOUT_S
    #: The device's run and heater budgets (SPEC §2, §7.6: 900 s each); the limit checks wait about this long.
    auto_off_s: float = 900.0


@dataclass(frozen=True, slots=True)
class LinkSource:
    """How to open links to the device under test.

    ``open`` makes a new, unopened transport each call. ``multi_link`` is False where the
    device can only ever have one link (a serial port); elsewhere a second link is tried.
    """

    open: Callable[[], Transport]
    description: str
    multi_link: bool = True


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the device reports about itself: HELLO's result and its identity."""

    version: int
    intensity_levels: int
    heat_levels: int
    features: Feature
    watchdog_ms: int
    model: str
    firmware: str
    serial: str

    @property
    def watchdog_s(self) -> float:
        return self.watchdog_ms / 1000


@dataclass
class Context:
    """Shared by every check of one run."""

    source: LinkSource
    options: SuiteOptions = field(default_factory=SuiteOptions)
    _primary: Probe | None = None
    _extra: list[Probe] = field(default_factory=list)
    _facts: DeviceFacts | None = None
    _second_link_refused: str = ""
    #: Whatever a check leaves for a later one (the pairing checks: the paired controller).
    signer: object = None
    #: Why session checks are skipped, when the device turned out to be paired already.
    paired: str = ""

    # --- links -----------------------------------------------------------------------------

    async def link(self) -> Probe:
        """The primary link, opened on first use (again after it was lost), as a fresh controller."""
        if self._primary is None:
            self._primary = await self._open("primary")
        self._primary.controller_id = new_controller_id()
        return self._primary

    async def second_link(self) -> Probe:
        """Another link at the same time, as another controller; Skipped where the device has one link."""
        if not self.source.multi_link:
            raise Skipped(f"needs a second link, and {self.source.description} is a single link (SPEC §9.1)")
        if self._second_link_refused:
            raise Skipped(self._second_link_refused)
        try:
            probe = await self._open(f"extra{len(self._extra) + 1}")
        except MedctlError as exc:
            self._second_link_refused = f"needs a second link, and the device took none: {exc}"
            raise Skipped(self._second_link_refused) from None
        self._extra.append(probe)
        return probe

    async def _open(self, name: str) -> Probe:
        wire = Wire(self.source.open(), name)
        try:
            await wire.open()
        except BaseException:
            await wire.close()  # a half-open link (a BLE backend, a socket) is released
            raise
        return Probe(wire, new_controller_id(), answer_timeout=self.options.answer_timeout)

    def probes(self) -> list[Probe]:
        return ([self._primary] if self._primary else []) + self._extra

    # --- facts -----------------------------------------------------------------------------

    async def facts(self) -> DeviceFacts:
        """HELLO's result and the identity texts, read once (a HELLO and a GOODBYE on the primary link)."""
        if self._facts is None:
            probe = await self.link()
            try:
                result = await probe.hello(low=1, high=0xFF)
            except Skipped as paired:
                self.paired = str(paired)
                raise
            await probe.goodbye()
            texts = [await self._info(probe, field) for field in IDENTITY_FIELDS]
            self._facts = DeviceFacts(
                result.version,
                result.intensity_levels,
                result.heat_levels,
                result.features,
                result.watchdog_ms,
                *texts,
            )
        return self._facts

    @property
    def known_facts(self) -> DeviceFacts | None:
        return self._facts

    async def _info(self, probe: Probe, info: InfoField) -> str:
        ack = await probe.ack(GetInfo(info))
        try:
            return InfoResult.from_bytes(ack.data).text
        except MessageError as exc:
            raise Failed(f"GET_INFO {info.name}: the ACK data is no InfoResult (SPEC §5.3): {exc}") from None

    # --- timing ----------------------------------------------------------------------------

    async def keep_alive(self, probe: Probe, seconds: float, every: float = 0.5) -> None:
        """Spend *seconds* sending a HEARTBEAT every *every* seconds (a request at least every 1 s, §6.8)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := seconds_until(deadline, loop.time())) > 0:
            await probe.heartbeat()
            await probe.listen(min(every, left))

    # --- cleanup ---------------------------------------------------------------------------

    async def cleanup(self) -> None:
        """Motor off, sessions ended, extra links closed, latched faults cleared where possible."""
        for probe in self.probes():
            await _quietly(probe.stop())
            if probe.in_session:
                await _quietly(probe.goodbye())
        for probe in self._extra:
            await probe.wire.close()
        self._extra.clear()
        primary = self._primary
        if primary is None:
            return
        try:
            status = await primary.status()
        except (Failed, LinkGone):
            await primary.wire.close()
            self._primary = None  # reopened by the next check
            return
        if status.faults & (Fault.LINK_LOST | Fault.AUTO_OFF):
            await _quietly(self._clear_faults(primary))
        primary.take_events()
        primary.strays.clear()

    async def _clear_faults(self, probe: Probe) -> None:
        await probe.hello(new_controller_id())
        await probe.request(ClearFaults(Fault.LINK_LOST | Fault.AUTO_OFF))
        await probe.goodbye()

    async def close(self) -> None:
        for probe in self.probes():
            await probe.wire.close()
        self._primary = None
        self._extra.clear()


def new_controller_id() -> int:
    """A random non-zero u32 (SPEC §6.8: a controller id SHOULD be non-zero)."""
    return random.randrange(1, 1 << 32)


async def _quietly(step: Awaitable[object]) -> None:
    """Best effort during cleanup: a silent or gone device is reported by the next check, not here."""
    try:
        await step
    except (Failed, Skipped, LinkGone):
        return
