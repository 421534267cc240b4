"""給付 — reimbursements, high-cost and combined benefits, reductions, restrictions, the federation's
claim results and recipient notices, and community programme eligibility.  Amounts are yen."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

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

__all__ = [
    "BenefitRestriction",
    "Benefits",
    "ClaimResult",
    "CombinedBenefit",
    "CommunityEligibility",
    "CostReduction",
    "HighCostBenefit",
    "RecipientNotice",
    "Reimbursement",
]


@strawberry.type(description="償還払 — paid in full by the person, the insured share claimed back.")
class Reimbursement:
    application_number: str = strawberry.field(description="申請書番号")
    kind: ReimbursementKind = strawberry.field(description="申請給付種類")
    service_month: dt.date = strawberry.field(description="サービス提供年月 (first day of the month)")
    applied_on: dt.date
    received_on: dt.date = strawberry.field(description="受付日")
    applicant_name: str | None
    applicant_relationship: ApplicantRelationship
    payment_method: PaymentMethod
    total_cost: int
    copay_amount: int = strawberry.field(description="利用者負担額")
    claimed_amount: int = strawberry.field(description="保険請求額")
    paid_amount: int | None = strawberry.field(description="支払金額 (null until decided)")
    reviewed_month: dt.date | None = strawberry.field(description="審査年月")
    decided_on: dt.date | None = strawberry.field(description="支給決定日")


@strawberry.type(description="高額介護サービス費 — copay above the monthly cap paid back.")
class HighCostBenefit:
    service_month: dt.date
    applied_on: dt.date
    household_code: str = strawberry.field(description="算定世帯コード")
    income_class: IncomeClass = strawberry.field(description="所得区分")
    cost_amount: int = strawberry.field(description="サービス費用額")
    copay_amount: int = strawberry.field(description="利用者負担額")
    cap_amount: int = strawberry.field(description="算定基準額")
    paid_amount: int = strawberry.field(description="高額支給額")
    payment_method: PaymentMethod
    decided_on: dt.date | None


@strawberry.type(description="高額医療合算介護サービス費 — medical and care copays combined over Aug – Jul.")
class CombinedBenefit:
    period_year: int = strawberry.field(description="The calculation period starts on Aug 1 of this year")
    applied_on: dt.date
    self_pay_amount: int = strawberry.field(description="自己負担額")
    paid_amount: int | None = strawberry.field(description="支給額 (null until decided)")
    decided_on: dt.date | None

    @strawberry.field(description="First day of the calculation period (Aug 1).")
    def period_from(self) -> dt.date:
        return dt.date(self.period_year, 8, 1)

    @strawberry.field(description="Last day of the calculation period (Jul 31 of the next year).")
    def period_to(self) -> dt.date:
        return dt.date(self.period_year + 1, 7, 31)


@strawberry.type(description="減免 / 負担限度額認定 — a reduction of the copay or of food and housing costs.")
class CostReduction:
    kind: ReductionKind
    applied_on: dt.date = strawberry.field(description="減額申請日")
    decided_on: dt.date | None = strawberry.field(description="減額認定日")
    valid_from: dt.date
    valid_to: dt.date
    stage: int | None = strawberry.field(description="負担限度額段階")
    reduction_percent: int | None
    notice_on: dt.date | None = strawberry.field(description="減額結果通知書作成日")


@strawberry.type(description="給付制限 — a restriction for unpaid premiums.")
class BenefitRestriction:
    kind: RestrictionKind
    decided_on: dt.date
    valid_from: dt.date
    valid_to: dt.date | None
    arrears_amount: int = strawberry.field(description="滞納額 when decided")
    note: str | None


@strawberry.type(description="給付実績 — a service paid by the federation (国保連): provider, month, type.")
class ClaimResult:
    service_month: dt.date
    provider_number: str = strawberry.field(description="事業所番号")
    service_type: ServiceType
    units: int = strawberry.field(description="単位数")
    cost_amount: int
    insurer_paid_amount: int
    copay_amount: int
    reviewed_month: dt.date = strawberry.field(description="審査年月")


@strawberry.type(description="受給者異動連絡 — what the city told the federation about a recipient.")
class RecipientNotice:
    kind: RecipientNoticeKind
    changed_on: dt.date = strawberry.field(description="異動年月日")
    sent_on: dt.date
    care_level: CareLevel | None


@strawberry.type(description="事業対象者 — eligible for the community programme (総合事業).")
class CommunityEligibility:
    checked_on: dt.date = strawberry.field(description="基本チェックリスト実施日")
    valid_from: dt.date
    valid_to: dt.date | None


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


@strawberry.type(description="給付 — the benefit records of one person.  Every list is newest first.")
class Benefits:
    person_pk: strawberry.Private[int]

    @strawberry.field
    async def reimbursements(self, info: GraphQLInfo) -> list[Reimbursement]:
        return await info.context.loaders.reimbursements.load(self.person_pk)

    @strawberry.field
    async def high_cost(self, info: GraphQLInfo) -> list[HighCostBenefit]:
        return await info.context.loaders.high_cost_benefits.load(self.person_pk)

    @strawberry.field
    async def combined(self, info: GraphQLInfo) -> list[CombinedBenefit]:
        return await info.context.loaders.combined_benefits.load(self.person_pk)

    @strawberry.field
    async def reductions(self, info: GraphQLInfo) -> list[CostReduction]:
        return await info.context.loaders.cost_reductions.load(self.person_pk)

    @strawberry.field
    async def restrictions(self, info: GraphQLInfo) -> list[BenefitRestriction]:
        return await info.context.loaders.benefit_restrictions.load(self.person_pk)

    @strawberry.field(
        description=(
            "給付実績 whose service month lies in the months of `from` to `to`, inclusive "
            "(either may be omitted); newest month first."
        )
    )
    async def claim_results(
        self,
        info: GraphQLInfo,
        from_: Annotated[dt.date | None, strawberry.argument(name="from")] = None,
        to: dt.date | None = None,
    ) -> list[ClaimResult]:
        first = first_of_month(from_) if from_ is not None else None
        last = first_of_month(to) if to is not None else None
        if first is not None and last is not None and last < first:
            raise BadUserInput("`to` is before `from`", field="to", reason="REVERSED_RANGE")
        return await info.context.loaders.claim_results.load((self.person_pk, first, last))

    @strawberry.field
    async def recipient_notices(self, info: GraphQLInfo) -> list[RecipientNotice]:
        return await info.context.loaders.recipient_notices.load(self.person_pk)

    @strawberry.field
    async def community_eligibility(self, info: GraphQLInfo) -> list[CommunityEligibility]:
        return await info.context.loaders.community_eligibilities.load(self.person_pk)
