"""The root fields of the write side (issue 18), one group per area, joined into the root Mutation and
Query (resolvers/mutation.py, resolvers/query.py inherit them).

Every field carries the write duty of its area (``@requiresDuty``), so a role's view holds only the
mutations its duties allow; each resolver checks the duty again. One operation, one transaction, its
audit entry written by the HTTP layer (api/audit.py) with the persons the write touched.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

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


def _about(description: str) -> Any:
    """An argument's description (``Annotated[T, _about("…")]``)."""
    return strawberry.argument(description=description)


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
    async def record_resident_change(
        self,
        info: Info,
        input: Annotated[ResidentChangeInput, _about("The change, as the register sends it")],
    ) -> ResidentChangeResult:
        return await resident_writes.record_resident_change(info.context, input)

    @strawberry.mutation(
        description="Close a queued change of the register once dealt with (INVALID_TRANSITION when not open).",
        directives=requires_duty(WRITE_RESIDENTS),
    )
    async def close_resident_change_review(
        self,
        info: Info,
        id: Annotated[
            strawberry.ID,
            _about(
                "The queued change (`ReceivedResidentChange.id`); NOT_FOUND when there is none, "
                "INVALID_TRANSITION (state APPLIED or CLOSED) when it is not open"
            ),
        ],
        version: Annotated[int, _about("The change's version read; CONFLICT when it changed since")],
        note: Annotated[str, _about("What staff did about it (1-2000 characters), kept with it")],
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
    async def acquire_qualification(
        self,
        info: Info,
        input: Annotated[
            AcquireQualificationInput,
            _about("The person, the category, the day and the reason"),
        ],
    ) -> Qualification:
        return await qw.acquire(info.context, input)

    @_qualification("資格喪失 — death or moving out (an exemption is setExemption).")
    async def lose_qualification(
        self,
        info: Info,
        input: Annotated[
            LoseQualificationInput,
            _about("The qualification, the day and the reason"),
        ],
    ) -> Qualification:
        return await qw.lose(info.context, input)

    @_qualification("2号→1号 — a second-category insured person reached 65.")
    async def change_insured_category(
        self,
        info: Info,
        input: Annotated[ChangeInsuredCategoryInput, _about("The qualification and the day")],
    ) -> Qualification:
        return await qw.change_category(info.context, input)

    @_qualification("住所地特例 starts: a facility stay elsewhere, the person stays insured here.")
    async def start_domicile_exception(
        self,
        info: Info,
        input: Annotated[
            StartDomicileExceptionInput,
            _about("The qualification and the facility stay"),
        ],
    ) -> Qualification:
        return await qw.start_domicile_exception(info.context, input)

    @_qualification("住所地特例 ends: the facility stay ended.")
    async def end_domicile_exception(
        self,
        info: Info,
        input: Annotated[
            EndDomicileExceptionInput,
            _about("The qualification and the day of discharge"),
        ],
    ) -> Qualification:
        return await qw.end_domicile_exception(info.context, input)

    @_qualification(
        "適用除外 — the person enters (exempt: true, the qualification ends) or leaves an exempt facility."
    )
    async def set_exemption(
        self,
        info: Info,
        input: Annotated[
            ExemptionInput,
            _about("The qualification, which way, the day and the reason"),
        ],
    ) -> Qualification:
        return await qw.set_exemption(info.context, input)

    @_qualification("証発行 — record a certificate issued (被保険者証, 負担割合証 …).")
    async def issue_certificate(
        self,
        info: Info,
        input: Annotated[
            IssueCertificateInput,
            _about("The qualification and the certificate issued"),
        ],
    ) -> Qualification:
        return await qw.issue_certificate(info.context, input)

    @_qualification("負担割合 — decide the copay ratio (10/20/30 %) of a certificate year from income.")
    async def determine_copay_ratio(
        self,
        info: Info,
        input: Annotated[
            DetermineCopayRatioInput,
            _about("The qualification, the certificate year and the income"),
        ],
    ) -> Qualification:
        return await qw.determine_copay_ratio(info.context, input)


def _certification(description: str) -> Any:
    """``@strawberry.mutation`` of the certifications' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_CERTIFICATIONS))


@strawberry.type
class CertificationMutations:
    @_certification("申請 — a new, renewal (from 60 days before expiry) or level-change application.")
    async def apply_for_certification(
        self,
        info: Info,
        input: Annotated[ApplyForCertificationInput, _about("The person and the application")],
    ) -> Certification:
        return await cw.apply(info.context, input)

    @_certification("訪問調査 — record the home-visit survey (APPLIED only).")
    async def record_survey(
        self,
        info: Info,
        input: Annotated[RecordSurveyInput, _about("The case and the survey, as received")],
    ) -> Certification:
        return await cw.record_survey(info.context, input)

    @_certification("主治医意見書 — record the doctor's opinion (APPLIED only).")
    async def record_doctor_opinion(
        self,
        info: Info,
        input: Annotated[RecordDoctorOpinionInput, _about("The case and the opinion, as received")],
    ) -> Certification:
        return await cw.record_doctor_opinion(info.context, input)

    @_certification("一次判定 — APPLIED → PRIMARY_JUDGED, once the survey and the opinion are in.")
    async def record_primary_judgement(
        self,
        info: Info,
        input: Annotated[RecordPrimaryJudgementInput, _about("The case, the day and the level")],
    ) -> Certification:
        return await cw.record_primary_judgement(info.context, input)

    @_certification("二次判定 — PRIMARY_JUDGED → COMMITTEE_JUDGED: the committee's level.")
    async def record_committee_judgement(
        self,
        info: Info,
        input: Annotated[
            RecordCommitteeJudgementInput,
            _about("The case and the committee's judgement"),
        ],
    ) -> Certification:
        return await cw.record_committee_judgement(info.context, input)

    @_certification("認定 — COMMITTEE_JUDGED → DECIDED: the level and a validity within the law's bounds.")
    async def decide_certification(
        self,
        info: Info,
        input: Annotated[DecideCertificationInput, _about("The case and the decision")],
    ) -> Certification:
        return await cw.decide(info.context, input)

    @_certification("処分延期 — the decision comes later than 30 days: the reason and the day expected.")
    async def postpone_certification(
        self,
        info: Info,
        input: Annotated[
            PostponeCertificationInput,
            _about("The case, the reason and the day expected"),
        ],
    ) -> Certification:
        return await cw.postpone(info.context, input)

    @_certification("取下げ or 認定取消 — the case ends CANCELLED.")
    async def cancel_certification(
        self,
        info: Info,
        input: Annotated[CancelCertificationInput, _about("The case, the day and the reason")],
    ) -> Certification:
        return await cw.cancel(info.context, input)


def _levy(description: str) -> Any:
    """``@strawberry.mutation`` of the levies' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_LEVIES))


@strawberry.type
class LevyMutations:
    @_levy(
        "本算定 — a person's levy of a fiscal year (or its correction) from the income stage and the city's table."
    )
    async def assess_premium(
        self,
        info: Info,
        input: Annotated[
            AssessPremiumInput,
            _about("The person, the fiscal year and the income stage"),
        ],
    ) -> Levy:
        return await lw.assess(info.context, input)

    @_levy(
        "収納 — a payment reconciled (消込) against the oldest outstanding installments; an over-payment is kept."
    )
    async def post_receipt(
        self,
        info: Info,
        input: Annotated[PostReceiptInput, _about("The levy and the payment")],
    ) -> Levy:
        return await lw.post_receipt(info.context, input)

    @_levy("督促 (with the fee) or 催告 of an overdue installment whose claim has not lapsed.")
    async def send_reminder(
        self,
        info: Info,
        input: Annotated[SendReminderInput, _about("The installment and the day sent")],
    ) -> Levy:
        return await lw.send_reminder(info.context, input)

    @_levy("減免 — the levy's reduction, taken off the unpaid installments.")
    async def reduce_premium(
        self,
        info: Info,
        input: Annotated[ReducePremiumInput, _about("The levy and the reduction")],
    ) -> Levy:
        return await lw.reduce(info.context, input)

    @_levy("還付 or 充当 of an over-payment.")
    async def refund_overpayment(
        self,
        info: Info,
        input: Annotated[
            RefundOverpaymentInput,
            _about("The levy and the refund or appropriation"),
        ],
    ) -> Levy:
        return await lw.refund(info.context, input)


def _benefit(description: str) -> Any:
    """``@strawberry.mutation`` of the benefits' duty."""
    return strawberry.mutation(description=description, directives=requires_duty(WRITE_BENEFITS))


@strawberry.type
class BenefitMutations:
    @_benefit("償還払い — the insured share of a service paid in full (the copay by the year's ratio).")
    async def apply_for_reimbursement(
        self,
        info: Info,
        input: Annotated[
            ApplyForReimbursementInput,
            _about("The person, the service month and what was paid"),
        ],
    ) -> Reimbursement:
        return await bw.apply_reimbursement(info.context, input)

    @_benefit("支給決定 of a reimbursement (DECIDED once).")
    async def decide_reimbursement(
        self,
        info: Info,
        input: Annotated[DecideReimbursementInput, _about("The application and the decision")],
    ) -> Reimbursement:
        return await bw.decide_reimbursement(info.context, input)

    @_benefit("高額介護サービス費 — the month's copay above the income class's cap, from the claim results.")
    async def apply_for_high_cost_benefit(
        self,
        info: Info,
        input: Annotated[
            ApplyForHighCostBenefitInput,
            _about("The person, the service month and the income class"),
        ],
    ) -> HighCostApplication:
        return await bw.apply_high_cost(info.context, input)

    @_benefit("支給決定 of a high-cost benefit, computed again from the claim results.")
    async def decide_high_cost_benefit(
        self,
        info: Info,
        input: Annotated[
            DecideHighCostBenefitInput,
            _about("The application and the day of decision"),
        ],
    ) -> HighCostApplication:
        return await bw.decide_high_cost(info.context, input)

    @_benefit("負担限度額認定 — the stage from the household's tax status, income and savings, to 31 July.")
    async def certify_cost_limit(
        self,
        info: Info,
        input: Annotated[
            CertifyCostLimitInput,
            _about("The person and the household's tax status, income and savings"),
        ],
    ) -> CostLimitDecision:
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
    async def record_individual_number(
        self,
        info: Info,
        input: Annotated[
            RecordIndividualNumberInput,
            _about("The person, the number and the identity check (本人確認)"),
        ],
    ) -> Person:
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
        self,
        info: Info,
        first: Annotated[int, _about(f"Page size, 1-{resident_writes.MAX_REVIEWS}")] = 100,
        after: Annotated[
            strawberry.ID | None,
            _about("The `id` of the previous page's last change (null: the first page)"),
        ] = None,
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
        due_before: Annotated[
            dt.date | None,
            _about("Cases due before this day (default: the request date, i.e. the overdue ones)"),
        ] = None,
        first: Annotated[int, _about(f"Page size, 1-{cw.MAX_PAGE}")] = 100,
        after: Annotated[
            strawberry.ID | None,
            _about("The `certification.id` of the previous page's last entry (null: the first page)"),
        ] = None,
    ) -> list[PendingCertification] | None:  # nullable: a refused page leaves the other root fields
        return await cw.pending(info.context, due_before or info.context.today, first, after)
