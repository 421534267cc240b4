"""住民異動 — one change of the resident register as the city's register sends it (市民課, daily through the
common platform), checked: the fields each kind needs, their forms, nothing that holds an individual
number. Pure: values in, a :class:`ResidentChange` or :class:`InvalidChange` (the field and why) out.

The same names serve the feed's CSV columns (``kaigo intake residents``) and, in camelCase, the fields of
the GraphQL input: README "Residents' moves" documents the layout.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from .codes import table
from .individual_number import contains_valid_number
from .insured import FeedKind, rules

__all__ = [
    "COLUMNS",
    "InvalidChange",
    "ResidentChange",
    "parse_change",
]

Reason = Literal["FORMAT", "EMPTY", "TOO_LONG", "OUT_OF_RANGE", "REQUIRED"]

# (column, maximum length, pattern or None for free text); the order is the documented CSV order.
COLUMNS: Final[tuple[tuple[str, int, str | None], ...]] = (
    ("kind", 24, None),
    ("moved_on", 10, None),
    ("notified_on", 10, None),
    ("addressee_code", 15, r"[0-9]{10,15}"),
    ("household_code", 15, r"[0-9]{1,15}"),
    ("relationship", 16, None),
    ("name", 100, None),
    ("name_kana", 200, r"[ァ-ヶー・＝　 ]+"),
    ("alias_name", 100, None),
    ("alias_name_kana", 200, r"[ァ-ヶー・＝　 ]+"),
    ("sex", 8, None),
    ("birth_date", 10, None),
    ("nationality", 2, r"[A-Z]{2}"),
    ("entry_purpose", 100, None),
    ("residence_period", 40, None),
    ("residence_expires_on", 10, None),
    ("postal_code", 8, r"[0-9]{3}-[0-9]{4}"),
    ("address_code", 16, r"[0-9]{1,16}"),
    ("address", 200, None),
    ("address_building", 200, None),
    ("previous_postal_code", 8, r"[0-9]{3}-[0-9]{4}"),
    ("previous_address", 200, None),
    ("previous_building", 200, None),
    ("next_postal_code", 8, r"[0-9]{3}-[0-9]{4}"),
    ("next_address", 200, None),
    ("next_building", 200, None),
    ("facility_number", 10, r"[0-9]{10}"),
)
_SPEC: Final = {name: (length, re.compile(pattern) if pattern else None) for name, length, pattern in COLUMNS}
DATES: Final = frozenset({"moved_on", "notified_on", "birth_date", "residence_expires_on"})
PERSON: Final = ("household_code", "relationship", "name", "name_kana", "sex", "birth_date")
ADDRESS: Final = ("postal_code", "address_code", "address")
REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "MOVE_IN": (*PERSON, *ADDRESS),
    "BIRTH": (*PERSON, *ADDRESS),
    "MOVE_WITHIN": ADDRESS,
    "MOVE_OUT": (),
    "DEATH": (),
    "HOUSEHOLD_CHANGE": ("household_code", "relationship"),
    "NAME_CHANGE": ("name", "name_kana"),
    "RESIDENCE_CHANGE": ("residence_expires_on",),
}
EARLIEST: Final = dt.date(1880, 1, 1)


class InvalidChange(ValueError):
    """A change that cannot be read: ``field`` (a column name) and ``reason``. The message never
    repeats the value."""

    def __init__(self, field: str, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class ResidentChange:
    """A checked change. ``values``: every column given (codes as stored: relationship ``01``, sex ``1``)."""

    kind: FeedKind
    moved_on: dt.date
    addressee_code: str
    values: Mapping[str, Any]

    def get(self, column: str) -> Any:
        return self.values.get(column)


def _kind(text: str) -> FeedKind:
    for kind in rules().kinds.values():
        if text in (kind.name, kind.ja):
            return kind
    raise InvalidChange(
        "kind", "FORMAT", "`kind` is not a change of the register (転入, 転出 … or MOVE_IN …)"
    )


def _code(kind: str, column: str, text: str) -> str:
    codes = table(kind)
    for value in codes.values:
        if text in (value.code, value.name, value.ja):
            return value.code
    raise InvalidChange(column, "FORMAT", f"`{column}` is not a code of {codes.ja}")


def _date(column: str, text: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidChange(column, "FORMAT", f"`{column}` is not a date (YYYY-MM-DD)")
    if day < EARLIEST:
        raise InvalidChange(column, "OUT_OF_RANGE", f"`{column}` is before {EARLIEST.isoformat()}")
    return day


def _value(column: str, text: str) -> Any:
    length, pattern = _SPEC[column]
    if len(text) > length:
        raise InvalidChange(column, "TOO_LONG", f"`{column}` is longer than {length} characters")
    if contains_valid_number(text):
        raise InvalidChange(column, "FORMAT", f"`{column}` must not contain an individual number")
    if column in DATES:
        return _date(column, text)
    if column == "relationship":
        return _code("relationship", column, text)
    if column == "sex":
        return _code("sex", column, text)
    if pattern is not None and pattern.fullmatch(text) is None:
        raise InvalidChange(column, "FORMAT", f"`{column}` is not in the expected form")
    return text


def parse_change(raw: Mapping[str, str | None]) -> ResidentChange:
    """Check one change (column → text, empty or None for a column left out)."""
    unknown = sorted(set(raw) - set(_SPEC))
    if unknown:
        raise InvalidChange(unknown[0], "FORMAT", "a column of the change is not one of the layout")
    values: dict[str, Any] = {}
    for column, _, _ in COLUMNS:
        text = raw.get(column)
        text = text.strip() if isinstance(text, str) else None
        if text:
            values[column] = _value(column, text) if column != "kind" else text
    if "kind" not in values:
        raise InvalidChange("kind", "REQUIRED", "`kind` is required")
    kind = _kind(values.pop("kind"))
    for column in ("moved_on", "addressee_code", *REQUIRED[kind.name]):
        if column not in values:
            raise InvalidChange(column, "REQUIRED", f"`{column}` is required for this kind of change")
    moved_on: dt.date = values.pop("moved_on")
    if kind.name == "BIRTH" and values["birth_date"] != moved_on:
        raise InvalidChange("moved_on", "OUT_OF_RANGE", "`moved_on` of a birth is the birth date")
    birth = values.get("birth_date")
    if birth is not None and birth > moved_on:
        raise InvalidChange("birth_date", "OUT_OF_RANGE", "`birth_date` is after the change")
    notified = values.get("notified_on")
    if notified is not None and notified < moved_on - dt.timedelta(days=366):
        raise InvalidChange(
            "notified_on", "OUT_OF_RANGE", "`notified_on` is more than a year before the change"
        )
    if "alias_name_kana" in values and "alias_name" not in values:
        raise InvalidChange("alias_name", "REQUIRED", "`alias_name` is required with `alias_name_kana`")
    return ResidentChange(kind, moved_on, values.pop("addressee_code"), values)
