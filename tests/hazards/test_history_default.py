"""R9 on by default (finding 5, library part): ``session()`` keeps the default history unless
the caller opts out by name (``medctl.NO_HISTORY``)."""

from __future__ import annotations

from pathlib import Path

import pytest

import medctl
from medctl.history import HistoryStore, default_db_path
from medctl.session import FrequencyOverrideRequired, SessionPlan
from medctl.testing import ALL_CLEAR, simulated_massager

pytestmark = pytest.mark.looptime


async def test_the_default_history_records_and_r9_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path / "default.sqlite3"))
    async with simulated_massager(demo=False) as (_, massager):  # the simulator standing in for a real one
        async with massager.session(SessionPlan(minutes=5), safety=ALL_CLEAR) as first:
            await first.stop()
        with pytest.raises(FrequencyOverrideRequired, match="today"):
            async with massager.session(SessionPlan(minutes=5), safety=ALL_CLEAR):
                pass
        assert massager.status is not None and not massager.status.running
    with HistoryStore(default_db_path(), read_only=True) as history:
        (saved,) = history.sessions()
    assert saved.id == first.session_id and saved.end_reason == "stopped" and not saved.simulated


async def test_no_history_is_a_named_choice_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDCTL_DB", str(tmp_path / "default.sqlite3"))
    async with medctl.connect("sim://") as massager:
        for _ in range(2):
            async with massager.session(SessionPlan(minutes=5), safety=ALL_CLEAR, history=medctl.NO_HISTORY) as s:
                await s.stop()
            assert s.session_id is None
    assert not (tmp_path / "default.sqlite3").exists()


def test_none_is_not_a_way_to_skip_the_history() -> None:
    from medctl.session import Session

    with pytest.raises(TypeError, match="NO_HISTORY"):
        Session(object(), SessionPlan(minutes=5), safety=ALL_CLEAR, history=None)  # type: ignore[arg-type]
