"""The massager interface moved to :mod:`medctl.devices.base`; this keeps the old import path."""

from medctl.devices.base import Massager

__all__ = ["Massager"]
