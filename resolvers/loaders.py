"""The per-request DataLoaders (implements ``schema.context.Loaders``).

Each loader runs one SQL statement per batch (``WHERE key = ANY(:keys)``) and groups the rows in
Python, so a page of persons with every nested area costs the same number of statements whatever
its size: one per area that has rows to look at (claim results: one per distinct month range).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
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
from .batch import grouped_loader, grouped_statement, int_keys, rows_by_keys
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


def _grouped(
    model: Any,
    key: str,
    build: Callable[[Any], Any],
    order_by: Callable[[Any], Sequence[Any]],
    *,
    columns: Callable[[], Sequence[Any]] | None = None,
    text_keys: bool = False,
) -> _Grouped:
    def statement() -> Any:
        table = model.__table__
        return grouped_statement(
            table, key, order_by=order_by(table), columns=columns() if columns else None, text_keys=text_keys
        )

    return _Grouped(cache(statement), key, build)


@dataclass(frozen=True)
class _Grouped:
    """A grouped loader's recipe: its statement (built once per process), key column and row builder."""

    statement: Callable[[], Any]
    key: str
    build: Callable[[Any], Any]


# The loaders by name, as ``schema.context.Loaders`` names them. Household members are persons: each
# one built is reported to the audit trail (persons touched) when the loader is made for a request.
_GROUPED: dict[str, _Grouped] = {
    "household_members": _grouped(
        Person,
        "household_code",
        person_from_row,
        lambda t: household_order(),
        columns=lambda: PERSON_COLUMNS,
        text_keys=True,
    ),
    "moves": _grouped(ResidentMove, "person_id", move_from_row, lambda t: (t.c.moved_on, t.c.id)),
    "qualifications": _grouped(
        Qualification, "person_id", qualification_from_row, lambda t: (t.c.acquired_on.desc(), t.c.id)
    ),
    "qualification_events": _grouped(
        QualificationEvent, "qualification_id", event_from_row, lambda t: (t.c.occurred_on, t.c.id)
    ),
    "copay_ratios": _grouped(
        CopayRatio, "qualification_id", copay_ratio_from_row, lambda t: (t.c.fiscal_year.desc(),)
    ),
    "certificate_issuances": _grouped(
        CertificateIssuance,
        "qualification_id",
        certificate_from_row,
        lambda t: (t.c.issued_on.desc(), t.c.id.desc()),
    ),
    "facility_admissions": _grouped(
        FacilityAdmission,
        "qualification_id",
        facility_admission_from_row,
        lambda t: (t.c.admitted_on.desc(), t.c.id.desc()),
    ),
    "certifications": _grouped(
        Certification, "person_id", certification_from_row, lambda t: (t.c.applied_on.desc(), t.c.id.desc())
    ),
    "care_plans": _grouped(
        CarePlanNotification,
        "person_id",
        care_plan_from_row,
        lambda t: (t.c.valid_from.desc(), t.c.id.desc()),
    ),
    "reimbursements": _grouped(
        Reimbursement,
        "person_id",
        reimbursement_from_row,
        lambda t: (t.c.service_month.desc(), t.c.applied_on.desc(), t.c.id.desc()),
    ),
    "high_cost_benefits": _grouped(
        HighCostBenefit, "person_id", high_cost_from_row, lambda t: (t.c.service_month.desc(), t.c.id.desc())
    ),
    "combined_benefits": _grouped(
        CombinedBenefit, "person_id", combined_from_row, lambda t: (t.c.period_year.desc(), t.c.id.desc())
    ),
    "cost_reductions": _grouped(
        CostReduction, "person_id", reduction_from_row, lambda t: (t.c.valid_from.desc(), t.c.id.desc())
    ),
    "benefit_restrictions": _grouped(
        BenefitRestriction,
        "person_id",
        restriction_from_row,
        lambda t: (t.c.valid_from.desc(), t.c.id.desc()),
    ),
    "recipient_notices": _grouped(
        RecipientNotice, "person_id", notice_from_row, lambda t: (t.c.changed_on.desc(), t.c.id.desc())
    ),
    "community_eligibilities": _grouped(
        CommunityEligibility,
        "person_id",
        community_from_row,
        lambda t: (t.c.valid_from.desc(), t.c.id.desc()),
    ),
    "levies": _grouped(Levy, "person_id", levy_from_row, lambda t: (t.c.fiscal_year.desc(),)),
    "levy_installments": _grouped(
        LevyInstallment, "levy_id", installment_from_row, lambda t: (t.c.period,), columns=installment_columns
    ),
    "levy_refunds": _grouped(LevyRefund, "levy_id", refund_from_row, lambda t: (t.c.decided_on, t.c.id)),
    "levy_receipts": _grouped(
        LevyReceipt, "installment_id", receipt_from_row, lambda t: (t.c.paid_on, t.c.id)
    ),
    "levy_reminders": _grouped(
        LevyReminder, "installment_id", reminder_from_row, lambda t: (t.c.sent_on, t.c.id)
    ),
}
_PERSON_LOADERS = frozenset({"household_members"})


