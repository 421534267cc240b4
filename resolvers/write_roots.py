"""The root fields of the write side (issue 18), one group per area, joined into the root Mutation and
Query (resolvers/mutation.py, resolvers/query.py inherit them).

Every field carries the write duty of its area (``@requiresDuty``), so a role's view holds only the
mutations its duties allow; each resolver checks the duty again. One operation, one transaction, its
audit entry written by the HTTP layer (api/audit.py) with the persons the write touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from schema.benefit_inputs import (
    ApplyForHighCostBenefitInput,
    ApplyForReimbursementInput,
    CertifyCostLimitInput,
    CostLimitDecision,
    DecideHighCostBenefitInput,
    DecideReimbursementInput,
)
from schema.benefits import HighCostApplication, Reimbursement
from schema.certification_inputs import (
    ApplyForCertificationInput,
    CancelCertificationInput,
    DecideCertificationInput,
    PendingCertification,
    PostponeCertificationInput,
    RecordCommitteeJudgementInput,
    RecordDoctorOpinionInput,
    RecordPrimaryJudgementInput,
    RecordSurveyInput,
)
from schema.certifications import Certification
from schema.duties import (
    NUMBER_USE,
    WRITE_BENEFITS,
    WRITE_CERTIFICATIONS,
    WRITE_INDIVIDUAL_NUMBERS,
    WRITE_LEVIES,
    WRITE_QUALIFICATIONS,
    WRITE_RESIDENTS,
    requires_duty,
)
from schema.individual_numbers import RecordIndividualNumberInput
from schema.intake import ReceivedResidentChange, ResidentChangeInput, ResidentChangeResult
from schema.levies import Levy
from schema.levy_inputs import (
    AssessPremiumInput,
    PostReceiptInput,
    ReducePremiumInput,
    RefundOverpaymentInput,
    SendReminderInput,
)
from schema.persons import Person
from schema.qualification_inputs import (
    AcquireQualificationInput,
    ChangeInsuredCategoryInput,
    DetermineCopayRatioInput,
    EndDomicileExceptionInput,
    ExemptionInput,
    IssueCertificateInput,
    LoseQualificationInput,
    StartDomicileExceptionInput,
)
from schema.qualifications import Qualification

from . import benefit_writes as bw
from . import certification_writes as cw
from . import levy_writes as lw
from . import number_writes, resident_writes
from . import qualification_writes as qw
from .context import Context

__all__ = ["WriteMutations", "WriteQueries"]

Info = strawberry.Info[Context, None]


@strawberry.type
class ResidentMutations:
    @strawberry.mutation(
        description=(
            "住民異動 — one change of the resident register, applied as the daily feed's line would be: the person "
            "made or changed, the move recorded, the qualification acquired or lost as the law says "
            "(ResidentChangeApplied), or queued for staff with the reason (ResidentChangeQueued)."
        ),
        directives=requires_duty(WRITE_RESIDENTS),
    )
    async def record_resident_change(self, info: Info, input: ResidentChangeInput) -> ResidentChangeResult:
        return await resident_writes.record_resident_change(info.context, input)

    @strawberry.mutation(
        description="Close a queued change of the register once dealt with (INVALID_TRANSITION when not open).",
        directives=requires_duty(WRITE_RESIDENTS),
    )
    async def close_resident_change_review(
        self, info: Info, id: strawberry.ID, version: int, note: str
    ) -> ReceivedResidentChange:
        return await resident_writes.close_review(info.context, id, version, note)


def _qualification(description: str) -> Any:
    """``@strawberry.mutation`` of the qualifications' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_QUALIFICATIONS))


