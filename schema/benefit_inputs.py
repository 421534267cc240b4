"""給付 written by staff: reimbursement (償還払い) and high-cost benefit (高額介護サービス費) applications and
their decisions, and the cost-limit certification (負担限度額認定). Amounts are yen.
"""

from __future__ import annotations

import datetime as dt

import strawberry

from policies.benefits import benefit_rules
from policies.codes import table as code_table

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
_PERSON = (
    "The person (`Person.id`), insured some day of the service month (INVALID_TRANSITION NOT_INSURED "
    "otherwise); NOT_FOUND when there is none"
)
_APPLIED = "申請日: not after today (BAD_USER_INPUT OUT_OF_RANGE)"
_APPLIED_AFTER_SERVICE = (
    f"{_APPLIED}; the service month is not after its month (OUT_OF_RANGE on serviceMonth)"
)
_DECIDED = (
    "支給決定日: not before the application nor after today (BAD_USER_INPUT OUT_OF_RANGE); a decided "
    "application is INVALID_TRANSITION DECIDED"
)
_PAYMENT = "支払方法 — how the benefit is paid out"
_CLASSES = code_table("income_class").values
_CAPS = ", ".join(f"{v.name} {int(v.extra['cap']):,}" for v in _CLASSES)
_INDIVIDUAL = ", ".join(v.name for v in _CLASSES if v.code in benefit_rules().individual_classes)


@strawberry.input(
    description="償還払い — the person paid a service in full and claims the insured share back."
)
class ApplyForReimbursementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(description=_PERSON)
    kind: ReimbursementKind = strawberry.field(description="申請給付種類 — what the reimbursement pays back")
    service_month: dt.date = strawberry.field(description="Any day of the service month")
    applied_on: dt.date = strawberry.field(description=_APPLIED_AFTER_SERVICE)
    received_on: dt.date | None = strawberry.field(default=None, description="受付日 (default: appliedOn)")
    applicant_name: str | None = strawberry.field(
        default=None, description="申請者氏名 (at most 100 characters)"
    )
    applicant_relationship: ApplicantRelationship = strawberry.field(description="申請者関係 — who applied")
    payment_method: PaymentMethod = strawberry.field(description=_PAYMENT)
    total_cost: int = strawberry.field(description="What the person paid, in all")


@strawberry.input(description="支給決定 of a reimbursement: at most the insured share.")
class DecideReimbursementInput:
    request_id: str = strawberry.field(description=_REQUEST)
    reimbursement_id: strawberry.ID = strawberry.field(
        description="The application (`Reimbursement.id`); NOT_FOUND when there is none"
    )
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date = strawberry.field(description=_DECIDED)
    paid_amount: int | None = strawberry.field(default=None, description="Default: the insured share claimed")
    reviewed_month: dt.date | None = strawberry.field(
        default=None, description="審査年月 (default: the decision's)"
    )


@strawberry.input(
    description="高額介護サービス費 — computed from the month's claim results and the income class's cap."
)
class ApplyForHighCostBenefitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(description=_PERSON)
    service_month: dt.date = strawberry.field(
        description=(
            "Any day of the service month: one application a month (INVALID_TRANSITION ALREADY_APPLIED), with "
            "claim results of the person that month (NO_CLAIM_RESULTS otherwise)"
        )
    )
    applied_on: dt.date = strawberry.field(description=_APPLIED_AFTER_SERVICE)
    income_class: IncomeClass = strawberry.field(
        description=(
            f"所得区分 — sets the month's cap in yen ({_CAPS}): the household's copays together above it, "
            f"shared by the members' copays; {_INDIVIDUAL}: the person's own copay above it"
        )
    )
    payment_method: PaymentMethod = strawberry.field(description=_PAYMENT)


@strawberry.input(
    description="支給決定 of a high-cost benefit: computed again from the claim results as they now are."
)
class DecideHighCostBenefitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    high_cost_benefit_id: strawberry.ID = strawberry.field(
        description="The application (`HighCostApplication.id`); NOT_FOUND when there is none"
    )
    version: int = strawberry.field(description=_VERSION)
    decided_on: dt.date = strawberry.field(description=_DECIDED)


@strawberry.input(
    description="負担限度額認定 — the stage from the household's tax status, income and savings."
)
class CertifyCostLimitInput:
    request_id: str = strawberry.field(description=_REQUEST)
    person_id: strawberry.ID = strawberry.field(
        description=(
            "The person (`Person.id`), insured in the month of appliedOn (INVALID_TRANSITION NOT_INSURED "
            "otherwise) and certified on it, 非該当 aside (NOT_CERTIFIED otherwise)"
        )
    )
    applied_on: dt.date = strawberry.field(
        description=(
            f"{_APPLIED}; the certification runs from its month to 31 July, one in force at a time "
            "(INVALID_TRANSITION ALREADY_CERTIFIED)"
        )
    )
    household_tax_exempt: bool = strawberry.field(description="世帯全員が市町村民税非課税")
    welfare: bool = strawberry.field(description="生活保護")
    pension_and_other_income: int = strawberry.field(description="年金収入＋その他の合計所得金額")
    savings: int = strawberry.field(description="預貯金等 (the spouse's included)")
    married: bool = strawberry.field(description="配偶者あり")


@strawberry.type(
    description="負担限度額認定: eligible with its stage and the reduction recorded, or not eligible."
)
class CostLimitDecision:
    eligible: bool = strawberry.field(
        description="false: no stage applies; nothing was recorded (stage and reduction null)"
    )
    stage: int | None = strawberry.field(description="1-4: 第1段階, 第2段階, 第3段階①, 第3段階②")
    reduction: CostReduction | None = strawberry.field(
        description="The certification recorded (eligible only)"
    )
