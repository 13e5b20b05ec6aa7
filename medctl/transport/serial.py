"""Serial transport on pyserial (through pyserial-asyncio-fast's streams), and the serial ports there are."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import serial
import serial_asyncio_fast
from serial.tools import list_ports

from firmware_protocol.constants import DEFAULT_BAUD
from medctl.errors import TransportError
from medctl.transport.stream import StreamTransport


@dataclass(frozen=True)
class SerialPortInfo:
    """A serial port on this computer: its device path and what the system calls it."""

    device: str
    description: str


def serial_ports() -> list[SerialPortInfo]:
    """The serial ports pyserial finds (USB adapters, Bluetooth SPP, built-in UARTs), by path."""
    found = sorted(list_ports.comports(), key=lambda port: port.device)
    return [SerialPortInfo(p.device, "" if p.description in ("n/a", None) else p.description) for p in found]


class SerialTransport(StreamTransport):
    def __init__(self, port: str, baudrate: int = DEFAULT_BAUD) -> None:
        super().__init__(f"serial port {port}")
        self.port = port
        self.baudrate = baudrate

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            reader, writer = await serial_asyncio_fast.open_serial_connection(
                url=self.port, baudrate=self.baudrate, bytesize=8, parity="N", stopbits=1, exclusive=True
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"cannot open serial port {self.port}: {_reason(exc)}") from exc
        return reader, writer


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "No such file" in text or "Errno 2" in text:
        return "no such port (is the massager plugged in? `medctl scan` lists ports)"
    if "Permission denied" in text:
        return "permission denied (add yourself to the 'dialout' group)"
    if "busy" in text.lower() or "Could not exclusively lock" in text:
        return "the port is in use by another program"
    return text