@strawberry.type
class QualificationMutations:
    @_qualification(
        "資格取得 — the person becomes insured (FIRST at 65+, SECOND at 40-64), or again after a loss."
    )
    async def acquire_qualification(self, info: Info, input: AcquireQualificationInput) -> Qualification:
        return await qw.acquire(info.context, input)

    @_qualification("資格喪失 — death or moving out (an exemption is setExemption).")
    async def lose_qualification(self, info: Info, input: LoseQualificationInput) -> Qualification:
        return await qw.lose(info.context, input)

    @_qualification("2号→1号 — a second-category insured person reached 65.")
    async def change_insured_category(self, info: Info, input: ChangeInsuredCategoryInput) -> Qualification:
        return await qw.change_category(info.context, input)

    @_qualification("住所地特例 starts: a facility stay elsewhere, the person stays insured here.")
    async def start_domicile_exception(self, info: Info, input: StartDomicileExceptionInput) -> Qualification:
        return await qw.start_domicile_exception(info.context, input)

    @_qualification("住所地特例 ends: the facility stay ended.")
    async def end_domicile_exception(self, info: Info, input: EndDomicileExceptionInput) -> Qualification:
        return await qw.end_domicile_exception(info.context, input)

    @_qualification(
        "適用除外 — the person enters (exempt: true, the qualification ends) or leaves an exempt facility."
    )
    async def set_exemption(self, info: Info, input: ExemptionInput) -> Qualification:
        return await qw.set_exemption(info.context, input)

    @_qualification("証発行 — record a certificate issued (被保険者証, 負担割合証 …).")
    async def issue_certificate(self, info: Info, input: IssueCertificateInput) -> Qualification:
        return await qw.issue_certificate(info.context, input)

    @_qualification("負担割合 — decide the copay ratio (10/20/30 %) of a certificate year from income.")
    async def determine_copay_ratio(self, info: Info, input: DetermineCopayRatioInput) -> Qualification:
        return await qw.determine_copay_ratio(info.context, input)


def _certification(description: str) -> Any:
    """``@strawberry.mutation`` of the certifications' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_CERTIFICATIONS))


@strawberry.type
class CertificationMutations:
    @_certification("申請 — a new, renewal (from 60 days before expiry) or level-change application.")
    async def apply_for_certification(self, info: Info, input: ApplyForCertificationInput) -> Certification:
        return await cw.apply(info.context, input)

    @_certification("訪問調査 — record the home-visit survey (APPLIED only).")
    async def record_survey(self, info: Info, input: RecordSurveyInput) -> Certification:
        return await cw.record_survey(info.context, input)

    @_certification("主治医意見書 — record the doctor's opinion (APPLIED only).")
    async def record_doctor_opinion(self, info: Info, input: RecordDoctorOpinionInput) -> Certification:
        return await cw.record_doctor_opinion(info.context, input)

    @_certification("一次判定 — APPLIED → PRIMARY_JUDGED, once the survey and the opinion are in.")
    async def record_primary_judgement(self, info: Info, input: RecordPrimaryJudgementInput) -> Certification:
        return await cw.record_primary_judgement(info.context, input)

    @_certification("二次判定 — PRIMARY_JUDGED → COMMITTEE_JUDGED: the committee's level.")
    async def record_committee_judgement(
        self, info: Info, input: RecordCommitteeJudgementInput
    ) -> Certification:
        return await cw.record_committee_judgement(info.context, input)

    @_certification("認定 — COMMITTEE_JUDGED → DECIDED: the level and a validity within the law's bounds.")
    async def decide_certification(self, info: Info, input: DecideCertificationInput) -> Certification:
        return await cw.decide(info.context, input)

    @_certification("処分延期 — the decision comes later than 30 days: the reason and the day expected.")
    async def postpone_certification(self, info: Info, input: PostponeCertificationInput) -> Certification:
        return await cw.postpone(info.context, input)

    @_certification("取下げ or 認定取消 — the case ends CANCELLED.")
    async def cancel_certification(self, info: Info, input: CancelCertificationInput) -> Certification:
        return await cw.cancel(info.context, input)


def _levy(description: str) -> Any:
    """``@strawberry.mutation`` of the levies' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_LEVIES))


