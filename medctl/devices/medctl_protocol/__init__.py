"""Massagers speaking medctl's own protocol (firmware_protocol, SPEC.md) — and its simulator.

Named after the protocol, not a maker: any firmware that implements SPEC.md is driven here.
"""
