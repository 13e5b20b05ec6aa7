"""Fixtures for the simulator tests: a firmware bench on fake clocks."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simulator import DeviceConfig
from simulator.testing import Bench


@pytest.fixture
def make_bench() -> Callable[..., Bench]:
    def make(**overrides: object) -> Bench:
        return Bench(DeviceConfig(**overrides))  # type: ignore[arg-type]

    return make


@pytest.fixture
def bench() -> Bench:
    return Bench()
