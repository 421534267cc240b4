"""提供する情報 — what a provision or a transfer sends: the person's records, restricted to the permitted items.

One nullable field per information item (information_items.toml): null when the item was not
provided, an empty list (or null object) when it was and the city holds nothing. ``items`` says which
items the answer covers. The fields follow each item's ``fields``; the certification's working papers
and the names of applicants (third persons) are never part of it, and neither is the individual
number: the network identifies the person by the linkage code (符号), a department by the 宛名コード.

Only plain data types: an answer is stored as JSON with its record (schema/snapshots.py) and replayed.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .benefits import (
    BenefitRestriction,
    ClaimResult,
    CombinedBenefit,
    CommunityEligibility,
    CostReduction,
    HighCostBenefit,
    RecipientNotice,
)
from .enums import (
    ApplicationType,
    CareLevel,
    CollectionMethod,
    IncomeStage,
    InstallmentStatus,
    InsuredCategory,
    LevyCorrectionReason,
    PaymentMethod,
    PensionPayer,
    QualificationEventReason,
    ReimbursementKind,
)
from .legal_bases import InformationItem
from .levies import LevyReceipt, LevyRefund, LevyReminder
from .qualifications import CertificateIssuance, CopayRatio, FacilityAdmission, QualificationEvent

__all__ = [
    "ProvidedBenefits",
    "ProvidedCertification",
    "ProvidedInformation",
    "ProvidedInstallment",
    "ProvidedInstallmentPayment",
    "ProvidedLevy",
    "ProvidedLevyPayment",
    "ProvidedQualification",
    "ProvidedReimbursement",
]


@strawberry.type(description="QUALIFICATION (資格情報) as provided.")
class ProvidedQualification:
    insured_number: str = strawberry.field(description="被保険者番号")
    category: InsuredCategory = strawberry.field(description="被保険者区分")
    first_category_on: dt.date | None = strawberry.field(description="一号該当日")
    acquired_on: dt.date = strawberry.field(description="資格取得日")
    acquisition_reason: QualificationEventReason = strawberry.field(description="資格取得事由")
    lost_on: dt.date | None = strawberry.field(description="資格喪失日")
    loss_reason: QualificationEventReason | None = strawberry.field(description="資格喪失事由")
    exempt: bool = strawberry.field(description="適用除外")
    exemption_reason: str | None = strawberry.field(description="適用除外の理由")
    boundary_layer: bool = strawberry.field(description="境界層該当")
    boundary_layer_since: dt.date | None = strawberry.field(description="境界層該当日")
    domicile_exception: bool = strawberry.field(description="住所地特例")
    events: list[QualificationEvent] = strawberry.field(description="資格異動, oldest first")
    facility_admissions: list[FacilityAdmission] = strawberry.field(description="施設入所, newest first")
    certificates: list[CertificateIssuance] = strawberry.field(description="証発行, newest first")


@strawberry.type(
    description="CERTIFICATION (要介護認定情報): the certification valid on `asOf`, outcome only."
)
class ProvidedCertification:
    applied_on: dt.date = strawberry.field(description="申請日")
    application_type: ApplicationType = strawberry.field(description="申請区分")
    care_level: CareLevel = strawberry.field(description="要介護状態区分")
    decided_on: dt.date = strawberry.field(description="要介護認定日")
    valid_from: dt.date | None = strawberry.field(description="認定有効開始日")
    valid_to: dt.date | None = strawberry.field(description="認定有効終了日")
    service_types_limited: bool = strawberry.field(description="サービス種類の指定あり")
    cancelled_on: dt.date | None = strawberry.field(description="認定取消日")


@strawberry.type(description="償還払 as provided (without the applicant, a third person).")
class ProvidedReimbursement:
    application_number: str = strawberry.field(description="申請書番号")
    kind: ReimbursementKind = strawberry.field(description="申請給付種類")
    service_month: dt.date = strawberry.field(description="サービス提供年月 (first day of the month)")
    applied_on: dt.date = strawberry.field(description="申請日")
    received_on: dt.date = strawberry.field(description="受付日")
    payment_method: PaymentMethod = strawberry.field(description="支払方法")
    total_cost: int = strawberry.field(description="費用額 (yen)")
    copay_amount: int = strawberry.field(description="利用者負担額 (yen)")
    claimed_amount: int = strawberry.field(description="保険請求額 (yen)")
    paid_amount: int | None = strawberry.field(description="支払金額 (yen; null until decided)")
    reviewed_month: dt.date | None = strawberry.field(description="審査年月")
    decided_on: dt.date | None = strawberry.field(description="支給決定日")


@strawberry.type(description="BENEFITS (給付情報) as provided; every list newest first.")
class ProvidedBenefits:
    claim_results: list[ClaimResult] = strawberry.field(description="給付実績")
    recipient_notices: list[RecipientNotice] = strawberry.field(description="受給者異動連絡")
    reimbursements: list[ProvidedReimbursement] = strawberry.field(description="償還払")
    high_cost: list[HighCostBenefit] = strawberry.field(description="高額介護サービス費")
    combined: list[CombinedBenefit] = strawberry.field(description="高額医療合算介護サービス費")


@strawberry.type(description="期別 of a levy as provided (LEVY).")
class ProvidedInstallment:
    assessment_year: int = strawberry.field(description="調定年度")
    period: int = strawberry.field(description="期別")
    due_on: dt.date = strawberry.field(description="納期限")
    amount: int = strawberry.field(description="期別保険料額 (yen)")
    collection_method: CollectionMethod = strawberry.field(description="徴収方法")


@strawberry.type(description="LEVY (賦課情報): one fiscal year's levy as provided.")
class ProvidedLevy:
    fiscal_year: int = strawberry.field(description="賦課年度")
    levied_on: dt.date = strawberry.field(description="賦課期日")
    income_stage: IncomeStage = strawberry.field(description="所得段階")
    annual_premium: int = strawberry.field(description="保険料額 before reduction (yen)")
    reduction_amount: int = strawberry.field(description="減免額 (yen)")
    collection_method: CollectionMethod = strawberry.field(description="徴収方法")
    pension_payer: PensionPayer | None = strawberry.field(
        description="特別徴収義務者 (pension deduction only)"
    )
    corrected_on: dt.date | None = strawberry.field(description="賦課更正日")
    correction_reason: LevyCorrectionReason | None = strawberry.field(description="賦課更正事由")
    installments: list[ProvidedInstallment] = strawberry.field(description="期別, by period")


@strawberry.type(description="PAYMENT_STATUS of one installment, as of `asOf`.")
class ProvidedInstallmentPayment:
    period: int = strawberry.field(description="期別")
    due_on: dt.date = strawberry.field(description="納期限")
    paid_amount: int = strawberry.field(description="Sum of the receipts (yen)")
    outstanding_amount: int = strawberry.field(description="Not yet paid (yen)")
    status: InstallmentStatus = strawberry.field(description="State on `asOf`")
    receipts: list[LevyReceipt] = strawberry.field(description="収納")
    reminders: list[LevyReminder] = strawberry.field(description="督促・催告")


@strawberry.type(description="PAYMENT_STATUS (収納・滞納情報) of one fiscal year's levy, as of `asOf`.")
class ProvidedLevyPayment:
    fiscal_year: int = strawberry.field(description="賦課年度")
    arrears_amount: int = strawberry.field(description="滞納額 on `asOf`")
    installments: list[ProvidedInstallmentPayment] = strawberry.field(description="期別, by period")
    refunds: list[LevyRefund] = strawberry.field(description="還付・充当")


@strawberry.type(
    description=(
        "The information provided or transferred about one person: one field per information item, "
        "null unless the item is in `items`."
    )
)
class ProvidedInformation:
    as_of: dt.date = strawberry.field(description="The day the answer was prepared")
    items: list[InformationItem] = strawberry.field(description="The information items this answer covers")
    qualification: ProvidedQualification | None = strawberry.field(
        description="QUALIFICATION (null also when the person holds no qualification)"
    )
    certification: ProvidedCertification | None = strawberry.field(
        description="CERTIFICATION: the certification valid on `asOf` (null also when there is none)"
    )
    copay_ratios: list[CopayRatio] | None = strawberry.field(description="COPAY_RATIO, newest first")
    cost_limits: list[CostReduction] | None = strawberry.field(description="COST_LIMIT (負担限度額認定)")
    reductions: list[CostReduction] | None = strawberry.field(description="REDUCTION (other 減免)")
    benefits: ProvidedBenefits | None = strawberry.field(description="BENEFITS")
    restrictions: list[BenefitRestriction] | None = strawberry.field(description="RESTRICTIONS")
    levies: list[ProvidedLevy] | None = strawberry.field(description="LEVY, newest fiscal year first")
    payment_status: list[ProvidedLevyPayment] | None = strawberry.field(
        description="PAYMENT_STATUS, newest fiscal year first"
    )
    community_programme: list[CommunityEligibility] | None = strawberry.field(
        description="COMMUNITY_PROGRAMME (事業対象者)"
    )
