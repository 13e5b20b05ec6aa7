"""Tuya Bluetooth LE massagers: the wire format (protocol.py), product definitions (product.py)."""
