"""The per-request DataLoaders (implements ``schema.context.Loaders``).

Each loader runs one SQL statement per batch (``WHERE key = ANY(:keys)``) and groups the rows in
Python, so a page of persons with every nested area costs the same number of statements whatever
its size: one per area that has rows to look at (claim results: one per distinct month range).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from persistence.db import SerialSession
from persistence.models import (
    BenefitRestriction,
    CarePlanNotification,
    CertificateIssuance,
    Certification,
    CombinedBenefit,
    CommunityEligibility,
    CopayRatio,
    CostReduction,
    FacilityAdmission,
    HighCostBenefit,
    Levy,
    LevyInstallment,
    LevyReceipt,
    LevyRefund,
    LevyReminder,
    Person,
    Qualification,
    QualificationEvent,
    RecipientNotice,
    Reimbursement,
    ResidentMove,
)
from schema import benefits as b
from schema import certifications as c
from schema import levies as lv
from schema import persons as p
from schema import qualifications as q
from schema.context import ClaimResultKey

from .audit import AuditCollector
from .batch import grouped_loader, int_keys, rows_by_keys
from .benefits import (
    claim_result_loader,
    combined_from_row,
    community_from_row,
    high_cost_from_row,
    notice_from_row,
    reduction_from_row,
    reimbursement_from_row,
    restriction_from_row,
)
from .certifications import care_plan_from_row, certification_from_row
from .levies import (
    installment_columns,
    installment_from_row,
    levy_from_row,
    receipt_from_row,
    refund_from_row,
    reminder_from_row,
)
from .persons import PERSON_COLUMNS, household_order, move_from_row, person_from_row
from .qualifications import (
    certificate_from_row,
    copay_ratio_from_row,
    event_from_row,
    facility_admission_from_row,
    qualification_from_row,
)

__all__ = ["Loaders"]


def _t(model: Any) -> Any:
    return model.__table__


class Loaders:
    """One instance per request: DataLoaders cache per key, and a cache must not outlive its request."""

    def __init__(self, db: SerialSession, *, audit: AuditCollector | None = None) -> None:
        # Every Person a loader produces is reported to the audit trail (persons touched).
        seen = audit if audit is not None else AuditCollector()
        persons = _t(Person)
        self.person: DataLoader[int, p.Person | None] = self._persons_by_id(db, seen)
        self.household_members: DataLoader[str, list[p.Person]] = grouped_loader(
            db,
            persons,
            "household_code",
            lambda row: seen.saw(person_from_row(row)),
            columns=PERSON_COLUMNS,
            order_by=household_order(),
            text_keys=True,
        )
        moves = _t(ResidentMove)
        self.moves: DataLoader[int, list[p.ResidentMove]] = grouped_loader(
            db, moves, "person_id", move_from_row, order_by=(moves.c.moved_on, moves.c.id)
        )

        quals = _t(Qualification)
        self.qualifications: DataLoader[int, list[q.Qualification]] = grouped_loader(
            db, quals, "person_id", qualification_from_row, order_by=(quals.c.acquired_on.desc(), quals.c.id)
        )
        events = _t(QualificationEvent)
        self.qualification_events: DataLoader[int, list[q.QualificationEvent]] = grouped_loader(
            db, events, "qualification_id", event_from_row, order_by=(events.c.occurred_on, events.c.id)
        )
        ratios = _t(CopayRatio)
        self.copay_ratios: DataLoader[int, list[q.CopayRatio]] = grouped_loader(
            db, ratios, "qualification_id", copay_ratio_from_row, order_by=(ratios.c.fiscal_year.desc(),)
        )
        certs = _t(CertificateIssuance)
        self.certificate_issuances: DataLoader[int, list[q.CertificateIssuance]] = grouped_loader(
            db,
            certs,
            "qualification_id",
            certificate_from_row,
            order_by=(certs.c.issued_on.desc(), certs.c.id.desc()),
        )
        admissions = _t(FacilityAdmission)
        self.facility_admissions: DataLoader[int, list[q.FacilityAdmission]] = grouped_loader(
            db,
            admissions,
            "qualification_id",
            facility_admission_from_row,
            order_by=(admissions.c.admitted_on.desc(), admissions.c.id.desc()),
        )

        cases = _t(Certification)
        self.certifications: DataLoader[int, list[c.Certification]] = grouped_loader(
            db,
            cases,
            "person_id",
            certification_from_row,
            order_by=(cases.c.applied_on.desc(), cases.c.id.desc()),
        )
        plans = _t(CarePlanNotification)
        self.care_plans: DataLoader[int, list[c.CarePlan]] = grouped_loader(
            db,
            plans,
            "person_id",
            care_plan_from_row,
            order_by=(plans.c.valid_from.desc(), plans.c.id.desc()),
        )

        reimb = _t(Reimbursement)
        self.reimbursements: DataLoader[int, list[b.Reimbursement]] = grouped_loader(
            db,
            reimb,
            "person_id",
            reimbursement_from_row,
            order_by=(reimb.c.service_month.desc(), reimb.c.applied_on.desc(), reimb.c.id.desc()),
        )
        high = _t(HighCostBenefit)
        self.high_cost_benefits: DataLoader[int, list[b.HighCostBenefit]] = grouped_loader(
            db,
            high,
            "person_id",
            high_cost_from_row,
            order_by=(high.c.service_month.desc(), high.c.id.desc()),
        )
        comb = _t(CombinedBenefit)
        self.combined_benefits: DataLoader[int, list[b.CombinedBenefit]] = grouped_loader(
            db, comb, "person_id", combined_from_row, order_by=(comb.c.period_year.desc(), comb.c.id.desc())
        )
        red = _t(CostReduction)
        self.cost_reductions: DataLoader[int, list[b.CostReduction]] = grouped_loader(
            db, red, "person_id", reduction_from_row, order_by=(red.c.valid_from.desc(), red.c.id.desc())
        )
        res = _t(BenefitRestriction)
        self.benefit_restrictions: DataLoader[int, list[b.BenefitRestriction]] = grouped_loader(
            db, res, "person_id", restriction_from_row, order_by=(res.c.valid_from.desc(), res.c.id.desc())
        )
        self.claim_results: DataLoader[ClaimResultKey, list[b.ClaimResult]] = claim_result_loader(db)
        notices = _t(RecipientNotice)
        self.recipient_notices: DataLoader[int, list[b.RecipientNotice]] = grouped_loader(
            db,
            notices,
            "person_id",
            notice_from_row,
            order_by=(notices.c.changed_on.desc(), notices.c.id.desc()),
        )
        comm = _t(CommunityEligibility)
        self.community_eligibilities: DataLoader[int, list[b.CommunityEligibility]] = grouped_loader(
            db, comm, "person_id", community_from_row, order_by=(comm.c.valid_from.desc(), comm.c.id.desc())
        )

        levies = _t(Levy)
        self.levies: DataLoader[int, list[lv.Levy]] = grouped_loader(
            db, levies, "person_id", levy_from_row, order_by=(levies.c.fiscal_year.desc(),)
        )
        inst = _t(LevyInstallment)
        self.levy_installments: DataLoader[int, list[lv.LevyInstallment]] = grouped_loader(
            db,
            inst,
            "levy_id",
            installment_from_row,
            columns=installment_columns(),
            order_by=(inst.c.period,),
        )
        refunds = _t(LevyRefund)
        self.levy_refunds: DataLoader[int, list[lv.LevyRefund]] = grouped_loader(
            db, refunds, "levy_id", refund_from_row, order_by=(refunds.c.decided_on, refunds.c.id)
        )
        receipts = _t(LevyReceipt)
        self.levy_receipts: DataLoader[int, list[lv.LevyReceipt]] = grouped_loader(
            db,
            receipts,
            "installment_id",
            receipt_from_row,
            order_by=(receipts.c.paid_on, receipts.c.id),
        )
        reminders = _t(LevyReminder)
        self.levy_reminders: DataLoader[int, list[lv.LevyReminder]] = grouped_loader(
            db,
            reminders,
            "installment_id",
            reminder_from_row,
            order_by=(reminders.c.sent_on, reminders.c.id),
        )

    @staticmethod
    def _persons_by_id(db: SerialSession, seen: AuditCollector) -> DataLoader[int, p.Person | None]:
        statement = select(*PERSON_COLUMNS).where(int_keys(_t(Person).c.id))

        async def load(keys: list[int]) -> list[p.Person | None]:
            rows = await rows_by_keys(db, statement, keys)
            found = {row.id: seen.saw(person_from_row(row)) for row in rows}
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load)
