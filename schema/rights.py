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
        description="What a person asks for: 開示請求 (disclosure), 訂正請求 (correction), 利用停止請求 (suspension of use) or 問合せ (an inquiry).",
    )
    for _value in SubjectRequestKind.__strawberry_definition__.values:
        _limit = procedures().rights[_value.value]
        _value.description = f"{_limit.ja} — due within {_limit.days} days of receipt"

    CorrectableField = strawberry.enum(
        enum.Enum("CorrectableField", {k: k for k in procedures().correctable}, module=__name__),
        name="CorrectableField",
        description="The fields of a person's record a correction request (訂正請求) may change.",
    )
    for _value in CorrectableField.__strawberry_definition__.values:
        _value.description = procedures().correctable[_value.value].ja


@strawberry.enum(description="One step of a person's request.")
class SubjectRequestEventKind(enum.Enum):
    RECEIVED = strawberry.enum_value("RECEIVED", description="受付 — the request was received")
    DISCLOSED = strawberry.enum_value("DISCLOSED", description="開示 — the disclosure was produced")
    APPROVED = strawberry.enum_value("APPROVED", description="承認 — the chief approved the request")
    REJECTED = strawberry.enum_value("REJECTED", description="不承認 — the chief rejected the request")
    APPLIED = strawberry.enum_value("APPLIED", description="訂正 — the correction was applied")
    LIFTED = strawberry.enum_value("LIFTED", description="解除 — the suspension was lifted")
    ANSWERED = strawberry.enum_value("ANSWERED", description="回答 — the inquiry was answered")


@strawberry.type(description="One step of a request: who, when (the day in Japan), and what changed.")
class SubjectRequestEvent:
    event: SubjectRequestEventKind = strawberry.field(description="What happened")
    occurred_on: dt.date = strawberry.field(description="The day it happened, in Japan")
    occurred_at: dt.datetime = strawberry.field(description="When it happened")
    actor: str = strawberry.field(description="Who acted (the token's subject)")
    note: str | None = strawberry.field(description="The staff's note or the decision's reason")
    old_value: str | None = strawberry.field(description="APPLIED: the value before the correction")
    new_value: str | None = strawberry.field(description="APPLIED: the value after it")


@strawberry.type(
    description="本人からの請求 — a disclosure, correction or suspension request, or an inquiry."
)
class SubjectRequest:
    id: strawberry.ID = strawberry.field(description="The request's id")
    request_id: str = strawberry.field(description="The form's number (idempotency key)")
    kind: SubjectRequestKind = strawberry.field(description="What the person asks for")
    person_id: strawberry.ID = strawberry.field(description="The person (`Person.id`)")
    received_on: dt.date = strawberry.field(description="The day received: the time limit runs from it")
    due_on: dt.date = strawberry.field(description="The last day of the time limit")
    received_by: str = strawberry.field(description="Who recorded it (the token's subject)")
    summary: str = strawberry.field(description="The request in the staff's words")
    correction_field: CorrectableField | None = strawberry.field(
        description="CORRECTION: the field to change"
    )
    correction_value: str | None = strawberry.field(description="CORRECTION: the value asked for")
    status: SubjectRequestEventKind = strawberry.field(description="The latest step")
    suspension_in_force: bool = strawberry.field(description="SUSPENSION: approved and not lifted")
    events: list[SubjectRequestEvent] = strawberry.field(description="Every step, oldest first")


@strawberry.input(description="訂正請求: the field and the value the person asks for.")
class CorrectionInput:
    field: CorrectableField = strawberry.field(description="The field to change")
    value: str = strawberry.field(description="The value the person asks for")


@strawberry.input(description="A person's request or inquiry, as received on the city's form.")
class ReceiveSubjectRequestInput:
    request_id: str = strawberry.field(
        description="The form's number; the same number and input answer the same"
    )
    kind: SubjectRequestKind = strawberry.field(description="What the person asks for")
    person_id: strawberry.ID = strawberry.field(description="The person (`Person.id`)")
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
    request: SubjectRequest = strawberry.field(description="The disclosure request, now DISCLOSED")
    disclosed_on: dt.date = strawberry.field(description="The day of the disclosure")
    document: str = strawberry.field(description="The disclosed record as JSON text")
    pdf: str = strawberry.field(description="base64 of application/pdf")
    records: list[ProvisionRecord] = strawberry.field(description="The provision records disclosed")


@strawberry.type(description="自動応答不可 — a setting or clearing of a person's flag, as recorded.")
class AutomaticResponseChange:
    id: strawberry.ID = strawberry.field(description="The change's id")
    person_id: strawberry.ID = strawberry.field(description="The person (`Person.id`)")
    flag: bool = strawberry.field(description="The flag after the change: true = 自動応答不可")
    reason: str = strawberry.field(description="Why, in the chief's words")
    set_by: str = strawberry.field(description="Who changed it (the token's subject)")
    set_at: dt.datetime = strawberry.field(description="When")
