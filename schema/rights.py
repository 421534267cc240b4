"""The person's rights (IV-1, IV-2) and the 自動応答不可 flag.

A person asks, on the city's form, for disclosure (開示), correction (訂正) or suspension (利用停止) of
their specific personal information, or makes an inquiry (問合せ). Staff record the request with the
day it was received (the law's time limit runs from it, ``dueOn``); every step after it is an event:
the disclosure produced (JSON and an A4 PDF in Japanese), the chief's decision, the correction applied
with the old and new value, the suspension lifted, the answer.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

import strawberry

from policies.procedures import RIGHT_KINDS, procedures

from .provisions import ProvisionRecord

__all__ = [
    "AutomaticResponseChange",
    "CorrectableField",
    "CorrectionInput",
    "Disclosure",
    "ReceiveSubjectRequestInput",
    "SubjectRequest",
    "SubjectRequestEvent",
    "SubjectRequestEventKind",
    "SubjectRequestKind",
]

if TYPE_CHECKING:
    SubjectRequestKind = enum.Enum
    CorrectableField = enum.Enum
else:
    SubjectRequestKind = strawberry.enum(
        enum.Enum("SubjectRequestKind", {k: k for k in RIGHT_KINDS}, module=__name__),
        name="SubjectRequestKind",
        description="開示請求, 訂正請求, 利用停止請求 (IV-1) or 問合せ (IV-2).",
    )
    for _value in SubjectRequestKind.__strawberry_definition__.values:
        _limit = procedures().rights[_value.value]
        _value.description = f"{_limit.ja} — due within {_limit.days} days ({_limit.law})"

    CorrectableField = strawberry.enum(
        enum.Enum("CorrectableField", {k: k for k in procedures().correctable}, module=__name__),
        name="CorrectableField",
        description="What a correction request may change (policies/data/procedures.toml).",
    )
    for _value in CorrectableField.__strawberry_definition__.values:
        _value.description = procedures().correctable[_value.value].ja


@strawberry.enum(description="One step of a person's request.")
class SubjectRequestEventKind(enum.Enum):
    RECEIVED = "RECEIVED"
    DISCLOSED = "DISCLOSED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    APPLIED = "APPLIED"
    LIFTED = "LIFTED"
    ANSWERED = "ANSWERED"


@strawberry.type(description="One step of a request: who, when (the day in Japan), and what changed.")
class SubjectRequestEvent:
    event: SubjectRequestEventKind
    occurred_on: dt.date
    occurred_at: dt.datetime
    actor: str
    note: str | None
    old_value: str | None = strawberry.field(description="APPLIED: the value before the correction")
    new_value: str | None = strawberry.field(description="APPLIED: the value after it")


@strawberry.type(
    description="本人からの請求 — a disclosure, correction or suspension request, or an inquiry."
)
class SubjectRequest:
    id: strawberry.ID
    request_id: str = strawberry.field(description="The form's number (idempotency key)")
    kind: SubjectRequestKind
    person_id: strawberry.ID
    received_on: dt.date = strawberry.field(description="The day received: the time limit runs from it")
    due_on: dt.date = strawberry.field(description="The last day of the time limit")
    received_by: str
    summary: str
    correction_field: CorrectableField | None
    correction_value: str | None
    status: SubjectRequestEventKind = strawberry.field(description="The latest step")
    suspension_in_force: bool = strawberry.field(description="SUSPENSION: approved and not lifted")
    events: list[SubjectRequestEvent]


@strawberry.input(description="訂正請求: the field and the value the person asks for.")
class CorrectionInput:
    field: CorrectableField
    value: str


@strawberry.input(description="A person's request received on the city's form (IV-1) or an inquiry (IV-2).")
class ReceiveSubjectRequestInput:
    request_id: str = strawberry.field(
        description="The form's number; the same number and input answer the same"
    )
    kind: SubjectRequestKind
    person_id: strawberry.ID
    received_on: dt.date = strawberry.field(
        description="The day the request reached the city (not after today)"
    )
    summary: str = strawberry.field(description="The request in the staff's words (1-2000 characters)")
    correction: CorrectionInput | None = strawberry.field(default=None, description="CORRECTION only")


@strawberry.type(
    description=(
        "開示 — the person's whole record and every provision record about them, as disclosed: `document` "
        "(JSON text) and `pdf` (an A4 PDF in Japanese, base64). The individual number is not reproduced."
    )
)
class Disclosure:
    request: SubjectRequest
    disclosed_on: dt.date
    document: str
    pdf: str = strawberry.field(description="base64 of application/pdf")
    records: list[ProvisionRecord] = strawberry.field(description="The provision records disclosed")


@strawberry.type(description="自動応答不可 — a setting or clearing of a person's flag, as recorded.")
class AutomaticResponseChange:
    id: strawberry.ID
    person_id: strawberry.ID
    flag: bool
    reason: str
    set_by: str
    set_at: dt.datetime
