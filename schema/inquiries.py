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
    fiscal_year: int = strawberry.field(description="課税年度")
    taxable: bool = strawberry.field(description="課税 (true) or 非課税")
    household_taxable: bool | None = strawberry.field(description="Someone in the household is taxed")
    taxable_income: int | None = strawberry.field(description="合計所得金額 (yen)")
    pension_income: int | None = strawberry.field(description="公的年金等収入額 (yen)")


@strawberry.type(description="医療保険関係情報 — one medical insurance of the person, as answered.")
class MedicalInsuranceAnswer:
    insurer_name: str = strawberry.field(description="保険者名")
    insurer_number: str | None = strawberry.field(description="保険者番号")
    scheme: str = strawberry.field(description="被用者保険, 国民健康保険, 後期高齢者医療 …")
    valid_from: dt.date = strawberry.field(description="資格取得日")
    valid_to: dt.date | None = strawberry.field(description="資格喪失日 (null while insured)")


@strawberry.type(description="生活保護関係情報 — public assistance, as answered.")
class PublicAssistanceAnswer:
    receiving: bool = strawberry.field(description="受給中")
    since: dt.date | None = strawberry.field(description="保護開始日")
    until: dt.date | None = strawberry.field(description="保護廃止日 (null while receiving)")
    care_assistance: bool | None = strawberry.field(description="介護扶助")


@strawberry.type(description="年金関係情報 — one pension of the person, as answered.")
class PensionAnswer:
    payer: str = strawberry.field(description="年金保険者")
    pension_kind: str = strawberry.field(description="老齢, 障害, 遺族 …")
    fiscal_year: int = strawberry.field(description="The fiscal year of the amount")
    annual_amount: int = strawberry.field(description="年額 (yen)")


@strawberry.type(description="The answer to an inquiry, as staff recorded it: typed items, and free text.")
class InquiryAnswer:
    answered_at: dt.datetime = strawberry.field(description="When the answer was recorded")
    answered_by: str = strawberry.field(description="Who recorded it (the token's subject)")
    answered_items: list[InformationItem] = strawberry.field(description="The items the answer covers")
    summary: str = strawberry.field(description="What was answered, in free text")
    local_tax: list[LocalTaxAnswer] | None = strawberry.field(description="LOCAL_TAX (null: not asked)")
    medical_insurance: list[MedicalInsuranceAnswer] | None = strawberry.field(
        description="MEDICAL_INSURANCE (null: not asked)"
    )
    public_assistance: list[PublicAssistanceAnswer] | None = strawberry.field(
        description="PUBLIC_ASSISTANCE (null: not asked)"
    )
    pension: list[PensionAnswer] | None = strawberry.field(description="PENSION (null: not asked)")


@strawberry.type(description="情報照会 — an inquiry the city made.")
class Inquiry:
    fetch_person: strawberry.Private[Callable[[], Awaitable[Person | None]]]

    id: strawberry.ID = strawberry.field(description="The inquiry's id")
    request_id: str = strawberry.field(description="The inquiry's idempotency key")
    permit_number: str = strawberry.field(description="情報提供許可証")
    basis_item: str = strawberry.field(description='別表第2 item: "93" or "94"')
    basis: LegalBasis | None = strawberry.field(description="The legal basis in force when asked")
    provider: str = strawberry.field(description="情報提供者 — the body asked")
    items: list[InformationItem] = strawberry.field(description="The information items asked for")
    requested_at: dt.datetime = strawberry.field(description="When it was asked")
    requested_by: str = strawberry.field(description="Who asked (the token's subject)")
    status: InquiryStatus = strawberry.field(description="Answered or not")
    answer: InquiryAnswer | None = strawberry.field(description="The answer (null until recorded)")

    @strawberry.field(description="The person asked about.", directives=requires_duty(READ_PERSONS))
    async def person(self) -> Person | None:
        return await self.fetch_person()


@strawberry.type(description="The inquiry was made and recorded.")
class InquiryRecorded:
    inquiry: Inquiry = strawberry.field(description="The inquiry, INQUIRED")
    record: ProvisionRecord = strawberry.field(description="The INQUIRED record")


InquiryResult = Annotated[
    InquiryRecorded | Denied,
    strawberry.union("InquiryResult", description="The inquiry recorded (InquiryRecorded), or Denied."),
]


@strawberry.type(description="The answer was attached to the inquiry and recorded.")
class InquiryAnswered:
    inquiry: Inquiry = strawberry.field(description="The inquiry, ANSWERED")
    record: ProvisionRecord = strawberry.field(description="The INQUIRY_ANSWERED record")


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
    items: list[InformationItem] = strawberry.field(description="The information items asked for")


@strawberry.input(description="地方税関係情報 as answered: one fiscal year of the person's resident tax.")
class LocalTaxAnswerInput:
    fiscal_year: int = strawberry.field(description="課税年度")
    taxable: bool = strawberry.field(description="課税 (true) or 非課税")
    household_taxable: bool | None = strawberry.field(
        default=None, description="Someone in the household is taxed"
    )
    taxable_income: int | None = strawberry.field(default=None, description="合計所得金額 (yen)")
    pension_income: int | None = strawberry.field(default=None, description="公的年金等収入額 (yen)")


@strawberry.input(description="医療保険関係情報 as answered: one medical insurance of the person.")
class MedicalInsuranceAnswerInput:
    insurer_name: str = strawberry.field(description="保険者名")
    scheme: str = strawberry.field(description="被用者保険, 国民健康保険, 後期高齢者医療 …")
    valid_from: dt.date = strawberry.field(description="資格取得日")
    insurer_number: str | None = strawberry.field(default=None, description="保険者番号")
    valid_to: dt.date | None = strawberry.field(default=None, description="資格喪失日")


@strawberry.input(description="生活保護関係情報 as answered.")
class PublicAssistanceAnswerInput:
    receiving: bool = strawberry.field(description="受給中")
    since: dt.date | None = strawberry.field(default=None, description="保護開始日")
    until: dt.date | None = strawberry.field(default=None, description="保護廃止日")
    care_assistance: bool | None = strawberry.field(default=None, description="介護扶助")


@strawberry.input(description="年金関係情報 as answered: one pension of the person.")
class PensionAnswerInput:
    payer: str = strawberry.field(description="年金保険者")
    pension_kind: str = strawberry.field(description="老齢, 障害, 遺族 …")
    fiscal_year: int = strawberry.field(description="The fiscal year of the amount")
    annual_amount: int = strawberry.field(description="年額 (yen)")


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
    local_tax: list[LocalTaxAnswerInput] | None = strawberry.field(default=None, description="LOCAL_TAX")
    medical_insurance: list[MedicalInsuranceAnswerInput] | None = strawberry.field(
        default=None, description="MEDICAL_INSURANCE"
    )
    public_assistance: list[PublicAssistanceAnswerInput] | None = strawberry.field(
        default=None, description="PUBLIC_ASSISTANCE"
    )
    pension: list[PensionAnswerInput] | None = strawberry.field(default=None, description="PENSION")
