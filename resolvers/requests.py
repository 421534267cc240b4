"""Input checks shared by provisions, transfers and inquiries: malformed input is BAD_USER_INPUT and
records nothing; what the law decides (unknown basis, items not permitted …) is left to policies/.

Free text is stored in records, so it is refused when it contains a valid individual number: a
record never holds one (and the message never repeats the value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from persistence.provision_records import Actor
from policies.individual_number import contains_valid_number
from policies.legal_bases import normalise_item
from policies.principals import Principal
from schema.errors import BadUserInput

__all__ = [
    "ADDRESSEE_CODE",
    "LINKAGE_CODE",
    "actor_of",
    "basis_item",
    "free_text",
    "item_ids",
    "object_id",
    "permit_number",
    "request_id",
]

REQUEST_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,63}")
LINKAGE_CODE: Final = re.compile(r"[A-Za-z0-9]{1,32}")
ADDRESSEE_CODE: Final = re.compile(r"[0-9]{10,15}")
PERMIT_NUMBER: Final = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no spaces
OBJECT_ID: Final = re.compile(r"[1-9][0-9]{0,18}")
MAX_ID: Final = 2**63 - 1


def request_id(value: str, *, field: str = "input.requestId") -> str:
    if REQUEST_ID.fullmatch(value) is None:
        raise BadUserInput(
            "`requestId` must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field,
            reason="FORMAT",
        )
    return value


def basis_item(value: str, *, field: str = "input.basisItem") -> str:
    """The canonical item ("94", "56の2") of any accepted spelling; FORMAT for anything else."""
    try:
        return normalise_item(value)
    except ValueError:
        raise BadUserInput(
            '`basisItem` is not an item of the table (e.g. "94", "別表第2 94", "56の2")',
            field=field,
            reason="FORMAT",
        ) from None


def free_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """``value`` stripped; EMPTY, TOO_LONG, or FORMAT when it contains a valid individual number."""
    text = value.strip()
    name = field.rsplit(".", 1)[-1]
    if required and not text:
        raise BadUserInput(f"`{name}` is empty", field=field, reason="EMPTY")
    if len(text) > max_length:
        raise BadUserInput(f"`{name}` is longer than {max_length} characters", field=field, reason="TOO_LONG")
    if contains_valid_number(text):
        raise BadUserInput(f"`{name}` must not contain an individual number", field=field, reason="FORMAT")
    return text


def permit_number(value: str, *, field: str = "input.permitNumber") -> str:
    if PERMIT_NUMBER.fullmatch(value) is None:
        raise BadUserInput(
            "`permitNumber` must be 1-64 printable ASCII characters without spaces",
            field=field,
            reason="FORMAT",
        )
    if contains_valid_number(value):
        raise BadUserInput("`permitNumber` must not be an individual number", field=field, reason="FORMAT")
    return value


def item_ids(items: Iterable[Any]) -> tuple[str, ...]:
    """Information item ids of the enum members given, once each, in the order given."""
    return tuple(dict.fromkeys(str(item.value) for item in items))


def object_id(value: str, *, field: str) -> int:
    """The database id in an ``ID`` argument, or BAD_USER_INPUT (FORMAT)."""
    if not isinstance(value, str) or OBJECT_ID.fullmatch(value) is None or int(value) > MAX_ID:
        raise BadUserInput(f"`{field.rsplit('.', 1)[-1]}` is not an id", field=field, reason="FORMAT")
    return int(value)


def actor_of(principal: Principal) -> Actor:
    return Actor(
        subject=principal.subject, roles=tuple(sorted(principal.roles)), department=principal.department
    )
