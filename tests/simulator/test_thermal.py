"""The pad's first-order thermal model."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.thermal import step_temperature


def test_one_time_constant_covers_63_percent_of_the_step() -> None:
    assert step_temperature(31.0, 42.0, 60.0, 60.0) == pytest.approx(31.0 + 11.0 * (1 - math.exp(-1)))


def test_settles_at_the_target() -> None:
    assert step_temperature(31.0, 42.0, 3600.0, 60.0) == pytest.approx(42.0)


def test_no_time_no_change() -> None:
    assert step_temperature(35.0, 42.0, 0.0, 60.0) == 35.0
    assert step_temperature(35.0, 42.0, -1.0, 60.0) == 35.0


@given(
    st.floats(20, 50),
    st.floats(20, 50),
    st.floats(0.001, 100),
    st.floats(0.001, 100),
    st.floats(1, 300),
)
def test_steps_compose_exactly(start: float, target: float, dt1: float, dt2: float, tau: float) -> None:
    two_steps = step_temperature(step_temperature(start, target, dt1, tau), target, dt2, tau)
    one_step = step_temperature(start, target, dt1 + dt2, tau)
    assert two_steps == pytest.approx(one_step, abs=1e-9)
    assert min(start, target) - 1e-9 <= one_step <= max(start, target) + 1e-9
