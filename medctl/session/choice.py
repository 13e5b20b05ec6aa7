"""Which history a session keeps: the default one (R9 on), or none by a named choice.

R9 (a few sessions a week) needs the history, so a session uses the default history
(``$MEDCTL_DB``, else the user data directory) unless the caller says otherwise: a
:class:`~medctl.history.HistoryStore` of its own, or :data:`NO_HISTORY` — no record and
no R9 check, for demos and tests that must leave nothing behind.
"""

from __future__ import annotations

from enum import Enum
from typing import Final


class HistoryChoice(Enum):
    """A named choice of history instead of a store: :data:`DEFAULT_HISTORY` or :data:`NO_HISTORY`."""

    DEFAULT = "default"
    NONE = "none"


#: The history at :func:`medctl.history.default_db_path` (the default).
DEFAULT_HISTORY: Final = HistoryChoice.DEFAULT
#: Keep no record: R9 is not checked. Say so on purpose; it is never a default.
NO_HISTORY: Final = HistoryChoice.NONE
