"""個人番号 taken in: the input of setting or correcting a person's individual number with the identity check
(本人確認) it was taken with, and that check as recorded. Only for the number-use duties; the number is
never answered to anyone else, and never repeated by an error.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import strawberry

from policies.identity import identity_methods

from .sources import column, table

__all__ = [
    "IdentityCheck",
    "IdentityCheckInput",
    "IdentityCheckMethod",
    "NumberPurpose",
    "RecordIndividualNumberInput",
]

_METHODS: Any = enum.Enum("IdentityCheckMethod", {n: n for n in identity_methods()})  # type: ignore[misc]
IdentityCheckMethod: Any = strawberry.enum(
    _METHODS,
    description=(
        "本人確認の方法 — how the number (番号確認) and the person's identity (身元確認) were checked when the "
        "number was taken in (番号法 第16条)."
    ),
)
for _value in IdentityCheckMethod.__strawberry_definition__.values:
    _value.description = identity_methods()[_value.value].ja


@strawberry.enum(description="Why the number is recorded.")
class NumberPurpose(enum.Enum):
    NEW = strawberry.enum_value("NEW", description="The person has none yet")
    CORRECTION = strawberry.enum_value("CORRECTION", description="The one recorded is wrong")


@strawberry.input(description="本人確認 — how the person's identity and the number were checked.")
class IdentityCheckInput:
    method: IdentityCheckMethod = strawberry.field(
        description="本人確認の方法 — the documents or the inquiry the number and the identity were checked with"
    )
    checked_on: dt.date = strawberry.field(
        description="本人確認日 — not after today (BAD_USER_INPUT OUT_OF_RANGE)"
    )
    documents: str | None = strawberry.field(
        default=None, description="What was shown (1-200 characters; never the number)"
    )


@strawberry.input(description="Set (NEW) or correct a person's individual number, with the identity check.")
class RecordIndividualNumberInput:
    request_id: str = strawberry.field(description="Idempotency key: the same id and input answer the same")
    person_id: strawberry.ID = strawberry.field(
        description="The person (`Person.id`); NOT_FOUND when there is none"
    )
    version: int = strawberry.field(description="The person's version read; CONFLICT when it changed since")
    purpose: NumberPurpose = strawberry.field(
        description=(
            "NEW for a person without a number (INVALID_TRANSITION HAS_NUMBER otherwise); CORRECTION for one "
            "with another number (NO_NUMBER, SAME_NUMBER otherwise)"
        )
    )
    individual_number: str = strawberry.field(
        description=(
            "12 digits with the check digit (BAD_USER_INPUT FORMAT / CHECK_DIGIT); NUMBER_IN_USE when it is "
            "recorded for another person. Never echoed"
        )
    )
    identity_check: IdentityCheckInput = strawberry.field(
        description="本人確認 — how and when the number was checked, kept with who recorded it (never the number)"
    )


@strawberry.type(description="本人確認 as recorded when the person's individual number was set or corrected.")
@table("identity_checks")
class IdentityCheck:
    purpose: NumberPurpose = column(description="Whether the number was set (NEW) or corrected")
    method: IdentityCheckMethod = column(description="本人確認の方法")
    checked_on: dt.date = column(description="本人確認日")
    documents: str | None = column(description="What was shown (null: not recorded)")
    checked_by: str = column(description="Who recorded the check (the token's subject)")
    recorded_at: dt.datetime = column(description="When it was recorded")
