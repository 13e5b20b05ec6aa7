"""Transports by URL scheme; each carries whole frames (see :mod:`medctl.transport.base`)."""

from __future__ import annotations

from firmware_protocol.constants import DEFAULT_BAUD
from medctl.address import DeviceAddress, parse_address
from medctl.transport.base import Transport


def open_transport(address: DeviceAddress | str) -> Transport:
    """The (not yet opened) transport for an address."""
    if isinstance(address, str):
        address = parse_address(address)
    if address.scheme == "serial":
        from medctl.transport.serial import SerialTransport

        return SerialTransport(address.location, address.option_int("baud", DEFAULT_BAUD))
    if address.scheme == "tcp":
        from medctl.transport.tcp import TcpTransport

        host, _, port = address.location.rpartition(":")
        return TcpTransport(host, int(port))
    if address.scheme == "ble":
        from medctl.transport.ble import BleTransport

        return BleTransport(address)
    from medctl.transport.sim import SimTransport

    return SimTransport(address)


__all__ = ["Transport", "open_transport"]
