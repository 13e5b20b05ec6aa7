"""The runnable examples, each run to its end on the virtual clock."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from medctl.session import EndReason

pytest_plugins = ["pytester"]

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


def test_the_example_app_tests_pass_with_the_plugin_fixtures(pytester: pytest.Pytester) -> None:
    """examples/test_evening_app.py uses only medctl's pytest plugin: run it as an app's suite would."""
    result = pytester.runpytest_subprocess(
        str(EXAMPLES / "test_evening_app.py"), "-p", "medctl.pytest_plugin", "-p", "no:cacheprovider", "-o", "addopts="
    )
    result.assert_outcomes(passed=3)
