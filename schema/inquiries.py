"""照会 — inquiries the city makes over the network (別表第2 93, 94) and their answers.

III-6 リスク1 ①: an inquiry needs a 情報提供許可証, issued after the network matched it against the
照会許可用照合リスト; without one it is denied (PERMIT_REQUIRED), recorded like every attempt.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from typing import Annotated

import strawberry

from .duties import READ_PERSONS, requires_duty
from .legal_bases import InformationItem, LegalBasis
from .persons import Person
from .provisions import Denied, ProvisionRecord

__all__ = [
    "Inquiry",
    "InquiryAnswer",
    "InquiryAnswered",
    "InquiryRecorded",
    "InquiryResponseInput",
    "InquiryResult",
    "InquiryStatus",
    "RecordInquiryInput",
]


@strawberry.enum(description="State of an inquiry.")
class InquiryStatus(enum.Enum):
    INQUIRED = strawberry.enum_value("INQUIRED", description="照会済み — waiting for the answer")
    ANSWERED = strawberry.enum_value("ANSWERED", description="回答あり")


@strawberry.type(description="The answer to an inquiry, as staff recorded it.")
class InquiryAnswer:
    answered_at: dt.datetime
    answered_by: str
    answered_items: list[InformationItem]
    summary: str


@strawberry.type(description="情報照会 — an inquiry the city made.")
class Inquiry:
    fetch_person: strawberry.Private[Callable[[], Awaitable[Person | None]]]

    id: strawberry.ID
    request_id: str
    permit_number: str = strawberry.field(description="情報提供許可証")
    basis_item: str
    basis: LegalBasis | None
    provider: str = strawberry.field(description="情報提供者 — the body asked")
    items: list[InformationItem]
    requested_at: dt.datetime
    requested_by: str
    status: InquiryStatus
    answer: InquiryAnswer | None

    @strawberry.field(description="The person asked about.", directives=requires_duty(READ_PERSONS))
    async def person(self) -> Person | None:
        return await self.fetch_person()


@strawberry.type(description="The inquiry was made and recorded.")
class InquiryRecorded:
    inquiry: Inquiry
    record: ProvisionRecord


InquiryResult = Annotated[InquiryRecorded | Denied, strawberry.union("InquiryResult")]


@strawberry.type(description="The answer was attached to the inquiry and recorded.")
class InquiryAnswered:
    inquiry: Inquiry
    record: ProvisionRecord


@strawberry.input(description="An inquiry to record (情報照会).")
class RecordInquiryInput:
    request_id: str = strawberry.field(description="Idempotency key (1-64 of A-Z a-z 0-9 . _ -)")
    permit_number: str | None = strawberry.field(
        default=None, description="情報提供許可証 number; without it the inquiry is denied (PERMIT_REQUIRED)"
    )
    basis_item: str = strawberry.field(description='"93" or "94" (別表第2)')
    provider: str = strawberry.field(description="情報提供者 — the body asked")
    addressee_code: str = strawberry.field(description="宛名コード of the person asked about")
    items: list[InformationItem]


@strawberry.input(description="The answer received to an inquiry.")
class InquiryResponseInput:
    answered_items: list[InformationItem] = strawberry.field(description="Items the answer covers")
    summary: str = strawberry.field(
        description="What was answered, in free text (at most 2000 characters, never an individual number)"
    )
