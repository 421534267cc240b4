"""提供する情報 — what a provision or a transfer sends: the person's records, restricted to the permitted items.

One nullable field per information item (information_items.toml): null when the item was not
provided, an empty list (or null object) when it was and the city holds nothing. ``items`` says which
items the answer covers. The fields follow each item's ``fields``; the certification's working papers
and the names of applicants (third persons) are never part of it, and neither is the individual
number: the network identifies the person by the linkage code (符号), a department by the 宛名コード.

Only plain data types: an answer is stored as JSON with its record (schema/snapshots.py) and replayed.
The fields state their sources as the read types do (schema/sources.py), as plain fields (``held``):
the executor's path gathers them (resolvers/provided_information.py), the planner reads the same rows
with one statement for a whole transfer page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import strawberry
from sqlalchemy import select

from policies.codes import table as code_table

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
from .levies import LevyReceipt, LevyRefund, LevyReminder, arrears_sql, outstanding_sql, paid_sql, status_sql
from .qualifications import CertificateIssuance, CopayRatio, FacilityAdmission, QualificationEvent
from .sources import Env, column, embedded, expression, parameter, relation, table
from .validity import valid_on_request_date

__all__ = [
    "PERSON_DERIVED",
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


def _newest(*columns: str) -> tuple[str, ...]:
    return (*(f"{c} desc" for c in columns), "id desc")


@strawberry.type(description="QUALIFICATION (資格情報) as provided.")
@table("qualifications")
class ProvidedQualification:
    insured_number: str = column(description="被保険者番号")
    category: InsuredCategory = column(description="被保険者区分")
    first_category_on: dt.date | None = column(description="一号該当日")
    acquired_on: dt.date = column(description="資格取得日")
    acquisition_reason: QualificationEventReason = column(description="資格取得事由")
    lost_on: dt.date | None = column(description="資格喪失日")
    loss_reason: QualificationEventReason | None = column(description="資格喪失事由")
    exempt: bool = column(description="適用除外")
    exemption_reason: str | None = column(description="適用除外の理由")
    boundary_layer: bool = column(description="境界層該当")
    boundary_layer_since: dt.date | None = column(description="境界層該当日")
    domicile_exception: bool = column(description="住所地特例")
    events: list[QualificationEvent] = relation(
        "qualification_id", order_by=("occurred_on", "id"), held=True, description="資格異動, oldest first"
    )
    facility_admissions: list[FacilityAdmission] = relation(
        "qualification_id", order_by=_newest("admitted_on"), held=True, description="施設入所, newest first"
    )
    certificates: list[CertificateIssuance] = relation(
        "qualification_id", order_by=_newest("issued_on"), held=True, description="証発行, newest first"
    )


@strawberry.type(
    description="CERTIFICATION (要介護認定情報): the certification valid on `asOf`, outcome only."
)
@table("certifications")
class ProvidedCertification:
    applied_on: dt.date = column(description="申請日")
    application_type: ApplicationType = column(description="申請区分")
    care_level: CareLevel = column(description="要介護状態区分")
    decided_on: dt.date = column(description="要介護認定日")
    valid_from: dt.date | None = column(description="認定有効開始日")
    valid_to: dt.date | None = column(description="認定有効終了日")
    service_types_limited: bool = column(description="サービス種類の指定あり")
    cancelled_on: dt.date | None = column(description="認定取消日")


@strawberry.type(description="償還払 as provided (without the applicant, a third person).")
@table("reimbursements")
class ProvidedReimbursement:
    application_number: str = column(description="申請書番号")
    kind: ReimbursementKind = column(description="申請給付種類")
    service_month: dt.date = column(description="サービス提供年月 (first day of the month)")
    applied_on: dt.date = column(description="申請日")
    received_on: dt.date = column(description="受付日")
    payment_method: PaymentMethod = column(description="支払方法")
    total_cost: int = column(description="費用額 (yen)")
    copay_amount: int = column(description="利用者負担額 (yen)")
    claimed_amount: int = column(description="保険請求額 (yen)")
    paid_amount: int | None = column(description="支払金額 (yen; null until decided)")
    reviewed_month: dt.date | None = column(description="審査年月")
    decided_on: dt.date | None = column(description="支給決定日")


@strawberry.type(description="BENEFITS (給付情報) as provided; every list newest first.")
class ProvidedBenefits:
    claim_results: list[ClaimResult] = relation(
        "person_id",
        order_by=("service_month desc", "service_type", "provider_number", "id"),
        held=True,
        description="給付実績",
    )
    recipient_notices: list[RecipientNotice] = relation(
        "person_id", order_by=_newest("changed_on"), held=True, description="受給者異動連絡"
    )
    reimbursements: list[ProvidedReimbursement] = relation(
        "person_id", order_by=_newest("service_month", "applied_on"), held=True, description="償還払"
    )
    high_cost: list[HighCostBenefit] = relation(
        "person_id", order_by=_newest("service_month"), held=True, description="高額介護サービス費"
    )
    combined: list[CombinedBenefit] = relation(
        "person_id", order_by=_newest("period_year"), held=True, description="高額医療合算介護サービス費"
    )


@strawberry.type(description="期別 of a levy as provided (LEVY).")
@table("levy_installments")
class ProvidedInstallment:
    assessment_year: int = column(description="調定年度")
    period: int = column(description="期別")
    due_on: dt.date = column(description="納期限")
    amount: int = column(description="期別保険料額 (yen)")
    collection_method: CollectionMethod = column(description="徴収方法")


@strawberry.type(description="LEVY (賦課情報): one fiscal year's levy as provided.")
@table("levies")
class ProvidedLevy:
    fiscal_year: int = column(description="賦課年度")
    levied_on: dt.date = column(description="賦課期日")
    income_stage: IncomeStage = column(description="所得段階")
    annual_premium: int = column(description="保険料額 before reduction (yen)")
    reduction_amount: int = column(description="減免額 (yen)")
    collection_method: CollectionMethod = column(description="徴収方法")
    pension_payer: PensionPayer | None = column(description="特別徴収義務者 (pension deduction only)")
    corrected_on: dt.date | None = column(description="賦課更正日")
    correction_reason: LevyCorrectionReason | None = column(description="賦課更正事由")
    installments: list[ProvidedInstallment] = relation(
        "levy_id", order_by=("period",), held=True, description="期別, by period"
    )


@strawberry.type(description="PAYMENT_STATUS of one installment, as of `asOf`.")
@table("levy_installments", derived={"paid_amount": paid_sql})
class ProvidedInstallmentPayment:
    period: int = column(description="期別")
    due_on: dt.date = column(description="納期限")
    paid_amount: int = column(description="Sum of the receipts (yen)")
    outstanding_amount: int = expression(outstanding_sql, description="Not yet paid (yen)")
    status: InstallmentStatus = expression(status_sql, description="State on `asOf`")
    receipts: list[LevyReceipt] = relation(
        "installment_id", order_by=("paid_on", "id"), held=True, description="収納"
    )
    reminders: list[LevyReminder] = relation(
        "installment_id", order_by=("sent_on", "id"), held=True, description="督促・催告"
    )


@strawberry.type(description="PAYMENT_STATUS (収納・滞納情報) of one fiscal year's levy, as of `asOf`.")
@table("levies")
class ProvidedLevyPayment:
    fiscal_year: int = column(description="賦課年度")
    arrears_amount: int = expression(arrears_sql, description="滞納額 on `asOf`")
    installments: list[ProvidedInstallmentPayment] = relation(
        "levy_id", order_by=("period",), held=True, description="期別, by period"
    )
    refunds: list[LevyRefund] = relation(
        "levy_id", order_by=("decided_on", "id"), held=True, description="還付・充当"
    )


def _first_qualification(person: Any, env: Env) -> Any:
    """The person's qualification a provision sends (the latest acquired), as gathered."""
    q = env.table("qualifications")
    first = select(q.c.id).where(q.c.person_id == person.id).order_by(q.c.acquired_on.desc(), q.c.id)
    return first.limit(1).scalar_subquery()


