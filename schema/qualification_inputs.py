"""資格 written by staff: the inputs of acquisition, loss, category change, 住所地特例, 適用除外, the
certificates issued and the copay ratio of a certificate year. Each names the qualification's
``version`` it read (CONFLICT when it moved) and a ``requestId`` (the same id and input answer the same).
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .enums import CertificateKind, InsuredCategory, QualificationEventReason

__all__ = [
    "AcquireQualificationInput",
    "ChangeInsuredCategoryInput",
    "DetermineCopayRatioInput",
    "EndDomicileExceptionInput",
    "ExemptionInput",
    "IssueCertificateInput",
    "LoseQualificationInput",
    "StartDomicileExceptionInput",
]

_REQUEST = "Idempotency key: the same id and input answer the same"
_VERSION = "The qualification's version read; CONFLICT when it changed since"


@strawberry.input(description="資格取得 — the person becomes insured (or again, after a loss).")
class AcquireQualificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    category: InsuredCategory = strawberry.field(description="FIRST (65+) or SECOND (40-64)")
    acquired_on: dt.date
    reason: QualificationEventReason = strawberry.field(description="ACQUIRED_AGE, ACQUIRED_MOVE_IN …")
    notified_on: dt.date | None = strawberry.field(default=None, description="資格届出日")
    version: int | None = strawberry.field(
        default=None, description="When the person was insured before: that qualification's version"
    )


@strawberry.input(description="資格喪失 — the qualification ends on `lostOn`.")
class LoseQualificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    lost_on: dt.date
    reason: QualificationEventReason = strawberry.field(
        description="LOST_DEATH, LOST_MOVE_OUT, LOST_EXEMPTION"
    )
    notified_on: dt.date | None = None


@strawberry.input(description="2号→1号 — a second-category insured person reaches 65.")
class ChangeInsuredCategoryInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    category: InsuredCategory = strawberry.field(description="FIRST (the only change the law makes)")
    changed_on: dt.date = strawberry.field(description="The day the person reached 65 or later")
    notified_on: dt.date | None = None


@strawberry.input(
    description="住所地特例 starts: the person lives in a facility elsewhere and stays insured here."
)
class StartDomicileExceptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    facility_number: str = strawberry.field(description="事業所番号 (10 digits)")
    facility_name: str
    admitted_on: dt.date
    insurer_number: str | None = strawberry.field(
        default=None, description="保険者番号 of the facility's city (6 digits)"
    )


@strawberry.input(description="住所地特例 ends: the person left the facility.")
class EndDomicileExceptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    discharged_on: dt.date


@strawberry.input(description="適用除外 — the person enters (exempt: true) or leaves an exempt facility.")
class ExemptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    exempt: bool
    on: dt.date
    reason: str = strawberry.field(description="適用除外の理由 (1-200 characters)")


@strawberry.input(description="証発行 — a certificate issued to the insured person (recorded).")
class IssueCertificateInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    kind: CertificateKind
    issued_on: dt.date
    valid_to: dt.date | None = strawberry.field(
        default=None, description="A copay certificate: the end of its certificate year (default)"
    )


@strawberry.input(
    description=(
        "負担割合 of a certificate year (1 August – 31 July) from the previous year's income (市民税課): "
        "amounts in yen."
    )
)
class DetermineCopayRatioInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    certificate_year: int = strawberry.field(description="The year the certificate year starts (Aug 1)")
    total_income: int = strawberry.field(description="合計所得金額 of the person")
    pension_and_other_income: int = strawberry.field(
        description="年金収入＋その他の合計所得金額 of the person"
    )
    household_first_category: int = strawberry.field(
        description="65+ insured persons of the household, the person included"
    )
    household_pension_and_other_income: int = strawberry.field(
        description="年金収入＋その他の合計所得金額 of those persons together"
    )
    tax_exempt: bool = strawberry.field(description="市町村民税非課税")
    welfare: bool = strawberry.field(description="生活保護")
