"""GET_INFO HEAT_TARGETS: the driver declares each heat level's target; an older device has none."""

from __future__ import annotations

import pytest

from firmware_protocol import BadValue, heat_targets_text, parse_heat_targets
from medctl.testing import simulated_massager
from simulator import DeviceConfig

pytestmark = pytest.mark.looptime


async def test_the_targets_are_read_at_connect() -> None:
    async with simulated_massager(DeviceConfig(heat_levels=3, heat_targets_c=(37.0, 40.0, 43.0))) as (_, client):
        assert client.capabilities.heat_targets_c == (37.0, 40.0, 43.0)


async def test_a_device_from_before_the_field_reports_none_and_still_connects() -> None:
    async with simulated_massager(DeviceConfig(reports_heat_targets=False)) as (device, client):
        assert client.capabilities.heat_targets_c is None
        assert client.identity is not None and client.identity.model == "NeckEase 2"
        await client.raw().start(1)  # the refused GET_INFO left the link usable
        assert device.state.intensity == 1


async def test_a_device_without_heat_is_not_asked() -> None:
    async with simulated_massager(DeviceConfig(heat_levels=0, heat_targets_c=())) as (_, client):
        assert client.capabilities.heat_targets_c is None


def test_the_text_round_trips_and_bad_text_is_refused() -> None:
    assert heat_targets_text((38.0, 42.4)) == "38,42"
    assert parse_heat_targets("38,42", 2) == (38, 42)
    assert parse_heat_targets("", 0) == ()
    for bad, levels in (("38", 2), ("38,42,45", 2), ("38,x", 2), ("38,-1", 2), ("38,420", 2), ("38, 42", 2)):
        with pytest.raises(BadValue):
            parse_heat_targets(bad, levels)


def test_the_simulator_refuses_targets_that_do_not_fit_an_answer() -> None:
    with pytest.raises(ValueError, match="heat targets"):
        DeviceConfig(heat_levels=5, heat_targets_c=(36.0, 38.0, 40.0, 42.0, 44.0))
