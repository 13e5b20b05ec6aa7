"""The session's record in the history: which history, the calls to its writer, never a wait on the file.

History problems never stop a session (the device's safety comes first): the person is told
once, in one line, and the session goes on without a record.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from medctl.errors import MedctlError
from medctl.session.choice import HistoryChoice
from medctl.session.rules.frequency import unreadable_warning

if TYPE_CHECKING:
    from medctl.history import HistoryStore, HistoryWriter

T = TypeVar("T")


class SessionRecorder:
    def __init__(self, history: HistoryStore | HistoryChoice, announce: Callable[[str], None]) -> None:
        if not isinstance(history, HistoryChoice) and not hasattr(history, "frequency_warnings"):
            raise TypeError("history must be a HistoryStore, DEFAULT_HISTORY or NO_HISTORY")
        self._choice = history if isinstance(history, HistoryChoice) else None
        self._history: HistoryStore | None = None if isinstance(history, HistoryChoice) else history
        #: The default history, opened by this session and closed when it is left.
        self._owned: HistoryStore | None = None
        self._announce = announce
        self._failed = False
        self.writer: HistoryWriter | None = None
        self.session_id: int | None = None
        #: Unsubscribes the writer's problem reports (called when the session closes).
        self.unsubscribe: Callable[[], None] | None = None

    def open_default(self) -> None:
        """R9 on by default: the default history unless the caller chose another or NO_HISTORY."""
        if self._choice is HistoryChoice.DEFAULT and self._history is None:
            from medctl.history import HistoryStore, default_db_path

            # unopened: the session's writer opens it, and a file it cannot read needs the R9 override
            self._history = self._owned = HistoryStore(default_db_path())

    def close_owned(self) -> None:
        owned, self._owned = self._owned, None
        if owned is not None:
            owned.close()

    async def frequency_warnings(self) -> list[str]:
        """R9, read off the event loop; a history that cannot be read needs the override too."""
        if self._history is None:
            return []
        try:
            found = await self._history.writer().frequency_warnings()
        except MedctlError as exc:
            return [unreadable_warning(str(exc)).message]
        return [warning.message for warning in found]

    async def call(self, call: Callable[[HistoryWriter], Awaitable[T]]) -> T | None:
        """An answer from the history's writer thread, before the device starts."""
        if self._history is None or self._failed:
            return None
        try:
            writer = self.writer or self._history.writer()
            result = await call(writer)
        except MedctlError as exc:
            self._failed = True
            self.writer = None
            self._announce(f"history is not being saved: {exc}")
            return None
        if self.writer is None:  # from now on the writer tells of its problems itself
            self.writer = writer
            self.unsubscribe = writer.on_problem(self._announce)
        return result

    def event(
        self,
        kind: str,
        *,
        at_s: float,
        phase: str,
        intensity: int | None = None,
        heat: int | None = None,
        pad_temp_c: float | None = None,
        detail: str | None = None,
    ) -> None:
        """Queue one event for the writer thread: never waits on the file."""
        if self.session_id is None or self.writer is None:
            return
        self.writer.record_event(
            self.session_id,
            kind,
            at_s=round(at_s, 3),
            phase=phase,
            intensity=intensity,
            heat=heat,
            pad_temp_c=pad_temp_c,
            detail=detail,
        )

    def override(self, rule: str, reason: str) -> None:
        if self.session_id is not None and self.writer is not None:
            self.writer.record_override(self.session_id, rule, reason, at_s=0.0)

    def end(self, reason: str, *, massage_s: float, max_intensity: int) -> None:
        if self.session_id is not None and self.writer is not None:
            self.writer.end_session(self.session_id, reason=reason, massage_s=massage_s, max_intensity=max_intensity)

    async def flush(self, timeout_s: float) -> None:
        if self.writer is not None:
            await self.writer.flush(timeout_s)
