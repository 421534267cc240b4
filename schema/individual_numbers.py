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
    _METHODS, description="本人確認の方法 (policies/data/identity.toml; 番号法 第16条)"
)
for _value in IdentityCheckMethod.__strawberry_definition__.values:
    _value.description = identity_methods()[_value.value].ja


@strawberry.enum(description="Why the number is recorded.")
class NumberPurpose(enum.Enum):
    NEW = strawberry.enum_value("NEW", description="The person has none yet")
    CORRECTION = strawberry.enum_value("CORRECTION", description="The one recorded is wrong")


@strawberry.input(description="本人確認 — how the person's identity and the number were checked.")
class IdentityCheckInput:
    method: IdentityCheckMethod
    checked_on: dt.date
    documents: str | None = strawberry.field(
        default=None, description="What was shown (1-200 characters; never the number)"
    )


@strawberry.input(description="Set (NEW) or correct a person's individual number, with the identity check.")
class RecordIndividualNumberInput:
    request_id: str = strawberry.field(description="Idempotency key: the same id and input answer the same")
    person_id: strawberry.ID
    version: int = strawberry.field(description="The person's version read; CONFLICT when it changed since")
    purpose: NumberPurpose
    individual_number: str = strawberry.field(description="12 digits with the check digit; never echoed")
    identity_check: IdentityCheckInput


@strawberry.type(description="本人確認 as recorded when the person's individual number was set or corrected.")
@table("identity_checks")
class IdentityCheck:
    purpose: NumberPurpose = column()
    method: IdentityCheckMethod = column()
    checked_on: dt.date = column()
    documents: str | None = column()
    checked_by: str = column()
    recorded_at: dt.datetime = column()
