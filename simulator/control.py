"""The simulator's control port: a line-based text channel that triggers device faults from outside.

A conformance run of a controller needs to see the device's own faults (auto-off, the heater's
time limit, over-temperature, a stalled motor, a low or empty battery, BUSY) without waiting
for them. They are triggered here, on a separate TCP port bound to the loopback interface, never
through the wire protocol: a debug message type in the protocol could be left enabled in a
real firmware and would let anyone in radio range force a device state. The port exists only
when asked for (``medctl simulate --control PORT``); SPEC.md Appendix A documents the commands.
Each command is one line; each answer is one line, ``ok ...`` or ``error: ...``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import Final

from firmware_protocol import ErrorCode
from simulator.faults import FaultInjector
from simulator.firmware import Firmware

#: A command line longer than this is refused (and the connection closed): nothing needs more.
MAX_LINE: Final = 256


class ControlError(ValueError):
    """A control command that cannot be carried out; the message is the answer's text."""


def _no_argument(action: Callable[[], None]) -> Callable[[list[str]], None]:
    def run(args: list[str]) -> None:
        if args:
            raise ControlError("this command takes no argument")
        action()

    return run


class Controller:
    """Parses and executes control commands against one device's fault injector."""

    def __init__(self, firmware: Firmware, faults: FaultInjector) -> None:
        self._firmware = firmware
        self._faults = faults
        self._commands: dict[str, tuple[str, Callable[[list[str]], None]]] = {
            "auto-off": ("use up the run budget: motor off, AUTO_OFF", _no_argument(faults.exhaust_run_budget)),
            "heat-limit": ("use up the heater budget: heat off, AUTO_OFF", _no_argument(faults.exhaust_heat_budget)),
            "over-temperature": ("heat the pad past max_temp", _no_argument(faults.force_over_temperature)),
            "stall": ("block the motor: MOTOR_STALL", _no_argument(faults.stall_motor)),
            "release": ("free a stalled motor", _no_argument(faults.release_motor)),
            "battery": ("PERCENT: set the charge (0 empties it)", self._battery),
            "busy": ("on|off: answer BUSY to every request but STOP", self._busy),
        }

    def execute(self, line: str) -> str:
        """The one-line answer to one command line; never raises on input."""
        words = line.split()
        if not words:
            return "error: empty command; try help"
        name, args = words[0].lower(), words[1:]
        if name == "help":
            return "ok " + "; ".join(f"{cmd}: {text}" for cmd, (text, _) in self._commands.items()) + "; state"
        if name == "state":
            return "ok " + self._state()
        entry = self._commands.get(name)
        if entry is None:
            return f"error: unknown command {name!r}; try help"
        try:
            entry[1](args)
        except (ControlError, RuntimeError) as exc:
            return f"error: {name}: {exc}"
        return f"ok {name}"

    def _battery(self, args: list[str]) -> None:
        if len(args) != 1:
            raise ControlError("give the charge in percent, 0..100")
        try:
            percent = float(args[0])
        except ValueError:
            raise ControlError(f"{args[0]!r} is not a number") from None
        if not (math.isfinite(percent) and 0 <= percent <= 100):
            raise ControlError(f"{args[0]} is not a charge in 0..100")
        self._faults.charge_battery(percent)

    def _busy(self, args: list[str]) -> None:
        if args == ["on"]:
            self._faults.refuse(ErrorCode.BUSY)
        elif args == ["off"]:
            self._faults.stop_refusing()
        else:
            raise ControlError("say 'busy on' or 'busy off'")

    def _state(self) -> str:
        s = self._firmware.state
        return (
            f"state={s.state.name} intensity={s.intensity} heat={s.heat} pad={s.pad_temp_c:.2f} "
            f"faults={int(s.faults):#04x} battery={'none' if s.battery is None else s.battery} "
            f"owner={'none' if s.owner is None else f'{s.owner:#010x}'} "
            f"run_used={s.run_used_s:.1f} heat_used={s.heat_used_s:.1f}"
        )


class ControlEndpoint:
    """The control port on TCP: one command per line, one answer per line, any number of clients."""

    def __init__(self, server: asyncio.Server, controller: Controller) -> None:
        self._server = server
        self._controller = controller
        self.host, self.port = server.sockets[0].getsockname()[:2]

    @classmethod
    async def start(cls, firmware: Firmware, faults: FaultInjector, host: str, port: int) -> ControlEndpoint:
        controller = Controller(firmware, faults)

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    try:
                        line = await reader.readline()
                    except ValueError:  # the stream's limit: a line longer than MAX_LINE
                        writer.write(f"error: a command line is at most {MAX_LINE} bytes\n".encode())
                        break
                    if not line.endswith(b"\n"):
                        break  # end of input
                    answer = controller.execute(line.decode("utf-8", errors="replace"))
                    writer.write(answer.encode() + b"\n")
                    await writer.drain()
            except ConnectionError:
                pass  # the client vanished: only its connection ends
            finally:
                writer.close()

        server = await asyncio.start_server(serve, host, port, limit=MAX_LINE)
        return cls(server, controller)

    def close(self) -> None:
        self._server.close()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()
