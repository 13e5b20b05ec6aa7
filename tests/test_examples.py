"""The runnable examples, each run to its end on the virtual clock."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from medctl.session import EndReason

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.looptime
async def test_plain_session(capsys: pytest.CaptureFixture[str]) -> None:
    record = await load("plain_session").main("sim://")
    assert record.end_reason is EndReason.COMPLETED
    assert record.massage_s == pytest.approx(300, abs=0.5)
    assert record.max_intensity == 1
    assert "warm-up" in capsys.readouterr().out


@pytest.mark.looptime
async def test_climb_with_heat() -> None:
    record = await load("climb_with_heat").main("sim://")
    assert record.end_reason is EndReason.COMPLETED
    assert record.massage_s == pytest.approx(600, abs=0.5)
    assert record.max_intensity == 3
