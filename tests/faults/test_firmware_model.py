"""The simulator firmware against a reference model, as a hypothesis state machine.

The model is a few lines of plain Python written from SPEC.md §7 (ownership, ranges,
START only at the lightest level from standstill, watchdog, the run and heater budgets
that survive STOP/START and refill with rest, stop). Hypothesis drives both with random sequences of requests
from two controllers on two links, and random passages of time; after every step the
device's answer and its state must be what the model says.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from firmware_protocol import (
    Ack,
    ErrorCode,
    Fault,
    GetStatus,
    Goodbye,
    Heartbeat,
    Hello,
    MotorState,
    Nack,
    Request,
    SetHeat,
    SetIntensity,
    Start,
    Stop,
)
from simulator import DeviceConfig
from simulator.testing import Bench

LEVELS = 5
HEAT_LEVELS = 2
WATCHDOG_S = 3.0
AUTO_OFF_S = 900.0
HEAT_LIMIT_S = 900.0
REST_REFILL = 0.5
STEP_S = 0.05


@dataclass
class Budget:
    """SPEC.md §7.6: used while the output is on, refilled at half speed while off, locked once used up."""

    used: float = 0.0
    locked: bool = False

    def step(self, on: bool, dt: float) -> None:
        if on:
            self.used += dt
            return
        self.used = max(0.0, self.used - REST_REFILL * dt)
        if self.used == 0.0:
            self.locked = False


@dataclass
class Model:
    """What SPEC §7 says the device state is."""

    running: bool = False
    intensity: int = 1
    heat: int = 0
    owner: int | None = None
    owner_link: int | None = None
    last_heard: float = 0.0
    faults: Fault = Fault.NONE
    run: Budget = field(default_factory=Budget)
    heat_budget: Budget = field(default_factory=Budget)
    #: links that completed HELLO, and for which controller
    sessions: dict[int, int] = field(default_factory=dict)


class FirmwareVersusModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.bench = Bench(DeviceConfig(intensity_levels=LEVELS, heat_levels=HEAT_LEVELS))
        self.links = [self.bench.link("a"), self.bench.link("b")]
        self.model = Model()
        self.now = 0.0

    # --- helpers ---------------------------------------------------------------------------

    def ask(self, link: int, message: Request) -> Ack | Nack:
        answer = self.bench.request(self.links[link], message)
        if self.model.owner_link == link:
            self.model.last_heard = self.bench.link_time.now
        return answer

    def expect_owner_command(self, link: int) -> ErrorCode | None:
        sessions = self.model.sessions
        if link not in sessions:
            return ErrorCode.HELLO_REQUIRED
        if self.model.owner != sessions[link] or self.model.owner_link != link:
            return ErrorCode.NOT_OWNER
        return None

    def check(self, answer: Ack | Nack, expected: ErrorCode | None) -> None:
        if expected is None:
            assert isinstance(answer, Ack), answer
        else:
            assert isinstance(answer, Nack) and answer.code is expected, (answer, expected)

    # --- rules -----------------------------------------------------------------------------

    @rule(link=st.integers(0, 1), controller=st.sampled_from([0xA, 0xB]))
    def hello(self, link: int, controller: int) -> None:
        answer = self.ask(link, Hello(1, 1, controller))
        sessions = self.model.sessions
        if self.model.owner is not None and self.model.owner != controller:
            self.check(answer, ErrorCode.NOT_OWNER)
            return
        self.check(answer, None)
        if self.model.owner == controller and self.model.owner_link not in (None, link):
            sessions.pop(self.model.owner_link, None)  # a takeover ends the old owner link's session (SPEC §7.2)
        sessions[link] = controller
        self.model.owner, self.model.owner_link, self.model.last_heard = controller, link, self.bench.link_time.now

    @rule(link=st.integers(0, 1), level=st.integers(0, LEVELS + 1))
    def start(self, link: int, level: int) -> None:
        expected = self.expect_owner_command(link)
        answer = self.ask(link, Start(level))
        if expected is None and not 1 <= level <= LEVELS:
            expected = ErrorCode.OUT_OF_RANGE
        if expected is None and not self.model.running and level != 1:
            expected = ErrorCode.OUT_OF_RANGE  # from standstill only the lightest level
        if expected is None and not self.model.running and self.model.run.locked:
            expected = ErrorCode.FAULT_ACTIVE  # the run budget is used up
        self.check(answer, expected)
        if expected is None:
            self.model.running, self.model.intensity = True, level

    @rule(link=st.integers(0, 1), level=st.integers(0, LEVELS + 1))
    def set_intensity(self, link: int, level: int) -> None:
        expected = self.expect_owner_command(link)
        answer = self.ask(link, SetIntensity(level))
        if expected is None and not 1 <= level <= LEVELS:
            expected = ErrorCode.OUT_OF_RANGE
        self.check(answer, expected)
        if expected is None:
            self.model.intensity = level

    @rule(link=st.integers(0, 1), level=st.integers(0, HEAT_LEVELS + 1))
    def set_heat(self, link: int, level: int) -> None:
        expected = self.expect_owner_command(link)
        answer = self.ask(link, SetHeat(level))
        if expected is None and level > HEAT_LEVELS:
            expected = ErrorCode.OUT_OF_RANGE
        if expected is None and level > 0 and self.model.heat_budget.locked:
            expected = ErrorCode.FAULT_ACTIVE  # the heater budget is used up
        self.check(answer, expected)
        if expected is None:
            self.model.heat = level

    @rule(link=st.integers(0, 1))
    def stop(self, link: int) -> None:
        self.check(self.ask(link, Stop()), None)  # from anyone, always
        self.model.running, self.model.heat = False, 0

    @rule(link=st.integers(0, 1))
    def heartbeat_or_status(self, link: int) -> None:
        self.check(self.ask(link, Heartbeat()), None)
        self.check(self.ask(link, GetStatus()), None)

    @rule(link=st.integers(0, 1))
    def goodbye(self, link: int) -> None:
        sessions = self.model.sessions
        owner_leaving = self.model.owner_link == link and sessions.get(link) == self.model.owner
        self.check(self.ask(link, Goodbye()), None)
        if owner_leaving:
            self.model.running, self.model.heat = False, 0
            self.model.owner = self.model.owner_link = None
            sessions.pop(link, None)

    @precondition(lambda self: self.model.owner is not None)
    @rule(seconds=st.floats(0.1, 2.0))
    def time_passes_quietly(self, seconds: float) -> None:
        self.advance(seconds)

    @rule(seconds=st.sampled_from([2.9, 3.2, 10.0, 400.0]))
    def time_passes(self, seconds: float) -> None:
        self.advance(seconds)

    @rule(seconds=st.sampled_from([300.0, 500.0, 1000.0]))
    def device_time_passes(self, seconds: float) -> None:
        """Minutes of device time while the link stays fed: the budgets, not the watchdog, act."""
        self.advance(seconds, step=1.0, link=False)

    def advance(self, seconds: float, step: float = STEP_S, *, link: bool = True) -> None:
        """Move time as :meth:`Bench.advance` does, step by step, with the same arithmetic."""
        start_device, start_link = self.bench.device_time.now, self.bench.link_time.now
        self.bench.advance(seconds, step=step, link=link)
        self.now += seconds
        model = self.model
        count = max(1, math.ceil(seconds / step - 1e-9))
        previous = start_device
        for i in range(1, count + 1):
            elapsed = seconds if i == count else i * step
            now_device, now_link = start_device + elapsed, start_link + (elapsed if link else 0.0)
            dt = max(0.0, now_device - previous)
            previous = now_device
            model.run.step(model.running, dt)
            model.heat_budget.step(model.heat > 0, dt)
            if model.owner is not None and now_link >= model.last_heard + WATCHDOG_S:
                model.running, model.heat = False, 0
                model.owner = model.owner_link = None
                model.faults |= Fault.LINK_LOST
            if model.run.used >= AUTO_OFF_S and not model.run.locked:
                model.run.locked = True
                model.running, model.heat = False, 0
                model.faults |= Fault.AUTO_OFF
            if model.heat_budget.used >= HEAT_LIMIT_S and not model.heat_budget.locked:
                model.heat_budget.locked = True
                model.heat = 0
                model.faults |= Fault.AUTO_OFF

    # --- the device must agree -------------------------------------------------------------

    @invariant()
    def device_agrees_with_model(self) -> None:
        state = self.bench.firmware.state
        model = self.model
        assert state.running == model.running, (state, model)
        assert state.intensity == model.intensity, (state, model)
        assert state.heat == model.heat, (state, model)
        assert state.owner == model.owner, (state, model)
        assert state.faults & (Fault.LINK_LOST | Fault.AUTO_OFF) == model.faults, (state, model)
        assert (state.run_locked, state.heat_locked) == (model.run.locked, model.heat_budget.locked), (state, model)
        assert state.run_used_s == model.run.used and state.heat_used_s == model.heat_budget.used, (state, model)
        if not state.running:
            assert state.state is MotorState.IDLE

    def teardown(self) -> None:
        for link in self.links:
            link.frames.clear()


#: The suite's run is derandomized (the same examples every time, so CI is repeatable);
#: a longer run explores: MEDCTL_FUZZ_EXAMPLES=5000 pytest tests/faults/test_firmware_model.py
EXAMPLES = int(os.environ.get("MEDCTL_FUZZ_EXAMPLES", "0"))
FirmwareVersusModel.TestCase.settings = settings(
    max_examples=EXAMPLES or 100, stateful_step_count=40, deadline=None, derandomize=not EXAMPLES
)
test_firmware_matches_the_reference_model = FirmwareVersusModel.TestCase
