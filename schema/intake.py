"""住民異動 received — the resident register's change as an input (the feed's line, one at a time), what
became of it, and the review queue of the changes staff must look at.

The input's fields are the feed's CSV columns in camelCase (docs/writes.md, "Residents' moves"); a change is
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
    _KINDS,
    description=(
        "住民異動の種類 — the kinds of change the resident register (市民課) sends: each decides which fields "
        "of the change are required and what becomes of the person and of the qualification."
    ),
)
for _value in ResidentChangeKind.__strawberry_definition__.values:
    _value.description = rules().kinds[_value.value].ja

_REQUIRED_WITH_PERSON = "Required for MOVE_IN and BIRTH"
_NEW_ADDRESS = "of the new address (MOVE_IN, BIRTH, MOVE_WITHIN)"


@strawberry.input(
    description=(
        "One change of the resident register (the daily feed's line, as an input): the feed's columns in "
        "camelCase. `kind` decides which fields are required: MOVE_IN and BIRTH the person's (householdCode, "
        "relationship, name, nameKana, sex, birthDate) and the new address (postalCode, addressCode, "
        "address); MOVE_WITHIN the new address; HOUSEHOLD_CHANGE householdCode and relationship; NAME_CHANGE "
        "name and nameKana; RESIDENCE_CHANGE residenceExpiresOn. A missing or malformed value is "
        "BAD_USER_INPUT with `field` (`input.postalCode`) and `reason` (REQUIRED, FORMAT, EMPTY, TOO_LONG, "
        "OUT_OF_RANGE); a value that holds an individual number is refused (FORMAT)."
    )
)
class ResidentChangeInput:
    request_id: str = strawberry.field(description="Idempotency key: the same id and input answer the same")
    kind: ResidentChangeKind = strawberry.field(
        description="住民異動の種類 — which change (転入, 転出, 転居, 死亡 …); decides the fields required"
    )
    moved_on: dt.date = strawberry.field(description="異動日 (a birth: the birth date)")
    addressee_code: str = strawberry.field(description="宛名コード (10-15 digits)")
    notified_on: dt.date | None = strawberry.field(
        default=None, description="届出日 (not more than a year before movedOn)"
    )
    household_code: str | None = strawberry.field(
        default=None,
        description="世帯コード (1-15 digits). Required for MOVE_IN, BIRTH and HOUSEHOLD_CHANGE",
    )
    relationship: Relationship | None = strawberry.field(
        default=None,
        description="続柄 to the head of the household. Required for MOVE_IN, BIRTH and HOUSEHOLD_CHANGE",
    )
    name: str | None = strawberry.field(
        default=None, description="氏名 (at most 100 characters). Required for MOVE_IN, BIRTH and NAME_CHANGE"
    )
    name_kana: str | None = strawberry.field(
        default=None,
        description=(
            "氏名カナ: full-width katakana (ー・＝ and spaces allowed), at most 200 characters. Required with "
            "`name`"
        ),
    )
    alias_name: str | None = strawberry.field(
        default=None,
        description="通称名 of a foreign resident (at most 100 characters); required with aliasNameKana",
    )
    alias_name_kana: str | None = strawberry.field(
        default=None, description="通称名カナ: full-width katakana, at most 200 characters"
    )
    sex: Sex | None = strawberry.field(default=None, description=f"性別. {_REQUIRED_WITH_PERSON}")
    birth_date: dt.date | None = strawberry.field(
        default=None,
        description=f"生年月日, not after movedOn (a birth: movedOn itself). {_REQUIRED_WITH_PERSON}",
    )
    nationality: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")
    entry_purpose: str | None = strawberry.field(
        default=None, description="入国目的 of a foreign resident (at most 100 characters)"
    )
    residence_period: str | None = strawberry.field(
        default=None, description="在留期間 as the register states it (at most 40 characters)"
    )
    residence_expires_on: dt.date | None = strawberry.field(
        default=None, description="在留期間満了日. Required for RESIDENCE_CHANGE"
    )
    postal_code: str | None = strawberry.field(
        default=None, description=f"郵便番号 {_NEW_ADDRESS}: NNN-NNNN. Required there"
    )
    address_code: str | None = strawberry.field(
        default=None, description=f"住所コード {_NEW_ADDRESS}: 1-16 digits. Required there"
    )
    address: str | None = strawberry.field(
        default=None,
        description=f"住所 — the address line {_NEW_ADDRESS}, at most 200 characters. Required there",
    )
    address_building: str | None = strawberry.field(
        default=None,
        description=f"方書 {_NEW_ADDRESS}, at most 200 characters; a new address without one clears the old",
    )
    previous_postal_code: str | None = strawberry.field(
        default=None,
        description="転入前住所の郵便番号, NNN-NNNN (MOVE_WITHIN records the person's old address instead)",
    )
    previous_address: str | None = strawberry.field(
        default=None, description="転入前住所 — where the person came from (at most 200 characters)"
    )
    previous_building: str | None = strawberry.field(
        default=None, description="転入前住所の方書 (at most 200 characters)"
    )
    next_postal_code: str | None = strawberry.field(
        default=None, description="転出先住所の郵便番号, NNN-NNNN (a MOVE_OUT: where the person goes)"
    )
    next_address: str | None = strawberry.field(
        default=None, description="転出先住所 (at most 200 characters)"
    )
    next_building: str | None = strawberry.field(
        default=None, description="転出先住所の方書 (at most 200 characters)"
    )
    facility_number: str | None = strawberry.field(
        default=None, description="事業所番号 of the facility at the new address (住所地特例)"
    )
    version: int | None = strawberry.field(
        default=None, description="The person's version read; CONFLICT when the person changed since"
    )


@strawberry.type(description="A column of a received change, as received.")
class ReceivedValue:
    column: str = strawberry.field(description="The column's name as the feed's header names it (`moved_on`)")
    value: str = strawberry.field(description="The value as received, as text")


@strawberry.type(description="住民異動 received (a feed line or an input) and what became of it.")
class ReceivedResidentChange:
    id: strawberry.ID = strawberry.field(
        description="The received change's id (what closeResidentChangeReview names)"
    )
    feed_id: str | None = strawberry.field(description="The feed file's id (null: sent through the API)")
    line_no: int | None = strawberry.field(
        description="The feed file's line, from 1 after the header (null: sent through the API)"
    )
    request_id: str | None = strawberry.field(
        description="The requestId it was sent with (null: a feed line)"
    )
    kind: str | None = strawberry.field(description="null for a line that could not be read")
    moved_on: dt.date | None = strawberry.field(
        description="異動日 as received (null for a line that could not be read)"
    )
    addressee_code: str | None = strawberry.field(
        description="宛名コード as received (null for a line that could not be read)"
    )
    person_id: strawberry.ID | None = strawberry.field(
        description="The person it applied to or names (`Person.id`); null when none has that 宛名コード"
    )
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
    received_at: dt.datetime = strawberry.field(description="When it was received")
    received_by: str = strawberry.field(
        description="Who sent it: the token's subject, or the feed's actor (`kaigo intake --by`)"
    )
    version: int = strawberry.field(
        description="Changes when the change is closed; closeResidentChangeReview names the one read"
    )
    closed_at: dt.datetime | None = strawberry.field(
        description="When staff closed the review (null while it waits)"
    )
    closed_by: str | None = strawberry.field(description="Who closed the review (null while it waits)")
    close_note: str | None = strawberry.field(
        description="What staff did about it, as they closed it (null while it waits)"
    )


@strawberry.type(description="The change was applied: the person as they now are.")
class ResidentChangeApplied:
    change: ReceivedResidentChange = strawberry.field(
        description="The change as recorded (outcome APPLIED), with the qualification's `effect`"
    )
    person: Person = strawberry.field(
        description="The person after the change (made by a MOVE_IN or BIRTH of a new 宛名コード)"
    )


@strawberry.type(description="The change waits for staff (the reason is on the change); nothing was applied.")
class ResidentChangeQueued:
    change: ReceivedResidentChange = strawberry.field(
        description="The change as recorded (outcome QUEUED), with the `reason` it waits for staff"
    )


ResidentChangeResult = Annotated[
    ResidentChangeApplied | ResidentChangeQueued,
    strawberry.union(
        "ResidentChangeResult",
        description=(
            "What became of a recorded change of the register: ResidentChangeApplied (the person as they now "
            "are) or ResidentChangeQueued (waiting for staff; nothing applied). Select `__typename`."
        ),
    ),
]
