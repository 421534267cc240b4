"""提供 — provision over the information provision network, its answers, and the provision records
(情報提供等記録) every provision, transfer and inquiry leaves.

An answer is a union: ``Provided`` (with what was sent), ``PendingReview`` (自動応答不可: staff confirm
first, III-6 リスク2 ③) or ``Denied`` (a machine-readable code and one sentence in Japanese and English).
A denial is an answer, not an error: it is recorded like any other outcome.
"""

from __future__ import annotations

import datetime as dt
import enum
import operator
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

import strawberry

from policies.decisions import DENIAL_CODES
from policies.outcomes import DENIED_CODES, RECORD_OUTCOMES, STEP_CODES

from .duties import READ_PERSONS, requires_duty
from .legal_bases import Direction, InformationItem, LegalBasis, LocalizedText
from .persons import PageInfo, Person
from .provided import PERSON_DERIVED, ProvidedInformation
from .sources import column, embedded, table

__all__ = [
    "DenialCode",
    "Denied",
    "PendingReview",
    "ProvideInformationInput",
    "Provided",
    "ProvisionRecord",
    "ProvisionRecordConnection",
    "ProvisionRecordEdge",
    "ProvisionResult",
    "ProvisionSubjectInput",
    "RecordActor",
    "RecordOutcome",
    "RecordedBasis",
    "RecordedPage",
    "ReviewedTransfer",
    "TransferredPerson",
]

if TYPE_CHECKING:
    RecordOutcome = enum.Enum
    DenialCode = enum.Enum
else:
    RecordOutcome = strawberry.enum(
        enum.Enum("RecordOutcome", {name: name for name in RECORD_OUTCOMES}, module=__name__),
        name="RecordOutcome",
        description="What a provision record (情報提供等記録) records.",
    )
    for _value in RecordOutcome.__strawberry_definition__.values:
        _value.description = " — ".join(RECORD_OUTCOMES[_value.value])

    DenialCode = strawberry.enum(
        enum.Enum("DenialCode", {code: code for code in sorted(DENIED_CODES)}, module=__name__),
        name="DenialCode",
        description="Why a provision, transfer or inquiry was denied; `Denied.reason` says it in Japanese and English.",
    )
    for _value in DenialCode.__strawberry_definition__.values:
        _outcome = DENIAL_CODES.get(_value.value) or STEP_CODES[_value.value]
        _value.description = _outcome.en


@strawberry.type(description="Who acted: the verified principal of the request.")
class RecordActor:
    subject: str = strawberry.field(description="Subject of the token (staff id or system client)")
    roles: list[str] = strawberry.field(description="Roles the token named")
    department: str | None = strawberry.field(description="Department id (receiving departments)")


@strawberry.type(description="The legal basis a record was decided against.")
class RecordedBasis:
    item: str = strawberry.field(description='The item asked for, canonical ("94", "56の2")')
    legal_basis_id: str | None = strawberry.field(description="The registry row in force; null if none was")
    instrument: str | None = strawberry.field(
        description="番号法, the ministerial order, or the city ordinance"
    )
    article: str | None = strawberry.field(description='The article cited, e.g. "第19条第8号"')
    citation: str | None = strawberry.field(description="How the record cites its basis")


@strawberry.type(description="The persons of one transfer page: keyset bounds on the person id.")
class RecordedPage:
    after: str | None = strawberry.field(description="The `after` cursor the page was asked for")
    end_cursor: str | None = strawberry.field(description="Cursor of the page's last person")
    person_count: int = strawberry.field(description="Persons transferred on the page")


@strawberry.type(
    description=(
        "情報提供等記録 — one immutable record of an attempt or outcome of a provision, transfer or inquiry: "
        "both parties, time, basis, items, outcome and who acted. Kept 7 years."
    )
)
class ProvisionRecord:
    fetch_person: strawberry.Private[Callable[[], Awaitable[Person | None]]]

    id: strawberry.ID = strawberry.field(description="The record's id")
    recorded_at: dt.datetime = strawberry.field(description="When it was recorded")
    direction: Direction = strawberry.field(description="Provision, transfer or inquiry")
    outcome: RecordOutcome = strawberry.field(description="What this record records")
    code: str = strawberry.field(description="The decision's or the step's machine-readable code")
    reason: LocalizedText = strawberry.field(description="The outcome in one sentence, Japanese and English")
    provider: str = strawberry.field(description="情報提供者 / 移転元 / the body asked (照会先)")
    recipient: str = strawberry.field(description="情報照会者 / 移転先 / the city (照会者)")
    basis: RecordedBasis = strawberry.field(description="The legal basis it was decided against")
    items: list[str] = strawberry.field(description="Information item ids asked for (or answered)")
    request_id: str | None = strawberry.field(description="The request's idempotency key")
    request_date: dt.date | None = strawberry.field(description="The day the request was made")
    permit_number: str | None = strawberry.field(description="情報提供許可証")
    actor: RecordActor = strawberry.field(description="Who acted")
    note: str | None = strawberry.field(description="Reviewer's note, or the reason of a decision")
    resolves_record_id: strawberry.ID | None = strawberry.field(
        description="The pending record a confirmation or refusal resolves"
    )
    transfer_permission_id: strawberry.ID | None = strawberry.field(
        description="The transfer permission (`TransferPermission.id`) a transfer record belongs to"
    )
    inquiry_id: strawberry.ID | None = strawberry.field(description="The inquiry (`Inquiry.id`) it records")
    page: RecordedPage | None = strawberry.field(description="A transfer page's persons")

    @strawberry.field(
        description="The person the record is about (null for a transfer page or an unknown subject).",
        directives=requires_duty(READ_PERSONS),
    )
    async def person(self) -> Person | None:
        return await self.fetch_person()


