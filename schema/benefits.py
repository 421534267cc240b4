"""給付 — reimbursements, high-cost and combined benefits, reductions, restrictions, the federation's
claim results and recipient notices, and community programme eligibility.  Amounts are whole yen (円)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any

import strawberry
from sqlalchemy import func, or_

from .context import GraphQLInfo
from .enums import (
    ApplicantRelationship,
    CareLevel,
    IncomeClass,
    PaymentMethod,
    RecipientNoticeKind,
    ReductionKind,
    ReimbursementKind,
    RestrictionKind,
    ServiceType,
)
from .errors import BadUserInput
from .history import RecordChange, history_of
from .sources import Env, column, computed, related, relation, table

__all__ = [
    "BenefitRestriction",
    "Benefits",
    "ClaimResult",
    "CombinedBenefit",
    "CommunityEligibility",
    "CostReduction",
    "HighCostApplication",
    "HighCostBenefit",
    "RecipientNotice",
    "Reimbursement",
]


@strawberry.type(description="償還払 — paid in full by the person, the insured share claimed back.")
@table("reimbursements")
class Reimbursement:
    id: strawberry.ID = column(description="The application id (what its decision names).")
    application_number: str = column(description="申請書番号")
    kind: ReimbursementKind = column(description="申請給付種類")
    service_month: dt.date = column(description="サービス提供年月 (first day of the month)")
    applied_on: dt.date = column(description="申請日")
    received_on: dt.date = column(description="受付日")
    applicant_name: str | None = column(description="申請者氏名")
    applicant_relationship: ApplicantRelationship = column(description="申請者関係")
    payment_method: PaymentMethod = column(description="支払方法")
    total_cost: int = column(description="費用額 — the whole cost paid by the person (yen)")
    copay_amount: int = column(description="利用者負担額 (yen)")
    claimed_amount: int = column(description="保険請求額 (yen)")
    paid_amount: int | None = column(description="支払金額 (yen; null until decided)")
    reviewed_month: dt.date | None = column(description="審査年月")
    decided_on: dt.date | None = column(description="支給決定日")
    version: int = column(description="Changes with every write of the application.")
    history: list[RecordChange] = history_of("reimbursements")


@strawberry.type(description="高額介護サービス費 — copay above the monthly cap paid back.")
@table("high_cost_benefits")
class HighCostBenefit:
    service_month: dt.date = column(description="サービス提供年月 (first day of the month)")
    applied_on: dt.date = column(description="申請日")
    household_code: str = column(description="算定世帯コード")
    income_class: IncomeClass = column(description="所得区分")
    cost_amount: int = column(description="サービス費用額 (yen)")
    copay_amount: int = column(description="利用者負担額 (yen)")
    cap_amount: int = column(description="算定基準額 — the monthly cap (yen)")
    paid_amount: int = column(description="高額支給額 (yen)")
    payment_method: PaymentMethod = column(description="支払方法")
    decided_on: dt.date | None = column(description="支給決定日 (null until decided)")


@strawberry.type(
    description=(
        "高額介護サービス費 as the section works it: the application with its id, version and history (the "
        "benefit as provided to other bodies is HighCostBenefit, without them)."
    )
)
@table("high_cost_benefits")
class HighCostApplication(HighCostBenefit):
    id: strawberry.ID = column(description="The application id (what its decision names).")
    version: int = column(description="Changes with every write of the application.")
    history: list[RecordChange] = history_of("high_cost_benefits")


@strawberry.type(description="高額医療合算介護サービス費 — medical and care copays combined over Aug – Jul.")
@table("combined_benefits")
class CombinedBenefit:
    period_year: int = column(description="The calculation period starts on Aug 1 of this year")
    applied_on: dt.date = column(description="申請日")
    self_pay_amount: int = column(description="自己負担額 (yen)")
    paid_amount: int | None = column(description="支給額 (yen; null until decided)")
    decided_on: dt.date | None = column(description="支給決定日 (null until decided)")

    # Computed here rather than read: what a provision sends is stored as these objects' fields
    # (schema/snapshots.py), and the period follows from the year.
    @strawberry.field(
        description="First day of the calculation period (Aug 1).",
        metadata=computed(lambda row, env: func.make_date(row.period_year, 8, 1)),
    )
    def period_from(self) -> dt.date:
        return dt.date(self.period_year, 8, 1)

    @strawberry.field(
        description="Last day of the calculation period (Jul 31 of the next year).",
        metadata=computed(lambda row, env: func.make_date(row.period_year + 1, 7, 31)),
    )
    def period_to(self) -> dt.date:
        return dt.date(self.period_year + 1, 7, 31)


@strawberry.type(description="減免 / 負担限度額認定 — a reduction of the copay or of food and housing costs.")
@table("cost_reductions")
class CostReduction:
    kind: ReductionKind = column(description="減免種別")
    applied_on: dt.date = column(description="減額申請日")
    decided_on: dt.date | None = column(description="減額認定日")
    valid_from: dt.date = column(description="適用開始日")
    valid_to: dt.date = column(description="適用終了日")
    stage: int | None = column(description="負担限度額段階")
    reduction_percent: int | None = column(description="減額率 (%)")
    notice_on: dt.date | None = column(description="減額結果通知書作成日")


@strawberry.type(description="給付制限 — a restriction for unpaid premiums.")
@table("benefit_restrictions")
class BenefitRestriction:
    kind: RestrictionKind = column(description="給付制限種別")
    decided_on: dt.date = column(description="決定日")
    valid_from: dt.date = column(description="適用開始日")
    valid_to: dt.date | None = column(description="適用終了日 (null: until lifted)")
    arrears_amount: int = column(description="滞納額 when decided (yen)")
    note: str | None = column(description="備考")


@strawberry.type(description="給付実績 — a service paid by the federation (国保連): provider, month, type.")
@table("claim_results")
class ClaimResult:
    service_month: dt.date = column(description="サービス提供年月 (first day of the month)")
    provider_number: str = column(description="事業所番号")
    service_type: ServiceType = column(description="サービス種類")
    units: int = column(description="単位数")
    cost_amount: int = column(description="費用額 (yen)")
    insurer_paid_amount: int = column(description="保険給付額 (yen)")
    copay_amount: int = column(description="利用者負担額 (yen)")
    reviewed_month: dt.date = column(description="審査年月")


@strawberry.type(description="受給者異動連絡 — what the city told the federation about a recipient.")
@table("recipient_notices")
class RecipientNotice:
    kind: RecipientNoticeKind = column(description="受給者異動区分")
    changed_on: dt.date = column(description="異動年月日")
    sent_on: dt.date = column(description="送付日")
    care_level: CareLevel | None = column(description="要介護状態区分 notified (null: none)")


@strawberry.type(description="事業対象者 — eligible for the community programme (総合事業).")
@table("community_eligibilities")
class CommunityEligibility:
    checked_on: dt.date = column(description="基本チェックリスト実施日")
    valid_from: dt.date = column(description="該当開始日")
    valid_to: dt.date | None = column(description="該当終了日 (null while eligible)")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months(values: Mapping[str, Any]) -> dict[str, Any]:
    """The months of ``from`` to ``to``, inclusive (either may be omitted)."""
    from_, to = values.get("from_"), values.get("to")
    first = first_of_month(from_) if from_ is not None else None
    last = first_of_month(to) if to is not None else None
    if first is not None and last is not None and last < first:
        raise BadUserInput("`to` is before `from`", field="to", reason="REVERSED_RANGE")
    return {"first": first, "last": last}


def _in_months(row: Any, env: Env, p: Any) -> list[Any]:
    return [
        or_(p.first.is_(None), row.service_month >= p.first),
        or_(p.last.is_(None), row.service_month <= p.last),
    ]


async def _claim_results(
    self: Any,
    info: GraphQLInfo,
    from_: Annotated[
        dt.date | None,
        strawberry.argument(name="from", description="From the month of this date (any day of it)"),
    ] = None,
    to: Annotated[
        dt.date | None, strawberry.argument(description="To the month of this date, inclusive")
    ] = None,
) -> list[ClaimResult]:
    return await related(self, info, from_=from_, to=to)


def _newest(*columns: str) -> dict[str, Any]:
    return {"key": "person_id", "order_by": (*(f"{c} desc" for c in columns), "id desc")}


@strawberry.type(description="給付 — the benefit records of one person.  Every list is newest first.")
class Benefits:
    reimbursements: list[Reimbursement] = relation(
        **_newest("service_month", "applied_on"), description="償還払, newest service month first"
    )
    high_cost: list[HighCostBenefit] = relation(
        **_newest("service_month"), description="高額介護サービス費, newest service month first"
    )
    high_cost_applications: list[HighCostApplication] = relation(
        **_newest("service_month"),
        description="高額介護サービス費 as written: with the id and version a write names, and the history",
    )
    combined: list[CombinedBenefit] = relation(
        **_newest("period_year"), description="高額医療合算介護サービス費, newest period first"
    )
    reductions: list[CostReduction] = relation(
        **_newest("valid_from"), description="減免 and 負担限度額認定, newest first"
    )
    restrictions: list[BenefitRestriction] = relation(
        **_newest("valid_from"), description="給付制限, newest first"
    )

    claim_results: list[ClaimResult] = relation(
        "person_id",
        order_by=("service_month desc", "service_type", "provider_number", "id"),
        params={"first": dt.date, "last": dt.date},
        arguments=_months,
        where=_in_months,
        description=(
            "給付実績 whose service month lies in the months of `from` to `to`, inclusive "
            "(either may be omitted); newest month first."
        ),
    )(_claim_results)
    recipient_notices: list[RecipientNotice] = relation(
        **_newest("changed_on"), description="受給者異動連絡, newest first"
    )
    community_eligibility: list[CommunityEligibility] = relation(
        **_newest("valid_from"), description="事業対象者, newest first"
    )
