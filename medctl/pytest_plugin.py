"""pytest fixtures for testing apps built on medctl: simulated massagers, faults, a history, a safety check.

Opt-in. Installing medctl registers this plugin (``pytest11`` entry point), but it adds
fixtures only when asked, so it never shadows an app's own fixture names:

- ``pytest -p medctl.pytest_plugin`` (or the same in ``addopts``), or
- ``medctl_fixtures = true`` in the ``[pytest]`` / ``[tool.pytest.ini_options]`` section.

Fixtures (each function-scoped):

``medctl_sim``, ``medctl_sim_pty``, ``medctl_sim_tcp``, ``medctl_sim_ble``
    A :class:`~medctl.harness.SimulatedMassager` — in process, on a pseudo-terminal, on TCP,
    on a virtual Bluetooth LE link — not yet running: start it in the test with
    ``async with medctl_sim as sim:`` (so it lives on the test's clock; with
    ``@pytest.mark.looptime`` the in-process and BLE ones run on virtual time). Then
    ``sim.connect()`` gives a connected medctl client, ``sim.url`` the address for
    ``medctl.connect`` (pty, tcp), ``sim.device.state`` the device's truth, and
    ``sim.faults`` the faults: ``drop``, ``corrupt``, ``duplicate``, ``delay``, ``silence``,
    ``lose_link``, ``over_temperature``, ``auto_off``, ``heat_limit``, ``stall``, ``drain_battery``,
    ``refuse``, ``clear``.
``medctl_sim_config``
    The :class:`~simulator.DeviceConfig` the simulators use; override it in a test module
    (``@pytest.fixture def medctl_sim_config(): return DeviceConfig(battery=True)``).
``medctl_history``
    An open session history in the test's temporary folder (R9 without the user's history).
``medctl_safety``
    A :class:`~medctl.session.SafetyCheck` answered all clear (R8), for tests only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from medctl.harness import SimulatedMassager

if TYPE_CHECKING:
    from medctl.history import HistoryStore
    from medctl.session import SafetyCheck
    from simulator import DeviceConfig

#: The name this module is loaded under, by ``-p`` and by the entry point alike.
PLUGIN_NAME: Final = "medctl.pytest_plugin"
INI_OPTION: Final = "medctl_fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare the ini option that turns the fixtures on for a whole project."""
    parser.addini(INI_OPTION, "add medctl's fixtures (medctl_sim, medctl_history, ...)", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    """Add the fixtures only when asked (``-p`` or the ini option), so they never shadow an app's own."""
    asked = PLUGIN_NAME in (getattr(config.option, "plugins", None) or [])
    if (asked or config.getini(INI_OPTION)) and not config.pluginmanager.has_plugin("medctl-fixtures"):
        config.pluginmanager.register(MedctlFixtures(), "medctl-fixtures")


class MedctlFixtures:
    """The fixtures, registered only when the plugin is enabled (see the module docstring)."""

    @pytest.fixture
    def medctl_sim_config(self) -> DeviceConfig:
        from simulator import DeviceConfig

        return DeviceConfig()

    @pytest.fixture
    def medctl_sim(self, medctl_sim_config: DeviceConfig) -> SimulatedMassager:
        return SimulatedMassager("inprocess", medctl_sim_config)

    @pytest.fixture
    def medctl_sim_pty(self, medctl_sim_config: DeviceConfig) -> SimulatedMassager:
        return SimulatedMassager("pty", medctl_sim_config)

    @pytest.fixture
    def medctl_sim_tcp(self, medctl_sim_config: DeviceConfig) -> SimulatedMassager:
        return SimulatedMassager("tcp", medctl_sim_config)

    @pytest.fixture
    def medctl_sim_ble(self, medctl_sim_config: DeviceConfig) -> SimulatedMassager:
        pytest.importorskip("bumble", reason="the virtual BLE link needs bumble: pip install 'medctl[ble-sim]'")
        return SimulatedMassager("ble", medctl_sim_config)

    @pytest.fixture
    def medctl_history(self, tmp_path: Path) -> Iterator[HistoryStore]:
        from medctl.testing import temporary_history

        store = temporary_history(tmp_path)
        try:
            yield store
        finally:
            store.close()

    @pytest.fixture
    def medctl_safety(self) -> SafetyCheck:
        from medctl.testing import ALL_CLEAR

        return ALL_CLEAR
