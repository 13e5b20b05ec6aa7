"""Bluetooth LE across processes and on this machine's own stack: real sockets, real time.

``medctl simulate --ble`` serves its virtual link over HCI-over-TCP; medctl in another
process (or this one) joins with ``?hci=tcp-client:HOST:PORT``. And with no Bluetooth adapter
on the machine, ``ble://`` addresses and ``medctl scan`` say so in one line.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys

import pytest

from medctl import ConnectionLost, TransportError, connect
from simulator import SimulatedDevice
from simulator.ble import ble_peripheral

pytestmark = pytest.mark.realtime


def medctl(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "medctl", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    return line


async def test_the_hci_option_joins_a_virtual_link_served_over_tcp() -> None:
    async with SimulatedDevice() as device, ble_peripheral(device) as peripheral:
        assert peripheral.hci_server is not None
        url = f"ble://?name=NeckEase&hci={peripheral.join_with}"
        async with connect(url) as massager:
            assert massager.identity is not None and massager.identity.model == "NeckEase 2"
            await massager.raw().start(1)
            assert device.state.running and device.state.intensity == 1
            assert peripheral.hci_server.hosts == 1
            server = peripheral.hci_server
            server.close()  # the other end of the HCI transport goes away: as if the simulator stopped
            lost = await asyncio.wait_for(massager.wait_lost(), 5)
            assert isinstance(lost, ConnectionLost)
            with pytest.raises(TransportError, match="cannot open HCI transport"):
                await massager.reconnect()
            await server.link.serve_hci(server.host, server.port)  # back on the same port
            status = await massager.reconnect()  # a new radio, a new scan, the same controller id
            assert status.owned and device.state.owner == massager.controller_id


async def test_simulate_ble_in_one_process_and_medctl_in_another() -> None:
    simulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "medctl", "simulate", "--ble",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert simulator.stdout is not None
        first = (await asyncio.wait_for(simulator.stdout.readline(), 15)).decode()
        found = re.search(r"at (\S+) on a virtual link; join it with hci=(tcp-client:\S+)", first)
        assert found, first
        address, hci = found.groups()
        url = f"ble://{address}?hci={hci}"
        scan = await asyncio.to_thread(medctl, "scan", "--hci", hci, "--timeout", "0.5", "--json")
        assert scan.returncode == 0, scan.stderr
        (massager,) = json.loads(scan.stdout)["bluetooth"]
        assert massager["address"] == address and massager["url"] == url
        status = await asyncio.to_thread(medctl, "status", "--device", url, "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["model"] == "NeckEase 2"
    finally:
        simulator.send_signal(signal.SIGINT)
        await asyncio.wait_for(simulator.wait(), 10)
    assert simulator.returncode == 0


def test_a_ble_address_without_an_adapter_is_one_line() -> None:
    line = one_line_error(medctl("status", "--device", "ble://AA:BB:CC:DD:EE:FF?timeout=1"))
    # this machine has no Bluetooth (no D-Bus, no radio); one that has one finds no such massager
    assert "no Bluetooth adapter is available" in line or "was not found advertising within 1 s" in line


def test_a_virtual_link_that_is_not_there_is_one_line() -> None:
    line = one_line_error(medctl("status", "--device", "ble://?name=NeckEase&hci=tcp-client:127.0.0.1:1"))
    assert "cannot open HCI transport tcp-client:127.0.0.1:1" in line and "medctl simulate --ble" in line


def test_scan_lists_serial_ports_and_says_why_bluetooth_was_not_scanned() -> None:
    result = medctl("scan", "--timeout", "0.5", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr
    document = json.loads(result.stdout)
    assert set(document) == {"bluetooth", "serial", "problems"}
    assert len(result.stderr.strip().splitlines()) == len(document["problems"]) <= 1


def test_other_schemes_never_import_bleak_or_bumble() -> None:
    probe = (
        "import sys, medctl.cli; medctl.cli.main(['status', '--device', 'sim://']); "
        "print(sorted(m for m in ('bleak', 'bleak_retry_connector', 'bumble', 'simulator.ble') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
