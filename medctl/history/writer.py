"""Writing a session's history from a thread of its own, so the event loop never waits on SQLite.

During a session the control loop must keep its timing (heartbeats, STOP) whatever the history
file does: another program may hold its write lock for seconds. So one thread with its own
connection writes everything, in the order it was queued, each write its own transaction:

- **Events** (:meth:`HistoryWriter.record_event`, :meth:`~HistoryWriter.end_session`) are queued
  and the call returns at once. While the file is locked the thread retries with a short busy
  timeout per attempt, and the queue is written in order once the lock clears: nothing is lost.
- **Bounded.** At most ``max_pending`` events wait at once. Beyond that an event is counted, not
  kept, and the next one that fits is preceded by a ``gap`` event saying how many are missing.
  The end of a session is always kept.
- **Told once.** The first time the file is found locked, the queue overflows or a write fails,
  the listeners (:meth:`~HistoryWriter.on_problem`) get one line each, on their event loop.
- **A failed write** (disk full, read-only file) stops the writer: the session goes on, later
  writes are dropped, and the next session gets a fresh writer.
- **Answers** (:meth:`~HistoryWriter.begin_session`, :meth:`~HistoryWriter.frequency_warnings`)
  are awaited before the device starts; they give up with a HistoryError after ``timeout_s``.
- :meth:`~HistoryWriter.flush` waits for the queue (bounded); :meth:`~HistoryWriter.close` waits
  up to its timeout, then abandons what is still queued and counts it in :attr:`lost`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal, cast

from medctl.history import ops
from medctl.history.records import HistoryError, require_finite, utc
from medctl.history.schema import is_busy, open_history, transaction
from medctl.session.rules.frequency import FrequencyWarning, frequency_warnings

_LOGGER = logging.getLogger(__name__)

#: While a session runs, each attempt waits at most this long for another connection's lock.
ATTEMPT_TIMEOUT_S: Final = 0.1
#: Pause between attempts that SQLite refused at once (it does not always wait its busy timeout).
RETRY_PAUSE_S: Final = 0.02
#: Events queued beyond this many are counted, not kept (memory stays bounded however long the lock).
MAX_PENDING: Final = 4096
#: How long an awaited answer (a new session's id, R9's read) waits for a locked file.
ANSWER_TIMEOUT_S: Final = 10.0
#: How long :meth:`HistoryWriter.close` waits for queued writes before abandoning them.
CLOSE_TIMEOUT_S: Final = 10.0

Problem = Literal["busy", "full", "failed"]
ProblemListener = Callable[[str], None]

BUSY_TEXT: Final = (
    "the history is locked by another program: this session's record waits in memory and is written when it is free"
)
FULL_TEXT: Final = "the history has been locked too long: some of this session's events are not being kept"


@dataclass(eq=False)
class _Op:
    """One unit of work for the thread: a function of the connection, run in one transaction."""

    run: Callable[[sqlite3.Connection], object]
    begin: str = "BEGIN IMMEDIATE"
    answer: concurrent.futures.Future[object] | None = None
    deadline: float | None = None  # time.monotonic(); None: retry until written or abandoned
    event: bool = False  # counts against max_pending
    session_id: int | None = None
    done: bool = field(default=False, init=False)


class HistoryWriter:
    """One thread and one connection that write a history file in queue order (see the module doc)."""

    def __init__(
        self, path: Path | str, *, max_pending: int = MAX_PENDING, attempt_timeout_s: float = ATTEMPT_TIMEOUT_S
    ) -> None:
        self.path = Path(path)
        self._max_pending = max_pending
        self._busy_ms = max(1, round(attempt_timeout_s * 1000))
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._lock = threading.Condition()
        self._pending = 0  # ops queued and not yet finished
        self._pending_events = 0
        self._dropped: Counter[int] = Counter()
        self._lost = 0
        self._told: set[Problem] = set()
        self._listeners: list[tuple[asyncio.AbstractEventLoop, ProblemListener]] = []
        self._failure: HistoryError | None = None
        self._abandon = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> HistoryWriter:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name=f"medctl-history-writer {self.path}", daemon=True)
            self._thread.start()
        return self

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def failure(self) -> HistoryError | None:
        """Why the writer stopped writing, or None while it works."""
        return self._failure

    @property
    def lost(self) -> int:
        """Events not written: dropped while the queue was full, after a failure, or abandoned at close."""
        with self._lock:
            return self._lost + sum(self._dropped.values())

    def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        """Write what is queued (waiting at most *timeout_s* for a locked file), then stop the thread."""
        if self._closed:
            return
        self._closed = True
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout_s)
        if thread.is_alive():
            self._abandon.set()
            thread.join()
        if self.lost:
            _LOGGER.warning("%d history events of %s were not written", self.lost, self.path)

    def on_problem(self, listener: ProblemListener) -> Callable[[], None]:
        """Call *listener* (on the running event loop) with one line the first time the history has
        a problem: locked, overflowing or failed. Returns the function that unregisters it."""
        entry = (asyncio.get_running_loop(), listener)
        with self._lock:
            self._listeners.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._listeners:
                    self._listeners.remove(entry)

        return unsubscribe

    # -- answers (awaited) -----------------------------------------------------------------

    async def begin_session(
        self,
        *,
        device: str,
        device_model: str,
        planned_s: float,
        heat: bool,
        target_intensity: int | None,
        simulated: bool = False,
        now: datetime | None = None,
        timeout_s: float = ANSWER_TIMEOUT_S,
    ) -> int:
        """Record that a session starts now and return its id (HistoryError if the file stays locked)."""
        require_finite("planned_s", planned_s)
        started_at = utc(now)

        def run(conn: sqlite3.Connection) -> int:
            return ops.insert_session(
                conn,
                started_at=started_at,
                device=device,
                device_model=device_model,
                planned_s=planned_s,
                heat=heat,
                target_intensity=target_intensity,
                simulated=simulated,
            )

        return cast(int, await self._ask(run, "BEGIN IMMEDIATE", timeout_s))

    async def frequency_warnings(
        self, now: datetime | None = None, *, timeout_s: float = ANSWER_TIMEOUT_S
    ) -> list[FrequencyWarning]:
        """Rule R9 at ``now``, read on the writer's thread after everything queued before it."""
        moment = utc(now)
        starts, bad = cast(
            tuple[list[datetime], list[Any]],
            await self._ask(lambda conn: ops.frequency_inputs(conn, moment), "BEGIN", timeout_s),
        )
        return frequency_warnings(starts, bad, moment)

    async def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything queued is written (True) or *timeout_s* passed (False)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.wait_written, timeout_s)

    def wait_written(self, timeout_s: float | None = None) -> bool:
        """Block until everything queued is written (True) or *timeout_s* passed (False); not on a loop."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout_s)

    # -- writes (queued, never block) ------------------------------------------------------

    def record_event(
        self,
        session_id: int,
        kind: str,
        *,
        at_s: float,
        phase: str | None = None,
        intensity: int | None = None,
        heat: int | None = None,
        pad_temp_c: float | None = None,
        detail: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Queue one event of a session's timeline; returns at once."""
        if not kind:
            raise ValueError("an event needs a kind, e.g. 'phase' or 'intensity'")
        require_finite("at_s", at_s)
        wall = utc(now)
        with self._lock:
            if self._pending_events >= self._max_pending:
                self._dropped[session_id] += 1
                full = True
            else:
                full = False
                missing = self._dropped.pop(session_id, 0)
                if missing:
                    self._lost += missing
                    self._put_locked(_event(session_id, "gap", at_s, wall, detail=_gap_text(missing)))
                self._put_locked(
                    _event(session_id, kind, at_s, wall, phase=phase, intensity=intensity, heat=heat,
                           pad_temp_c=pad_temp_c, detail=detail)
                )  # fmt: skip
        if full:
            self._report("full", FULL_TEXT)

    def record_override(
        self, session_id: int, rule: str, reason: str, *, at_s: float = 0.0, now: datetime | None = None
    ) -> None:
        """Queue the record that the person went past a rule's warning, e.g. ``("R9", "same day")``."""
        self.record_event(session_id, "override", at_s=at_s, detail=f"{rule}: {reason}", now=now)

    def end_session(
        self, session_id: int, *, reason: str, massage_s: float, max_intensity: int, now: datetime | None = None
    ) -> None:
        """Queue how the session ended (always kept, even when the queue is full)."""
        require_finite("massage_s", massage_s)
        at = utc(now)

        def run(conn: sqlite3.Connection) -> None:
            ops.update_end(conn, session_id, reason=reason, massage_s=massage_s, max_intensity=max_intensity, at=at)

        with self._lock:
            self._put_locked(_Op(run, session_id=session_id))

    def _call(self, run: Callable[[sqlite3.Connection], object]) -> None:
        """Queue *run* on the writer's connection (outside a transaction); for fault injection in tests."""
        with self._lock:
            self._put_locked(_Op(run, begin=""))

    # -- the calling side ------------------------------------------------------------------

    async def _ask(self, run: Callable[[sqlite3.Connection], object], begin: str, timeout_s: float) -> object:
        answer: concurrent.futures.Future[object] = concurrent.futures.Future()
        with self._lock:
            self._put_locked(_Op(run, begin=begin, answer=answer, deadline=time.monotonic() + timeout_s))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, answer.result)  # seen by virtual clocks as outside work

    def _put_locked(self, op: _Op) -> None:
        if self._closed or self._failure is not None:
            self._give_up_locked(op, self._failure or HistoryError(f"the history writer of {self.path} is closed"))
            return
        self._pending += 1
        self._pending_events += op.event
        self._queue.put(op)

    def _give_up_locked(self, op: _Op, error: HistoryError) -> None:
        op.done = True
        if op.answer is not None:
            op.answer.set_exception(error)
        elif op.begin:
            self._lost += 1

    def _report(self, problem: Problem, text: str) -> None:
        with self._lock:
            if problem in self._told:
                return
            self._told.add(problem)
            listeners = list(self._listeners)
        for loop, listener in listeners:
            try:
                loop.call_soon_threadsafe(listener, text)
            except RuntimeError:  # that loop is closed: nobody left to tell there
                _LOGGER.info("history problem not delivered (event loop closed): %s", text)

    # -- the thread ------------------------------------------------------------------------

    def _main(self) -> None:
        while (op := self._queue.get()) is not None:
            self._execute(op)
            with self._lock:
                self._pending -= 1
                self._pending_events -= op.event
                self._lock.notify_all()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _execute(self, op: _Op) -> None:
        while True:
            with self._lock:
                stop = self._failure
                if stop is None and self._abandon.is_set():
                    stop = HistoryError(f"{self.path} stayed locked until medctl closed it")
                if stop is not None:
                    self._give_up_locked(op, stop)
                    return
            try:
                result = self._attempt(op)
            except HistoryError as exc:
                if not is_busy(exc):
                    self._fail(op, exc)
                    return
                self._report("busy", BUSY_TEXT)
                if op.deadline is not None and time.monotonic() >= op.deadline:
                    with self._lock:
                        self._give_up_locked(op, exc)
                    return
                self._abandon.wait(RETRY_PAUSE_S)
            except Exception as exc:  # a bug here must not kill the thread silently: report it, stop writing
                _LOGGER.exception("the history writer failed")
                self._fail(op, HistoryError(f"the session history {self.path} failed: {exc!r}"))
                return
            else:
                with self._lock:
                    op.done = True
                    self._told.discard("busy")  # a later lock is news again
                if op.answer is not None:
                    op.answer.set_result(result)
                return

    def _attempt(self, op: _Op) -> object:
        if self._conn is None:
            self._conn = open_history(self.path, read_only=False, busy_timeout_ms=self._busy_ms)
        if not op.begin:
            return op.run(self._conn)
        with transaction(self._conn, self.path, op.begin) as conn:
            return op.run(conn)

    def _fail(self, op: _Op, error: HistoryError) -> None:
        with self._lock:
            self._failure = error
            self._give_up_locked(op, error)
        self._report("failed", f"history is not being saved: {error}")


def _event(
    session_id: int,
    kind: str,
    at_s: float,
    wall: datetime,
    *,
    phase: str | None = None,
    intensity: int | None = None,
    heat: int | None = None,
    pad_temp_c: float | None = None,
    detail: str | None = None,
) -> _Op:
    def run(conn: sqlite3.Connection) -> None:
        ops.insert_event(
            conn, session_id, kind, at_s=at_s, wall=wall, phase=phase, intensity=intensity, heat=heat,
            pad_temp_c=pad_temp_c, detail=detail,
        )  # fmt: skip

    return _Op(run, event=True, session_id=session_id)


def _gap_text(missing: int) -> str:
    return f"{missing} event{'s' if missing != 1 else ''} not recorded here: the history was locked too long"