@strawberry.type
class LevyMutations:
    @_levy(
        "本算定 — a person's levy of a fiscal year (or its correction) from the income stage and the city's table."
    )
    async def assess_premium(self, info: Info, input: AssessPremiumInput) -> Levy:
        return await lw.assess(info.context, input)

    @_levy(
        "収納 — a payment reconciled (消込) against the oldest outstanding installments; an over-payment is kept."
    )
    async def post_receipt(self, info: Info, input: PostReceiptInput) -> Levy:
        return await lw.post_receipt(info.context, input)

    @_levy("督促 (with the fee) or 催告 of an overdue installment whose claim has not lapsed.")
    async def send_reminder(self, info: Info, input: SendReminderInput) -> Levy:
        return await lw.send_reminder(info.context, input)

    @_levy("減免 — the levy's reduction, taken off the unpaid installments.")
    async def reduce_premium(self, info: Info, input: ReducePremiumInput) -> Levy:
        return await lw.reduce(info.context, input)

    @_levy("還付 or 充当 of an over-payment.")
    async def refund_overpayment(self, info: Info, input: RefundOverpaymentInput) -> Levy:
        return await lw.refund(info.context, input)


def _benefit(description: str) -> Any:
    """``@strawberry.mutation`` of the benefits' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_BENEFITS))


@strawberry.type
class BenefitMutations:
    @_benefit("償還払い — the insured share of a service paid in full (the copay by the year's ratio).")
    async def apply_for_reimbursement(self, info: Info, input: ApplyForReimbursementInput) -> Reimbursement:
        return await bw.apply_reimbursement(info.context, input)

    @_benefit("支給決定 of a reimbursement (DECIDED once).")
    async def decide_reimbursement(self, info: Info, input: DecideReimbursementInput) -> Reimbursement:
        return await bw.decide_reimbursement(info.context, input)

    @_benefit("高額介護サービス費 — the month's copay above the income class's cap, from the claim results.")
    async def apply_for_high_cost_benefit(
        self, info: Info, input: ApplyForHighCostBenefitInput
    ) -> HighCostApplication:
        return await bw.apply_high_cost(info.context, input)

    @_benefit("支給決定 of a high-cost benefit, computed again from the claim results.")
    async def decide_high_cost_benefit(
        self, info: Info, input: DecideHighCostBenefitInput
    ) -> HighCostApplication:
        return await bw.decide_high_cost(info.context, input)

    @_benefit("負担限度額認定 — the stage from the household's tax status, income and savings, to 31 July.")
    async def certify_cost_limit(self, info: Info, input: CertifyCostLimitInput) -> CostLimitDecision:
        return await bw.certify_cost_limit(info.context, input)


@strawberry.type
class NumberMutations:
    @strawberry.mutation(
        description=(
            "個人番号 — set (NEW) or correct a person's individual number with the identity check (本人確認): the "
            "check digit enforced, a number of another person refused (NUMBER_IN_USE), stored encrypted."
        ),
        directives=requires_duty(NUMBER_USE, WRITE_INDIVIDUAL_NUMBERS),
    )  # requires duty: number_use
    async def record_individual_number(self, info: Info, input: RecordIndividualNumberInput) -> Person:
        return await number_writes.record_individual_number(info.context, input)


@strawberry.type
class WriteMutations(
    ResidentMutations,
    QualificationMutations,
    CertificationMutations,
    LevyMutations,
    BenefitMutations,
    NumberMutations,
):
    """Every area's write mutations."""


@strawberry.type
class WriteQueries:
    @strawberry.field(
        description="Changes of the register waiting for staff (queued, not closed), oldest first.",
        directives=requires_duty(WRITE_RESIDENTS),
    )
    async def resident_change_reviews(
        self, info: Info, first: int = 100, after: strawberry.ID | None = None
    ) -> list[ReceivedResidentChange] | None:  # nullable: a refused page leaves the other root fields
        return await resident_writes.reviews(info.context, first, after)

    @strawberry.field(
        description=(
            "The work queue: open certification cases whose decision is due before `dueBefore` (default: the "
            "request date, i.e. overdue; due 30 days after the application, or the day a postponement "
            "expects), the earliest first."
        ),
        directives=requires_duty(WRITE_CERTIFICATIONS),
    )
    async def pending_certifications(
        self,
        info: Info,
        due_before: dt.date | None = None,
        first: int = 100,
        after: strawberry.ID | None = None,
    ) -> list[PendingCertification] | None:  # nullable: a refused page leaves the other root fields
        return await cw.pending(info.context, due_before or info.context.today, first, after)
