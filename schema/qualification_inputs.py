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
_QUALIFICATION = (
    "The qualification (`Qualification.id`); NOT_FOUND when there is none, INVALID_TRANSITION (with its "
    "`state`) when its state does not allow the step"
)
_NOTIFIED = "届出日 (kept with the 資格異動)"


@strawberry.input(description="資格取得 — the person becomes insured (or again, after a loss).")
class AcquireQualificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(
        description=(
            "The person (`Person.id`): a resident, or one insured here from a facility elsewhere (住登外), "
            "not insured now (INVALID_TRANSITION INSURED or the person's 住民区分 otherwise)"
        )
    )
    category: InsuredCategory = strawberry.field(description="FIRST (65+) or SECOND (40-64)")
    acquired_on: dt.date = strawberry.field(
        description=(
            "資格取得日: not before 2000-04-01; the person has reached 65 that day for FIRST (the day before "
            "the 65th birthday), is 40-64 for SECOND (BAD_USER_INPUT OUT_OF_RANGE)"
        )
    )
    reason: QualificationEventReason = strawberry.field(description="ACQUIRED_AGE, ACQUIRED_MOVE_IN …")
    notified_on: dt.date | None = strawberry.field(
        default=None, description="資格届出日 (not more than a year before acquiredOn)"
    )
    version: int | None = strawberry.field(
        default=None, description="When the person was insured before: that qualification's version"
    )


@strawberry.input(description="資格喪失 — the qualification ends on `lostOn`.")
class LoseQualificationInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    lost_on: dt.date = strawberry.field(
        description=(
            "資格喪失日 — under the law the day after the death or the move out; not before 資格取得日 "
            "(BAD_USER_INPUT REVERSED_RANGE)"
        )
    )
    reason: QualificationEventReason = strawberry.field(
        description=(
            "LOST_DEATH or LOST_MOVE_OUT (an exemption is setExemption: LOST_EXEMPTION is BAD_USER_INPUT "
            "FORMAT)"
        )
    )
    notified_on: dt.date | None = strawberry.field(default=None, description=_NOTIFIED)


@strawberry.input(description="2号→1号 — a second-category insured person reaches 65.")
class ChangeInsuredCategoryInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    category: InsuredCategory = strawberry.field(description="FIRST (the only change the law makes)")
    changed_on: dt.date = strawberry.field(description="The day the person reached 65 or later")
    notified_on: dt.date | None = strawberry.field(default=None, description=_NOTIFIED)


@strawberry.input(
    description="住所地特例 starts: the person lives in a facility elsewhere and stays insured here."
)
class StartDomicileExceptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    facility_number: str = strawberry.field(description="事業所番号 (10 digits)")
    facility_name: str = strawberry.field(description="施設名 (1-200 characters)")
    admitted_on: dt.date = strawberry.field(
        description="入所日 — 住所地特例 starts that day; not before 資格取得日 (BAD_USER_INPUT OUT_OF_RANGE)"
    )
    insurer_number: str | None = strawberry.field(
        default=None, description="保険者番号 of the facility's city (6 digits)"
    )


@strawberry.input(description="住所地特例 ends: the person left the facility.")
class EndDomicileExceptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    discharged_on: dt.date = strawberry.field(
        description="退所日 — 住所地特例 ends that day; not before the admission (BAD_USER_INPUT REVERSED_RANGE)"
    )


@strawberry.input(description="適用除外 — the person enters (exempt: true) or leaves an exempt facility.")
class ExemptionInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    exempt: bool = strawberry.field(
        description=(
            "true: 適用除外該当 — an insured person enters an exempt facility and the qualification ends; "
            "false: 適用除外非該当 — an exempt person leaves it and is insured again"
        )
    )
    on: dt.date = strawberry.field(
        description=(
            "The day of 該当 (not before 資格取得日) or 非該当 (not before the exemption began; BAD_USER_INPUT "
            "REVERSED_RANGE)"
        )
    )
    reason: str = strawberry.field(description="適用除外の理由 (1-200 characters)")


@strawberry.input(description="証発行 — a certificate issued to the insured person (recorded).")
class IssueCertificateInput:
    request_id: str = strawberry.field(description=_REQUEST)
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
    version: int = strawberry.field(description=_VERSION)
    kind: CertificateKind = strawberry.field(
        description=(
            "証種別: 被保険者証 and 資格者証 only while the person is insured on issuedOn (INVALID_TRANSITION "
            "LOST); 負担割合証 only once the ratio of its certificate year is decided "
            "(COPAY_RATIO_NOT_DETERMINED)"
        )
    )
    issued_on: dt.date = strawberry.field(
        description="交付日: not before 資格取得日 nor after today (BAD_USER_INPUT OUT_OF_RANGE)"
    )
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
    qualification_id: strawberry.ID = strawberry.field(description=_QUALIFICATION)
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
