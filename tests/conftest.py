"""Suite-wide settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

#: looptime idles this many loop cycles before jumping to the next timer. Its default (42) is
#: for loops with slow I/O; our virtual-clock tests run on in-memory links only, where a few
#: cycles let every ready callback run, and a 10-minute session then takes well under a second.
LOOPTIME_NOOP_CYCLES = 4


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("looptime") is not None:
            item.add_marker(pytest.mark.looptime(noop_cycles=LOOPTIME_NOOP_CYCLES), append=False)


@pytest.fixture(autouse=True)
def _private_history(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the user's history: sessions that keep the default one (R9 on by default)
    get a fresh file of their own through ``MEDCTL_DB``."""
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path_factory.mktemp("history") / "history.sqlite3"))


@pytest.fixture(autouse=True)
def _private_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's settings or saved plans (``medctl session`` saves the last
    plan and reads the bell setting): ``MEDCTL_CONFIG`` points into a fresh temporary directory."""
    monkeypatch.setenv("MEDCTL_CONFIG", str(tmp_path_factory.mktemp("config") / "config.toml"))


@pytest.fixture(autouse=True, scope="session")
def _private_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test reads or writes the user's pairing keys: ``MEDCTL_KEYS`` points into a temporary directory."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDCTL_KEYS", str(tmp_path_factory.mktemp("keys") / "keys.json"))
        yield
