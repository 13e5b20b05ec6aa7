"""medctl ↔ simulator over TCP on loopback, on real time."""

from __future__ import annotations

import pytest

from medctl import ConnectionLost, TransportError, connect
from medctl.harness import SimulatedMassager
from simulator import SimulatedDevice

pytestmark = pytest.mark.realtime


async def test_session_over_tcp_and_the_device_closing_it(medctl_sim_tcp: SimulatedMassager) -> None:
    async with medctl_sim_tcp as sim, connect(sim.url) as massager:
        await massager.raw().start(1)
        await massager.raw().set_intensity(2)
        assert sim.device.state.intensity == 2
        sim.faults.lose_link()
        lost = await massager.wait_lost()
        assert isinstance(lost, ConnectionLost)


async def test_nothing_listening_is_a_clear_error() -> None:
    async with SimulatedDevice() as device:
        endpoint = await device.serve_tcp()
        port = endpoint.port
        endpoint.close()
        await endpoint.wait_closed()
    with pytest.raises(TransportError, match="cannot connect to tcp://127.0.0.1"):
        async with connect(f"tcp://127.0.0.1:{port}"):
            pass
