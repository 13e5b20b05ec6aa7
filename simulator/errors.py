"""Errors the simulator raises to its callers; :class:`SimulatorError` is the root."""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of the simulator's own errors."""


class LinkClosed(SimulatorError, ConnectionError):
    """The in-process link was closed by its owner or dropped by the device."""
