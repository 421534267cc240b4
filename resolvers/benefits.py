"""給付 — benefit rows to schema objects, and the claim-result loader (one statement per date range)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Row
from strawberry.dataloader import DataLoader

from persistence.db import SerialSession
from persistence.models import ClaimResult as ClaimResultRow
from schema.benefits import (
    BenefitRestriction,
    ClaimResult,
    CombinedBenefit,
    CommunityEligibility,
    CostReduction,
    HighCostBenefit,
    RecipientNotice,
    Reimbursement,
)
from schema.context import ClaimResultKey
from schema.enums import (
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

from .batch import int_keys, rows_by_keys

__all__ = [
    "claim_result_loader",
    "combined_from_row",
    "community_from_row",
    "high_cost_from_row",
    "notice_from_row",
    "reduction_from_row",
    "reimbursement_from_row",
    "restriction_from_row",
]

claim_results = ClaimResultRow.__table__


def reimbursement_from_row(r: Row[Any]) -> Reimbursement:
    return Reimbursement(
        application_number=r.application_number,
        kind=ReimbursementKind(r.kind),
        service_month=r.service_month,
        applied_on=r.applied_on,
        received_on=r.received_on,
        applicant_name=r.applicant_name,
        applicant_relationship=ApplicantRelationship(r.applicant_relationship),
        payment_method=PaymentMethod(r.payment_method),
        total_cost=r.total_cost,
        copay_amount=r.copay_amount,
        claimed_amount=r.claimed_amount,
        paid_amount=r.paid_amount,
        reviewed_month=r.reviewed_month,
        decided_on=r.decided_on,
    )


def high_cost_from_row(r: Row[Any]) -> HighCostBenefit:
    return HighCostBenefit(
        service_month=r.service_month,
        applied_on=r.applied_on,
        household_code=r.household_code,
        income_class=IncomeClass(r.income_class),
        cost_amount=r.cost_amount,
        copay_amount=r.copay_amount,
        cap_amount=r.cap_amount,
        paid_amount=r.paid_amount,
        payment_method=PaymentMethod(r.payment_method),
        decided_on=r.decided_on,
    )


def combined_from_row(r: Row[Any]) -> CombinedBenefit:
    return CombinedBenefit(
        period_year=r.period_year,
        applied_on=r.applied_on,
        self_pay_amount=r.self_pay_amount,
        paid_amount=r.paid_amount,
        decided_on=r.decided_on,
    )


def reduction_from_row(r: Row[Any]) -> CostReduction:
    return CostReduction(
        kind=ReductionKind(r.kind),
        applied_on=r.applied_on,
        decided_on=r.decided_on,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        stage=r.stage,
        reduction_percent=r.reduction_percent,
        notice_on=r.notice_on,
    )


def restriction_from_row(r: Row[Any]) -> BenefitRestriction:
    return BenefitRestriction(
        kind=RestrictionKind(r.kind),
        decided_on=r.decided_on,
        valid_from=r.valid_from,
        valid_to=r.valid_to,
        arrears_amount=r.arrears_amount,
        note=r.note,
    )


def claim_result_from_row(r: Row[Any]) -> ClaimResult:
    return ClaimResult(
        service_month=r.service_month,
        provider_number=r.provider_number,
        service_type=ServiceType(r.service_type),
        units=r.units,
        cost_amount=r.cost_amount,
        insurer_paid_amount=r.insurer_paid_amount,
        copay_amount=r.copay_amount,
        reviewed_month=r.reviewed_month,
    )


def notice_from_row(r: Row[Any]) -> RecipientNotice:
    return RecipientNotice(
        kind=RecipientNoticeKind(r.kind),
        changed_on=r.changed_on,
        sent_on=r.sent_on,
        care_level=CareLevel(r.care_level) if r.care_level is not None else None,
    )


def community_from_row(r: Row[Any]) -> CommunityEligibility:
    return CommunityEligibility(checked_on=r.checked_on, valid_from=r.valid_from, valid_to=r.valid_to)


def claim_result_loader(db: SerialSession) -> DataLoader[ClaimResultKey, list[ClaimResult]]:
    """Claim results by (person, first month, last month): one statement per distinct month range
    in the batch — one for a query that asks every person for the same range."""
    c = claim_results.c

    async def load(keys: list[ClaimResultKey]) -> list[list[ClaimResult]]:
        by_range: defaultdict[tuple[Any, Any], list[int]] = defaultdict(list)
        for person_id, first, last in keys:
            by_range[(first, last)].append(person_id)
        found: dict[ClaimResultKey, list[ClaimResult]] = {}
        for (first, last), person_ids in by_range.items():
            statement = select(claim_results).where(int_keys(c.person_id))
            if first is not None:
                statement = statement.where(c.service_month >= first)
            if last is not None:
                statement = statement.where(c.service_month <= last)
            statement = statement.order_by(
                c.person_id, c.service_month.desc(), c.service_type, c.provider_number, c.id
            )
            for row in await rows_by_keys(db, statement, person_ids):
                found.setdefault((row.person_id, first, last), []).append(claim_result_from_row(row))
        return [found.get(key, []) for key in keys]

    return DataLoader(load_fn=load)
