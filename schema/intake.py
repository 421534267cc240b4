"""住民異動 received — the resident register's change as an input (the feed's line, one at a time), what
became of it, and the review queue of the changes staff must look at.

The input's fields are the feed's CSV columns in camelCase (README "Residents' moves"); a change is
APPLIED (the person answered as they now are) or QUEUED with the reason.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

import strawberry

from policies.insured import rules

from .enums import Relationship, Sex
from .persons import Person

__all__ = [
    "ReceivedResidentChange",
    "ReceivedValue",
    "ResidentChangeApplied",
    "ResidentChangeInput",
    "ResidentChangeKind",
    "ResidentChangeQueued",
    "ResidentChangeResult",
]

_KINDS: Any = enum.Enum("ResidentChangeKind", {k.name: k.name for k in rules().kinds.values()})  # type: ignore[misc]
ResidentChangeKind: Any = strawberry.enum(
    _KINDS, description="住民異動 — the kinds of change of the resident register (policies/data/insured.toml)"
)
for _value in ResidentChangeKind.__strawberry_definition__.values:
    _value.description = rules().kinds[_value.value].ja


@strawberry.input(description="One change of the resident register (the feed's line, as an input).")
class ResidentChangeInput:
    request_id: str = strawberry.field(description="Idempotency key: the same id and input answer the same")
    kind: ResidentChangeKind
    moved_on: dt.date = strawberry.field(description="異動日 (a birth: the birth date)")
    addressee_code: str = strawberry.field(description="宛名コード (10-15 digits)")
    notified_on: dt.date | None = strawberry.field(default=None, description="届出日")
    household_code: str | None = None
    relationship: Relationship | None = None
    name: str | None = None
    name_kana: str | None = None
    alias_name: str | None = None
    alias_name_kana: str | None = None
    sex: Sex | None = None
    birth_date: dt.date | None = None
    nationality: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")
    entry_purpose: str | None = None
    residence_period: str | None = None
    residence_expires_on: dt.date | None = None
    postal_code: str | None = None
    address_code: str | None = None
    address: str | None = None
    address_building: str | None = None
    previous_postal_code: str | None = None
    previous_address: str | None = None
    previous_building: str | None = None
    next_postal_code: str | None = None
    next_address: str | None = None
    next_building: str | None = None
    facility_number: str | None = strawberry.field(
        default=None, description="事業所番号 of the facility at the new address (住所地特例)"
    )
    version: int | None = strawberry.field(
        default=None, description="The person's version read; CONFLICT when the person changed since"
    )


@strawberry.type(description="A column of a received change, as received.")
class ReceivedValue:
    column: str
    value: str


@strawberry.type(description="住民異動 received (a feed line or an input) and what became of it.")
class ReceivedResidentChange:
    id: strawberry.ID
    feed_id: str | None = strawberry.field(description="The feed file's id (null: sent through the API)")
    line_no: int | None
    request_id: str | None
    kind: str | None = strawberry.field(description="null for a line that could not be read")
    moved_on: dt.date | None
    addressee_code: str | None
    person_id: strawberry.ID | None
    outcome: str = strawberry.field(description="APPLIED or QUEUED")
    reason: str | None = strawberry.field(
        description=(
            "Why it is queued: UNKNOWN_PERSON, ALREADY_KNOWN, ALREADY_RESIDENT, NOT_RESIDENT, DECEASED, "
            "OUT_OF_ORDER, INVALID_LINE"
        )
    )
    field: str | None = strawberry.field(description="The column an INVALID_LINE could not read")
    effect: str | None = strawberry.field(
        description="The qualification's change: ACQUIRE, LOSE, ADDRESS_CHANGE, DOMICILE_EXCEPTION_START"
    )
    note: str | None = strawberry.field(
        description="Why the qualification did not change when the law leaves it to something else"
    )
    values: list[ReceivedValue] = strawberry.field(description="The change as received")
    received_at: dt.datetime
    received_by: str
    version: int
    closed_at: dt.datetime | None
    closed_by: str | None
    close_note: str | None


@strawberry.type(description="The change was applied: the person as they now are.")
class ResidentChangeApplied:
    change: ReceivedResidentChange
    person: Person


@strawberry.type(description="The change waits for staff (the reason is on the change); nothing was applied.")
class ResidentChangeQueued:
    change: ReceivedResidentChange


ResidentChangeResult = Annotated[
    ResidentChangeApplied | ResidentChangeQueued, strawberry.union("ResidentChangeResult")
]
