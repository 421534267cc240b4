"""給付 written by staff: reimbursement (償還払い) and high-cost benefit (高額介護サービス費) applications and
their decisions, and the cost-limit certification (負担限度額認定). Amounts are yen.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from .benefits import CostReduction
from .enums import ApplicantRelationship, IncomeClass, PaymentMethod, ReimbursementKind

__all__ = [
    "ApplyForHighCostBenefitInput",
    "ApplyForReimbursementInput",
    "CertifyCostLimitInput",
    "CostLimitDecision",
    "DecideHighCostBenefitInput",
    "DecideReimbursementInput",
]

_REQUEST = "Idempotency key: the same id and input answer the same"
_VERSION = "The application's version read; CONFLICT when it changed since"


@strawberry.input(
    description="償還払い — the person paid a service in full and claims the insured share back."
)
class ApplyForReimbursementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    kind: ReimbursementKind
    service_month: dt.date = strawberry.field(description="Any day of the service month")
    applied_on: dt.date
    received_on: dt.date | None = strawberry.field(default=None, description="受付日 (default: appliedOn)")
    applicant_name: str | None = None
    applicant_relationship: ApplicantRelationship
    payment_method: PaymentMethod
    total_cost: int = strawberry.field(description="What the person paid, in all")


@strawberry.input(description="支給決定 of a reimbursement: at most the insured share.")
class DecideReimbursementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    reimbursement_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date
    paid_amount: int | None = strawberry.field(default=None, description="Default: the insured share claimed")
    reviewed_month: dt.date | None = strawberry.field(
        default=None, description="審査年月 (default: the decision's)"
    )


@strawberry.input(
    description="高額介護サービス費 — computed from the month's claim results and the income class's cap."
)
class ApplyForHighCostBenefitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    service_month: dt.date = strawberry.field(description="Any day of the service month")
    applied_on: dt.date
    income_class: IncomeClass
    payment_method: PaymentMethod


@strawberry.input(
    description="支給決定 of a high-cost benefit: computed again from the claim results as they now are."
)
class DecideHighCostBenefitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    high_cost_benefit_id: strawberry.ID
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date


@strawberry.input(
    description="負担限度額認定 — the stage from the household's tax status, income and savings."
)
class CertifyCostLimitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID
    applied_on: dt.date
    household_tax_exempt: bool = strawberry.field(description="世帯全員が市町村民税非課税")
    welfare: bool = strawberry.field(description="生活保護")
    pension_and_other_income: int = strawberry.field(description="年金収入＋その他の合計所得金額")
    savings: int = strawberry.field(description="預貯金等 (the spouse's included)")
    married: bool = strawberry.field(description="配偶者あり")


@strawberry.type(
    description="負担限度額認定: eligible with its stage and the reduction recorded, or not eligible."
)
class CostLimitDecision:
    eligible: bool
    stage: int | None = strawberry.field(description="1-4: 第1段階, 第2段階, 第3段階①, 第3段階②")
    reduction: CostReduction | None = strawberry.field(
        description="The certification recorded (eligible only)"
    )
