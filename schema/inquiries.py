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
    "LocalTaxAnswer",
    "MedicalInsuranceAnswer",
    "PensionAnswer",
    "PublicAssistanceAnswer",
    "RecordInquiryInput",
]


@strawberry.enum(description="State of an inquiry.")
class InquiryStatus(enum.Enum):
    INQUIRED = strawberry.enum_value("INQUIRED", description="照会済み — waiting for the answer")
    ANSWERED = strawberry.enum_value("ANSWERED", description="回答あり")


@strawberry.type(
    description="地方税関係情報 — one fiscal year of the person's local (resident) tax, as answered."
)
class LocalTaxAnswer:
    fiscal_year: int
    taxable: bool = strawberry.field(description="課税 (true) or 非課税")
    household_taxable: bool | None = strawberry.field(description="Someone in the household is taxed")
    taxable_income: int | None = strawberry.field(description="合計所得金額 (yen)")
    pension_income: int | None = strawberry.field(description="公的年金等収入額 (yen)")


@strawberry.type(description="医療保険関係情報 — one medical insurance of the person, as answered.")
class MedicalInsuranceAnswer:
    insurer_name: str
    insurer_number: str | None = strawberry.field(description="保険者番号")
    scheme: str = strawberry.field(description="被用者保険, 国民健康保険, 後期高齢者医療 …")
    valid_from: dt.date
    valid_to: dt.date | None


@strawberry.type(description="生活保護関係情報 — public assistance, as answered.")
class PublicAssistanceAnswer:
    receiving: bool
    since: dt.date | None
    until: dt.date | None
    care_assistance: bool | None = strawberry.field(description="介護扶助")


@strawberry.type(description="年金関係情報 — one pension of the person, as answered.")
class PensionAnswer:
    payer: str = strawberry.field(description="年金保険者")
    pension_kind: str = strawberry.field(description="老齢, 障害, 遺族 …")
    fiscal_year: int
    annual_amount: int = strawberry.field(description="年額 (yen)")


@strawberry.type(description="The answer to an inquiry, as staff recorded it: typed items, and free text.")
class InquiryAnswer:
    answered_at: dt.datetime
    answered_by: str
    answered_items: list[InformationItem]
    summary: str
    local_tax: list[LocalTaxAnswer] | None
    medical_insurance: list[MedicalInsuranceAnswer] | None
    public_assistance: list[PublicAssistanceAnswer] | None
    pension: list[PensionAnswer] | None


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
    provider: str = strawberry.field(
        description="情報提供者 — one registered body of the entry's providers (総社市長, 日本年金機構 …)"
    )
    addressee_code: str = strawberry.field(description="宛名コード of the person asked about")
    items: list[InformationItem]


@strawberry.input
class LocalTaxAnswerInput:
    fiscal_year: int
    taxable: bool
    household_taxable: bool | None = None
    taxable_income: int | None = None
    pension_income: int | None = None


@strawberry.input
class MedicalInsuranceAnswerInput:
    insurer_name: str
    scheme: str
    valid_from: dt.date
    insurer_number: str | None = None
    valid_to: dt.date | None = None


@strawberry.input
class PublicAssistanceAnswerInput:
    receiving: bool
    since: dt.date | None = None
    until: dt.date | None = None
    care_assistance: bool | None = None


@strawberry.input
class PensionAnswerInput:
    payer: str
    pension_kind: str
    fiscal_year: int
    annual_amount: int


@strawberry.input(
    description=(
        "The answer received to an inquiry: LOCAL_TAX, MEDICAL_INSURANCE, PUBLIC_ASSISTANCE and PENSION as typed "
        "records (each only if the inquiry asked for it); other items named in `answeredItems`."
    )
)
class InquiryResponseInput:
    answered_items: list[InformationItem] = strawberry.field(
        default_factory=list, description="Items the answer covers besides the typed ones"
    )
    summary: str = strawberry.field(
        default="",
        description="What was answered, in free text (at most 2000 characters, never an individual number)",
    )
    local_tax: list[LocalTaxAnswerInput] | None = None
    medical_insurance: list[MedicalInsuranceAnswerInput] | None = None
    public_assistance: list[PublicAssistanceAnswerInput] | None = None
    pension: list[PensionAnswerInput] | None = None