@strawberry.type(description="One provision record of a page, with its cursor.")
class ProvisionRecordEdge:
    cursor: str = strawberry.field(description="Opaque: pass it as `after` to read on from this record")
    node: ProvisionRecord = strawberry.field(description="The record")


@strawberry.type(description="A page of provision records.")
class ProvisionRecordConnection:
    edges: list[ProvisionRecordEdge] = strawberry.field(description="The records of this page, in order")
    page_info: PageInfo = strawberry.field(description="Whether more pages follow, and the cursors")

    @strawberry.field(description="The nodes of `edges`.")
    def nodes(self) -> list[ProvisionRecord]:
        return list(map(operator.attrgetter("node"), self.edges))


@strawberry.type(description="Provided: the information was sent; `payload` is what was sent.")
class Provided:
    record: ProvisionRecord = strawberry.field(description="The provision record of the answer")
    payload: ProvidedInformation = strawberry.field(description="What was sent")


@strawberry.type(
    description=(
        "Permitted, but staff confirm before sending (自動応答不可); `confirmProvision` sends or refuses it, "
        "and the same request id then answers Provided or Denied."
    )
)
class PendingReview:
    record: ProvisionRecord = strawberry.field(description="The PENDING_REVIEW record the reviewer confirms")
    reason: LocalizedText = strawberry.field(description="Why staff must confirm first")


@strawberry.type(description="Denied: nothing was sent; `code` says why, `reason` in Japanese and English.")
class Denied:
    record: ProvisionRecord = strawberry.field(description="The DENIED record")
    code: DenialCode = strawberry.field(description="Why, for a program")
    reason: LocalizedText = strawberry.field(
        description="Why, for a person: one sentence in Japanese and English"
    )
    basis: LegalBasis | None = strawberry.field(
        description="The legal basis decided against, if one was found"
    )


@strawberry.type(description="One person of a transfer page, identified by the 宛名コード.")
@table("persons", derived=PERSON_DERIVED)
class TransferredPerson:
    addressee_code: str = column(description="宛名コード")
    information: ProvidedInformation = embedded(description="What was transferred about the person")


@strawberry.type(
    description=(
        "Persons of a transfer page withheld as 自動応答不可, confirmed by the chief: what the department "
        "receives (`reviewedTransfers`), recorded as CONFIRMED."
    )
)
class ReviewedTransfer:
    record: ProvisionRecord = strawberry.field(description="The CONFIRMED record")
    persons: list[TransferredPerson] = strawberry.field(
        description="The persons confirmed, with their information"
    )


ProvisionResult = Annotated[
    Provided | PendingReview | Denied | ReviewedTransfer,
    strawberry.union(
        "ProvisionResult",
        description=(
            "The answer to a provision request or to its review: Provided, PendingReview, Denied, or for a "
            "transfer page's flagged persons ReviewedTransfer. Select `__typename` to tell them apart."
        ),
    ),
]


@strawberry.input(one_of=True, description="The person a provision is about: exactly one of the two.")
class ProvisionSubjectInput:
    linkage_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="符号 — the network's linkage code (1-32 letters and digits)"
    )
    addressee_code: str | None = strawberry.field(
        default=strawberry.UNSET, description="宛名コード — the city's person key (10-15 digits)"
    )


@strawberry.input(description="A request for provision received over the network (情報提供の求め).")
class ProvideInformationInput:
    request_id: str = strawberry.field(
        description="Idempotency key: the same id and input give the same answer (1-64 of A-Z a-z 0-9 . _ -)"
    )
    permit_number: str = strawberry.field(description="情報提供許可証 number issued by the network")
    inquirer: str = strawberry.field(
        description="情報照会者 — the body asking, as 別表第2's first column names it"
    )
    basis_item: str = strawberry.field(description='Item of 別表第2: "94", "別表第2 94", "56-2" …')
    subject: ProvisionSubjectInput = strawberry.field(description="The person asked about")
    items: list[InformationItem] = strawberry.field(description="The information items asked for")
    request_date: dt.date = strawberry.field(
        description="Date of the request; decided against the entry in force on it (not after today)"
    )
