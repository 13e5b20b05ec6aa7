"""Sessions as JSON (with their events and feedback) or CSV (one row per session), for people and spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any, Final

from medctl.history.records import EventRecord, SessionRecord, iso
from medctl.text import csv_cell

CSV_COLUMNS: Final = (
    "id",
    "started_at",
    "ended_at",
    "device",
    "device_model",
    "planned_s",
    "heat",
    "target_intensity",
    "state",
    "end_reason",
    "massage_s",
    "max_intensity",
    "overrides",
    "relief",
    "soreness",
    "sharp_pain",
    "inflammation",
    "note",
    "feedback_at",
    "simulated",
)


def export_json(sessions: Iterable[SessionRecord], events: Callable[[int], list[EventRecord]]) -> str:
    """The sessions with their events and feedback as a JSON list; times in ISO-8601 UTC."""
    items = [_tenths(_session_json(record, events(record.id))) for record in sessions]
    return json.dumps(items, indent=2, ensure_ascii=False, default=_json_default)


#: Columns whose text a device (or anyone in radio range) chose.
_DEVICE_COLUMNS: Final = frozenset({"device", "device_model"})


def export_csv(sessions: Iterable[SessionRecord]) -> str:
    """One row per session (header first) with its feedback; for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_row(record) for record in sessions)
    return out.getvalue()


def _session_json(record: SessionRecord, events: list[EventRecord]) -> dict[str, Any]:
    item = asdict(record)
    del item["feedback_at"]
    if record.feedback is not None:
        item["feedback"]["at"] = record.feedback_at
    item["events"] = [asdict(event) for event in events]
    for event in item["events"]:
        del event["session_id"]
    return item


def _csv_row(record: SessionRecord) -> list[str]:
    values = {**asdict(record), "overrides": "; ".join(record.overrides)}
    if record.feedback is not None:
        values.update(asdict(record.feedback))
    # what a device chose to call itself is neither a spreadsheet formula nor a terminal command
    cells = ((column, _csv_value(values.get(column))) for column in CSV_COLUMNS)
    return [csv_cell(cell) if column in _DEVICE_COLUMNS else cell for column, cell in cells]


#: Every float exported is seconds or °C: to a tenth, as the measurements mean (not 3.7471689829999377).
DECIMALS: Final = 1


def _tenths(value: Any) -> Any:
    """*value* with every float in it rounded to :data:`DECIMALS` places."""
    if isinstance(value, float):
        return round(value, DECIMALS)
    if isinstance(value, dict):
        return {key: _tenths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tenths(item) for item in value]
    return value


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(round(value, DECIMALS))
    if isinstance(value, datetime):
        return iso(value)
    return str(value)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"cannot export {type(value).__name__}")