@cache
def _person_statement() -> Any:
    return select(*PERSON_COLUMNS).where(int_keys(Person.__table__.c.id))


class Loaders:
    """One instance per request: DataLoaders cache per key, and a cache must not outlive its request.

    A loader is made on first use (most requests need few of them); ``on_create`` lets the tracing
    wrap each one as it is made.
    """

    person: DataLoader[int, p.Person | None]
    household_members: DataLoader[str, list[p.Person]]
    moves: DataLoader[int, list[p.ResidentMove]]
    qualifications: DataLoader[int, list[q.Qualification]]
    qualification_events: DataLoader[int, list[q.QualificationEvent]]
    copay_ratios: DataLoader[int, list[q.CopayRatio]]
    certificate_issuances: DataLoader[int, list[q.CertificateIssuance]]
    facility_admissions: DataLoader[int, list[q.FacilityAdmission]]
    certifications: DataLoader[int, list[c.Certification]]
    care_plans: DataLoader[int, list[c.CarePlan]]
    reimbursements: DataLoader[int, list[b.Reimbursement]]
    high_cost_benefits: DataLoader[int, list[b.HighCostBenefit]]
    combined_benefits: DataLoader[int, list[b.CombinedBenefit]]
    cost_reductions: DataLoader[int, list[b.CostReduction]]
    benefit_restrictions: DataLoader[int, list[b.BenefitRestriction]]
    claim_results: DataLoader[ClaimResultKey, list[b.ClaimResult]]
    recipient_notices: DataLoader[int, list[b.RecipientNotice]]
    community_eligibilities: DataLoader[int, list[b.CommunityEligibility]]
    levies: DataLoader[int, list[lv.Levy]]
    levy_installments: DataLoader[int, list[lv.LevyInstallment]]
    levy_refunds: DataLoader[int, list[lv.LevyRefund]]
    levy_receipts: DataLoader[int, list[lv.LevyReceipt]]
    levy_reminders: DataLoader[int, list[lv.LevyReminder]]

    def __init__(self, db: SerialSession, *, audit: AuditCollector | None = None) -> None:
        self._db = db
        # Every Person a loader produces is reported to the audit trail (persons touched).
        self._seen = audit if audit is not None else AuditCollector()
        self.on_create: Callable[[str, DataLoader[Any, Any]], None] | None = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for a loader not made yet in this request; afterwards it is an instance attribute.
        loader: DataLoader[Any, Any]
        if name == "person":
            loader = self._persons_by_id()
        elif name == "claim_results":
            loader = claim_result_loader(self._db)
        elif name in _GROUPED:
            spec = _GROUPED[name]
            build = spec.build
            if name in _PERSON_LOADERS:
                seen = self._seen

                def build(row: Any, _make: Callable[[Any], Any] = spec.build) -> Any:
                    return seen.saw(_make(row))

            loader = grouped_loader(self._db, spec.statement(), spec.key, build)
        else:
            raise AttributeError(name)
        if self.on_create is not None:
            self.on_create(name, loader)
        setattr(self, name, loader)
        return loader

    def made(self) -> dict[str, DataLoader[Any, Any]]:
        """The loaders this request has made so far."""
        return {k: v for k, v in vars(self).items() if isinstance(v, DataLoader)}

    def _persons_by_id(self) -> DataLoader[int, p.Person | None]:
        db, seen, statement = self._db, self._seen, _person_statement()

        async def load(keys: list[int]) -> list[p.Person | None]:
            rows = await rows_by_keys(db, statement, keys)
            found = {row.id: seen.saw(person_from_row(row)) for row in rows}
            return [found.get(k) for k in keys]

        return DataLoader(load_fn=load)
