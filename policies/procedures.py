"""Windows and time limits of the procedures (``data/procedures.toml``): how old a provision request may
be, how long a transfer permission may last, and when the answer to a person's request is due.

Pure: the only I/O is reading the packaged data file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "RIGHT_KINDS",
    "CorrectableField",
    "Procedures",
    "ProceduresError",
    "RightLimit",
    "due_on",
    "load_procedures",
    "procedures",
]

RIGHT_KINDS = ("DISCLOSURE", "CORRECTION", "SUSPENSION", "INQUIRY")


class ProceduresError(ValueError):
    """The procedures data file is inconsistent; raised when it is loaded."""


@dataclass(frozen=True)
class RightLimit:
    """The time limit of one kind of request of the person (IV-1, IV-2)."""

    kind: str
    ja: str
    days: int
    law: str
    verified: bool
    note: str


@dataclass(frozen=True)
class CorrectableField:
    """A column of the person a correction request may change, and the form its new value takes."""

    name: str
    column: str
    ja: str
    pattern: str


@dataclass(frozen=True)
class Procedures:
    request_date_window_days: int
    """A provision request may be dated at most this many days before today."""
    permission_max_days: int
    """A transfer permission lasts at most this many days (valid_from to valid_to, both counted)."""
    rights: Mapping[str, RightLimit]
    correctable: Mapping[str, CorrectableField]


def _int(table: Mapping[str, Any], key: str, where: str, low: int) -> int:
    value = table.get(key)
    if type(value) is not int or value < low:
        raise ProceduresError(f"{where}: '{key}' must be an integer >= {low}")
    return value


def _text(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ProceduresError(f"{where}: '{key}' must be non-empty text")
    return value.strip()


def load_procedures(text: str) -> Procedures:
    """Parse and validate procedures TOML text."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProceduresError(f"procedures data is not valid TOML: {exc}") from exc
    rights_raw = raw.get("rights", {})
    if set(rights_raw) != set(RIGHT_KINDS):
        raise ProceduresError(f"procedures: [rights] must name exactly {list(RIGHT_KINDS)}")
    rights = {}
    for kind in RIGHT_KINDS:
        spec, where = rights_raw[kind], f"rights.{kind}"
        if not isinstance(spec.get("verified"), bool):
            raise ProceduresError(f"{where}: 'verified' must be true or false")
        rights[kind] = RightLimit(
            kind=kind,
            ja=_text(spec, "ja", where),
            days=_int(spec, "days", where, 1),
            law=_text(spec, "law", where),
            verified=spec["verified"],
            note=_text(spec, "note", where),
        )
    correctable = {}
    for name, spec in (raw.get("correction", {}).get("fields") or {}).items():
        where = f"correction.fields.{name}"
        pattern = _text(spec, "pattern", where)
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ProceduresError(f"{where}: 'pattern' is no regular expression ({exc})") from None
        correctable[name] = CorrectableField(
            name, _text(spec, "column", where), _text(spec, "ja", where), pattern
        )
    if not correctable:
        raise ProceduresError("procedures: [correction.fields] names at least one field")
    return Procedures(
        request_date_window_days=_int(raw.get("provision", {}), "request_date_window_days", "provision", 0),
        permission_max_days=_int(raw.get("transfer", {}), "permission_max_days", "transfer", 1),
        rights=rights,
        correctable=correctable,
    )


@cache
def procedures() -> Procedures:
    """The packaged procedures; read once per process."""
    text = resources.files("policies").joinpath("data/procedures.toml").read_text(encoding="utf-8")
    return load_procedures(text)


def due_on(kind: str, received_on: date) -> date:
    """The last day to decide a request of ``kind`` received on ``received_on`` (the day itself not counted)."""
    return received_on + timedelta(days=procedures().rights[kind].days)


procedures()