def _cost_limits(reduction: Any, env: Env, params: Any) -> list[Any]:
    return [reduction.kind == _COST_LIMIT]


def _other_reductions(reduction: Any, env: Env, params: Any) -> list[Any]:
    return [reduction.kind != _COST_LIMIT]


_COST_LIMIT: Final = code_table("reduction_kind").by_name("COST_LIMIT").code  # 負担限度額認定

PERSON_DERIVED: Final = {"qualification_id": _first_qualification}
"""What a provision reads with the person's row: the qualification it sends (its copay ratios are that one's)."""


@strawberry.type(
    description=(
        "The information provided or transferred about one person: one field per information item, "
        "null unless the item is in `items`."
    )
)
@table("persons", derived=PERSON_DERIVED)
class ProvidedInformation:
    as_of: dt.date = expression(lambda row, env: env.today, description="The day the answer was prepared")
    items: list[InformationItem] = parameter("items", description="The information items this answer covers")
    qualification: ProvidedQualification | None = relation(
        "person_id",
        order_by=("acquired_on desc", "id"),
        single=True,
        held=True,
        item="QUALIFICATION",
        description="QUALIFICATION (null also when the person holds no qualification)",
    )
    certification: ProvidedCertification | None = relation(
        "person_id",
        where=valid_on_request_date,
        order_by=("valid_from desc", "id desc"),
        single=True,
        held=True,
        item="CERTIFICATION",
        description="CERTIFICATION: the certification valid on `asOf` (null also when there is none)",
    )
    copay_ratios: list[CopayRatio] | None = relation(
        "qualification_id",
        parent="qualification_id",
        order_by=("fiscal_year desc",),
        held=True,
        item="COPAY_RATIO",
        description="COPAY_RATIO, newest first",
    )
    cost_limits: list[CostReduction] | None = relation(
        "person_id",
        where=_cost_limits,
        order_by=_newest("valid_from"),
        held=True,
        item="COST_LIMIT",
        description="COST_LIMIT (負担限度額認定)",
    )
    reductions: list[CostReduction] | None = relation(
        "person_id",
        where=_other_reductions,
        order_by=_newest("valid_from"),
        held=True,
        item="REDUCTION",
        description="REDUCTION (other 減免)",
    )
    benefits: ProvidedBenefits | None = embedded(item="BENEFITS", description="BENEFITS")
    restrictions: list[BenefitRestriction] | None = relation(
        "person_id",
        order_by=_newest("valid_from"),
        held=True,
        item="RESTRICTIONS",
        description="RESTRICTIONS",
    )
    levies: list[ProvidedLevy] | None = relation(
        "person_id",
        order_by=("fiscal_year desc",),
        held=True,
        item="LEVY",
        description="LEVY, newest fiscal year first",
    )
    payment_status: list[ProvidedLevyPayment] | None = relation(
        "person_id",
        order_by=("fiscal_year desc",),
        held=True,
        item="PAYMENT_STATUS",
        description="PAYMENT_STATUS, newest fiscal year first",
    )
    community_programme: list[CommunityEligibility] | None = relation(
        "person_id",
        order_by=_newest("valid_from"),
        held=True,
        item="COMMUNITY_PROGRAMME",
        description="COMMUNITY_PROGRAMME (事業対象者)",
    )
